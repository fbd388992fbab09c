"""The worker's reminder sweep rate, alone and while 50 mailboxes sync (issue 20, item 6).

    .venv/bin/python bench/mail_sweep.py                       # SQLite in a temporary directory
    .venv/bin/python bench/mail_sweep.py --url postgresql+psycopg://postgres@127.0.0.1:5432/followups_bench

A Dovecot is started on a free loopback port as the tests start it (tests/mailservers.py);
--mailboxes IMAP users get --messages messages each, --involved of them with the user's
contacts (bench/mail_sync.py's mailbox). Then twice on a fresh schema, with --due due
follow-ups (bench/sweep.py's rows): the worker's reminder sweep (its `reminders` step, batch
by batch until nothing is due) is timed alone, and again while the worker's mail lane
(`Worker.sync_mailboxes`, in a thread of its own as `Worker.run` has it) syncs every
mailbox, round after round (the first round reads everything, the next ones find nothing
new), for as long as the sweep runs. Printed: both rates and their ratio. The database
named by --url is emptied.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mail_sync import ME, fill_mailbox
from sqlalchemy import func, insert, select
from sweep import fill, reset

from followups.config import Settings
from followups.db import Database
from followups.mailbox import secret
from followups.mailbox import service as mailboxes
from followups.mailbox.account import Account, Server
from followups.models import Contact, MailMessage, Notification, User
from followups.notifications.reminders import sweep_reminders
from followups.worker import Worker
from mailservers import PASSWORD, Dovecot


def connect(database: Database, boxes: list[tuple[str, list[str], int, str]], now: datetime) -> None:
    """One user per IMAP user, with its contacts and its mailbox saved (due at once)."""
    with database.transaction() as session:
        for n, (imap_user, contacts, port, sent) in enumerate(boxes):
            uid = uuid.uuid4()
            session.execute(insert(User).values(
                id=uid, email=f"mail{n}@example.com", email_key=f"mail{n}@example.com", password_hash="x",
                timezone="UTC", followup_delays_days=[3, 3], dormant_after_days=7, skip_weekends=False,
                digest_hour=8, digest_email=False, next_digest_at=now + timedelta(days=1), created_at=now))
            session.execute(insert(Contact), [
                {"id": uuid.uuid4(), "user_id": uid, "name": f"Person {i}", "email": c, "created_at": now,
                 "updated_at": now} for i, c in enumerate(contacts)])
            mailboxes.save_mailbox(session, session.get(User, uid), Account(
                imap=Server("127.0.0.1", port, "none"), smtp=Server("127.0.0.1", 1, "none"),
                username=imap_user, password=PASSWORD, address=ME, inbox="INBOX", sent=sent,
            ), now=now)


def timed_sweep(worker: Worker) -> tuple[int, float]:
    start = time.perf_counter()
    done = worker._drain("reminders", sweep_reminders)  # the worker's own reminders step
    return done, time.perf_counter() - start


def run(database: Database, settings: Settings, boxes: list, args, now: datetime, *, with_mail: bool) -> float:
    """One timed sweep on a fresh schema; with `with_mail`, the mail lane runs beside it."""
    reset(database)
    fill(database, users=args.users, due=args.due, idle=0, now=now)
    connect(database, boxes, now)
    reminders = Worker(database, settings, clock=lambda: now)
    lane_now = [now]
    mail = Worker(database, settings, clock=lambda: lane_now[0])
    rounds, synced, stop = [0], [0], threading.Event()

    def lane() -> None:
        while not stop.is_set():
            synced[0] += mail.sync_mailboxes()
            rounds[0] += 1
            lane_now[0] += timedelta(seconds=settings.mailbox_sync_interval_s + 1)  # all due again

    thread = threading.Thread(target=lane, name="bench-mail-lane")
    if with_mail:
        thread.start()
        time.sleep(0.2)  # the lane is under way (its first round reads every header)
    done, seconds = timed_sweep(reminders)
    stop.set()
    if with_mail:
        thread.join()
    mail.imap_pool.close()
    reminders.imap_pool.close()
    with database.transaction(write=False) as s:
        made = s.scalar(select(func.count()).select_from(Notification).where(Notification.kind == "followup_due"))
        recorded = s.scalar(select(func.count()).select_from(MailMessage))
    assert args.due <= done <= made, (done, made)  # (+ any that the synced sent mail made due)
    what = (f"while the mail lane ran {rounds[0]} rounds ({synced[0]} mailbox syncs, {recorded} messages "
            "recorded)") if with_mail else "alone"
    print(f"{database.engine.dialect.name}: reminder sweep {what}: {done} reminders in {seconds:.2f} s "
          f"= {done / seconds:,.0f}/s", flush=True)
    return done / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="database URL (default: SQLite in a temporary directory)")
    parser.add_argument("--mailboxes", type=int, default=50)
    parser.add_argument("--messages", type=int, default=200, help="per mailbox")
    parser.add_argument("--involved", type=int, default=20, help="per mailbox: with its contacts")
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--due", type=int, default=20_000)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="followups-bench-mailsweep-"))
    settings = Settings(database_url=args.url or f"sqlite:///{tmp / 'bench.db'}", secret_key="bench only",
                        mailbox_lookback_days=90)
    database = Database(settings)
    secret.configure(settings)
    dovecot = Dovecot().start()
    try:
        now = datetime.now(UTC)
        started = time.perf_counter()
        boxes = []
        for n in range(args.mailboxes):
            imap_user = dovecot.add_user(f"bench{n}")
            boxes.append((imap_user, fill_mailbox(dovecot, imap_user, messages=args.messages,
                                                  involved=args.involved, now=now), dovecot.port, dovecot.sent))
        print(f"{args.mailboxes} mailboxes filled ({args.messages} messages each, {args.involved} with contacts) "
              f"in {time.perf_counter() - started:.1f} s")
        rates = [run(database, settings, boxes, args, now, with_mail=w) for w in (False, True)]
        print(f"rate while {args.mailboxes} mailboxes sync / rate alone: {rates[1] / rates[0]:.2f}")
    finally:
        dovecot.stop()
        database.dispose()


if __name__ == "__main__":
    main()
