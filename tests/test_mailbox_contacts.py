"""The opt-in of issue 20, item 3: a sent message to someone who is no contact, Bcc
followups@… or with the user's tag in its subject, creates the contact and records the
outreach; without the opt-in it is not stored at all. Against the real Dovecot."""

from __future__ import annotations

from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

from sqlalchemy import func, select, update

from conftest import NOW
from followups.mailbox import service as mailboxes
from followups.models import Contact, FollowUp, Mailbox, MailMessage, Outreach, User
from mail_corpus import ME
from mailbox_helpers import account, setup, worker
from test_mailbox_api import _body, smtp  # noqa: F401  (the module's aiosmtpd fixture)


def _at(days: float) -> datetime:
    return NOW + timedelta(days=days)


def _sent(to: str, subject: str, when: datetime, msgid: str, *, bcc: str | None = None) -> bytes:
    m = EmailMessage()
    m["From"] = f"Ada Lovelace <{ME}>"
    m["To"] = to
    if bcc:
        m["Bcc"] = bcc
    m["Subject"] = subject
    m["Date"] = format_datetime(when)
    m["Message-ID"] = f"<{msgid}>"
    m.set_content("Hello,\n\nI would love to hear about the role.\n\nAda\n")
    return bytes(m)


def _connect(db, dovecot, s, **opt_in) -> None:
    with db.transaction() as session:
        user = session.get(User, s.user_id)
        mailboxes.save_mailbox(session, user, account(dovecot, s.imap_user), now=NOW - timedelta(days=30), **opt_in)


def _contacts(db, user_id) -> dict[str, str]:
    with db.transaction(write=False) as session:
        return dict(session.execute(select(Contact.email, Contact.name).where(Contact.user_id == user_id)).all())


def _outreach_to(db, user_id, email: str) -> list[tuple[str, str | None, datetime]]:
    with db.transaction(write=False) as session:
        return session.execute(
            select(Outreach.channel, Outreach.note, Outreach.sent_at).join(Contact, Contact.id == Outreach.contact_id)
            .where(Outreach.user_id == user_id, Contact.email == email).order_by(Outreach.sent_at)
        ).all()


def _counts(db, user_id) -> tuple[int, int, int, int]:
    with db.transaction(write=False) as session:
        return tuple(session.scalar(select(func.count()).select_from(model).where(model.user_id == user_id))
                     for model in (Contact, Outreach, FollowUp, MailMessage))


def test_bcc_followups_creates_the_contact_and_records_the_outreach_once(db, dovecot, clock):
    s = setup(db, dovecot, connect=False)
    _connect(db, dovecot, s, create_contacts=True)
    dovecot.append(s.imap_user, "Gesendet", [
        _sent("Walter Skinner <walter@fbi.example>", "Hello from Ada", _at(-2), "n1@ada",
              bcc="followups@anything.example"),
        _sent("monica@doggett.example", "Quick question", _at(-1), "n2@ada", bcc=ME.replace("@", "+followups@")),
        _sent("Nobody New <stranger@else.example>", "No Bcc, no tag", _at(-1), "n3@ada"),
    ])
    clock.now = _at(0)
    w = worker(db, clock)
    assert w.sync_mailboxes() == 1
    contacts = _contacts(db, s.user_id)
    assert contacts["walter@fbi.example"] == "Walter Skinner"  # the To display name
    assert contacts["monica@doggett.example"] == "monica@doggett.example"  # no name: the address
    assert "stranger@else.example" not in contacts  # neither Bcc followups nor tagged
    assert "followups@anything.example" not in contacts
    assert _outreach_to(db, s.user_id, "walter@fbi.example") == [("EMAIL", "Hello from Ada", _at(-2))]
    assert _outreach_to(db, s.user_id, "monica@doggett.example") == [("EMAIL", "Quick question", _at(-1))]
    with db.transaction(write=False) as session:
        assert session.scalar(select(func.count()).select_from(MailMessage).where(
            MailMessage.user_id == s.user_id, MailMessage.message_id == "n3@ada")) == 0  # not stored
        walter = session.scalar(select(Contact.id).where(Contact.email == "walter@fbi.example"))
        assert session.scalar(select(func.count()).select_from(FollowUp).where(
            FollowUp.contact_id == walter, FollowUp.sent_at.is_(None))) == 1  # the cadence starts
    before = _counts(db, s.user_id)

    # A second sync (and a rescan of the same messages) records nothing twice.
    clock.now = _at(1)
    w.sync_mailboxes()
    with db.transaction() as session:  # as after a changed UIDVALIDITY: every message read again
        session.execute(update(Mailbox).where(Mailbox.user_id == s.user_id).values(
            sent_uidvalidity=None, sent_last_uid=0, next_sync_at=_at(1)))
    clock.now = _at(2)
    w.sync_mailboxes()
    assert _counts(db, s.user_id) == before


def test_the_tag_in_the_subject_creates_the_contact(db, dovecot, clock):
    s = setup(db, dovecot, connect=False)
    _connect(db, dovecot, s, create_contacts=True, contact_tag="[fu]")
    dovecot.append(s.imap_user, "Gesendet", [
        _sent("Jeffrey Spender <jeffrey@cgb.example>", "Coffee next week? [FU]", _at(-1), "t1@ada"),
        _sent("Alex Krycek <alex@rat.example>", "Coffee next week?", _at(-1), "t2@ada"),
    ])
    clock.now = _at(0)
    worker(db, clock).sync_mailboxes()
    contacts = _contacts(db, s.user_id)
    assert contacts.get("jeffrey@cgb.example") == "Jeffrey Spender"
    assert "alex@rat.example" not in contacts
    assert _outreach_to(db, s.user_id, "jeffrey@cgb.example") == [("EMAIL", "Coffee next week? [FU]", _at(-1))]


def test_without_the_opt_in_nothing_is_created_or_stored(db, dovecot, clock):
    s = setup(db, dovecot)  # connected as by default: off
    before = _counts(db, s.user_id)
    dovecot.append(s.imap_user, "Gesendet", [
        _sent("Walter Skinner <walter@fbi.example>", "Hello from Ada", _at(-2), "o1@ada",
              bcc="followups@anything.example"),
    ])
    clock.now = _at(0)
    assert worker(db, clock).sync_mailboxes() == 1
    assert _counts(db, s.user_id) == before
    assert "walter@fbi.example" not in _contacts(db, s.user_id)


def test_the_opt_in_is_set_and_read_over_the_api(api, ada, dovecot, smtp):  # noqa: F811
    got = api.call("PUT", "/me/mailbox", ada, 200, json=_body(dovecot, smtp)).json()
    assert (got["createContacts"], got["contactTag"]) == (False, None)  # off by default
    got = api.call("PUT", "/me/mailbox", ada, 200,
                   json=_body(dovecot, smtp, createContacts=True, contactTag="  [fu] ")).json()
    assert (got["createContacts"], got["contactTag"]) == (True, "[fu]")
    assert api.call("GET", "/me/mailbox", ada, 200).json() == got
    api.call("PUT", "/me/mailbox", ada, 422, json=_body(dovecot, smtp, contactTag="x" * 65))
