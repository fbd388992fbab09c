"""Send now against real servers: aiosmtpd receives the message, Dovecot keeps the copy in
the sent folder. The Account is built here, as the connected mailbox would give it."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from datetime import timedelta
from email import message_from_bytes, policy

import pytest
from imapclient import IMAPClient

from conftest import NOW
from followups.errors import Conflict, Unavailable
from followups.mailbox import send as sending
from followups.mailbox import smtp
from followups.mailbox.account import Account, Server
from followups.models import MailSend
from helpers import contact, job, outreach
from mailservers import Dovecot
from servers import SmtpSink, free_port

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")


@pytest.fixture
def sink(dovecot):
    server = SmtpSink(credentials=(dovecot.user, dovecot.password)).start()
    yield server
    server.stop()


def account(sink: SmtpSink, dovecot: Dovecot, **changes) -> Account:
    values = dict(
        imap=Server("127.0.0.1", dovecot.port, "none"), smtp=Server("127.0.0.1", sink.port, "none"),
        username=dovecot.user, password=dovecot.password, address="ada@example.com", sent=dovecot.sent,
    )
    return Account(**{**values, **changes})


def sent_folder(dovecot: Dovecot, message_id: str) -> list:
    client = IMAPClient("127.0.0.1", port=dovecot.port, ssl=False, timeout=5)
    client.login(dovecot.user, dovecot.password)
    client.select_folder(dovecot.sent, readonly=True)
    ids = client.search(["HEADER", "Message-ID", message_id])
    found = [message_from_bytes(data[b"RFC822"], policy=policy.default)
             for data in client.fetch(ids, ["RFC822"]).values()] if ids else []
    client.logout()
    return found


@pytest.fixture
def world(api, ada):
    """An email outreach to Dana (1 March); its attempt 1 is open."""
    j = job(api, ada, company="Acme", role="Backend engineer")
    c = contact(api, ada, name="Dana Scully", email="dana@example.org")
    o = outreach(api, ada, jobId=j["id"], contactId=c["id"], channel="EMAIL",
                 sentAt="2026-03-01T10:00:00Z", note="Backend engineer role at Acme")
    user_id = uuid.UUID(api.call("GET", "/me", ada, 200).json()["id"])
    return user_id, o["followup"]["id"]


def followup(api, headers, fid):
    return api.call("GET", f"/followups/{fid}", headers, 200).json()


def test_send_now_sends_marks_and_files_a_copy_once(api, ada, db, world, sink, dovecot):
    user_id, fid = world
    result = sending.send_now(db, user_id, fid, account(sink, dovecot), now=NOW)
    assert result.confirmed and result.copy_saved and not result.repeated
    assert len(sink.messages) == 1
    rcpt, message = sink.messages[0]
    assert rcpt == ["dana@example.org"]
    assert message["Message-ID"] == result.message_id
    assert message["From"] == "ada@example.com" and message["To"] == "Dana Scully <dana@example.org>"
    assert message["Subject"] == "Re: Backend engineer role at Acme"
    assert "Hi Dana," in message.get_content()
    # Marked sent in the same step: attempt 2 is scheduled.
    assert followup(api, ada, fid)["sentAt"] == "2026-03-05T15:00:00Z"
    upcoming = api.call("GET", "/followups?due=upcoming", ada, 200).json()
    assert [f["attemptNo"] for f in upcoming] == [2]
    copies = sent_folder(dovecot, result.message_id)
    assert len(copies) == 1 and copies[0]["Subject"] == message["Subject"]

    again = sending.send_now(db, user_id, fid, account(sink, dovecot), now=NOW + timedelta(seconds=5))
    assert again.repeated and again.message_id == result.message_id
    assert len(sink.messages) == 1
    assert len(sent_folder(dovecot, result.message_id)) == 1


def test_the_next_attempt_replies_in_the_thread(api, ada, db, world, sink, dovecot):
    user_id, fid = world
    first = sending.send_now(db, user_id, fid, account(sink, dovecot), now=NOW)
    second_id = api.call("GET", "/followups?due=upcoming", ada, 200).json()[0]["id"]
    draft = api.call("GET", f"/followups/{second_id}/draft", ada, 200).json()
    assert draft["template"] == "attempt2" and draft["inReplyTo"] == first.message_id
    later = NOW + timedelta(days=4)
    second = sending.send_now(db, user_id, second_id, account(sink, dovecot), now=later)
    _, message = sink.messages[-1]
    assert message["Message-ID"] == second.message_id != first.message_id
    assert message["In-Reply-To"] == first.message_id
    assert message["References"] == first.message_id
    assert message["Subject"] == "Re: Backend engineer role at Acme"


def test_a_double_click_sends_once(api, ada, db, world, sink, dovecot):
    user_id, fid = world
    sink.delay_s = 1.0  # both requests are under way at once
    outcomes: list = []

    def click():
        try:
            outcomes.append(sending.send_now(db, user_id, fid, account(sink, dovecot), now=NOW))
        except Conflict as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=click) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(sink.messages) == 1
    sent = [o for o in outcomes if not isinstance(o, Conflict)]
    assert len(outcomes) == 2 and len(sent) >= 1 and not any(o.repeated is False for o in sent[1:])
    assert all("being sent right now" in o.detail for o in outcomes if isinstance(o, Conflict))
    assert followup(api, ada, fid)["sentAt"] is not None
    assert len(sent_folder(dovecot, sent[0].message_id)) == 1


def test_a_crash_after_the_send_is_finished_on_retry_not_resent(api, ada, db, world, sink, dovecot):
    """The process died after the SMTP call, before recording it: the retry marks it sent."""
    user_id, fid = world
    mailbox = account(sink, dovecot)
    with db.transaction() as session:
        attempt = sending.begin(session, sending._user(session, user_id), fid, sender=mailbox.address,
                                now=NOW, deadline_s=smtp.SEND_DEADLINE_S)
    smtp.send_message(mailbox, to=attempt.to, raw=attempt.raw)  # ... and the process dies here
    assert len(sink.messages) == 1
    # While the lease runs, the send may still be under way elsewhere: 409, nothing sent.
    with pytest.raises(Conflict, match="being sent right now"):
        sending.send_now(db, user_id, fid, mailbox, now=NOW + timedelta(seconds=10))
    assert followup(api, ada, fid)["sentAt"] is None
    result = sending.send_now(db, user_id, fid, mailbox, now=NOW + timedelta(minutes=5))
    assert result.repeated and not result.confirmed and result.copy_saved
    assert result.message_id == attempt.message_id
    assert len(sink.messages) == 1
    assert followup(api, ada, fid)["sentAt"] == "2026-03-05T15:05:00Z"


def test_a_refused_message_marks_nothing_and_can_be_sent_later(api, ada, db, world, sink, dovecot):
    user_id, fid = world
    sink.reply = "550 5.7.1 Message rejected"
    with pytest.raises(Unavailable, match="550 5.7.1 Message rejected"):
        sending.send_now(db, user_id, fid, account(sink, dovecot), now=NOW)
    assert sink.messages == [] and followup(api, ada, fid)["sentAt"] is None
    with db.transaction() as session:
        recorded = session.query(MailSend).one()
        assert (recorded.state, recorded.marked_at) == ("failed", None)
    sink.reply = "250 OK"
    result = sending.send_now(db, user_id, fid, account(sink, dovecot), now=NOW + timedelta(minutes=1))
    assert not result.repeated and result.message_id == recorded.message_id
    assert len(sink.messages) == 1 and followup(api, ada, fid)["sentAt"] is not None


def test_an_unreachable_or_silent_server_fails_within_the_deadline(api, ada, db, world, sink, dovecot):
    user_id, fid = world
    with pytest.raises(Unavailable, match="connect"):
        sending.send_now(db, user_id, fid, account(sink, dovecot, smtp=Server("127.0.0.1", free_port(), "none")),
                         now=NOW)
    with socket.socket() as silent:  # accepts the connection, never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        started = time.monotonic()
        with pytest.raises(Unavailable, match="timed out|deadline"):
            sending.send_now(db, user_id, fid, account(sink, dovecot, smtp=Server("127.0.0.1", port, "none")),
                             now=NOW + timedelta(minutes=1), deadline_s=1.0)
        assert time.monotonic() - started < 5
    assert followup(api, ada, fid)["sentAt"] is None


def test_an_answer_lost_after_the_message_went_out_is_taken_as_sent(api, ada, db, world, sink, dovecot):
    user_id, fid = world
    sink.delay_s = 3.0  # the server takes the text, then says nothing until the deadline passed
    result = sending.send_now(db, user_id, fid, account(sink, dovecot), now=NOW, deadline_s=1.0)
    assert not result.confirmed and not result.repeated
    assert followup(api, ada, fid)["sentAt"] is not None
    # Sending again sends nothing.
    again = sending.send_now(db, user_id, fid, account(sink, dovecot), now=NOW + timedelta(minutes=5))
    assert again.repeated
    assert len(sink.messages) == 1


def test_a_copy_that_fails_does_not_undo_the_send_and_is_filed_on_retry(api, ada, db, world, sink, dovecot):
    user_id, fid = world
    wrong = account(sink, dovecot, imap=Server("127.0.0.1", free_port(), "none"))
    result = sending.send_now(db, user_id, fid, wrong, now=NOW)
    assert result.confirmed and not result.copy_saved
    assert followup(api, ada, fid)["sentAt"] is not None
    again = sending.send_now(db, user_id, fid, account(sink, dovecot), now=NOW + timedelta(minutes=1))
    assert again.repeated and again.copy_saved
    assert len(sink.messages) == 1 and len(sent_folder(dovecot, result.message_id)) == 1


def test_no_address_or_no_draft_is_a_conflict_and_sends_nothing(api, ada, db, sink, dovecot):
    user_id = uuid.UUID(api.call("GET", "/me", ada, 200).json()["id"])
    c = contact(api, ada, name="Walter Skinner")
    o = outreach(api, ada, contactId=c["id"], channel="EMAIL")
    with pytest.raises(Conflict, match="Walter Skinner has no email address"):
        sending.send_now(db, user_id, o["followup"]["id"], account(sink, dovecot), now=NOW)
    o = outreach(api, ada, contactId=c["id"], channel="PHONE")
    with pytest.raises(Conflict, match="not one of an email outreach"):
        sending.send_now(db, user_id, o["followup"]["id"], account(sink, dovecot), now=NOW)
    assert sink.messages == []


def test_a_message_in_any_language_arrives_intact(api, ada, db, sink, dovecot):
    user_id = uuid.UUID(api.call("GET", "/me", ada, 200).json()["id"])
    j = job(api, ada, company="Société Générale", role="Ingénieure données")
    c = contact(api, ada, name="Zoë Müller", email="zoe@example.de")
    o = outreach(api, ada, jobId=j["id"], contactId=c["id"], channel="EMAIL", note="Poste d'ingénieure — 東京")
    result = sending.send_now(db, user_id, o["followup"]["id"], account(sink, dovecot), now=NOW)
    _, message = sink.messages[0]
    assert message["To"] == "Zoë Müller <zoe@example.de>"
    assert message["Subject"] == "Re: Poste d'ingénieure — 東京"
    assert "Hi Zoë," in message.get_content() and "at Société Générale" in message.get_content()
    assert message["Content-Transfer-Encoding"] in ("quoted-printable", "base64")
    [copy] = sent_folder(dovecot, result.message_id)
    assert copy.get_content() == message.get_content()
