"""The mailbox sync against a real Dovecot: what each message of the corpus becomes (issue 20,
item 3), exactly once."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from followups.models import Contact, FollowUp, Mailbox, MailMessage, Notification, Outreach
from tests import mail_corpus as corpus
from tests.conftest import NOW
from tests.mailbox_helpers import setup, worker
from tests.mailservers import Dovecot

DANA = "Dana Scully <dana@acme.example>"
FOX = "Fox Mulder <fox@globex.example>"


@pytest.fixture(scope="module")
def dovecot():
    server = Dovecot(sent="Gesendet").start()
    yield server
    server.stop()


def _at(days: float) -> datetime:
    return NOW + timedelta(days=days)


def _outreach(db, user_id):
    with db.transaction(write=False) as session:
        return session.scalars(select(Outreach).where(Outreach.user_id == user_id).order_by(Outreach.sent_at)).all()


def _open_followups(db, user_id):
    with db.transaction(write=False) as session:
        return session.scalars(
            select(FollowUp).where(FollowUp.user_id == user_id, FollowUp.sent_at.is_(None),
                                   FollowUp.cancelled_at.is_(None)).order_by(FollowUp.due_at)
        ).all()


def _notifications(db, user_id, kind):
    with db.transaction(write=False) as session:
        return session.scalars(
            select(Notification.message).where(Notification.user_id == user_id, Notification.kind == kind)
        ).all()


def test_sent_mail_becomes_outreach_and_a_reply_stops_the_cadence(db, dovecot, clock):
    s = setup(db, dovecot)
    dovecot.append(s.imap_user, "Gesendet", [corpus.sent(DANA, "Engineer role at Acme", _at(-2), "o1@ada")])
    clock.now = _at(0)
    w = worker(db, clock)
    assert w.sync_mailboxes() == 1
    [outreach] = _outreach(db, s.user_id)
    assert (outreach.channel, outreach.note, outreach.contact_id) == ("EMAIL", "Engineer role at Acme", s.contacts["Dana"])
    assert outreach.sent_at == _at(-2)
    [attempt] = _open_followups(db, s.user_id)
    assert attempt.outreach_id == outreach.id

    dovecot.append(s.imap_user, "INBOX", [corpus.gmail_reply(DANA, "Engineer role at Acme", _at(-1), "r1@gmail", "o1@ada")])
    clock.now = _at(1)
    w.sync_mailboxes()
    [outreach] = _outreach(db, s.user_id)
    assert outreach.outcome == "REPLIED"
    assert _open_followups(db, s.user_id) == []
    assert _notifications(db, s.user_id, "reply") == ["Dana replied: positive, negative or not now?"]
    with db.transaction(write=False) as session:
        mailbox = session.get(Mailbox, s.user_id)
        assert mailbox.status == "ok" and mailbox.last_sync_at == _at(1)
