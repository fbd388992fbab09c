"""The worker's housekeeping: old digests, dead tokens and login failures no limit counts
pruned, the SQLite WAL kept small."""

from __future__ import annotations

import sqlite3
import uuid
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select

from followups.api.limits import ACCOUNT, ADDRESS, LoginLimiter
from followups.config import Settings
from followups.db import Database
from followups.migrate import upgrade
from followups.models import ApiToken, Delivery, Job, LoginFailure, Notification, User
from followups.users import service as users
from followups.worker import Worker


def _count(db, model, *where) -> int:
    with db.transaction(write=False) as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def _login(api) -> dict:
    r = api.client.post("/auth/login", json={"email": "ada@example.com", "password": "correct horse"})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['accessToken']}"}


def test_worker_prunes_old_digests_and_dead_tokens_in_batches(api, db, clock):
    now = clock.now
    settings = Settings(database_url=db.settings.database_url, retention_days=30, worker_batch=2)
    worker = Worker(db, settings, clock=clock)

    clock.now = now - timedelta(days=70)
    expired = api.signup("ada@example.com")  # its token expired 40 days ago (30-day lifetime)
    # An outreach whose reminder fell due 40 days ago: history, never pruned.
    job = api.call("POST", "/jobs", expired, 201, json={"company": "Acme", "role": "Dev"}).json()
    clock.now = now - timedelta(days=43)
    api.call("POST", "/outreach", _login(api), 201, json={"jobId": job["id"], "channel": "EMAIL"})
    clock.now = now - timedelta(days=35)
    revoked_long_ago = _login(api)
    api.call("POST", "/auth/logout", revoked_long_ago, 204)
    clock.now = now - timedelta(days=20)
    revoked_lately = _login(api)
    api.call("POST", "/auth/logout", revoked_lately, 204)
    # Digests of five days (the digest hour, 08:00, comes between the two sweeps of a day):
    # four of them older than 30 days.
    keeping = Worker(db, settings.model_copy(update={"retention_days": 3650}), clock=clock)
    for days in (40, 39, 38, 32, 10):
        for at in (now - timedelta(days=days, hours=8), now - timedelta(days=days)):
            clock.now = at
            keeping.tick()
    with db.transaction() as session:  # an old digest's webhook delivery goes with it
        user_id, digest_id = session.execute(
            select(Notification.user_id, Notification.id).where(Notification.kind == "digest")
            .order_by(Notification.due_at).limit(1)
        ).one()
        session.execute(insert(Delivery), [{
            "id": uuid.uuid4(), "user_id": user_id, "notification_id": digest_id, "channel": "webhook",
            "next_attempt_at": clock.now, "attempts": 1, "delivered_at": clock.now, "created_at": clock.now,
        }])
    assert _count(db, Notification, Notification.kind == "digest") == 5
    tokens_before = _count(db, ApiToken)

    clock.now = now
    live = _login(api)
    counts = worker.tick()

    # 4 digests, the expired token and the one revoked 35 days ago (batches of 2).
    assert counts["pruned"] == 6
    with db.transaction(write=False) as session:
        days = sorted(
            (now - at).days
            for at in session.scalars(select(Notification.due_at).where(Notification.kind == "digest"))
        )
    assert days == [10]
    assert _count(db, Delivery) == 0
    assert _count(db, Notification, Notification.kind == "followup_due") == 1
    assert _count(db, ApiToken) == tokens_before + 1 - 2
    assert api.call("GET", "/me", live, 200).json()["email"] == "ada@example.com"
    for gone in (expired, revoked_long_ago, revoked_lately):
        api.call("GET", "/me", gone, 401)
    assert worker.tick()["pruned"] == 0


def _fail(app, email: str, times: int = 1, *, source: str = "testclient", expect: int = 401) -> None:
    client = TestClient(app, client=(source, 50000))  # the request's client address
    for _ in range(times):
        r = client.post("/auth/login", json={"email": email, "password": "wrong guess!"})
        assert r.status_code == expect, r.text


