"""PUT/GET/DELETE /me/mailbox against a real Dovecot and aiosmtpd: both logins checked at once,
a 422 that names what failed, the password encrypted and never answered nor logged."""

from __future__ import annotations

import io
import json
import logging
import re
import shutil
import sqlite3
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import select

from conftest import NOW
from followups.config import Settings
from followups.db import Database
from followups.mailbox import service as mailboxes
from followups.models import Mailbox, User
from followups.transfer.backup import backup
from followups.transfer.export import write_json
from mailbox_helpers import setup
from mailservers import PASSWORD, SmtpWithAuth
from servers import free_port


@pytest.fixture(scope="module")
def smtp():
    server = SmtpWithAuth().start()
    yield server
    server.stop()


def _body(dovecot, smtp, **changes) -> dict:
    return {
        "imapHost": "127.0.0.1", "imapPort": dovecot.port, "imapSecurity": "none",
        "smtpHost": "127.0.0.1", "smtpPort": smtp.port, "smtpSecurity": "none",
        "username": "ada-api", "password": PASSWORD, **changes,
    }


def _fields(r) -> dict[str, str]:
    return {f["field"]: f["message"] for f in r.json()["fields"]}


def test_connect_finds_the_sent_folder_and_never_answers_the_password(api, ada, db, dovecot, smtp, caplog):
    caplog.set_level(logging.DEBUG)
    api.call("GET", "/me/mailbox", ada, 404)
    r = api.call("PUT", "/me/mailbox", ada, 200, json=_body(dovecot, smtp))
    got = r.json()
    assert got["sentFolder"] == "Gesendet"  # the folder the server marks \Sent
    assert (got["inboxFolder"], got["status"], got["lastSyncAt"], got["lastError"]) == ("INBOX", "pending", None, None)
    assert got["address"] == "ada@example.com"  # the username is no address: the account's email
    assert "password" not in json.dumps(got).lower() and PASSWORD not in r.text
    assert api.call("GET", "/me/mailbox", ada, 200).json() == got
    with db.transaction(write=False) as session:
        mailbox = session.scalar(select(Mailbox))
        assert PASSWORD not in mailbox.password_encrypted
        user = session.get(User, mailbox.user_id)
        assert mailboxes.load_account(session, user).password == PASSWORD
        # Neither the JSON export nor its user header carries the credentials.
        out = io.StringIO()
        write_json(session, user, out, now=NOW)
        assert mailbox.password_encrypted not in out.getvalue() and "imapHost" not in out.getvalue()
    assert PASSWORD not in caplog.text

    api.call("DELETE", "/me/mailbox", ada, 204)
    api.call("GET", "/me/mailbox", ada, 404)
    api.call("DELETE", "/me/mailbox", ada, 204)  # again: nothing to delete, same answer
    with db.transaction(write=False) as session:
        assert session.scalar(select(Mailbox)) is None


def test_a_wrong_password_is_a_422_naming_it(api, ada, dovecot, smtp, caplog):
    r = api.call("PUT", "/me/mailbox", ada, 422, json=_body(dovecot, smtp, password="not-the-password"))
    assert _fields(r) == {"password": "the IMAP server refused the username or password"}
    assert "SMTP server refused" in r.json()["detail"]  # both logins were tried
    assert "not-the-password" not in caplog.text and "not-the-password" not in r.text
    api.call("GET", "/me/mailbox", ada, 404)  # nothing saved


def test_an_unreachable_host_tls_and_missing_folders_are_named(api, ada, dovecot, smtp):
    closed = free_port()
    r = api.call("PUT", "/me/mailbox", ada, 422, json=_body(dovecot, smtp, imapPort=closed))
    assert "unreachable" in _fields(r)["imapHost"] and f"127.0.0.1:{closed}" in _fields(r)["imapHost"]
    r = api.call("PUT", "/me/mailbox", ada, 422, json=_body(dovecot, smtp, smtpPort=closed))
    assert list(_fields(r)) == ["smtpHost"]
    r = api.call("PUT", "/me/mailbox", ada, 422, json=_body(dovecot, smtp, imapSecurity="ssl"))
    assert _fields(r)["imapHost"].startswith("TLS with the IMAP server")
    r = api.call("PUT", "/me/mailbox", ada, 422, json=_body(dovecot, smtp, inboxFolder="Nope", sentFolder="Nada"))
    assert _fields(r) == {"inboxFolder": "the IMAP server has no folder 'Nope'",
                          "sentFolder": "the IMAP server has no folder 'Nada'"}
    r = api.call("PUT", "/me/mailbox", ada, 422, json=_body(dovecot, smtp, imapHost="bad host\n", imapPort=0))
    assert {"imapHost", "imapPort"} <= set(_fields(r))


