"""The worker against a real database, a real SMTP server and a real HTTP receiver."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from followups.config import Settings
from followups.delivery.webhook import verify
from followups.models import Delivery, Notification
from followups.worker import Worker
from helpers import bucket, followup, job, outreach, send
from servers import SmtpSink

pytestmark = pytest.mark.usefixtures("loopback_webhooks")

@pytest.fixture
def worker(db, clock):
    def make(**overrides) -> Worker:
        # The receivers listen on 127.0.0.1: webhooks to loopback allowed (off by default).
        settings = Settings(database_url=db.settings.database_url, webhook_allow_private=True, **overrides)
        return Worker(db, settings, clock=clock)

    return make




@pytest.fixture
def smtp():
    s = SmtpSink().start()
    yield s
    s.stop()


def notes(api, headers, scope="today", seen="false") -> list[dict]:
    return api.call("GET", f"/notifications?scope={scope}&seen={seen}", headers, 200).json()


def reminders(api, headers) -> list[dict]:
    return [n for s in ("overdue", "today", "upcoming") for n in notes(api, headers, s)
            if n["kind"] == "followup_due"]


def test_one_reminder_per_due_followup_in_the_owners_day(api, worker, clock):
    # 15:00Z on 5 Mar is 05:00 on 6 Mar in Kiritimati: its day is [5 Mar 10:00Z, 6 Mar 10:00Z).
    headers = api.signup("kiri@example.com", "Pacific/Kiritimati")
    j = job(api, headers)
    overdue = followup(api, headers, "2026-03-05T09:00:00Z", jobId=j["id"])
    later_today = followup(api, headers, "2026-03-06T09:00:00Z", jobId=j["id"])
    tomorrow = followup(api, headers, "2026-03-06T10:00:00Z", jobId=j["id"])
    w = worker()
    assert w.tick()["reminders"] == 2
    assert w.tick()["reminders"] == 0
    got = reminders(api, headers)
    assert sorted((n["followupId"], n["dueAt"]) for n in got) == sorted(
        [(overdue["id"], "2026-03-05T09:00:00Z"), (later_today["id"], "2026-03-06T09:00:00Z")]
    )
    assert got[0]["message"].startswith("Follow up on Acme – Backend engineer (attempt 1)")
    clock.now = datetime(2026, 3, 6, 10, 0, tzinfo=UTC)
    assert w.tick()["reminders"] == 1
    assert tomorrow["id"] in {n["followupId"] for n in reminders(api, headers)}


def test_sent_cancelled_or_archived_before_the_reminder_get_none(api, ada, worker):
    j1, j2 = job(api, ada), job(api, ada, company="Hidden")
    sent = followup(api, ada, "2026-03-05T09:00:00Z", jobId=j1["id"])
    cancelled = followup(api, ada, "2026-03-05T09:00:00Z", jobId=j1["id"])
    followup(api, ada, "2026-03-05T09:00:00Z", jobId=j2["id"])  # its job is archived below
    send(api, ada, sent["id"])
    api.call("DELETE", f"/followups/{cancelled['id']}", ada, 204)
    api.call("PATCH", f"/jobs/{j2['id']}", ada, 200, json={"archived": True})
    assert worker().tick()["reminders"] == 0
    assert reminders(api, ada) == []


def test_a_reminder_made_then_made_obsolete_disappears(api, ada, worker, clock):
    j = job(api, ada)
    fu = followup(api, ada, "2026-03-05T18:00:00Z", jobId=j["id"])  # later today: made, not presented
    w = worker()
    w.tick()
    assert [n["followupId"] for n in reminders(api, ada)] == [fu["id"]]
    send(api, ada, fu["id"])
    assert reminders(api, ada) == []
    # Rescheduling earns a fresh reminder for the new date.
    [second] = bucket(api, ada, "upcoming")
    api.call("PATCH", f"/followups/{second['id']}", ada, 200, json={"dueAt": "2026-03-05T20:00:00Z"})
    w.tick()
    assert [n["followupId"] for n in reminders(api, ada)] == [second["id"]]
    api.call("PATCH", f"/followups/{second['id']}", ada, 200, json={"dueAt": "2026-03-05T21:00:00Z"})
    assert reminders(api, ada) == []
    w.tick()
    assert [(n["followupId"], n["dueAt"]) for n in reminders(api, ada)] == [(second["id"], "2026-03-05T21:00:00Z")]


def _to_dormant_check(api, headers, clock) -> dict:
    o = outreach(api, headers, jobId=job(api, headers)["id"])
    send(api, headers, o["followup"]["id"])
    [second] = bucket(api, headers, "upcoming")
    send(api, headers, second["id"])
    return o


def test_a_dormant_check_is_presented_when_due_and_the_user_decides(api, ada, worker, clock, db):
    o = _to_dormant_check(api, ada, clock)
    w = worker()
    w.tick()
    assert [n["kind"] for n in notes(api, ada, "today")] == []
    clock.now += timedelta(days=7)
    w.tick()
    [check] = [n for n in notes(api, ada, "today") if n["kind"] == "dormant_candidate"]
    assert check["jobId"] == o["jobId"]
    # Decision 1: revive with a new follow-up.
    revived = followup(api, ada, (clock.now + timedelta(days=2)).isoformat(), jobId=o["jobId"])
    assert revived["attemptNo"] == 1
    api.call("PATCH", f"/notifications/{check['id']}/send", ada, 200)
    assert notes(api, ada, "today") == []
    assert [n["id"] for n in notes(api, ada, "today", seen="true")] == [check["id"]]
    # Decision 2: mark the job dormant; its open follow-ups end.
    api.call("PATCH", f"/jobs/{o['jobId']}", ada, 200, json={"stage": "DORMANT"})
    assert api.call("GET", f"/followups/{revived['id']}", ada, 200).json()["cancelReason"] == "Marked dormant"


def test_a_reply_before_the_check_falls_due_resolves_it_silently(api, ada, worker, clock, db, receiver):
    api.call("PATCH", "/me", ada, 200, json={"webhook": {"url": receiver.url, "secret": "s" * 32}})
    o = _to_dormant_check(api, ada, clock)
    # A reply on another outreach to the same job, after the check was made.
    clock.now += timedelta(days=2)
    other = outreach(api, ada, jobId=o["jobId"], createFollowup=False)
    api.call("PATCH", f"/outreach/{other['id']}", ada, 200, json={"outcome": "POSITIVE"})
    clock.now += timedelta(days=5)
    worker().tick()
    assert [n for n in notes(api, ada, "today") if n["kind"] == "dormant_candidate"] == []
    assert [json.loads(r.body)["kind"] for r in receiver.received] == []


def test_digest_once_per_local_day_at_the_users_hour_by_email(api, worker, clock, smtp, db):
    headers = api.signup("berlin@example.com", "Europe/Berlin")
    j = job(api, headers, company="Digest & Co")
    followup(api, headers, "2026-03-04T09:00:00Z", jobId=j["id"])  # overdue
    followup(api, headers, "2026-03-06T08:00:00Z", jobId=j["id"])  # tomorrow (upcoming)
    w = worker(smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_security="none",
               smtp_from="followups <digest@example.com>")
    clock.now = datetime(2026, 3, 6, 6, 59, tzinfo=UTC)  # 07:59 in Berlin
    w.tick()
    assert [n for n in notes(api, headers, "today") if n["kind"] == "digest"] == []
    clock.now = datetime(2026, 3, 6, 7, 0, tzinfo=UTC)  # 08:00
    w.tick()
    w.tick()
    digests = [n for n in notes(api, headers, "today") if n["kind"] == "digest"]
    assert len(digests) == 1
    assert digests[0]["message"].startswith("Follow-ups for Fri 6 Mar: 1 overdue, 1 today")
    assert len(smtp.messages) == 1
    rcpt, message = smtp.messages[0]
    assert rcpt == ["berlin@example.com"]
    kinds = {part.get_content_type() for part in message.walk()}
    assert {"text/plain", "text/html"} <= kinds
    assert "Digest & Co" in message.get_body(("plain",)).get_content()
    assert "Digest &amp; Co" in message.get_body(("html",)).get_content()
    clock.now = datetime(2026, 3, 7, 7, 30, tzinfo=UTC)
    w.tick()
    assert len(smtp.messages) == 2


def test_webhooks_are_signed_retried_with_backoff_and_then_dead(api, ada, worker, clock, receiver, db):
    secret = "a-very-long-shared-secret"
    api.call("PATCH", "/me", ada, 200, json={"webhook": {"url": receiver.url, "secret": secret}})
    assert api.call("GET", "/me", ada, 200).json()["webhook"] == {"url": receiver.url, "hasSecret": True}
    fu = followup(api, ada, "2026-03-05T09:00:00Z", jobId=job(api, ada)["id"])
    receiver.statuses = [500, 503]
    w = worker(delivery_max_attempts=3)
    w.tick()
    assert len(receiver.received) == 1
    w.tick()  # not yet: backing off
    assert len(receiver.received) == 1
    clock.now += timedelta(seconds=31)
    w.tick()
    assert len(receiver.received) == 2
    clock.now += timedelta(seconds=61)
    w.tick()
    assert len(receiver.received) == 3
    clock.now += timedelta(hours=1)
    w.tick()
    assert len(receiver.received) == 3  # delivered on the third try, never again
    last = receiver.received[-1]
    assert verify(secret, last.headers["x-followups-timestamp"], last.body,
                  last.headers["x-followups-signature"], now=clock.now - timedelta(hours=1, seconds=92))
    body = json.loads(last.body)
    assert body["kind"] == "followup_due" and body["followupId"] == fu["id"]
    assert len({r.headers["x-followups-delivery"] for r in receiver.received}) == 1

    receiver.statuses = [500] * 10
    doomed = followup(api, ada, "2026-03-05T09:00:00Z", jobId=job(api, ada)["id"])
    for _ in range(5):
        w.tick()
        clock.now += timedelta(hours=7)
    with db.transaction(write=False) as s:
        dead = s.scalars(
            select(Delivery).join(Notification, Notification.id == Delivery.notification_id)
            .where(Delivery.dead_at.is_not(None), Notification.followup_id == uuid.UUID(doomed["id"]))
        ).all()
    assert len(dead) == 1 and dead[0].attempts == 3 and "500" in dead[0].last_error
    tries = [r for r in receiver.received if json.loads(r.body).get("followupId") == doomed["id"]]
    assert len(tries) == 3


def test_concurrent_workers_make_each_reminder_once(api, ada, worker, db, backend):
    from concurrent.futures import ThreadPoolExecutor

    j = job(api, ada)
    for i in range(60):
        followup(api, ada, f"2026-03-05T{(i % 14) + 1:02d}:00:00Z", jobId=j["id"])
    workers = [worker(worker_batch=7) for _ in range(4)]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda w: w.tick(), workers))
    with db.transaction(write=False) as s:
        total = s.scalar(select(func.count()).select_from(Notification))
        distinct = s.scalar(select(func.count(func.distinct(Notification.followup_id))))
    assert total == distinct == 60
