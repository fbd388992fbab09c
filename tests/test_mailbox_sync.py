"""The mailbox sync against a real Dovecot: what each message of the corpus becomes (issue 20,
item 3), exactly once."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import threading
import time
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

import mail_corpus as corpus
from cli_helpers import FOLLOWUPS
from conftest import NOW
from followups.mailbox import drafts
from followups.mailbox import send as sending
from followups.mailbox import service as mailboxes
from followups.models import Contact, FollowUp, Mailbox, MailMessage, Notification, Outcome, Outreach, User
from followups.outreach.service import update_outreach
from mailbox_helpers import account, mail_settings, setup, worker
from mailservers import PASSWORD
from servers import SmtpSink

DANA = "Dana Scully <dana@acme.example>"
FOX = "Fox Mulder <fox@globex.example>"
SUBJECT = "Engineer role at Acme"


def _at(days: float) -> datetime:
    return NOW + timedelta(days=days)


def _outreach(db, user_id) -> dict:
    """The user's outreach by contact name."""
    with db.transaction(write=False) as session:
        rows = session.execute(
            select(Contact.name, Outreach).join(Contact, Contact.id == Outreach.contact_id)
            .where(Outreach.user_id == user_id).order_by(Outreach.sent_at)
        ).all()
    found: dict = {}
    for name, outreach in rows:
        found.setdefault(name, []).append(outreach)
    return found


def _open(db, user_id, contact_id=None) -> list[FollowUp]:
    with db.transaction(write=False) as session:
        stmt = select(FollowUp).where(FollowUp.user_id == user_id, FollowUp.sent_at.is_(None),
                                      FollowUp.cancelled_at.is_(None))
        if contact_id is not None:
            stmt = stmt.where(FollowUp.contact_id == contact_id)
        return session.scalars(stmt.order_by(FollowUp.due_at)).all()


def _unseen(db, user_id, kind) -> int:
    with db.transaction(write=False) as session:
        return session.scalar(select(func.count()).select_from(Notification).where(
            Notification.user_id == user_id, Notification.kind == kind, Notification.sent_at.is_(None)))


def _notifications(db, user_id, kind) -> list[str]:
    with db.transaction(write=False) as session:
        return sorted(session.scalars(
            select(Notification.message).where(Notification.user_id == user_id, Notification.kind == kind)
        ).all())


def _mail_rows(db, user_id) -> dict[str, int]:
    with db.transaction(write=False) as session:
        return dict(session.execute(
            select(MailMessage.kind, func.count()).where(MailMessage.user_id == user_id).group_by(MailMessage.kind)
        ).all())


def test_sent_mail_becomes_outreach_and_a_reply_stops_the_cadence(db, dovecot, clock):
    s = setup(db, dovecot)
    dovecot.append(s.imap_user, "Gesendet", [corpus.sent(DANA, SUBJECT, _at(-2), "o1@ada")])
    clock.now = _at(0)
    w = worker(db, clock)
    assert w.sync_mailboxes() == 1
    [outreach] = _outreach(db, s.user_id)["Dana"]
    assert (outreach.channel, outreach.note, outreach.outcome) == ("EMAIL", SUBJECT, "NONE")
    assert outreach.sent_at == _at(-2)
    assert outreach.job_id is None  # Dana had no outreach about a job yet
    [attempt] = _open(db, s.user_id)
    assert attempt.outreach_id == outreach.id

    dovecot.append(s.imap_user, "INBOX", [corpus.gmail_reply(DANA, SUBJECT, _at(-1), "r1@gmail", "o1@ada")])
    clock.now = _at(1)
    w.sync_mailboxes()
    [outreach] = _outreach(db, s.user_id)["Dana"]
    assert outreach.outcome == "REPLIED"
    assert outreach.replied_at == _at(-1)
    assert _open(db, s.user_id) == []
    assert _notifications(db, s.user_id, "reply") == ["Dana replied: positive, negative or not now?"]
    with db.transaction(write=False) as session:
        mailbox = session.get(Mailbox, s.user_id)
        assert (mailbox.status, mailbox.last_sync_at, mailbox.last_error) == ("ok", _at(1), None)

    # The user's choice replaces REPLIED; "not now" schedules exactly one follow-up, once,
    # and the question "Dana replied: ...?" is answered: seen, off the bell.
    assert _unseen(db, s.user_id, "reply") == 1
    for _ in range(2):
        with db.transaction() as session:
            user = session.get(User, s.user_id)
            update_outreach(session, user, outreach.id, changes={"outcome": Outcome.LATER, "resume_on": "2026-03-20"},
                            now=_at(1))
    [resumed] = _open(db, s.user_id)
    assert resumed.due_at.date() == date(2026, 3, 20)
    assert _outreach(db, s.user_id)["Dana"][0].outcome == "LATER"
    assert _unseen(db, s.user_id, "reply") == 0


