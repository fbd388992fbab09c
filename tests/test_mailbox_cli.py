"""`followups mailbox connect|status|sync|disconnect` against a real Dovecot and aiosmtpd."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

import mail_corpus as corpus
from followups.contacts.service import create_contact
from followups.models import Outreach, User
from mailservers import PASSWORD, SmtpWithAuth
from test_cli_verbs import Cli


@pytest.fixture
def cli(db) -> Cli:
    return Cli(db.settings.database_url)


def test_connect_status_sync_and_disconnect(cli, db, dovecot, tmp_path):
    smtp = SmtpWithAuth().start()
    env = {"FOLLOWUPS_SECRET_KEY_FILE": str(tmp_path / "key")}
    try:
        cli.add_user()
        with db.transaction() as session:
            create_contact(session, session.scalar(select(User)), fields={"name": "Dana", "email": "dana@acme.example"},
                           now=datetime.now(UTC))
        connect = ["mailbox", "connect", "--imap-host", "127.0.0.1", "--imap-port", str(dovecot.port),
                   "--imap-security", "none", "--smtp-port", str(smtp.port), "--smtp-security", "none",
                   "--username", "ada-cli", "--password-stdin"]
        line = cli.fails(*connect, input="wrong\n", env=env)
        assert "refused the username or password" in line and "wrong" not in line.split("refused")[0]
        assert "no mailbox is connected" in cli.fails("mailbox", "status", env=env)
        assert "Connected ada-cli" in cli(*connect, input=f"{PASSWORD}\n", env=env).stdout
        assert (tmp_path / "key").stat().st_mode & 0o777 == 0o600
        status = cli.json("mailbox", "status", env=env)
        assert (status["sentFolder"], status["status"], status["lastSyncAt"]) == ("Gesendet", "pending", None)
        when = datetime.now(UTC) - timedelta(days=1)
        dovecot.append("ada-cli", "Gesendet", [corpus.sent("Dana <dana@acme.example>", "Hello", when, "c1@ada")])
        assert cli.json("mailbox", "sync", env=env)["recorded"] == {"outreach": 1}
        assert cli.json("mailbox", "sync", env=env)["recorded"] == {}
        assert cli.json("mailbox", "status", env=env)["status"] == "ok"
        assert "credentials are deleted" in cli("mailbox", "disconnect", env=env).stdout
        assert "no mailbox is connected" in cli.fails("mailbox", "status", env=env)
        with db.transaction(write=False) as session:  # what the sync recorded stays
            assert session.scalars(select(Outreach.note)).all() == ["Hello"]
    finally:
        smtp.stop()
