"""Storage: migrations agree with the models; instants are UTC and aware on both backends."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, inspect, select, text

from followups.migrate import head_revision, is_at_head
from followups.models import Base, Job, User


def test_migrations_match_the_models(db):
    assert is_at_head(db.engine) and head_revision(db.engine)
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == []


def test_migrated_primary_keys_match_the_models(db):
    """Autogenerate does not compare primary keys: checked here, name and column order."""
    inspector = inspect(db.engine)
    for table in Base.metadata.sorted_tables:
        pk = inspector.get_pk_constraint(table.name)
        assert pk["constrained_columns"] == table.primary_key.columns.keys(), table.name
        assert pk["name"] == table.primary_key.name, table.name


def test_bucket_index_is_partial_on_open_rows(db):
    indexes = {ix["name"]: ix for ix in inspect(db.engine).get_indexes("follow_up")}
    assert indexes["ix_follow_up_open_due"]["column_names"] == ["user_id", "due_at", "id"]


def _user(now: datetime) -> User:
    return User(email="t@example.com", email_key=f"{uuid.uuid4()}@example.com", password_hash="x",
                timezone="UTC", followup_delays_days=[3, 3], dormant_after_days=7, skip_weekends=False,
                created_at=now)


PLUS_TWO = datetime(2026, 3, 5, 12, 0, tzinfo=timezone(timedelta(hours=2)))


def _job_made_at_plus_two(db) -> None:
    with db.transaction() as s:
        user = _user(PLUS_TWO)
        s.add(user)
        s.flush()
        s.add(Job(user_id=user.id, company="A", role="B", stage="APPLIED", created_at=PLUS_TWO,
                  updated_at=PLUS_TWO))


def test_instants_keep_their_moment_and_read_back_as_utc(db):
    _job_made_at_plus_two(db)
    with db.transaction(write=False) as s:
        job = s.scalar(select(Job))
        assert job.created_at == datetime(2026, 3, 5, 10, 0, tzinfo=UTC)
        assert job.created_at.utcoffset() == timedelta(0)
        # Comparisons run on the UTC value in SQL too.
        assert s.scalar(select(Job.id).where(Job.created_at < PLUS_TWO + timedelta(seconds=1))) == job.id
        assert s.scalar(select(Job.id).where(Job.created_at > PLUS_TWO)) is None


def test_naive_instants_are_refused(db):
    with pytest.raises(Exception, match="naive"), db.transaction() as s:
        s.add(_user(datetime(2026, 3, 5, 12, 0)))
        s.flush()
    with db.transaction(write=False) as s:
        assert s.scalar(select(User.id)) is None


def test_upgrading_an_existing_sqlite_database_keeps_its_rows(tmp_path):
    """Batch migrations rebuild tables; with rows referencing them that must still work."""
    from followups.config import Settings
    from followups.db import Database
    from followups.migrate import upgrade

    database = Database(Settings(database_url=f"sqlite:///{tmp_path / 'old.db'}"))
    upgrade(database.engine, "d6509d4b4b32")  # the first schema
    uid = uuid.uuid4().hex
    with database.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO app_user (id, email, email_key, password_hash, timezone, followup_delays_days,"
            " dormant_after_days, skip_weekends, digest_hour, digest_email, created_at)"
            " VALUES (:id, 'a@example.com', 'a@example.com', 'x', 'UTC', '[3, 3]', 7, 0, 8, 1,"
            " '2026-01-01 00:00:00')"), {"id": uid})
        conn.execute(text(
            "INSERT INTO job (id, user_id, company, role, stage, created_at, updated_at)"
            " VALUES (:id, :uid, 'Acme', 'Dev', 'APPLIED', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"),
            {"id": uuid.uuid4().hex, "uid": uid})
    upgrade(database.engine)
    assert is_at_head(database.engine)
    with database.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM job")).scalar() == 1
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    database.dispose()


@pytest.mark.parametrize("backend", ["postgresql"])  # SQLite keeps no time zone
def test_instants_read_back_as_utc_whatever_the_sessions_time_zone(db):
    """PostgreSQL sessions are set to UTC when they connect (no conversion as a value is
    read); a value read in another zone (a pooler that dropped the setting) is still UTC."""
    _job_made_at_plus_two(db)
    with db.transaction(write=False) as s:
        assert s.execute(text("SHOW TimeZone")).scalar() == "UTC"
        s.execute(text("SET LOCAL TimeZone = 'Asia/Kolkata'"))
        created = s.scalar(select(Job.created_at))
        assert created == datetime(2026, 3, 5, 10, 0, tzinfo=UTC) and created.tzinfo is UTC


def test_the_sessions_time_zone_keeps_the_urls_own_options(pg_database):
    from followups.config import Settings
    from followups.db import Database

    url = pg_database.settings.database_url
    sep = "&" if "?" in url else "?"
    database = Database(Settings(database_url=f"{url}{sep}options=-c%20search_path%3Dpg_catalog"))
    try:
        with database.engine.connect() as conn:
            assert conn.execute(text("SHOW TimeZone")).scalar() == "UTC"
            assert conn.execute(text("SHOW search_path")).scalar() == "pg_catalog"
    finally:
        database.dispose()


@pytest.mark.parametrize("backend", ["postgresql"])  # SQLite: a plain read transaction
def test_a_statements_read_opens_no_transaction_block_on_postgresql(db):
    """`transaction(statements=True)` (the list reads): on PostgreSQL each statement is its
    own transaction, so now() moves between statements; in a read transaction it stays."""
    def two_nows(**kw) -> tuple[datetime, datetime]:
        with db.transaction(write=False, **kw) as s:
            first = s.scalar(select(func.now()))
            s.execute(text("SELECT pg_sleep(0.01)"))
            return first, s.scalar(select(func.now()))

    first, second = two_nows(statements=True)
    assert second > first
    first, second = two_nows()
    assert second == first