def test_a_sent_message_to_a_contact_with_an_open_follow_up_marks_it_sent(db, dovecot, clock):
    s = setup(db, dovecot)
    dovecot.append(s.imap_user, "Gesendet", [corpus.sent(FOX, SUBJECT, _at(-6), "o2@ada")])
    clock.now = _at(-5)
    w = worker(db, clock)
    w.sync_mailboxes()
    [first] = _open(db, s.user_id)
    assert first.attempt_no == 1
    # The follow-up goes out from the mail client, Cc'd to nobody else: no new outreach.
    dovecot.append(s.imap_user, "Gesendet", [corpus.sent(FOX, f"Re: {SUBJECT}", _at(-2), "f2@ada")])
    clock.now = _at(0)
    w.sync_mailboxes()
    assert len(_outreach(db, s.user_id)["Fox"]) == 1
    with db.transaction(write=False) as session:
        sent = session.get(FollowUp, first.id)
        assert sent.sent_at == _at(-2)
    [second] = _open(db, s.user_id)
    assert (second.attempt_no, second.chain_id) == (2, first.chain_id)
    # Outlook's reply, known by its sender's address alone: attempt 2 is cancelled.
    dovecot.append(s.imap_user, "INBOX", [corpus.outlook_reply(FOX, SUBJECT, _at(-1), "x1@outlook")])
    clock.now = _at(1)  # the next sync is due
    w.sync_mailboxes()
    assert _outreach(db, s.user_id)["Fox"][0].outcome == "REPLIED"
    assert _open(db, s.user_id) == []
    assert _mail_rows(db, s.user_id) == {"outreach": 1, "followup_sent": 1, "reply": 1}


# Each language's out-of-office, its contact, and the day the thread resumes (NOW is 5 March 2026).
RETURNS = {"en": date(2026, 3, 15), "de": date(2026, 3, 20), "fr": date(2026, 3, 25), "es": date(2026, 3, 18),
           "nl": date(2026, 3, 19), "it": date(2026, 3, 23)}


