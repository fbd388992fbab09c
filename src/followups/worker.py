"""The worker: turns due state into notifications and delivers them, in three lanes that
never wait on each other.

- reminders, digests and presenting (this loop): each step claims a batch and commits it in
  one transaction, repeats until it finds nothing, then the loop sleeps;
- deliveries (delivery.lane, a thread of its own): attempts at once, bounded in all and per
  receiver, each whole within `delivery_deadline_s`;
- the mailbox sync (mailbox.lane, a process of its own: its parsing never takes the GIL from
  the reminders). It yields to the reminders: while this loop works (`priority`), it pauses
  before its next claim or chunk, a round at most `mailbox_yield_s` in all. The reminders
  never wait for it.

Any number of workers can run (PostgreSQL: SKIP LOCKED claims; SQLite: one writer at a
time). SIGTERM or SIGINT: the current batch finishes, the attempts in flight end (by their
deadline), the mail lane stops, and the worker exits: within the deadline. `followups serve`
runs one in a thread of its own (BackgroundWorker) on the embedded SQLite default, so
`make run` sends reminders too. `--once` (run(once=True)) runs each lane once, inline.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.exc import OperationalError

from followups import housekeeping
from followups.config import Settings
from followups.db import Database
from followups.delivery.lane import DeliveryLane
from followups.mailbox import lane as mail_lane
from followups.mailbox import secret
from followups.mailbox.imap import Pool
from followups.migrate import is_at_head
from followups.notifications.digests import make_digests
from followups.notifications.presenting import present_due
from followups.notifications.reminders import sweep_reminders

log = logging.getLogger("followups.worker")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Worker:
    def __init__(self, db: Database, settings: Settings, clock: Callable[[], datetime] | None = None,
                 *, stopping: threading.Event | None = None):
        self.db = db
        self.settings = settings
        self.clock = clock or utcnow
        # Set by SIGTERM/SIGINT, or by whoever runs the worker (followups.stopping at start-up).
        self.stopping = stopping or threading.Event()
        secret.configure(settings)  # the key file is made on first start
        self.imap_pool = Pool()  # the mailboxes' IMAP sessions, kept between their syncs (inline)
        self.deliveries = DeliveryLane(db, settings, self.clock)
        # Busy while the reminders lane works: the mail lane pauses meanwhile (mailbox.lane).
        self.priority = mail_lane.Priority()

    def _drain(self, name: str, step: Callable[..., int]) -> int:
        total = 0
        with self.priority.busy():
            while not self.stopping.is_set():
                with self.db.transaction() as session:
                    done = step(session, now=self.clock(), batch=self.settings.worker_batch)
                total += done
                if done < self.settings.worker_batch:
                    break
        if total:
            log.info("%s: %d", name, total)
        return total

    def sweep(self) -> dict[str, int]:
        """The reminders lane, once: every step until it finds nothing left to do."""
        with self.priority.busy():
            counts = self._steps()
        if any(counts.values()):
            self.deliveries.poke()  # what was made may have deliveries: no need to wait
        return counts

    def _steps(self) -> dict[str, int]:
        return {
            "reminders": self._drain("reminders", sweep_reminders),
            "digests": self._drain("digests", make_digests),
            "presented": self._drain(
                "presented", lambda s, now, batch: present_due(s, self.settings, now=now, batch=batch)
            ),
            "pruned": housekeeping.prune(self.db, self.settings, now=self.clock()),
            "checkpointed": housekeeping.checkpoint_wal(self.db, self.settings),
        }

    def deliver(self) -> int:
        """Every delivery due now (the deliveries lane, once, inline)."""
        return self.deliveries.drain(self.stopping)

    def tick(self) -> dict[str, int]:
        """One sweep of the reminders lane, then the deliveries it made, inline."""
        return {**self.sweep(), "deliveries": self.deliver()}

    def sync_mailboxes(self) -> int:
        """One round of the mailbox lane, inline (--once, tests)."""
        return mail_lane.sync_due(self.db, self.settings, clock=self.clock, pool=self.imap_pool,
                                  stopping=self.stopping)

    def wait_for_schema(self) -> bool:
        """Until the database answers and is migrated to this code's head (a worker may start
        before the database or before `followups db upgrade`). False if stopped meanwhile."""
        waited = False
        while not self.stopping.is_set():
            try:
                if is_at_head(self.db.engine):
                    if waited:
                        log.info("database ready")
                    return True
                reason = "migrations pending (followups db upgrade)"
            except OperationalError as exc:
                reason = f"database unreachable ({type(exc.orig).__name__})"
            if not waited:
                log.warning("waiting for the database: %s", reason)
                waited = True
            self.stopping.wait(min(self.settings.worker_interval_s, 1.0))
        return False

    def run(self, *, once: bool = False) -> None:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: self.stopping.set())
        if once:
            counts = self.tick()
            counts["mailboxes"] = self.sync_mailboxes()
            self.imap_pool.close()
            log.info("one sweep done: %s", counts)
            return
        if not self.wait_for_schema():
            log.info("stopped")
            return
        mail = mail_lane.MailProcess(self.settings, self.clock, self.priority).start()
        deliveries = threading.Thread(target=self._delivery_lane, name="followups-deliveries", daemon=True)
        deliveries.start()
        try:
            self._loop()
        finally:
            self.stopping.set()
            until = time.monotonic() + self.settings.delivery_deadline_s
            mail.interrupt()
            deliveries.join()  # the attempts in flight end by their deadline
            mail.stop(max(until - time.monotonic(), 1.0))
        log.info("stopped")

    def _delivery_lane(self) -> None:
        while not self.stopping.is_set():
            try:
                self.deliveries.run(self.stopping)
            except Exception:  # the lane must outlive any one failure; the reminders go on regardless
                log.exception("deliveries failed")
                self.stopping.wait(self.settings.worker_interval_s)

    def _loop(self) -> None:
        while not self.stopping.is_set():
            try:
                self.sweep()
            except OperationalError as exc:  # the database went away: the batch rolled back
                log.warning("sweep failed, retrying: %s", type(exc.orig).__name__)
            self.stopping.wait(self.settings.worker_interval_s)


class BackgroundWorker:
    """A Worker in a thread of this process, for as long as the `with` block (the server)
    runs: its own Database (its own connections), never on the event loop; on leaving, the
    current batch finishes and the thread ends. Disabled, it does nothing."""

    def __init__(self, settings: Settings, *, enabled: bool = True):
        self.settings = settings
        self.enabled = enabled
        self.worker: Worker | None = None
        self.thread: threading.Thread | None = None

    def __enter__(self) -> BackgroundWorker:
        if self.enabled:
            self.worker = Worker(Database(self.settings), self.settings)
            self.thread = threading.Thread(target=self._run, name="followups-worker", daemon=True)
            self.thread.start()
            log.info("worker started in the server process (every %ss)", self.settings.worker_interval_s)
        return self

    def _run(self) -> None:
        worker = self.worker
        assert worker is not None
        try:
            while not worker.stopping.is_set():
                try:
                    worker.run()
                except Exception:  # the server goes on; the sweep is tried again after a pause
                    log.exception("in-process worker: sweep failed; retrying")
                    worker.stopping.wait(worker.settings.worker_interval_s)
        finally:
            worker.db.dispose()

    def __exit__(self, *_exc) -> None:
        if self.worker is None or self.thread is None:
            return
        self.worker.stopping.set()
        self.thread.join()
