"""The tenant-key migrations (composite foreign keys between owned tables, 1dc6a52601bc; primary
keys (user_id, id), 9d2cb488b0bf) on a database with rows in every owned table, on SQLite and
on PostgreSQL: the rows stay, the new keys refuse a row that points at another user's row, and
they go down and up again."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import func, insert, inspect, select
from sqlalchemy.exc import IntegrityError

from followups.app import create_app
from followups.config import Settings
from followups.db import Database
from followups.migrate import alembic_config, is_at_head, upgrade
from followups.models import ApiToken, Base, CalendarAddress, EmailAddress, FollowUp, Job, User
from followups.users import service as users_service
from followups.users.tokens import token_hash
from followups.worker import Worker
from production import new_cluster

BEFORE = "0af2b0c1bf7d"  # the revision before the tenant keys
BEFORE_DIRECTORIES = "5b1f0c2d7e84"  # the revision before the owned tokens and the directories
PASSWORD = "correct horse"
COMPOSITE_FKS = "1dc6a52601bc"  # foreign keys (user_id, x_id) -> unique (user_id, id); primary keys (id)
OWNED = ("job", "contact", "outreach", "follow_up", "notification", "delivery")
# The tables at BEFORE (the mailbox's came later).
BEFORE_TABLES = ("app_user", "api_token", "login_failure", *OWNED)


@pytest.fixture(params=["sqlite", "postgresql"])
def old_database(request, tmp_path) -> Iterator[Database]:
    if request.param == "sqlite":
        database = Database(Settings(database_url=f"sqlite:///{tmp_path / 'old.db'}"))
        yield database
        database.dispose()
        return
    cluster = new_cluster()
    try:
        database = Database(Settings(database_url=cluster.create_database("old")))
        yield database
        database.dispose()
    finally:
        cluster.destroy()


def counts(database: Database) -> dict[str, int]:
    """Rows per table of the old schema (tables that later migrations add are not there yet)."""
    old = set(BEFORE_TABLES)
    with database.transaction(write=False) as s:
        return {t.name: s.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables
                if t.name in old}


def keys(database: Database) -> dict[str, tuple[list[str], list[list[str]]]]:
    """Per owned table: the primary key's columns, and the unique constraints' columns."""
    found = {}
    with database.engine.connect() as conn:
        inspector = inspect(conn)
        for name in OWNED:
            found[name] = (inspector.get_pk_constraint(name)["constrained_columns"],
                           sorted(u["column_names"] for u in inspector.get_unique_constraints(name)))
    return found


def old_account(database: Database, email: str, *, calendar_token: str | None = None) -> dict:
    """An account as the code before 7e3a9c51d2b6 made one: no directory row, and a bearer
    token without the user id in it. Its Authorization headers."""
    now = datetime.now(UTC)
    user_id, token = uuid.uuid4(), secrets.token_urlsafe(32)
    with database.engine.begin() as conn:
        conn.execute(insert(User.__table__).values(
            id=user_id, email=email, email_key=email.lower(), password_hash=users_service._hasher.hash(PASSWORD),
            timezone="UTC", followup_delays_days=[3, 3], dormant_after_days=7, skip_weekends=False,
            cadence_adaptive=False, digest_hour=8, digest_email=True, next_digest_at=now + timedelta(days=1),
            calendar_token=calendar_token, created_at=now, write_seq=0,
        ))
        conn.execute(insert(ApiToken.__table__).values(
            id=uuid.uuid4(), user_id=user_id, token_hash=token_hash(token), created_at=now,
            expires_at=now + timedelta(days=30),
        ))
    return {"Authorization": f"Bearer {token}"}


def fill(database: Database) -> None:
    """Two users with rows in every owned table, made by the app itself on the old schema."""
    # The webhook points at 127.0.0.1 (nothing listens: a failed delivery row): allowed here only.
    settings = database.settings.model_copy(update={"webhook_allow_private": True})
    with TestClient(create_app(settings, db=database, migrate=False)) as client:
        sent_at = (datetime.now(UTC) - timedelta(days=20)).isoformat()
        for email in ("ada@example.com", "bob@example.com"):
            headers = old_account(database, email)
            r = client.patch("/me", headers=headers,
                             json={"webhook": {"url": "http://127.0.0.1:9/hook", "secret": "s" * 32}})
            assert r.status_code == 200, r.text
            job = client.post("/jobs", headers=headers, json={"company": "Acme", "role": "Dev"}).json()
            contact = client.post("/contacts", headers=headers, json={"name": "Grace"}).json()
            for _ in range(2):
                r = client.post("/outreach", headers=headers,
                                json={"jobId": job["id"], "contactId": contact["id"], "channel": "EMAIL",
                                      "sentAt": sent_at})
                assert r.status_code == 201, r.text
    worker = Worker(database, settings)
    worker.tick()  # reminders (notification) and their webhook deliveries (delivery)


def test_the_tenant_keys_migration_keeps_every_row_and_refuses_cross_user_references(old_database):
    upgrade(old_database.engine, BEFORE)
    fill(old_database)
    before = counts(old_database)
    assert all(before[name] > 0 for name in OWNED), before

    upgrade(old_database.engine)
    assert is_at_head(old_database.engine)
    assert counts(old_database) == before
    # The primary keys lead with user_id; no unique (user_id, id) besides them.
    at_head = keys(old_database)
    for name in OWNED:
        pk, uniques = at_head[name]
        assert pk == ["user_id", "id"] and ["user_id", "id"] not in uniques, (name, at_head[name])

    # A follow-up of Bob's pointing at Ada's job: refused by the key (user_id, job_id).
    with old_database.transaction(write=False) as s:
        ada_job = s.scalar(select(Job).order_by(Job.created_at).limit(1))
        bobs = s.scalar(select(FollowUp).where(FollowUp.user_id != ada_job.user_id).limit(1))
        fields = {c.key: getattr(bobs, c.key) for c in FollowUp.__table__.columns}
    fields.update(id=uuid.uuid4(), chain_id=uuid.uuid4(), job_id=ada_job.id)
    with pytest.raises(IntegrityError), old_database.transaction() as s:
        s.add(FollowUp(**fields))

    # Down one revision at a time and up again, rows intact.
    command.downgrade(alembic_config(old_database.engine), COMPOSITE_FKS)
    assert counts(old_database) == before
    for name, (pk, uniques) in keys(old_database).items():
        assert pk == ["id"], name
        assert (["user_id", "id"] in uniques) == (name != "delivery"), (name, uniques)
    command.downgrade(alembic_config(old_database.engine), BEFORE)
    assert counts(old_database) == before
    upgrade(old_database.engine)
    assert counts(old_database) == before
    assert keys(old_database) == at_head


def test_the_directories_migration_keeps_old_tokens_and_refuses_taken_emails(old_database):
    """7e3a9c51d2b6 on a database with accounts: the directories are filled from them, an old
    token (no user id in it) still signs in, a taken email (any case) is refused, a calendar
    address keeps working, and the revision goes down and up again."""
    upgrade(old_database.engine, BEFORE_DIRECTORIES)
    ada = old_account(old_database, "Ada@example.com", calendar_token="cal-" + "a" * 40)
    old_account(old_database, "bob@example.com")
    upgrade(old_database.engine)

    with old_database.transaction(write=False) as s:
        assert sorted(s.scalars(select(EmailAddress.email_key))) == ["ada@example.com", "bob@example.com"]
        assert s.scalars(select(CalendarAddress.token)).all() == ["cal-" + "a" * 40]
    with TestClient(create_app(old_database.settings, db=old_database, migrate=False)) as client:
        assert client.get("/me", headers=ada).json()["email"] == "Ada@example.com"
        assert client.get(f"/calendar/cal-{'a' * 40}.ics").status_code == 200
        r = client.post("/auth/register", json={"email": "ADA@example.com", "password": PASSWORD})
        assert r.status_code == 409, r.text
        token = client.post("/auth/login", json={"email": "ada@example.com", "password": PASSWORD}).json()
        user_id, dot, _ = token["accessToken"].partition(".")
        me = client.get("/me", headers={"Authorization": f"Bearer {token['accessToken']}"}).json()
        assert dot and me["id"] == user_id

    command.downgrade(alembic_config(old_database.engine), BEFORE_DIRECTORIES)
    upgrade(old_database.engine)
    with old_database.transaction(write=False) as s:
        assert s.scalar(select(func.count()).select_from(EmailAddress)) == 2
        assert s.scalar(select(func.count()).select_from(ApiToken)) == 3  # two old ones, the login's
