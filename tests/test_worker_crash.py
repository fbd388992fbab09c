"""Crash safety on PostgreSQL: kill -9 a worker mid-batch, start two more, lose and repeat nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select

from cli_helpers import FOLLOWUPS
from conftest import _truncate
from followups.models import Delivery, FollowUp, Job, Notification, User
from servers import WebhookReceiver

DUE = 10_000
USERS = 100
HOOKED_USERS = 5


@pytest.fixture
def pg(request):
    database = request.getfixturevalue("pg_database")
    _truncate(database)
    return database


def fill(database, webhook_url: str) -> None:
    now = datetime.now(UTC)
    users, jobs, followups = [], [], []
    for u in range(USERS):
        uid = uuid.uuid4()
        users.append(dict(
            id=uid, email=f"u{u}@example.com", email_key=f"u{u}@example.com", password_hash="x",
            timezone="UTC", followup_delays_days=[3, 3], dormant_after_days=7, skip_weekends=False,
            digest_hour=8, digest_email=False, next_digest_at=now + timedelta(days=1),
            webhook_url=webhook_url if u < HOOKED_USERS else None,
            webhook_secret="s" * 32 if u < HOOKED_USERS else None, created_at=now,
        ))
        jid = uuid.uuid4()
        jobs.append(dict(id=jid, user_id=uid, company=f"Co {u}", role="Engineer", stage="APPLIED",
                         created_at=now, updated_at=now))
        for i in range(DUE // USERS):
            fid = uuid.uuid4()
            due = now - timedelta(hours=1 + i)
            followups.append(dict(
                id=fid, user_id=uid, chain_id=fid, attempt_no=1, type="STANDARD", job_id=jid,
                due_at=due, remind_at=due - timedelta(days=1), revision=0, created_at=now, updated_at=now,
            ))
    with database.transaction() as s:
        s.execute(insert(User), users)
        s.execute(insert(Job), jobs)
        s.execute(insert(FollowUp), followups)


def worker_env(database, batch: int) -> dict:
    return {**os.environ, "FOLLOWUPS_DATABASE_URL": database.settings.database_url,
            "FOLLOWUPS_WORKER_BATCH": str(batch), "FOLLOWUPS_WORKER_INTERVAL_S": "0.2",
            "FOLLOWUPS_DELIVERY_DEADLINE_S": "2",
            # The receiver listens on 127.0.0.1: webhooks to loopback are allowed here only.
            "FOLLOWUPS_WEBHOOK_ALLOW_PRIVATE": "true"}


def count(database, stmt) -> int:
    with database.transaction(write=False) as s:
        return s.scalar(stmt)


def wait_for(database, at_least: int, proc, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while (n := count(database, select(func.count()).select_from(Notification))) < at_least:
        assert proc.poll() is None, "worker exited early"
        assert time.monotonic() < deadline, f"only {n} notifications after {timeout}s"
        time.sleep(0.05)
    return n


def test_sigkill_mid_batch_then_two_workers_lose_and_repeat_nothing(pg):
    receiver = WebhookReceiver().start()
    try:
        fill(pg, receiver.url)
        first = subprocess.Popen([FOLLOWUPS, "worker"], env=worker_env(pg, 50),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        at_kill = wait_for(pg, 1000, first)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        assert at_kill < DUE, "the worker finished before it could be killed"

        pair = [subprocess.Popen([FOLLOWUPS, "worker", "--once"], env=worker_env(pg, 500),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for _ in range(2)]
        for proc in pair:
            assert proc.wait(120) == 0, proc.stderr.read().decode()[-2000:]
        # Deliveries the killed worker had in flight come back when their lease ends (its
        # deadline + a margin): one more sweep then.
        pending = select(func.max(Delivery.next_attempt_at)).where(Delivery.delivered_at.is_(None))
        if (until := count(pg, pending)) is not None:
            time.sleep(max((until - datetime.now(UTC)).total_seconds(), 0) + 0.5)
            last = subprocess.run([FOLLOWUPS, "worker", "--once"], env=worker_env(pg, 500), capture_output=True)
            assert last.returncode == 0, last.stderr.decode()[-2000:]

        reminders = select(func.count()).select_from(Notification).where(Notification.kind == "followup_due")
        assert count(pg, reminders) == DUE
        assert count(pg, select(func.count(func.distinct(Notification.followup_id)))) == DUE
        assert count(pg, select(func.count()).select_from(FollowUp).where(FollowUp.reminded_at.is_(None))) == 0
        hooked = DUE // USERS * HOOKED_USERS
        assert count(pg, select(func.count()).select_from(Delivery).where(Delivery.delivered_at.is_not(None))) == hooked
        ids = [r.headers["x-followups-delivery"] for r in receiver.received]
        assert len(ids) == len(set(ids)) == hooked
        assert {json.loads(r.body)["kind"] for r in receiver.received} == {"followup_due"}
    finally:
        receiver.stop()


def test_sigterm_finishes_the_current_batch_and_exits(pg):
    receiver = WebhookReceiver().start()
    try:
        fill(pg, receiver.url)
        proc = subprocess.Popen([FOLLOWUPS, "worker"], env=worker_env(pg, 100),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(pg, 500, proc)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        done = count(pg, select(func.count()).select_from(Notification))
        assert done % 100 == 0 and done < DUE
        claimed = count(pg, select(func.count()).select_from(FollowUp).where(FollowUp.reminded_at.is_not(None)))
        assert claimed == done  # no half batch: every claimed row has its reminder
    finally:
        receiver.stop()
