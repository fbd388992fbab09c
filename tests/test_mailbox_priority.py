"""Reminders first: while the worker's reminders lane works, the mail lane pauses, and a
round of it pauses at most `mailbox_yield_s` in all, so a mailbox is never starved."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from sqlalchemy import select

import mail_corpus as corpus
from conftest import NOW
from followups.mailbox import lane
from followups.mailbox.imap import Pool
from followups.models import Mailbox, MailMessage
from mailbox_helpers import mail_settings, setup, worker

DANA = "Dana Scully <dana@acme.example>"


class Busy:
    """The reminders lane at work (`priority.busy`) in a thread of its own, until `release`."""

    def __init__(self, priority: lane.Priority) -> None:
        self.released = threading.Event()
        entered = threading.Event()

        def hold() -> None:
            with priority.busy():
                entered.set()
                self.released.wait()

        self.thread = threading.Thread(target=hold, daemon=True)
        self.thread.start()
        entered.wait()

    def release(self) -> None:
        self.released.set()
        self.thread.join()


def _synced(db, user_id) -> Mailbox:
    with db.transaction(write=False) as session:
        return session.get(Mailbox, user_id)


def _recorded(db, user_id) -> list[str]:
    with db.transaction(write=False) as session:
        return list(session.scalars(select(MailMessage.kind).where(MailMessage.user_id == user_id)))


def _round(db, settings, clock, priority) -> tuple[int, float]:
    started = time.monotonic()
    pool = Pool()
    try:
        done = lane.sync_due(db, settings, clock=clock, pool=pool, stopping=threading.Event(), priority=priority)
    finally:
        pool.close()
    return done, time.monotonic() - started


def test_the_reminders_step_marks_the_lane_busy(db, clock):
    w = worker(db, clock)
    seen = []

    def step(_session, *, now, batch):
        seen.append(w.priority.idle())
        return 0

    assert w.priority.idle()
    w._drain("a step", step)
    with w.priority.busy():  # a sweep around its steps: still busy after one of them
        w._drain("a step", step)
        seen.append(w.priority.idle())
    assert seen == [False, False, False] and w.priority.idle()


def test_a_round_waits_while_the_reminders_lane_works_then_syncs(db, dovecot, clock):
    s = setup(db, dovecot)
    dovecot.append(s.imap_user, "Gesendet", [corpus.sent(DANA, "Engineer role", NOW - timedelta(days=2), "p1@ada")])
    w = worker(db, clock, mailbox_yield_s=30.0)
    busy = Busy(w.priority)
    threading.Timer(0.5, busy.release).start()
    done, took = _round(db, w.settings, clock, w.priority)
    assert done == 1 and 0.5 <= took < 10
    assert _recorded(db, s.user_id) == ["outreach"] and _synced(db, s.user_id).last_sync_at == NOW


def test_reminders_that_never_rest_delay_a_round_by_its_allowance_only(db, dovecot, clock):
    s = setup(db, dovecot)
    dovecot.append(s.imap_user, "Gesendet", [corpus.sent(DANA, "Engineer role", NOW - timedelta(days=2), "p2@ada")])
    w = worker(db, clock, mailbox_yield_s=1.5)
    busy = Busy(w.priority)
    try:
        done, took = _round(db, w.settings, clock, w.priority)
    finally:
        busy.release()
    # Paused before its claim and before its chunk: 1.5 s in all, then it went on.
    assert done == 1 and 1.5 <= took < 1.5 + 8
    assert _recorded(db, s.user_id) == ["outreach"] and _synced(db, s.user_id).last_sync_at == NOW


def test_the_mail_process_yields_to_its_workers_reminders_lane(db, dovecot, clock):
    s = setup(db, dovecot)
    settings = mail_settings(db, mailbox_yield_s=60.0, worker_interval_s=0.1)
    w = worker(db, clock, mailbox_yield_s=60.0, worker_interval_s=0.1)
    busy = Busy(w.priority)
    mail = lane.MailProcess(settings, clock, w.priority).start()
    try:
        time.sleep(3.0)  # time enough to start and sync, were it not for the reminders
        assert _synced(db, s.user_id).last_sync_at is None
        released = time.monotonic()
        busy.release()
        while _synced(db, s.user_id).last_sync_at is None and time.monotonic() - released < 15:
            time.sleep(0.05)
        assert _synced(db, s.user_id).last_sync_at == NOW
    finally:
        if busy.thread.is_alive():
            busy.release()
        mail.stop(10)
