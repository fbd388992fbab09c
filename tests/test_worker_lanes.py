"""The worker's lanes never wait on each other: a receiver that trickles bytes and one that
never answers hold their own delivery slots for one deadline at most, while another user's
reminder and webhook arrive on time; two workers never both deliver one delivery; SIGTERM
exits within the deadline (also during start-up), and the mail lane's process ends with its
worker, killed with SIGKILL included. Real receivers on loopback, real databases."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from cli_helpers import FOLLOWUPS
from followups.config import Settings
from followups.models import Delivery, Notification, User
from followups.worker import Worker
from helpers import followup, job
from servers import SlowReceiver, WebhookReceiver

pytestmark = pytest.mark.usefixtures("loopback_webhooks")

DEADLINE_S = 3.0


@pytest.fixture
def slow():
    made: list[SlowReceiver] = []

    def make(mode: str, every_s: float = 0.5) -> SlowReceiver:
        made.append(SlowReceiver(mode, every_s))
        return made[-1]

    yield make
    for receiver in made:
        receiver.close()


@pytest.fixture
def good():
    receiver = WebhookReceiver().start()
    yield receiver
    receiver.stop()



def user_with_due(api, email: str, url: str, due: int) -> dict:
    """A user whose webhook is `url`, with `due` follow-ups due an hour ago (real time)."""
    headers = api.signup(email)
    api.call("PATCH", "/me", headers, 200, json={"webhook": {"url": url, "secret": "s" * 32}})
    j = job(api, headers)
    an_hour_ago = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    for _ in range(due):
        followup(api, headers, an_hour_ago, jobId=j["id"])
    return headers


def settings_of(db, **overrides) -> Settings:
    # The receivers listen on 127.0.0.1: webhooks to loopback allowed (off by default).
    values = {"delivery_deadline_s": DEADLINE_S, "worker_interval_s": 0.2, "webhook_allow_private": True,
              **overrides}
    return db.settings.model_copy(update=values)


def user_id(db, email: str):
    with db.transaction(write=False) as s:
        return s.scalar(select(User.id).where(User.email == email))


def deliveries_of(db, email: str) -> list[Delivery]:
    with db.transaction(write=False) as s:
        return list(s.scalars(select(Delivery).where(Delivery.user_id == user_id(db, email))))


def wait_until(condition, timeout: float, step: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := condition():
            return found
        time.sleep(step)
    return None


def started(settings: Settings, db) -> tuple[Worker, threading.Thread]:
    worker = Worker(db, settings)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    return worker, thread


def test_slow_receivers_delay_no_other_users_reminder_or_webhook(api, db, clock, slow, good):
    clock.now = datetime.now(UTC)
    trickle, silent = slow("trickle", every_s=0.5), slow("silent")
    user_with_due(api, "trickle@example.com", trickle.url, due=4)
    user_with_due(api, "silent@example.com", silent.url, due=4)
    user_with_due(api, "dana@example.com", good.url, due=1)
    # Room for 4 attempts in all and 1 per receiver: the slow ones could fill every slot.
    worker, thread = started(settings_of(db, delivery_concurrency=4, delivery_per_host=1), db)
    begun = time.monotonic()
    try:
        assert wait_until(lambda: good.received, 10), "the other user's webhook never came"
        webhook_after = time.monotonic() - begun
        with db.transaction(write=False) as s:
            reminded = s.scalar(select(Notification.created_at).where(
                Notification.user_id == user_id(db, "dana@example.com"), Notification.kind == "followup_due"))
        # Both slow receivers hold an attempt meanwhile, one at a time each.
        assert wait_until(lambda: trickle.deliveries and silent.deliveries, 5)
        # On time: long before the first slow attempt could end (its deadline).
        assert webhook_after < DEADLINE_S - 0.5, webhook_after
        assert reminded is not None
        # Each slow attempt is cut off at the deadline, recorded, and retried later (backoff).
        assert wait_until(lambda: sum(d.last_error is not None for d in deliveries_of(db, "silent@example.com")) >= 2,
                          4 * DEADLINE_S)
    finally:
        worker.stopping.set()
        thread.join(DEADLINE_S + 5)
    assert not thread.is_alive()
    assert trickle.peak == 1 and silent.peak == 1
    for email in ("trickle@example.com", "silent@example.com"):
        failed = [d for d in deliveries_of(db, email) if d.last_error]
        assert failed and all(d.delivered_at is None and d.dead_at is None for d in failed)
        assert all("deadline of 3 s" in d.last_error for d in failed), [d.last_error for d in failed]
        assert all(d.next_attempt_at > datetime.now(UTC) + timedelta(seconds=15) for d in failed)  # backing off
    [dana] = deliveries_of(db, "dana@example.com")
    assert dana.delivered_at is not None and len(good.received) == 1


def test_two_workers_never_both_deliver_one_delivery(api, db, clock, slow):
    """A live attempt is never taken by a second worker: each ends by its deadline, well
    before its lease. Watched for longer than the lease (deadline + 10 s)."""
    clock.now = datetime.now(UTC)
    hold, trickle = slow("hold", every_s=DEADLINE_S / 2), slow("trickle", every_s=0.5)
    user_with_due(api, "hold@example.com", hold.url, due=6)
    user_with_due(api, "trickle@example.com", trickle.url, due=2)
    settings = settings_of(db, delivery_per_host=2)
    pair = [started(settings, db) for _ in range(2)]
    try:
        assert wait_until(lambda: all(d.delivered_at for d in deliveries_of(db, "hold@example.com")), 30)
        time.sleep(DEADLINE_S + 10 - (DEADLINE_S / 2) * 3 + 1)  # past the lease of the first trickled attempts
    finally:
        for worker, _ in pair:
            worker.stopping.set()
        for _, thread in pair:
            thread.join(DEADLINE_S + 5)
    assert len(hold.deliveries) == len(set(hold.deliveries)) == 6
    assert hold.peak <= 2 * 2  # delivery_per_host is per worker
    assert len(trickle.deliveries) == len(set(trickle.deliveries)) == 2  # once each, then backing off


def worker_env(db, **extra: str) -> dict[str, str]:
    return {**os.environ, "FOLLOWUPS_DATABASE_URL": db.settings.database_url,
            "FOLLOWUPS_WORKER_INTERVAL_S": "0.2", "FOLLOWUPS_DELIVERY_DEADLINE_S": str(DEADLINE_S),
            "FOLLOWUPS_WEBHOOK_ALLOW_PRIVATE": "true", **extra}


def catches_sigterm(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status").read_text()
    caught = int(next(line for line in status.splitlines() if line.startswith("SigCgt:")).split()[1], 16)
    return bool(caught & (1 << (signal.SIGTERM - 1)))


def mail_lane_of(pid: int) -> list[int]:
    """The worker's child process that runs the mail lane (a spawned interpreter)."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    found = []
    for child in path.read_text().split() if path.exists() else []:
        try:
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                found.append(int(child))
        except OSError:
            pass
    return found


def gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"  # a zombie has ended
    except OSError:
        return True


def test_sigterm_during_start_up_and_mid_attempt_exits_within_the_deadline(api, db, clock, slow):
    clock.now = datetime.now(UTC)
    trickle = slow("trickle", every_s=0.5)
    user_with_due(api, "trickle@example.com", trickle.url, due=1)
    # During start-up: as soon as the command can catch it, before its imports are done.
    proc = subprocess.Popen([FOLLOWUPS, "worker"], env=worker_env(db), stderr=subprocess.PIPE)
    assert wait_until(lambda: catches_sigterm(proc.pid), 30, step=0.005)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(DEADLINE_S + 5) == 0, proc.stderr.read().decode()[-2000:]
    assert trickle.deliveries == []

    # Mid-attempt: the attempt ends by its deadline, is recorded, and the worker exits.
    proc = subprocess.Popen([FOLLOWUPS, "worker"], env=worker_env(db), stderr=subprocess.PIPE)
    try:
        assert wait_until(lambda: trickle.deliveries, 60), "the attempt never started"
        [mail] = wait_until(lambda: mail_lane_of(proc.pid), 10)  # the mail lane's process
        asked = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(DEADLINE_S + 5) == 0, proc.stderr.read().decode()[-2000:]
        assert time.monotonic() - asked < DEADLINE_S + 1.0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert wait_until(lambda: gone(mail), 5)
    [delivery] = deliveries_of(db, "trickle@example.com")
    assert "deadline" in delivery.last_error and delivery.delivered_at is None


def test_the_mail_lane_ends_with_its_worker_killed_with_sigkill(db):
    proc = subprocess.Popen([FOLLOWUPS, "worker"], env=worker_env(db), stderr=subprocess.DEVNULL)
    try:
        [mail] = wait_until(lambda: mail_lane_of(proc.pid), 60)
        assert not gone(mail)
        proc.kill()
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert wait_until(lambda: gone(mail), 10), "the mail lane outlived its worker"