def test_the_corpus(db, dovecot, clock, caplog):
    caplog.set_level(logging.INFO, logger="followups.mailbox")
    people = {f"P{lang}": f"{lang}@firm.example" for lang in RETURNS}
    people |= {"Dana": "dana@acme.example", "Eve": "eve@gone.example", "Hal": "hal@html.example",
               "Lou": "lou@latin1.example", "Big": "big@files.example", "Nat": "nat@nodate.example"}
    s = setup(db, dovecot, **people)
    sent = [corpus.sent(f"{name} <{address}>", f"Hello {name}", _at(-3), f"s-{name}@ada")
            for name, address in people.items()]
    sent += [corpus.unrelated(n, _at(-3)) for n in range(5)]  # to nobody we know: never stored
    dovecot.append(s.imap_user, "Gesendet", sent)
    inbox = [corpus.out_of_office(lang, f"P{lang} <{lang}@firm.example>", f"Hello P{lang}", _at(-1),
                                  f"ooo-{lang}@firm", f"s-P{lang}@ada") for lang in RETURNS]
    inbox += [
        corpus.out_of_office("en", "Nat <nat@nodate.example>", "Hello Nat", _at(-1), "ooo-nat@nodate", None,
                             body="I am travelling with limited access to email."),
        corpus.bounce("eve@gone.example", _at(-2), "dsn1@mx", "s-Eve@ada"),
        corpus.html_only_reply("Hal <hal@html.example>", "Hello Hal", _at(-1), "h1@html"),
        corpus.latin1_reply("Lou <lou@latin1.example>", "Hello Lou", _at(-1), "l1@latin1"),
        corpus.reply_with_attachment("Big <big@files.example>", "Hello Big", _at(-1), "b1@files"),
        corpus.malformed_date("Dana <dana@acme.example>", "Thu, 45 Foo 20x6 99:99", "bad-date@acme"),
        corpus.nobody_named("broken@nowhere"),
        *(corpus.unrelated(n, _at(-1)) for n in range(5, 10)),
    ]
    dovecot.append(s.imap_user, "INBOX", inbox)
    clock.now = _at(0)
    w = worker(db, clock)
    started = time.monotonic()
    w.sync_mailboxes()
    elapsed = time.monotonic() - started

    outreach = _outreach(db, s.user_id)
    assert sorted(outreach) == sorted(people)  # one outreach per contact written to, none for the rest
    for lang, day in RETURNS.items():  # out-of-office: paused until the return date, as LATER does
        [o] = outreach[f"P{lang}"]
        assert (o.outcome, o.resume_on) == ("LATER", day), lang
        [resumed] = _open(db, s.user_id, s.contacts[f"P{lang}"])
        assert resumed.due_at.date() == day
        assert "Out of office" in resumed.why and day.isoformat() in resumed.why
    [nat] = _open(db, s.user_id, s.contacts["Nat"])  # no date in the text: 7 days
    assert outreach["Nat"][0].resume_on == nat.due_at.date() == date(2026, 3, 11)
    assert "no return date: 7 days" in nat.why
    # The bounce: the address flagged, its follow-ups paused, a notification naming it.
    with db.transaction(write=False) as session:
        flag = session.execute(select(MailMessage.contact_id, MailMessage.detail)
                               .where(MailMessage.kind == "bounce")).one()
        assert tuple(flag) == (s.contacts["Eve"], "eve@gone.example bounced")
    assert _open(db, s.user_id, s.contacts["Eve"]) == []
    assert _notifications(db, s.user_id, "bounce") == [
        "Mail to eve@gone.example (Eve) bounced: the address failed, their follow-ups are paused"]
    # HTML-only, ISO-8859-1 and a 20 MB attachment: replies like any other.
    for name in ("Hal", "Lou", "Big"):
        assert outreach[name][0].outcome == "REPLIED", name
    # Dana's reply with an unreadable Date is dated by its arrival, still a reply (not lost).
    assert outreach["Dana"][0].outcome == "REPLIED"
    assert _notifications(db, s.user_id, "reply") == sorted(
        f"{n} replied: positive, negative or not now?" for n in ("Big", "Dana", "Hal", "Lou"))
    # Nothing else is stored: the newsletters and the message that names nobody are not.
    rows = _mail_rows(db, s.user_id)
    assert rows == {"outreach": len(people), "out_of_office": 7, "bounce": 1, "reply": 4}
    assert "skipped: no readable From, To or Cc address" in caplog.text
    assert elapsed < 20  # the 20 MB attachment is never downloaded

    # A second sync, and a rescan of everything, change nothing.
    before = (_outreach(db, s.user_id), _notifications(db, s.user_id, "reply"), rows)
    clock.now = _at(1)
    assert w.sync_mailboxes() == 1
    with db.transaction() as session:
        session.execute(update(Mailbox).where(Mailbox.user_id == s.user_id).values(
            inbox_last_uid=0, sent_last_uid=0, next_sync_at=_at(1)))
    assert w.sync_mailboxes() == 1
    after = (_outreach(db, s.user_id), _notifications(db, s.user_id, "reply"), _mail_rows(db, s.user_id))
    assert [(k, [(o.id, o.outcome) for o in v]) for k, v in after[0].items()] == \
        [(k, [(o.id, o.outcome) for o in v]) for k, v in before[0].items()]
    assert after[1:] == before[1:]


