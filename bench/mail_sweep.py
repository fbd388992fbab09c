"""The worker's reminder sweep rate, alone and while 50 mailboxes sync (issue 20, item 6).

    .venv/bin/python bench/mail_sweep.py                       # SQLite in a temporary directory
    .venv/bin/python bench/mail_sweep.py --url postgresql+psycopg://postgres@127.0.0.1:5432/followups_bench

A Dovecot is started on a free loopback port as the tests start it (tests/mailservers.py);
--mailboxes IMAP users get --messages messages each, --involved of them with the user's
contacts (bench/mail_sync.py's mailbox). Then, each time on a fresh schema with --due due
follow-ups (bench/sweep.py's rows), the worker's reminder sweep (its `reminders` step, batch
by batch, again until every due follow-up has its reminder: a sweep skips the users another
writer holds, and the worker's next sweep takes them) is timed:
  - alone;
  - while the worker's mail lane syncs every mailbox, as `Worker.run` runs it: in a process
    of its own (mailbox.lane.MailProcess, at --mail-nice), yielding to the reminders (it is
    given the sweeping worker's `priority`), every mailbox due again as soon as it is synced,
    so round follows round (the first reads everything, the next ones find nothing new) for
    as long as the sweep runs;
  - with --thread-lane also: the same lane in a thread of the sweep's process (how the worker
    ran it before it had a process of its own), for comparison in the same run;
  - with --unprioritized also: the process lane without the priority (how the worker ran it
    before the reminders went first), for comparison in the same run.
--rounds times over, alternated (alone, process, ..., alone, process, ...): the ratios
compare the medians of one run.
Printed: each timing, the median rates and their ratios (with each round's), the CPU seconds
the sweep's process, the mail lane's process, Dovecot and PostgreSQL (this database's
backends) used meanwhile, and the time the sweep spent in database statements (of it in
BEGIN: on SQLite, waiting for the write lock), and on PostgreSQL what the sweep's backends
were doing (sampled: on CPU, or which wait).
The database named by --url is emptied.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from mail_sync import ME, fill_mailbox
from sqlalchemy import event, func, insert, select, text
from sweep import fill, reset

from followups.config import Settings
from followups.db import Database
from followups.mailbox import secret
from followups.mailbox import service as mailboxes
from followups.mailbox.account import Account, Server
from followups.mailbox.imap import Pool
from followups.mailbox.lane import MailProcess, run_lane
from followups.models import Contact, Mailbox, MailMessage, Notification, User
from followups.notifications.reminders import sweep_reminders
from followups.worker import Worker, utcnow
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


def timed_sweep(worker: Worker, due: int) -> tuple[int, float]:
    start = time.perf_counter()
    done = 0
    while done < due:  # the worker's own reminders step, as its next sweeps would
        done += worker._drain("reminders", sweep_reminders)
    return done, time.perf_counter() - start


def cpu_of(pid: int) -> float:
    """user + system CPU seconds of a process and its ended children (Linux /proc; 0 if gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def cpu_seconds(pids: dict[str, list[int]]) -> dict[str, dict[int, float]]:
    return {name: {pid: cpu_of(pid) for pid in group} for name, group in pids.items()}


def descendants(root: int) -> list[int]:
    """`root` and every process under it (this Dovecot's master: its imap and auth processes)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, ()))
    return found


def postgres_backends(database: Database) -> list[int]:
    """The PostgreSQL server processes serving this database (none on SQLite)."""
    if database.engine.dialect.name != "postgresql":
        return []
    with database.engine.connect() as conn:
        return list(conn.scalars(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")))


class InDatabase:
    """Seconds the sweep's thread spends in database statements, and of those in BEGIN
    (on SQLite, BEGIN IMMEDIATE: waiting for the write lock another writer holds)."""

    def __init__(self, engine) -> None:
        self.engine, self.thread = engine, threading.get_ident()
        self.total = self.begin = 0.0
        self.started: float | None = None

    def __enter__(self) -> InDatabase:
        event.listen(self.engine, "before_cursor_execute", self._before)
        event.listen(self.engine, "after_cursor_execute", self._after)
        return self

    def __exit__(self, *_exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)

    def _before(self, *_args) -> None:
        if threading.get_ident() == self.thread:
            self.started = time.perf_counter()

    def _after(self, _conn, _cursor, statement, *_args) -> None:
        if threading.get_ident() == self.thread and self.started is not None:
            spent = time.perf_counter() - self.started
            self.total += spent
            if statement.startswith("BEGIN"):
                self.begin += spent
            self.started = None


class Waits:
    """What the sweep's PostgreSQL backends were doing, sampled every 20 ms from
    pg_stat_activity: "CPU" (active, no wait event: running, or runnable and waiting for a
    core), a wait event type (Lock, LWLock, IO, ...), or "idle" (waiting on the sweep)."""

    def __init__(self, database: Database) -> None:
        self.database, self.pids, self.seen = database, set(), Counter()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)

    def _checkout(self, dbapi_connection, _record, _proxy) -> None:
        if threading.get_ident() == self.sweeping:
            self.pids.add(dbapi_connection.info.backend_pid)

    def __enter__(self) -> Waits:
        if self.database.engine.dialect.name == "postgresql":
            self.sweeping = threading.get_ident()
            event.listen(self.database.engine, "checkout", self._checkout)
            self.thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join()
            event.remove(self.database.engine, "checkout", self._checkout)

    def _sample(self) -> None:
        url = self.database.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(url, autocommit=True) as conn:
            while not self.stop.wait(0.02):
                for pid, state, wait in conn.execute(
                        "SELECT pid, state, wait_event_type FROM pg_stat_activity WHERE datname = current_database()"):
                    if pid in self.pids:
                        self.seen["idle" if state != "active" else wait or "CPU"] += 1

    def __str__(self) -> str:
        total = sum(self.seen.values())
        return ", ".join(f"{k} {100 * v / total:.0f}%" for k, v in self.seen.most_common()) if total else ""


def run(database: Database, settings: Settings, boxes: list, args, now: datetime, *, lane: str | None,
        dovecot_pid: int) -> float:
    """One timed sweep on a fresh schema; `lane` ("process", "thread" or "process, unprioritized"): the
    mail lane runs beside it."""
    reset(database)
    fill(database, users=args.users, due=args.due, idle=0, now=now)
    connect(database, boxes, now)
    reminders = Worker(database, settings, clock=lambda: now)
    # Every mailbox due again as soon as it is synced, no pause between rounds.
    lane_settings = settings.model_copy(update={"mailbox_sync_interval_s": 0.001, "worker_interval_s": 0.001,
                                                "mailbox_nice": args.mail_nice})
    stop, mail, thread = threading.Event(), None, None
    priority = None if lane == "process, unprioritized" else reminders.priority  # as Worker.run gives it
    if lane in ("process", "process, unprioritized"):
        mail = MailProcess(lane_settings, utcnow, priority).start()
    elif lane == "thread":
        thread = threading.Thread(target=run_lane, name="bench-mail-lane", kwargs={
            "db": database, "settings": lane_settings, "clock": utcnow, "pool": Pool(), "stopping": stop,
            "priority": priority})
        thread.start()
    if lane:  # the lane is under way (its first round reads every header)
        while not synced_any(database):
            time.sleep(0.05)
    groups = {"sweep": [os.getpid()], "mail lane": [mail.process.pid] if mail else [],
              "dovecot": descendants(dovecot_pid), "postgres": postgres_backends(database)}
    before = cpu_seconds(groups)
    with Waits(database) as backends, InDatabase(database.engine) as waited:
        done, seconds = timed_sweep(reminders, args.due)
    # Backends and imap processes that began meanwhile count whole.
    groups.update(dovecot=descendants(dovecot_pid), postgres=postgres_backends(database))
    after = cpu_seconds(groups)
    used = {k: sum(v - before[k].get(pid, 0.0) for pid, v in after[k].items()) for k in groups}
    stop.set()
    if mail:
        mail.stop(30)
    if thread:
        thread.join()
    reminders.imap_pool.close()
    with database.transaction(write=False) as s:
        made = s.scalar(select(func.count()).select_from(Notification).where(Notification.kind == "followup_due"))
        recorded = s.scalar(select(func.count()).select_from(MailMessage))
        synced = s.scalar(select(func.count()).select_from(Mailbox).where(Mailbox.last_sync_at.is_not(None)))
    assert args.due <= done <= made, (done, made)  # (+ any that the synced sent mail made due)
    what = (f"while the mail lane ({lane}) synced ({synced} mailboxes synced, {recorded} messages recorded)"
            if lane else "alone")
    cpu = ", ".join(f"{k} {v:.1f}" for k, v in used.items() if groups[k])
    print(f"{database.engine.dialect.name}: reminder sweep {what}: {done} reminders in {seconds:.2f} s "
          f"= {done / seconds:,.0f}/s; CPU s: {cpu}; the sweep in statements {waited.total:.1f} s "
          f"(BEGIN {waited.begin:.1f} s){'; its backends: ' + str(backends) if backends.seen else ''}", flush=True)
    return done / seconds


def synced_any(database: Database) -> bool:
    with database.transaction(write=False) as s:
        return bool(s.scalar(select(func.count()).select_from(Mailbox).where(
            (Mailbox.last_sync_at.is_not(None)) | (Mailbox.lease_until.is_not(None)))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="database URL (default: SQLite in a temporary directory)")
    parser.add_argument("--mailboxes", type=int, default=50)
    parser.add_argument("--messages", type=int, default=200, help="per mailbox")
    parser.add_argument("--involved", type=int, default=20, help="per mailbox: with its contacts")
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--due", type=int, default=20_000)
    parser.add_argument("--mail-nice", type=int, default=Settings.model_fields["mailbox_nice"].default,
                        help="the mail lane process's os.nice (default: the setting's default)")
    parser.add_argument("--thread-lane", action="store_true",
                        help="also with the mail lane in a thread of the sweep's process (before: for comparison)")
    parser.add_argument("--unprioritized", action="store_true",
                        help="also with the process lane not yielding to the reminders (before: for comparison)")
    parser.add_argument("--rounds", type=int, default=3, help="each timing this many times, alternated")
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
        lanes = [None, "process", *(["thread"] if args.thread_lane else []),
                 *(["process, unprioritized"] if args.unprioritized else [])]
        master = int((dovecot.root / "run" / "master.pid").read_text())
        rates: dict[str | None, list[float]] = {lane: [] for lane in lanes}
        for _round in range(args.rounds):
            for lane in lanes:
                rates[lane].append(run(database, settings, boxes, args, now, lane=lane, dovecot_pid=master))
        alone = statistics.median(rates[None])
        print(f"rate alone: median {alone:,.0f}/s ({min(rates[None]):,.0f}-{max(rates[None]):,.0f}, "
              f"{args.rounds} rounds)")
        for lane in lanes[1:]:
            print(f"rate while {args.mailboxes} mailboxes sync (mail lane in a {lane}) / rate alone: "
                  f"{statistics.median(rates[lane]) / alone:.2f} (medians; each round "
                  f"{', '.join(f'{r / a:.2f}' for r, a in zip(rates[lane], rates[None], strict=True))})")
    finally:
        dovecot.stop()
        database.dispose()


if __name__ == "__main__":
    main()
