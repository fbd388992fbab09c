"""The worker: turns due state into notifications and delivers them.

Each step claims a batch and commits it in one transaction; a step repeats until it
finds nothing, then the loop sleeps. Any number of workers can run (PostgreSQL: SKIP
LOCKED claims; SQLite: one writer at a time). SIGTERM or SIGINT lets the current batch
finish, then the worker exits. `followups serve` runs one in a thread of its own
(BackgroundWorker) on the embedded SQLite default, so `make run` sends reminders too.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from sqlalchemy.exc import OperationalError

from followups import housekeeping
from followups.config import Settings
from followups.db import Database
from followups.delivery import service as delivery
from followups.delivery.errors import DeliveryError
from followups.mailbox import secret
from followups.mailbox.imap import Pool
from followups.mailbox.sync import claim_due, sync_mailbox
from followups.migrate import is_at_head
from followups.notifications.digests import make_digests
from followups.notifications.presenting import present_due
from followups.notifications.reminders import sweep_reminders

log = logging.getLogger("followups.worker")


class Worker:
    def __init__(self, db: Database, settings: Settings, clock: Callable[[], datetime] | None = None):
        self.db = db
        self.settings = settings
        self.clock = clock or (lambda: datetime.now(UTC))
        self.stopping = threading.Event()
        secret.configure(settings)  # the key file is made on first start
        self.imap_pool = Pool()  # the mailboxes' IMAP sessions, kept between their syncs

    def _drain(self, name: str, step: Callable[..., int]) -> int:
        total = 0
        while not self.stopping.is_set():
            with self.db.transaction() as session:
                done = step(session, now=self.clock(), batch=self.settings.worker_batch)
            total += done
            if done < self.settings.worker_batch:
                break
        if total:
            log.info("%s: %d", name, total)
        return total

    def deliver(self) -> int:
        total = 0
        while not self.stopping.is_set():
            with self.db.transaction() as session:
                batch = delivery.claim_deliveries(session, now=self.clock(), batch=self.settings.worker_batch)
            # The claimed batch is finished even when a stop was asked for meanwhile.
            for job in batch:
                error = None
                try:
                    delivery.send(job, self.settings, now=self.clock())
                except DeliveryError as exc:
                    error = exc
                    log.warning("delivery %s (%s) failed: %s", job.delivery_id, job.channel, exc)
                with self.db.transaction() as session:
                    delivery.record(session, job, error, now=self.clock(),
                                    max_attempts=self.settings.delivery_max_attempts)
            total += len(batch)
            if len(batch) < self.settings.worker_batch:
                break
        return total

    def tick(self) -> dict[str, int]:
        """One sweep of every step, each until it finds nothing left to do."""
        return {
            "reminders": self._drain("reminders", sweep_reminders),
            "digests": self._drain("digests", make_digests),
            "presented": self._drain(
                "presented", lambda s, now, batch: present_due(s, self.settings, now=now, batch=batch)
            ),
            "deliveries": self.deliver(),
            "pruned": housekeeping.prune(self.db, self.settings, now=self.clock()),
            "checkpointed": housekeeping.checkpoint_wal(self.db, self.settings),
        }

    def sync_mailboxes(self) -> int:
        """One round of the mailbox lane: the due mailboxes, a few at once, each within its
        own time budget. Never called from `tick`: a slow mail server must not delay the
        reminders, so the loop runs this lane in a thread of its own (`run`)."""
        total = 0
        threads = self.settings.mailbox_threads

        def one(claimed):
            return sync_mailbox(self.db, self.settings, claimed, clock=self.clock, pool=self.imap_pool)

        with ThreadPoolExecutor(threads, "followups-mailbox") as pool:
            while not self.stopping.is_set():
                with self.db.transaction() as session:
                    claimed = claim_due(session, self.settings, now=self.clock(), batch=threads)
                for report in pool.map(one, claimed):
                    total += 1
                    if report.recorded:
                        log.info("mailbox: %s", report.recorded)
                if len(claimed) < threads:
                    break
        return total

    def _mail_lane(self) -> None:
        while not self.stopping.is_set():
            try:
                self.sync_mailboxes()
            except OperationalError as exc:
                log.warning("mailbox sync failed, retrying: %s", type(exc.orig).__name__)
            except Exception:  # the lane must outlive any one failure; the reminders go on regardless
                log.exception("mailbox sync failed")
            self.stopping.wait(min(self.settings.worker_interval_s, 5.0))

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
        if not once and not self.wait_for_schema():
            log.info("stopped")
            return
        lane = None
        if not once:
            lane = threading.Thread(target=self._mail_lane, name="followups-mail-lane", daemon=True)
            lane.start()
        try:
            self._loop(once)
        finally:
            if lane is not None:
                self.stopping.set()
                lane.join(self.settings.mailbox_budget_s + 5)
            self.imap_pool.close()
        log.info("stopped")

    def _loop(self, once: bool) -> None:
        while not self.stopping.is_set():
            try:
                counts = self.tick()
            except OperationalError as exc:  # the database went away: the batch rolled back
                if once:
                    raise
                log.warning("sweep failed, retrying: %s", type(exc.orig).__name__)
                self.stopping.wait(self.settings.worker_interval_s)
                continue
            if once:
                counts["mailboxes"] = self.sync_mailboxes()
                log.info("one sweep done: %s", counts)
                return
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