def test_a_changed_uidvalidity_rescans_without_doing_anything_twice(db, dovecot, clock):
    s = setup(db, dovecot)
    dovecot.append(s.imap_user, "Gesendet", [corpus.sent(DANA, SUBJECT, _at(-3), "u1@ada")])
    clock.now = _at(0)
    w = worker(db, clock)
    w.sync_mailboxes()
    with db.transaction(write=False) as session:
        validity = session.get(Mailbox, s.user_id).sent_uidvalidity
    client = dovecot.client(s.imap_user)
    try:
        client.delete_folder("Gesendet")
        time.sleep(1.1)  # Dovecot takes the time as the new UIDVALIDITY
        client.create_folder("Gesendet")
    finally:
        client.logout()
    dovecot.append(s.imap_user, "Gesendet", [corpus.sent(DANA, SUBJECT, _at(-3), "u1@ada"),
                                             corpus.sent(FOX, SUBJECT, _at(-2), "u2@ada")])
    clock.now = _at(0.5)
    w.sync_mailboxes()
    with db.transaction(write=False) as session:
        mailbox = session.get(Mailbox, s.user_id)
        assert mailbox.sent_uidvalidity != validity and mailbox.sent_last_uid == 2
    outreach = _outreach(db, s.user_id)
    assert (len(outreach["Dana"]), len(outreach["Fox"])) == (1, 1)


