"""A notification kind is one row of followups.notification_kinds plus its producer: a kind
added the way the mailbox work will add `bounce` is listed, labelled, sent to the webhook
and resolved by its row's rule, with no other change."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from followups import notification_kinds as kinds
from followups.config import Settings
from followups.models import Notification, User
from followups.worker import Worker
from helpers import job, outreach

pytestmark = pytest.mark.usefixtures("loopback_webhooks")

@pytest.fixture
def bounce(monkeypatch):
    """The row the mailbox work adds: a bounce is moot once a reply came on the job."""
    row = kinds.Kind("bounce", "Bounced", stale=kinds.Stale.REPLIED_SINCE)
    monkeypatch.setitem(kinds.KINDS, row.name, row)
    return row


def produce(db, clock, kind: str, job_id: str, key: str) -> None:
    """What a producer does: insert one notification of its kind, due now."""
    with db.transaction() as s:
        user_id = s.scalar(select(User.id).where(User.email == "ada@example.com"))
        s.add(Notification(
            id=uuid.uuid4(), user_id=user_id, kind=kind, dedupe_key=key, job_id=uuid.UUID(job_id),
            message="Your message to hr@acme.example bounced", payload={}, due_at=clock.now,
            created_at=clock.now,
        ))


def test_an_added_kind_is_listed_sent_to_the_webhook_and_resolved_by_its_rule(
    api, ada, db, clock, receiver, bounce
):
    api.call("PATCH", "/me", ada, 200, json={"webhook": {"url": receiver.url, "secret": "s" * 32}})
    # The receiver listens on 127.0.0.1: webhooks to loopback allowed (off by default).
    worker = Worker(db, Settings(database_url=db.settings.database_url, webhook_allow_private=True), clock=clock)
    j = job(api, ada)
    produce(db, clock, "bounce", j["id"], "first")
    worker.tick()
    listed = api.call("GET", "/notifications?scope=today", ada, 200).json()
    assert [n["kind"] for n in listed] == ["bounce"]
    assert [json.loads(r.body)["kind"] for r in receiver.received] == ["bounce"]
    assert kinds.of("bounce").label == "Bounced"

    # Its row's rule: a reply on the job since it was made resolves the next one silently.
    clock.now += timedelta(minutes=5)
    produce(db, clock, "bounce", j["id"], "second")
    clock.now += timedelta(minutes=1)
    replied = outreach(api, ada, jobId=j["id"], createFollowup=False)
    api.call("PATCH", f"/outreach/{replied['id']}", ada, 200, json={"outcome": "POSITIVE"})
    worker.tick()
    assert len(receiver.received) == 1
    listed = api.call("GET", "/notifications?scope=today", ada, 200).json()
    assert [n["message"] for n in listed] == ["Your message to hr@acme.example bounced"]


def test_a_kind_this_version_does_not_know_goes_to_the_webhook_under_its_name():
    unknown = kinds.of("from_a_newer_version")
    assert unknown.label == "from_a_newer_version" and unknown.stale is None
    assert [c.value for c in unknown.channels(webhook=True, email=True, payload={"x": [1]})] == ["webhook"]
    assert [c.value for c in kinds.DIGEST.channels(webhook=False, email=True, payload={"today": [1]})] == [
        "email"
    ]
    assert kinds.DIGEST.channels(webhook=False, email=True, payload={"today": [], "overdue": []}) == []