def test_worker_prunes_login_failures_no_limit_counts_and_keeps_those_that_do(app, api, db, clock):
    now = clock.now
    settings = Settings(database_url=db.settings.database_url, worker_batch=2,
                        login_limit_account="3 per 15 minutes", login_limit_address="7 per 1 hour")
    app.state.login_limiter = LoginLimiter.from_settings(settings)
    worker = Worker(db, settings, clock=clock)

    clock.now = now - timedelta(hours=2)  # past both windows: addresses that never came back
    for i in range(3):
        _fail(app, "ada@example.com", source=f"203.0.113.{i}")
    clock.now = now - timedelta(minutes=30)  # past the account's window, inside the address's
    _fail(app, "carol@example.com")
    clock.now = now - timedelta(minutes=10)
    _fail(app, "bob@example.com", 3)
    # Rows of the scope "account" (before the account was counted per address), read by
    # nothing: old or recent, they go.
    with db.transaction() as session:
        session.execute(insert(LoginFailure), [
            {"id": uuid.uuid4(), "scope": "account", "key": "0" * 64, "at": at}
            for at in (now - timedelta(days=3), now - timedelta(minutes=1))
        ])
    assert _count(db, LoginFailure) == 2 * 7 + 2

    clock.now = now
    # The 3 old tries under both scopes and the 2 of "account" (in batches of 2).
    assert worker.tick()["pruned"] == 8
    with db.transaction(write=False) as session:
        left = session.execute(select(LoginFailure.scope, LoginFailure.at)).all()
    assert sorted((scope, int((now - at).total_seconds() // 60)) for scope, at in left) == sorted(
        [(ACCOUNT, 30), (ADDRESS, 30)] + [(ACCOUNT, 10), (ADDRESS, 10)] * 3)
    assert worker.tick()["pruned"] == 0

    # What is left still counts: Bob's account from this address is refused, and the address
    # (4 failures in its hour) takes 3 more before it is refused too.
    _fail(app, "bob@example.com", expect=429)
    _fail(app, "dave@example.com", 3)
    _fail(app, "eve@example.com", expect=429)


def _wal(path) -> int:
    wal = path.with_name(path.name + "-wal")
    return wal.stat().st_size if wal.exists() else 0


def test_the_worker_empties_a_wal_grown_by_a_write_burst(tmp_path, clock):  # SQLite's WAL
    path = tmp_path / "followups.db"
    settings = Settings(database_url=f"sqlite:///{path}", sqlite_wal_max_mb=1)
    db = Database(settings)
    upgrade(db.engine)
    with db.transaction() as session:
        users.register(session, email="ada@example.com", password="correct horse", timezone="UTC", now=clock())
        user_id = session.scalar(select(User.id))
    worker = Worker(db, settings, clock=clock)
    worker.tick()  # the migrations' own WAL (it may be past 1 MB) checkpointed
    assert worker.tick()["checkpointed"] == 0  # a small WAL is left alone

    # A reader keeps an old snapshot during the burst, so no checkpoint can reset the WAL:
    # it grows past the limit (as it grew to 887 MB beside a 229 MB database).
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM job").fetchone()
    for start in range(0, 20_000, 2_000):
        with db.transaction() as session:
            session.execute(insert(Job), [
                {"id": uuid.uuid4(), "user_id": user_id, "company": f"Company {i}", "role": "Dev " * 20,
                 "url": None, "stage": "APPLIED", "archived_at": None, "created_at": clock(),
                 "updated_at": clock()}
                for i in range(start, start + 2_000)
            ])
    grown = _wal(path)
    assert grown > 4 * 1024 * 1024

    # While the reader is still there, the checkpoint gives up at once and the API goes on.
    assert worker.tick()["checkpointed"] == 0
    reader.execute("ROLLBACK")
    reader.close()
    assert worker.tick()["checkpointed"] == 1
    assert _wal(path) == 0
    assert _count(db, Job) == 20_000  # everything is in the database file
    db.dispose()
