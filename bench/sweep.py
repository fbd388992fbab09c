"""Reminder-sweep throughput: N due follow-ups across U users, one sweep, rows per second.

    .venv/bin/python bench/sweep.py --url sqlite:///bench-sweep.db
    .venv/bin/python bench/sweep.py --url postgresql+psycopg://postgres@127.0.0.1:5432/followups_bench

Each run fills a fresh schema, then times the reminder sweep (claim + notification
insert, in batches, each its own transaction) over the due rows, twice: once with only
the due rows, once with `--idle-factor` times as many rows that are not due (future,
sent or cancelled) beside them. The sweep's cost should follow the due rows: the two
rates should be close. The database named by --url is emptied.
"""

from __future__ import annotations

import argparse
import time
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, select, text

from followups.config import Settings
from followups.db import Database
from followups.migrate import upgrade
from followups.models import Base, FollowUp, Job, Notification, User
from followups.notifications.reminders import sweep_reminders

CHUNK = 20_000


def reset(database: Database) -> None:
    if database.engine.dialect.name == "postgresql":
        with database.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    else:
        Base.metadata.drop_all(database.engine)
        with database.engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    upgrade(database.engine)


def fill(database: Database, *, users: int, due: int, idle: int, now: datetime) -> None:
    user_rows, job_rows = [], []
    for u in range(users):
        uid = uuid.uuid4()
        user_rows.append(dict(
            id=uid, email=f"b{u}@example.com", email_key=f"b{u}@example.com", password_hash="x",
            timezone=("UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata")[u % 4],
            followup_delays_days=[3, 3], dormant_after_days=7, skip_weekends=False, digest_hour=8,
            digest_email=False, next_digest_at=now + timedelta(days=1), created_at=now,
        ))
        job_rows.append(dict(id=uuid.uuid4(), user_id=uid, company=f"Company {u}", role="Engineer",
                             stage="APPLIED", created_at=now, updated_at=now))
    with database.transaction() as s:
        s.execute(insert(User), user_rows)
        s.execute(insert(Job), job_rows)

    def rows(count: int, kind: str):
        for i in range(count):
            u = i % users
            fid = uuid.uuid4()
            due_at = now - timedelta(minutes=1 + i % 5000) if kind == "due" else now + timedelta(days=2 + i % 60)
            row = dict(id=fid, user_id=user_rows[u]["id"], chain_id=fid, attempt_no=1, type="STANDARD",
                       job_id=job_rows[u]["id"], due_at=due_at, remind_at=due_at - timedelta(hours=12),
                       revision=0, created_at=now, updated_at=now)
            if kind == "idle" and i % 3 == 1:
                row["sent_at"] = now - timedelta(days=1)
                row["remind_at"] = due_at = now - timedelta(days=3)
            elif kind == "idle" and i % 3 == 2:
                row["cancelled_at"] = now - timedelta(days=1)
                row["remind_at"] = now - timedelta(days=3)
            yield row

    for kind, count in (("due", due), ("idle", idle)):
        batch = []
        for row in rows(count, kind):
            batch.append(row)
            if len(batch) == CHUNK:
                with database.transaction() as s:
                    s.execute(insert(FollowUp), batch)
                batch = []
        if batch:
            with database.transaction() as s:
                s.execute(insert(FollowUp), batch)
    if database.engine.dialect.name == "postgresql":
        with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))


def sweep(database: Database, *, now: datetime, batch: int) -> tuple[int, float]:
    done, start = 0, time.perf_counter()
    while True:
        with database.transaction() as s:
            n = sweep_reminders(s, now=now, batch=batch)
        done += n
        if n < batch:
            break
    return done, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--due", type=int, default=100_000)
    parser.add_argument("--idle-factor", type=int, default=4)
    parser.add_argument("--batch", type=int, default=5000)
    args = parser.parse_args()
    database = Database(Settings(database_url=args.url))
    now = datetime.now(UTC)
    results = []
    for idle in (0, args.due * args.idle_factor):
        reset(database)
        fill(database, users=args.users, due=args.due, idle=idle, now=now)
        done, seconds = sweep(database, now=now, batch=args.batch)
        with database.transaction(write=False) as s:
            made = s.scalar(select(func.count()).select_from(Notification))
        assert done == made == args.due, (done, made)
        results.append((idle, done, seconds))
        print(f"{database.engine.dialect.name}: {done} due (+{idle} not due) swept in {seconds:.2f} s "
              f"= {done / seconds:,.0f} rows/s")
    (_, d0, s0), (_, d1, s1) = results
    print(f"rate with {args.idle_factor}x idle rows / rate with none: {(d1 / s1) / (d0 / s0):.2f}")
    database.dispose()


if __name__ == "__main__":
    main()
