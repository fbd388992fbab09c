"""A real streaming replica (pg_basebackup -R of a private primary, on loopback) serves the
list reads; writes, sign-in, worker claims and a user's reads after their own write go to
the primary, so a user never sees their own write disappear while the replica lags.

Which server answered is proven by data: rows written straight into the primary (not
through the API, so they do not count as the user's writes) while the replica's replay is
paused exist on the primary only."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from followups import replica as routing
from followups.app import create_app
from followups.config import Settings
from followups.db import Database
from followups.migrate import upgrade
from followups.models import Job
from followups.worker import Worker
from production import FOLLOWUPS, new_cluster

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from pgcluster import replica_of, wait_replayed  # noqa: E402


@pytest.fixture(scope="module")
def clusters():
    primary = new_cluster()
    replica = None
    try:
        primary.create_database("app")
        replica = replica_of(primary)
        yield primary, replica
    finally:
        if replica is not None:
            replica.destroy()
        primary.destroy()


@pytest.fixture(scope="module")
def db(clusters):
    primary, replica = clusters
    settings = Settings(database_url=primary.url_for("app"), database_replica_url=replica.url_for("app"),
                        worker_interval_s=0.1)
    database = Database(settings)
    upgrade(database.engine)
    yield database
    database.dispose()


@pytest.fixture(scope="module")
def client(db):
    with TestClient(create_app(db.settings, db=db, migrate=False), raise_server_exceptions=False) as c:
        yield c


def signup(client, email: str) -> dict:
    assert client.post("/auth/register", json={"email": email, "password": "correct horse"}).status_code == 201
    token = client.post("/auth/login", json={"email": email, "password": "correct horse"}).json()["accessToken"]
    return {"Authorization": f"Bearer {token}"}


def companies(client, headers) -> set[str]:
    r = client.get("/jobs", headers=headers)
    assert r.status_code == 200, r.text
    return {j["company"] for j in r.json()}


def add_job(client, headers, company: str) -> dict:
    r = client.post("/jobs", headers=headers, json={"company": company, "role": "Engineer"})
    assert r.status_code == 201, r.text
    return r.json()


def user_id(client, headers) -> uuid.UUID:
    return uuid.UUID(client.get("/me", headers=headers).json()["id"])


def behind_the_apis_back(db: Database, owner: uuid.UUID, company: str) -> None:
    """A job written straight into the primary: not a write of the user's through the API."""
    now = datetime.now(UTC)
    with db.transaction() as s:
        s.add(Job(user_id=owner, company=company, role="Engineer", stage="APPLIED", created_at=now, updated_at=now))


@contextmanager
def replay_paused(primary, replica):
    wait_replayed(primary, replica)
    replica.sql("SELECT pg_wal_replay_pause()")
    deadline = time.monotonic() + 10
    while replica.sql("SELECT pg_get_wal_replay_pause_state()") != "paused":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    try:
        yield
    finally:
        replica.sql("SELECT pg_wal_replay_resume()")


def test_reads_of_a_user_without_recent_writes_are_served_by_the_replica(clusters, db, client):
    primary, replica = clusters
    ada = signup(client, "ada@example.com")
    add_job(client, ada, "Acme")
    with replay_paused(primary, replica):
        behind_the_apis_back(db, user_id(client, ada), "Primary only")
        # The replica has every write Ada made: the list comes from its frozen copy.
        assert companies(client, ada) == {"Acme"}
        for path in ("/followups?due=upcoming", "/contacts", "/outreach", "/notifications"):
            assert client.get(path, headers=ada).status_code == 200
        # A single record is not a list read: the primary has it.
        [job_id] = [j["id"] for j in client.get("/jobs", headers=ada).json()]
        assert client.get(f"/jobs/{job_id}", headers=ada).status_code == 200