def test_two_workers_record_each_message_once(db, dovecot, clock):
    people = {f"C{n}": f"c{n}@corp.example" for n in range(30)}
    s = setup(db, dovecot, **people)
    dovecot.append(s.imap_user, "Gesendet", [corpus.sent(f"C{n} <c{n}@corp.example>", SUBJECT, _at(-3), f"t{n}@ada")
                                             for n in range(30)])
    clock.now = _at(0)
    workers = [worker(db, clock), worker(db, clock)]
    counts = []
    threads = [threading.Thread(target=lambda w=w: counts.append(w.sync_mailboxes())) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(counts) == [0, 1]  # the lease: one worker syncs, the other finds it taken
    # The lease runs out while the first worker would still be syncing: the rows stay single.
    with db.transaction() as session:
        session.execute(update(Mailbox).where(Mailbox.user_id == s.user_id).values(
            sent_last_uid=0, next_sync_at=_at(0), lease_until=None))
    threads = [threading.Thread(target=w.sync_mailboxes) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    outreach = _outreach(db, s.user_id)
    assert sorted(outreach) == sorted(people) and all(len(o) == 1 for o in outreach.values())
    assert _mail_rows(db, s.user_id) == {"outreach": 30}
    assert len(_open(db, s.user_id)) == 30


def test_a_failing_mailbox_backs_off_and_says_why(db, dovecot, clock):
    s = setup(db, dovecot)
    with db.transaction() as session:
        user = session.get(User, s.user_id)
        mailboxes.save_mailbox(session, user, account(dovecot, s.imap_user, password="wrong"), now=NOW)
    w = worker(db, clock, mailbox_sync_interval_s=60)
    waits = []
    for _ in range(3):
        with db.transaction() as session:  # due now
            session.execute(update(Mailbox).where(Mailbox.user_id == s.user_id).values(next_sync_at=clock.now))
        w.sync_mailboxes()
        with db.transaction(write=False) as session:
            mailbox = session.get(Mailbox, s.user_id)
        assert (mailbox.status, mailbox.last_error, mailbox.last_sync_at) == (
            "error", "the IMAP server refused the username or password", None)
        waits.append((mailbox.next_sync_at - clock.now).total_seconds())
    assert waits == [60, 120, 240]


def test_a_worker_killed_mid_sync_loses_and_repeats_nothing(db, dovecot):
    """A real `followups worker --once` is killed (SIGKILL) once its first chunk committed;
    after its lease the next worker goes on from there: every message recorded once."""
    people = {f"K{n}": f"k{n}@corp.example" for n in range(200)}
    s = setup(db, dovecot, **people)
    when = datetime.now(UTC) - timedelta(days=1)
    batch = []
    for n in range(1200):  # the contacts' messages spread over both chunks of 1000 UIDs
        if n % 6 == 0:
            batch.append(corpus.sent(f"K{n // 6} <k{n // 6}@corp.example>", "Hello", when, f"k{n}@ada"))
        else:
            batch.append(corpus.unrelated(n, when))
    client = dovecot.client(s.imap_user)
    try:
        for i in range(0, len(batch), 500):
            client.multiappend("Gesendet", batch[i: i + 500])
    finally:
        client.logout()
    env = {**os.environ, "FOLLOWUPS_DATABASE_URL": db.settings.database_url,
           "FOLLOWUPS_SECRET_KEY": mail_settings(db).secret_key}

    def recorded() -> int:
        with db.transaction(write=False) as session:
            return session.scalar(select(func.count()).select_from(MailMessage))

    process = subprocess.Popen([FOLLOWUPS, "worker", "--once"], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while recorded() == 0 and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(30)
    partial = recorded()
    assert 0 < partial < 200  # killed mid-sync
    with db.transaction() as session:  # its lease runs out
        session.execute(update(Mailbox).values(lease_until=None))
    subprocess.run([FOLLOWUPS, "worker", "--once"], env=env, check=True, timeout=120,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert recorded() == 200
    outreach = _outreach(db, s.user_id)
    assert sorted(outreach) == sorted(people) and all(len(o) == 1 for o in outreach.values())


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
def test_a_draft_replies_in_the_synced_thread_and_send_now_is_not_recorded_twice(db, dovecot, clock):
    s = setup(db, dovecot)
    dovecot.append(s.imap_user, dovecot.sent, [corpus.sent(DANA, SUBJECT, _at(-2), "o1@ada")])
    clock.now = _at(0)
    w = worker(db, clock)
    w.sync_mailboxes()
    [first] = _open(db, s.user_id)
    with db.transaction(write=False) as session:
        draft = drafts.get_draft(session, session.get(User, s.user_id), first.id, now=_at(0))
    # The outreach the sync found in the sent folder is the thread the draft answers.
    assert (draft.references, draft.in_reply_to, draft.subject) == (("<o1@ada>",), "<o1@ada>", f"Re: {SUBJECT}")

    sink = SmtpSink(credentials=(s.imap_user, PASSWORD)).start()
    try:
        sent = sending.send_now(db, s.user_id, first.id, account(dovecot, s.imap_user, sink.port), now=_at(0))
    finally:
        sink.stop()
    assert sent.copy_saved and len(sink.messages) == 1
    [second] = _open(db, s.user_id)
    assert second.attempt_no == 2
    # The sync reads Send now's copy in the sent folder: attempt 2 stays open, no new outreach.
    clock.now = _at(1)
    w.sync_mailboxes()
    assert [f.id for f in _open(db, s.user_id)] == [second.id]
    assert len(_outreach(db, s.user_id)["Dana"]) == 1
    with db.transaction(write=False) as session:
        draft = drafts.get_draft(session, session.get(User, s.user_id), second.id, now=_at(1))
    assert draft.references == ("<o1@ada>", sent.message_id)
