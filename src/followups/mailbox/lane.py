"""The mailbox lane of the worker: the due mailboxes synced a few at once, round after round.

`MailProcess` runs the lane in a process of its own (spawned, a fresh interpreter), so that
parsing mail never takes the GIL from the reminders, at a lower CPU priority
(`mailbox_nice`). It stops on SIGTERM (what `stop` sends), and by itself when its parent
ends, killed with SIGKILL included (the parent's sentinel closes). A sync cut short there is
left to its lease, as with a worker killed mid-batch: nothing is recorded twice.

Reminders are time-critical, mail is background work: while the worker's reminders lane
works (`Priority.busy`), the lane pauses before its next claim and before each chunk of a
folder, and goes on when the reminders lane is idle again. A round pauses at most
`mailbox_yield_s` in all (wall time, `Yielding`), so a due mailbox is synced at most that
much later than it would be otherwise, however busy the reminders are. The sync under way
finishes its chunk first: a pause never holds a lock or a transaction open.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy.exc import OperationalError

from followups.config import Settings
from followups.db import Database
from followups.mailbox import secret
from followups.mailbox.imap import Pool
from followups.mailbox.sync import claim_due, sync_mailbox
from followups.observability import configure_logging

log = logging.getLogger("followups.worker")


class Priority:
    """Whether the worker's reminders lane is at work, shared with the mail lane's process
    (an Event of the spawn context: set while the reminders lane is idle)."""

    def __init__(self) -> None:
        self._idle = multiprocessing.get_context("spawn").Event()
        self._idle.set()
        self._depth = 0  # `busy` nests; only the reminders lane's thread calls it

    @contextmanager
    def busy(self) -> Iterator[None]:
        self._depth += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._depth -= 1
            if self._depth == 0:
                self._idle.set()

    def idle(self) -> bool:
        return self._idle.is_set()

    def wait(self, up_to_s: float) -> float:
        """Until the reminders lane is idle, `up_to_s` at most: the seconds waited."""
        started = time.monotonic()
        self._idle.wait(up_to_s)
        return time.monotonic() - started


class Yielding:
    """One round's pauses for the reminders: `allowance_s` of wall time in all. The round's
    threads pause one after the other (the lock), so their pauses never add up past it."""

    def __init__(self, priority: Priority | None, allowance_s: float) -> None:
        self.priority, self.left = priority, allowance_s
        self.lock = threading.Lock()

    def __call__(self) -> None:
        if self.priority is None or self.left <= 0 or self.priority.idle():
            return
        with self.lock:
            if self.left > 0:
                self.left -= self.priority.wait(self.left)


def sync_due(db: Database, settings: Settings, *, clock: Callable[[], datetime], pool: Pool,
             stopping: threading.Event, priority: Priority | None = None) -> int:
    """One round: the due mailboxes, `mailbox_threads` at once, each within its own budget,
    the reminders first (`priority`); how many were synced."""
    total = 0
    threads = settings.mailbox_threads
    pause = Yielding(priority, settings.mailbox_yield_s)

    def one(claimed):
        return sync_mailbox(db, settings, claimed, clock=clock, pool=pool, pause=pause)

    with ThreadPoolExecutor(threads, "followups-mailbox") as executor:
        while not stopping.is_set():
            pause()
            with db.transaction() as session:
                claimed = claim_due(session, settings, now=clock(), batch=threads)
            for report in executor.map(one, claimed):
                total += 1
                if report.recorded:
                    log.info("mailbox: %s", report.recorded)
            if len(claimed) < threads:
                break
    return total


def run_lane(db: Database, settings: Settings, *, clock: Callable[[], datetime], pool: Pool,
             stopping: threading.Event, priority: Priority | None = None) -> None:
    """Rounds until `stopping`, outliving any one failure."""
    while not stopping.is_set():
        try:
            sync_due(db, settings, clock=clock, pool=pool, stopping=stopping, priority=priority)
        except OperationalError as exc:
            log.warning("mailbox sync failed, retrying: %s", type(exc.orig).__name__)
        except Exception:  # the lane must outlive any one failure
            log.exception("mailbox sync failed")
        stopping.wait(min(settings.worker_interval_s, 5.0))


class MailProcess:
    """The lane in a child process, from `start` to `stop`."""

    def __init__(self, settings: Settings, clock: Callable[[], datetime], priority: Priority | None = None):
        self.settings, self.clock, self.priority = settings, clock, priority
        self.process: multiprocessing.process.BaseProcess | None = None

    def start(self) -> MailProcess:
        context = multiprocessing.get_context("spawn")  # never fork a process that has threads
        level = logging.getLogger().getEffectiveLevel()  # the child logs as much as its parent
        self.process = context.Process(target=_child, args=(self.settings, self.clock, level, self.priority),
                                       name="followups-mail-lane", daemon=True)
        self.process.start()
        return self

    def interrupt(self) -> None:
        """SIGTERM: the lane stops (`stop` waits for it)."""
        if self.process is not None and self.process.exitcode is None:
            self.process.terminate()

    def stop(self, timeout_s: float) -> None:
        """SIGTERM, then SIGKILL after `timeout_s`."""
        process = self.process
        if process is None:
            return
        self.interrupt()
        process.join(timeout_s)
        if process.exitcode is None:
            log.warning("mail lane did not stop within %g s: killed", timeout_s)
            process.kill()
            process.join()
        process.close()
        self.process = None


def _child(settings: Settings, clock: Callable[[], datetime], log_level: int, priority: Priority | None) -> None:
    stopping = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):  # first: a stop during start-up is a stop
        signal.signal(sig, lambda *_: stopping.set())
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_orphaned, args=(parent.sentinel, stopping), name="followups-parent",
                         daemon=True).start()
    if settings.mailbox_nice:
        try:
            os.nice(settings.mailbox_nice)
        except OSError as exc:
            log.warning("mail lane: cannot lower its CPU priority: %s", exc)
    configure_logging(logging.getLevelName(log_level))  # JSON lines on stderr, as its parent's
    secret.configure(settings)
    db = Database(settings)
    pool = Pool()
    lane = threading.Thread(target=run_lane, kwargs={"db": db, "settings": settings, "clock": clock, "pool": pool,
                                                     "stopping": stopping, "priority": priority},
                            name="followups-mail-lane", daemon=True)
    lane.start()
    stopping.wait()
    # A sync under way gets a moment to finish its chunk; past it, its lease covers it.
    lane.join(settings.delivery_deadline_s / 2)
    if lane.is_alive():
        os._exit(0)
    pool.close()
    db.dispose()


def _orphaned(sentinel: int, stopping: threading.Event) -> None:
    multiprocessing.connection.wait([sentinel])  # ready when the parent has ended, however
    stopping.set()