def test_a_users_own_writes_never_disappear_while_the_replica_lags(clusters, db, client):
    primary, replica = clusters
    bob = signup(client, "bob@example.com")
    grace = signup(client, "grace@example.com")
    add_job(client, bob, "Initech")
    add_job(client, grace, "Hooli")
    bob_id, grace_id = user_id(client, bob), user_id(client, grace)
    with replay_paused(primary, replica):
        behind_the_apis_back(db, bob_id, "Bob primary only")
        behind_the_apis_back(db, grace_id, "Grace primary only")

        # Bob writes while the replica is frozen: from then on his reads go to the primary.
        job = add_job(client, bob, "Globex")
        assert companies(client, bob) == {"Initech", "Globex", "Bob primary only"}
        sent_at = (datetime.now(UTC) - timedelta(days=5)).isoformat()
        made = client.post("/outreach", headers=bob, json={"jobId": job["id"], "channel": "EMAIL", "sentAt": sent_at})
        assert made.status_code == 201
        followup = made.json()["followup"]
        assert [f["id"] for f in client.get("/followups?due=overdue", headers=bob).json()] == [followup["id"]]
        assert [o["id"] for o in client.get("/outreach", headers=bob).json()] == [made.json()["id"]]
        # The worker claims on the primary while the replica lags; Bob sees its reminder.
        Worker(db, db.settings).tick()
        kinds = [n["kind"] for n in client.get("/notifications?scope=overdue", headers=bob).json()]
        assert kinds == ["followup_due"]
        assert client.patch(f"/followups/{followup['id']}/send", headers=bob, json={}).status_code == 200
        assert client.get("/followups?due=overdue", headers=bob).json() == []

        # Grace has not written since the pause: her reads still come from the replica.
        assert companies(client, grace) == {"Hooli"}
        # Someone who signed up after the pause is unknown to the replica: sign-in and reads
        # stay on the primary.
        carol = signup(client, "carol@example.com")
        assert companies(client, carol) == set()
        add_job(client, carol, "Umbrella")
        assert companies(client, carol) == {"Umbrella"}

    # Once the replica has replayed Bob's writes, his reads go back to it.
    wait_replayed(primary, replica)
    with replay_paused(primary, replica):
        behind_the_apis_back(db, bob_id, "Bob second primary only")
        assert companies(client, bob) == {"Initech", "Globex", "Bob primary only"}


def test_reads_fall_back_to_the_primary_when_the_replica_is_down(clusters, db, client):
    primary, replica = clusters
    dan = signup(client, "dan@example.com")
    add_job(client, dan, "Stark")
    wait_replayed(primary, replica)
    replica.stop("fast")
    try:
        behind_the_apis_back(db, user_id(client, dan), "Dan primary only")
        started = time.monotonic()
        assert companies(client, dan) == {"Stark", "Dan primary only"}
        assert companies(client, dan) == {"Stark", "Dan primary only"}
        assert time.monotonic() - started < 5
    finally:
        replica.start()


def terminal(db: Database, *args: str) -> str:
    """A CLI verb, as its own process, on the primary."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOLLOWUPS_")}
    done = subprocess.run([FOLLOWUPS, *args], env={**env, "FOLLOWUPS_DATABASE_URL": db.settings.database_url},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_writes_of_the_terminal_and_the_worker_never_disappear_while_the_replica_lags(clusters, db, client):
    """The CLI and the worker write for a user outside any API request: they bump the
    user's write_seq too, so the user's next API read goes to the primary."""
    primary, replica = clusters
    routing._down_until.clear()  # an earlier test stopped the replica: no back-off here
    eve = signup(client, "eve@example.com")
    eve_id = user_id(client, eve)
    sent_at = (datetime.now(UTC) - timedelta(days=20)).isoformat()
    overdue = []
    for company in ("Wayne", "Tyrell"):
        made = client.post("/outreach", headers=eve,
                           json={"jobId": add_job(client, eve, company)["id"], "channel": "EMAIL", "sentAt": sent_at})
        assert made.status_code == 201, made.text
        overdue.append(made.json()["followup"]["id"])
    seen = {"Wayne", "Tyrell"}

    def replica_serves_eve(phase: str) -> None:
        behind_the_apis_back(db, eve_id, phase)  # on the primary only while replay is paused
        assert companies(client, eve) == seen
        seen.add(phase)  # on the primary, seen once Eve reads from there

    wait_replayed(primary, replica)
    with replay_paused(primary, replica):
        replica_serves_eve("worker phase")
        assert client.get("/notifications?scope=overdue", headers=eve).json() == []
        Worker(db, db.settings).tick()  # reminders for Eve's overdue follow-ups
        kinds = [n["kind"] for n in client.get("/notifications?scope=overdue", headers=eve).json()]
        assert kinds == ["followup_due", "followup_due"]
        assert companies(client, eve) == seen

    wait_replayed(primary, replica)
    with replay_paused(primary, replica):
        replica_serves_eve("send phase")
        terminal(db, "send", overdue[0], "--user", "eve@example.com")
        due = [f["id"] for f in client.get("/followups?due=overdue", headers=eve).json()]
        assert overdue[0] not in due and overdue[1] in due

    wait_replayed(primary, replica)
    with replay_paused(primary, replica):
        replica_serves_eve("outreach phase")
        terminal(db, "outreach", "add", "--company", "Cyberdyne", "--role", "Engineer", "--user", "eve@example.com")
        assert companies(client, eve) == seen | {"Cyberdyne"}
