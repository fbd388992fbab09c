"""The deliveries lane: attempts run at once, bounded in all (`delivery_concurrency`) and
per receiver (`delivery_per_host`), each whole within `delivery_deadline_s`.

Only as many deliveries are claimed as there are free slots, so each claimed attempt starts
at its claim and ends by its deadline, well before its lease (service.lease): no second
worker takes an attempt still alive. A claimed delivery whose receiver already has its
share of attempts in flight is given back unsent, and that user's deliveries are left out of
the claims until the receiver has room again: a receiver that trickles bytes or never
answers holds its own slots, never another user's. The loop runs in a thread of its own
(`run`) beside the reminders; its database calls run in threads, never on the loop.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import httpx
from sqlalchemy.exc import OperationalError

from followups.config import Settings
from followups.db import Database
from followups.delivery import service, webhook
from followups.delivery.errors import DeliveryError
from followups.models import DeliveryChannel

log = logging.getLogger("followups.worker")
POLL_S = 0.1  # how soon a stop, a poke or a finished attempt is noticed
BACKSTOP_S = 1.0  # the senders cut themselves off at the deadline; this is in case one does not


class DeliveryLane:
    def __init__(self, db: Database, settings: Settings, clock: Callable[[], datetime]):
        self.db, self.settings, self.clock = db, settings, clock
        self.busy: Counter[str] = Counter()  # receiver -> attempts in flight
        self.receiver_of: dict[uuid.UUID, str] = {}  # user -> their webhook's receiver, as last claimed
        self.poked = threading.Event()
        self.recorded = 0

    def poke(self) -> None:
        """New deliveries may be due: look now rather than after the interval."""
        self.poked.set()

    def run(self, stopping: threading.Event) -> None:
        """The lane, until `stopping`; the attempts in flight then end (by their deadline)."""
        asyncio.run(self._serve(stopping, until_idle=False))

    def drain(self, stopping: threading.Event) -> int:
        """Every delivery due now, at once within the bounds; the number of attempts recorded."""
        before = self.recorded
        asyncio.run(self._serve(stopping, until_idle=True))
        return self.recorded - before

    async def _serve(self, stopping: threading.Event, *, until_idle: bool) -> None:
        limit = self.settings.delivery_concurrency
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(limit + 4, thread_name_prefix="followups-delivery"))
        tasks: set[asyncio.Task] = set()
        async with webhook.client(self.settings.webhook_timeout_s) as via:
            try:
                while not stopping.is_set():
                    free = limit - len(tasks)
                    claimed, skipped = 0, False
                    if free > 0:
                        try:
                            started, claimed, skipped = await self._claim(free)
                        except OperationalError as exc:  # the database went away: the claim rolled back
                            if until_idle:
                                raise
                            log.warning("delivery claim failed, retrying: %s", type(exc.orig).__name__)
                            await self._pause(set(), stopping, self.settings.worker_interval_s)
                            continue
                        for job, receiver in started:
                            task = asyncio.create_task(self._attempt(job, receiver, via))
                            tasks.add(task)
                            task.add_done_callback(tasks.discard)
                    if not claimed and not skipped and not tasks and until_idle:
                        return
                    # More may be due now: a full claim, or some left out for a receiver
                    # that has room again (its attempts ended meanwhile).
                    if not (free and claimed == free) and not (skipped and not tasks):
                        await self._pause(tasks, stopping, self.settings.worker_interval_s)
            finally:
                if tasks:  # never cancelled: each ends by its deadline and is recorded
                    await asyncio.wait(tasks)

    async def _pause(self, tasks: set[asyncio.Task], stopping: threading.Event, seconds: float) -> None:
        """Until an attempt ends (a slot is free), a poke, a stop, or `seconds`."""
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        while not stopping.is_set() and not self.poked.is_set() and loop.time() < end:
            if tasks:
                finished, _ = await asyncio.wait(set(tasks), timeout=POLL_S, return_when=asyncio.FIRST_COMPLETED)
                if finished:
                    return
            else:
                await asyncio.sleep(POLL_S)
        self.poked.clear()

    async def _claim(self, free: int) -> tuple[list[tuple[service.Outgoing, str]], int, bool]:
        """(the attempts to start, how many were claimed, whether some users or the email were
        left out): a claimed delivery whose receiver is full is given back."""
        per_host = self.settings.delivery_per_host
        full = {receiver for receiver, n in self.busy.items() if n >= per_host}
        skip_users = [user for user, receiver in self.receiver_of.items() if receiver in full] if full else []
        skip_email = service.receiver_of_email(self.settings) in full
        jobs = await asyncio.to_thread(self._claimed, free, skip_users, skip_email)
        started, back = [], []
        for job in jobs:
            receiver = service.receiver(job, self.settings)
            if job.channel == DeliveryChannel.WEBHOOK.value:
                self.receiver_of[job.user_id] = receiver
            if self.busy[receiver] >= per_host:
                back.append(job)
            else:
                self.busy[receiver] += 1
                started.append((job, receiver))
        if back:
            await asyncio.to_thread(self._release, back)
        return started, len(jobs), bool(skip_users or skip_email or back)

    def _claimed(self, free: int, skip_users: list[uuid.UUID], skip_email: bool) -> list[service.Outgoing]:
        with self.db.transaction() as session:
            return service.claim_deliveries(session, self.settings, now=self.clock(), batch=free,
                                            skip_users=skip_users, skip_email=skip_email)

    def _release(self, jobs: list[service.Outgoing]) -> None:
        with self.db.transaction() as session:
            for job in jobs:
                service.release(session, job, now=self.clock())

    async def _attempt(self, job: service.Outgoing, receiver: str, via: httpx.AsyncClient) -> None:
        deadline_s = self.settings.delivery_deadline_s
        error = None
        try:
            async with asyncio.timeout(deadline_s + BACKSTOP_S):
                await service.attempt(job, self.settings, now=self.clock(), via=via)
        except DeliveryError as exc:
            error = exc
        except TimeoutError:
            error = DeliveryError(f"no complete answer within the deadline of {deadline_s:g} s")
        except Exception as exc:  # a bug must not end the lane: recorded, and retried with backoff
            log.exception("delivery %s: unexpected failure", job.delivery_id)
            error = DeliveryError(f"unexpected {type(exc).__name__}")
        finally:
            self.busy[receiver] -= 1
            if not self.busy[receiver]:
                del self.busy[receiver]
        if error is not None:
            log.warning("delivery %s (%s) failed: %s", job.delivery_id, job.channel, error)
        try:
            await asyncio.to_thread(self._record, job, error)
            self.recorded += 1
        except OperationalError as exc:  # it comes back after its lease (at-least-once)
            log.warning("delivery %s: outcome not recorded: %s", job.delivery_id, type(exc.orig).__name__)

    def _record(self, job: service.Outgoing, error: DeliveryError | None) -> None:
        with self.db.transaction() as session:
            service.record(session, job, error, now=self.clock(), max_attempts=self.settings.delivery_max_attempts)