def test_a_stranger_cannot_make_the_server_dial_out(api, dovecot, smtp):
    r = api.client.put("/me/mailbox", json=_body(dovecot, smtp))
    assert r.status_code == 401


def test_the_openapi_documents_the_mailbox(api):
    spec = api.client.get("/openapi.json").json()
    assert set(spec["paths"]["/me/mailbox"]) == {"put", "get", "delete"}
    out = spec["components"]["schemas"]["MailboxOut"]["properties"]
    assert "password" not in out and {"status", "lastError", "lastSyncAt"} <= set(out)
    assert "REPLIED" in spec["components"]["schemas"]["Outcome"]["enum"]


def test_a_backup_carries_no_credentials(sqlite_template, dovecot, tmp_path):
    """Backups are of the embedded SQLite database: the mailbox rows are left out."""
    shutil.copy(sqlite_template, tmp_path / "live.db")
    db = Database(Settings(database_url=f"sqlite:///{tmp_path / 'live.db'}"))
    try:
        s = setup(db, dovecot)
        backup(db.settings, tmp_path / "backup.db")
        with db.transaction(write=False) as session:  # the live one keeps its mailbox
            assert session.get(Mailbox, s.user_id) is not None
    finally:
        db.dispose()
    copy = sqlite3.connect(tmp_path / "backup.db")
    assert copy.execute("SELECT count(*) FROM mailbox").fetchone() == (0,)
    assert copy.execute("SELECT count(*) FROM contact").fetchone() == (2,)
    copy.close()
    assert b"gAAAA" not in (tmp_path / "backup.db").read_bytes()  # no Fernet token left in free pages


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_the_settings_page_connects_shows_and_disconnects(api, ada, dovecot, smtp):
    client = api.client
    page = client.get("/app/login")
    r = client.post("/app/login", data={"email": "ada@example.com", "password": "correct horse",
                                        "csrf_token": _csrf(page.text)}, follow_redirects=False)
    assert r.status_code == 303
    page = client.get("/app/settings")
    assert "Your mailbox" in page.text and "Check and connect" in page.text
    form = {"imap_host": "127.0.0.1", "imap_port": str(dovecot.port), "imap_security": "none",
            "smtp_host": "127.0.0.1", "smtp_port": str(smtp.port), "smtp_security": "none",
            "username": "ada-page", "password": "wrong", "inbox_folder": "INBOX", "csrf_token": _csrf(page.text)}
    r = client.post("/app/settings/mailbox", data=form, follow_redirects=False)
    assert r.status_code == 422
    assert "The IMAP server refused the username or password." in r.text and 'value="wrong"' not in r.text
    r = client.post("/app/settings/mailbox", data={**form, "password": PASSWORD, "create_contacts": "1",
                                                   "contact_tag": "[fu]"}, follow_redirects=False)
    assert r.status_code == 303
    page = client.get(r.headers["location"])
    assert "Mailbox connected" in page.text and "Waiting for the first sync" in page.text
    assert "“Gesendet”" in page.text and PASSWORD not in page.text
    got = api.call("GET", "/me/mailbox", ada, 200).json()
    assert (got["username"], got["createContacts"], got["contactTag"]) == ("ada-page", True, "[fu]")
    assert "New contacts from sent mail" in page.text and "[fu]" in page.text
    r = client.post("/app/settings/mailbox/disconnect", data={"csrf_token": _csrf(page.text)}, follow_redirects=False)
    assert r.status_code == 303
    api.call("GET", "/me/mailbox", ada, 404)


def test_concurrent_connects_make_one_mailbox(api, ada, live_url, dovecot, smtp, db):
    def put(n: int):
        return httpx.put(f"{live_url}/me/mailbox", headers=ada, json=_body(dovecot, smtp, username=f"race{n}"),
                         timeout=30).status_code

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(put, range(4))) == [200] * 4
    with db.transaction(write=False) as session:
        assert len(session.scalars(select(Mailbox)).all()) == 1
