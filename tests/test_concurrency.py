"""Races: concurrent mark-sent over real connections makes exactly one next step."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from followups.models import EmailAddress, FollowUp, Notification, User
from helpers import bucket, job, outreach, send

RACERS = 20


def race(url: str, method: str, path: str, headers: dict, json: dict | None = None) -> list[int]:
    barrier = threading.Barrier(RACERS)

    def one(_):
        with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
            barrier.wait()
            return client.request(method, path, json=json).status_code

    with ThreadPoolExecutor(RACERS) as pool:
        return sorted(pool.map(one, range(RACERS)))


def test_twenty_concurrent_registrations_of_one_email_make_one_account(live_url, db):
    """The email directory (followups.models.EmailAddress) refuses the others, whatever the
    case of the address: there is no unique key on app_user for it."""
    barrier = threading.Barrier(RACERS)

    def one(i):
        email = "Race@Example.com" if i % 2 else "race@example.com"
        with httpx.Client(base_url=live_url, timeout=60) as client:
            barrier.wait()
            return client.post("/auth/register", json={"email": email, "password": "correct horse"}).status_code

    with ThreadPoolExecutor(RACERS) as pool:
        codes = sorted(pool.map(one, range(RACERS)))
    assert codes == [201] + [409] * (RACERS - 1)
    with db.transaction(write=False) as s:
        assert s.scalar(select(func.count()).select_from(User)) == 1
        assert s.scalar(select(func.count()).select_from(EmailAddress)) == 1


def test_twenty_concurrent_sends_make_one_next_attempt(api, ada, live_url, db):
    fu = outreach(api, ada, jobId=job(api, ada)["id"])["followup"]
    codes = race(live_url, "PATCH", f"/followups/{fu['id']}/send", ada)
    assert codes == [200] + [409] * (RACERS - 1)
    attempts = bucket(api, ada, "upcoming")
    assert [f["attemptNo"] for f in attempts] == [2]

    codes = race(live_url, "PATCH", f"/followups/{attempts[0]['id']}/send", ada)
    assert codes == [200] + [409] * (RACERS - 1)
    with db.transaction(write=False) as s:
        assert s.scalar(select(func.count()).select_from(Notification)) == 1
        assert s.scalar(select(func.count()).select_from(FollowUp)) == 2


def test_twenty_concurrent_cancels_all_answer_204_once_cancelled(api, ada, live_url):
    fu = outreach(api, ada, jobId=job(api, ada)["id"])["followup"]
    assert race(live_url, "DELETE", f"/followups/{fu['id']}", ada) == [204] * RACERS


def test_the_unique_keys_are_the_backstop(api, ada, db):
    fu = outreach(api, ada, jobId=job(api, ada)["id"])["followup"]
    send(api, ada, fu["id"])
    with db.transaction(write=False) as s:
        second = s.scalar(select(FollowUp).where(FollowUp.attempt_no == 2))
        fields = {c.key: getattr(second, c.key) for c in FollowUp.__table__.columns if c.key != "id"}
    with pytest.raises(IntegrityError), db.transaction() as s:
        s.add(FollowUp(id=uuid.uuid4(), **fields))
    send(api, ada, second.id.__str__())
    with db.transaction(write=False) as s:
        note = s.scalar(select(Notification))
        fields = {c.key: getattr(note, c.key) for c in Notification.__table__.columns if c.key != "id"}
    with pytest.raises(IntegrityError), db.transaction() as s:
        s.add(Notification(id=uuid.uuid4(), **fields))


def test_racing_not_now_answers_and_stage_changes_make_one_follow_up_each(api, ada, live_url):
    """The job-search rules read, decide and write: the outreach or job row lock makes
    racing requests take turns, so a repeated answer finds the work done."""
    api.call("PATCH", "/me", ada, 200, json={"rules": {"stageAware": True}})
    j = job(api, ada)
    o = outreach(api, ada, jobId=j["id"])
    later = {"outcome": "LATER", "resumeOn": "next week"}
    assert race(live_url, "PATCH", f"/outreach/{o['id']}", ada, json=later) == [200] * RACERS
    assert [f["outreachId"] for f in bucket(api, ada, "upcoming")] == [o["id"]]

    assert race(live_url, "PATCH", f"/jobs/{j['id']}", ada, json={"stage": "HR"}) == [200] * RACERS
    assert [f["type"] for f in bucket(api, ada, "upcoming")] == ["THANK_YOU"]
