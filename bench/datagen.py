"""Benchmark data: N follow-ups over many users, loaded with PostgreSQL COPY.

    .venv/bin/python bench/datagen.py --url postgresql+psycopg://postgres@127.0.0.1:5432/followups_perf_bench \
        --followups 1000000

Every user has jobs, contacts and outreach; each outreach starts a chain of two
follow-ups (attempt 1 sent; attempt 2 open, sent or cancelled), due dates spread over
45 days either side of now, one job in twenty archived. These users are made through
the services (a real password hash, a real login token):

- `bench@bench.example`, whose `today` bucket holds exactly --due-today follow-ups
  (plus a few on an archived job, which the bucket must hide), in a time zone where
  it is near midday, so "today" does not end during a run;
- `sender<i>@bench.example` (--senders of them), sharing --send-pool open upcoming
  follow-ups for the mark-sent benchmark (not counted in --followups).

PostgreSQL: the keys, indexes and foreign keys of the loaded tables are dropped, the
rows are streamed with COPY, then everything is rebuilt and analysed (seconds per
million rows, not minutes). SQLite has no COPY: one executemany per table in one
transaction. The database (or --schema on PostgreSQL) named by --url is emptied.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from sqlalchemy import text

from followups import clock
from followups.config import Settings
from followups.db import Database
from followups.migrate import upgrade
from followups.models import Base
from followups.users import service as users

PASSWORD = "bench password"
# Time zones of the generated users; the bench user gets the one nearest midday.
ZONES = (
    "UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "America/Los_Angeles",
    "Asia/Tokyo", "Pacific/Auckland", "Pacific/Honolulu", "America/Sao_Paulo",
)
SPREAD_DAYS = 45
STEP_MINUTES = 15
CHUNK_ROWS = 50_000
LOADED = ("app_user", "api_token", "job", "contact", "outreach", "follow_up")


@dataclass
class Meta:
    url: str
    backend: str
    followups: int
    users: int
    bench_email: str
    bench_token: str
    bench_user_id: str
    bench_timezone: str
    due_today: int
    # (token, follow-up id) to send, the senders taken in turn.
    sends: list[tuple[str, str]] = field(repr=False)
    rows: dict[str, int]
    load_s: float
    index_s: float
    total_s: float


def schema_url(url: str, schema: str | None) -> str:
    """The URL with a search_path: the bench can live beside other tables in a schema."""
    if not schema:
        return url
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options={quote(f'-csearch_path={schema}')}"


def reset(database: Database, schema: str | None) -> None:
    if database.engine.dialect.name == "postgresql":
        name = schema or "public"
        with database.engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{name}"'))
    else:
        Base.metadata.drop_all(database.engine)
        with database.engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    upgrade(database.engine)


def midday_zone(now: datetime) -> str:
    return min(ZONES, key=lambda z: abs(now.astimezone(clock.zone(z)).hour + 0.5 - 12))


class Values:
    """Column values in the backend's storage text: PostgreSQL COPY text, or what
    SQLAlchemy stores in SQLite (hex uuids, naive UTC datetimes)."""

    def __init__(self, backend: str, now: datetime) -> None:
        self.pg = backend == "postgresql"
        self.base = now.replace(second=0, microsecond=0)
        self._ts: dict[int, str] = {}

    def uid(self, kind: int, n: int) -> str:
        return f"{kind:08x}-0000-4000-8000-{n:012x}" if self.pg else f"{kind:08x}000040008000{n:012x}"

    def real_uid(self, value: uuid.UUID) -> str:
        return str(value) if self.pg else value.hex

    def ts(self, minutes: int) -> str:
        s = self._ts.get(minutes)
        if s is None:
            instant = self.base + timedelta(minutes=minutes)
            s = self.instant(instant)
            self._ts[minutes] = s
        return s

    def instant(self, instant: datetime) -> str:
        instant = instant.astimezone(UTC)
        if self.pg:
            return instant.strftime("%Y-%m-%d %H:%M:%S.%f+00")
        return instant.strftime("%Y-%m-%d %H:%M:%S.%f")

    def bool(self, value: bool) -> str:
        return ("t" if value else "f") if self.pg else ("1" if value else "0")


# Id spaces of the generated rows (the first 8 hex digits of their uuid).
USER, TOKEN, JOB, CONTACT, OUTREACH, FOLLOWUP = 1, 2, 3, 4, 5, 6

COLUMNS = {
    "app_user": "id email email_key password_hash timezone followup_delays_days dormant_after_days "
                "skip_weekends digest_hour digest_email next_digest_at created_at",
    "api_token": "id user_id token_hash created_at expires_at",
    "job": "id user_id company role url stage archived_at created_at updated_at",
    "contact": "id user_id name email company linkedin_url archived_at created_at updated_at",
    "outreach": "id user_id job_id contact_id channel sent_at note outcome created_at updated_at",
    "follow_up": "id user_id chain_id attempt_no type job_id contact_id outreach_id due_at sent_at "
                 "cancelled_at cancel_reason note why revision remind_at reminded_at created_at "
                 "updated_at",
}

Row = tuple[str | None, ...]


@dataclass
class Person:
    id: str
    zone: str
    chains: int
    today: tuple[int, int] | None = None  # [start, end) of the local day, minutes from base
    due_today: int = 0
    hidden_today: int = 0
    send_pool: int = 0
    sender: int = -1  # index among the senders


class Generator:
    """Rows per table, streamed; counters make every id unique and deterministic."""

    def __init__(self, v: Values, people: list[Person], now: datetime, seed: int) -> None:
        self.v, self.people, self.now = v, people, now
        self.rnd = random.Random(seed)
        self.send_ids: list[tuple[int, int, str]] = []  # (index in pool, sender, id)
        self._job = self._contact = self._outreach = self._followup = 0

    @staticmethod
    def shape(chains: int) -> tuple[int, int]:
        jobs = max(1, chains // 5)
        return jobs, max(1, chains // 5)

    def users(self, start: int, count: int) -> Iterator[Row]:
        v, created, digest = self.v, self.v.ts(-200 * 24 * 60), self.v.ts(24 * 60)
        for u in range(start, start + count):
            email = f"user{u}@bench.example"
            yield (v.uid(USER, u), email, email, "x", ZONES[u % len(ZONES)], "[3, 3]", "7",
                   v.bool(False), "8", v.bool(False), digest, created)

    def tokens(self, start: int, count: int) -> Iterator[Row]:
        v, created, expires = self.v, self.v.ts(-60), self.v.ts(30 * 24 * 60)
        for u in range(start, start + count):
            digest = hashlib.sha256(f"bench-token-{u}".encode()).hexdigest()
            yield v.uid(TOKEN, u), v.uid(USER, u), digest, created, expires

    def records(self, person: Person, job0: int, contact0: int) -> tuple[list[Row], list[Row]]:
        v, created = self.v, self.v.ts(-120 * 24 * 60)
        jobs, contacts = self.shape(person.chains + person.send_pool)
        job_rows, contact_rows = [], []
        for j in range(jobs):
            # One job in twenty is archived; job 0 always (the hidden "today" rows use it).
            archived = created if (j % 20 == 0 and (jobs > 1 or person.hidden_today)) else None
            job_rows.append((v.uid(JOB, job0 + j), person.id, f"Company {j}", "Engineer",
                             f"https://jobs.example/{job0 + j}", "APPLIED", archived, created,
                             created))
        for c in range(contacts):
            contact_rows.append((v.uid(CONTACT, contact0 + c), person.id, f"Contact {c}",
                                 f"c{contact0 + c}@example.com", f"Company {c}", None, None,
                                 created, created))
        return job_rows, contact_rows

    def chains(self, person: Person, job0: int, contact0: int) -> tuple[list[Row], list[Row]]:
        """Outreach and follow-up rows of one user."""
        v, rnd = self.v, self.rnd
        jobs, contacts = self.shape(person.chains + person.send_pool)
        outreach_rows: list[Row] = []
        followup_rows: list[Row] = []
        day = 24 * 60
        lo, hi = person.today or (0, 0)
        for k in range(person.chains + person.send_pool):
            oid = v.uid(OUTREACH, self._outreach)
            self._outreach += 1
            # Visible rows live on jobs 1.. (job 0 is archived when there are several).
            if k < person.hidden_today:
                job = 0
            else:
                job = 1 + k % (jobs - 1) if jobs > 1 else 0
                if job % 20 == 0 and k < person.hidden_today + person.due_today:
                    job -= 1  # the exact "today" rows stay visible
            job_id, contact_id = v.uid(JOB, job0 + job), v.uid(CONTACT, contact0 + k % contacts)
            sent_m = -(10 + rnd.randrange(80)) * day
            outreach_rows.append((oid, person.id, job_id, contact_id, "EMAIL", v.ts(sent_m),
                                  None, "NONE", v.ts(sent_m), v.ts(sent_m)))
            # Attempt 1: sent three days after the outreach.
            a1 = v.uid(FOLLOWUP, self._followup)
            self._followup += 1
            due1 = sent_m + 3 * day
            followup_rows.append((a1, person.id, a1, "1", "STANDARD", job_id, contact_id, oid,
                                  v.ts(due1), v.ts(due1), None, None, None,
                                  "Attempt 1: outreach sent + 3 days", "0", v.ts(due1 - 12 * 60),
                                  v.ts(due1 - 12 * 60), v.ts(sent_m), v.ts(due1)))
            a2 = v.uid(FOLLOWUP, self._followup)
            self._followup += 1
            fixed = k < person.hidden_today + person.due_today
            if fixed:  # spread over the user's local day
                i = k if k < person.hidden_today else k - person.hidden_today
                n = person.hidden_today if k < person.hidden_today else person.due_today
                due2 = lo + (hi - lo) * (2 * i + 1) // (2 * n)
                state = 0
            elif k >= person.chains:  # the sender's pool: open, upcoming
                due2 = (2 + rnd.randrange(SPREAD_DAYS)) * day + rnd.randrange(day)
                state = 0
                self.send_ids.append((k - person.chains, person.sender, a2))
            else:
                due2 = rnd.randrange(-SPREAD_DAYS * day, SPREAD_DAYS * day, STEP_MINUTES)
                if person.today and lo - day <= due2 < hi + day:
                    due2 += 3 * day  # the bench user's today (and its neighbours) stays exact
                state = rnd.randrange(10)  # 0-4 open, 5-7 sent, 8-9 cancelled
            sent = v.ts(due2) if 5 <= state <= 7 else None
            cancelled = v.ts(min(due2, 0)) if state >= 8 else None
            reason = "Reply received" if cancelled else None
            remind = due2 - 12 * 60
            reminded = v.ts(remind) if state < 5 and remind < 0 else None
            followup_rows.append((a2, person.id, a1, "2", "STANDARD", job_id, contact_id, oid,
                                  v.ts(due2), sent, cancelled, reason, None,
                                  "Attempt 2: attempt 1 sent + 3 days", "0", v.ts(remind),
                                  reminded, v.ts(due1), v.ts(due1)))
        return outreach_rows, followup_rows

    def per_user(self) -> Iterator[tuple[str, list[Row]]]:
        for person in self.people:
            jobs, contacts = self.shape(person.chains + person.send_pool)
            job_rows, contact_rows = self.records(person, self._job, self._contact)
            outreach_rows, followup_rows = self.chains(person, self._job, self._contact)
            self._job += jobs
            self._contact += contacts
            yield "job", job_rows
            yield "contact", contact_rows
            yield "outreach", outreach_rows
            yield "follow_up", followup_rows


def _pg_detach(conn, tables: tuple[str, ...]) -> list[str]:
    """Drop the foreign keys, keys and indexes of `tables`; return the SQL that restores them."""
    names = list(tables)
    fks = conn.execute(text(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE contype = 'f' AND (conrelid::regclass::text = ANY(:t) OR confrelid::regclass::text = ANY(:t))"
    ), {"t": names}).all()
    keys = conn.execute(text(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE contype IN ('p', 'u') AND conrelid::regclass::text = ANY(:t)"
    ), {"t": names}).all()
    indexes = conn.execute(text(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
        "AND tablename = ANY(:t) AND indexname NOT IN (SELECT conname FROM pg_constraint)"
    ), {"t": names}).all()
    for table, name, _ in fks:
        conn.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
    for name, _ in indexes:
        conn.execute(text(f'DROP INDEX "{name}"'))
    for table, name, _ in keys:
        conn.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
    return (
        [f'ALTER TABLE {t} ADD CONSTRAINT "{n}" {d}' for t, n, d in keys]
        + [d for _, d in indexes]
        + [f'ALTER TABLE {t} ADD CONSTRAINT "{n}" {d}' for t, n, d in fks]
    )


class Loader:
    """Rows into tables: COPY on PostgreSQL, executemany on SQLite; counts what it loads."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.pg = database.engine.dialect.name == "postgresql"
        self.rows = {t: 0 for t in LOADED}
        self.index_s = 0.0

    def load(self, batches: Iterator[tuple[str, list[Row]]]) -> None:
        with self.database.engine.connect() as conn:
            if self.pg:
                conn.execute(text("SET synchronous_commit = off"))
                conn.execute(text("SET maintenance_work_mem = '512MB'"))
                restore = _pg_detach(conn, LOADED)
                conn.commit()
                self._copy(conn.connection.dbapi_connection, batches)
                start = time.perf_counter()
                for sql in restore:
                    conn.execute(text(sql))
                conn.commit()
                self.index_s = time.perf_counter() - start
            else:
                self._insert(conn.connection.dbapi_connection, batches)

    def _copy(self, raw, batches) -> None:
        pending: dict[str, list[str]] = {t: [] for t in LOADED}
        size = dict.fromkeys(LOADED, 0)
        with raw.cursor() as cur:
            def flush(table: str) -> None:
                cols = ", ".join(COLUMNS[table].split())
                with cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                    copy.write("".join(pending[table]))
                pending[table].clear()
                size[table] = 0

            for table, rows in batches:
                self.rows[table] += len(rows)
                pending[table].extend(
                    "\t".join(r"\N" if x is None else x for x in row) + "\n" for row in rows
                )
                size[table] += len(rows)
                if size[table] >= CHUNK_ROWS:
                    flush(table)
            for table in LOADED:
                if pending[table]:
                    flush(table)
        raw.commit()

    def _insert(self, raw, batches) -> None:
        cur = raw.cursor()
        cur.execute("BEGIN IMMEDIATE")
        for table, rows in batches:
            if rows:
                cols = COLUMNS[table].split()
                cur.executemany(
                    f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                    rows,
                )
                self.rows[table] += len(rows)
        cur.execute("COMMIT")
        cur.close()


def _service_user(database: Database, email: str, zone: str, now: datetime) -> tuple[str, uuid.UUID]:
    """A user made and logged in through the services, like a real one: (token, id)."""
    with database.transaction() as s:
        user = users.register(s, email=email, password=PASSWORD, timezone=zone, now=now)
        token = users.login(s, email=email, password=PASSWORD, now=now,
                            ttl_days=database.settings.token_ttl_days)
        return token, user.id


def generate(url: str, *, followups: int, per_user: int = 100, due_today: int = 50,
             send_pool: int = 0, senders: int = 1, schema: str | None = None, seed: int = 1,
             now: datetime | None = None) -> Meta:
    started = time.perf_counter()
    now = now or datetime.now(UTC)
    url = schema_url(url, schema)
    database = Database(Settings(database_url=url))
    backend = database.engine.dialect.name
    try:
        reset(database, schema)
        v = Values(backend, now)
        zone = midday_zone(now)
        bench_token, bench_id = _service_user(database, "bench@bench.example", zone, now)
        sender_users = [_service_user(database, f"sender{i}@bench.example", "UTC", now)
                        for i in range(senders if send_pool else 0)]
        start, end = clock.today_bounds(now, clock.zone(zone))
        def minutes(t: datetime) -> int:
            return int((t - v.base).total_seconds() // 60)

        hidden = 3
        bench = Person(v.real_uid(bench_id), zone, per_user // 2 + due_today + hidden,
                       today=(minutes(start), minutes(end)), due_today=due_today,
                       hidden_today=hidden)
        pools = [Person(v.real_uid(uid), "UTC", 0, send_pool=send_pool // senders, sender=i)
                 for i, (_, uid) in enumerate(sender_users)]
        chains = per_user // 2
        made = 2 * bench.chains
        others = max(0, -(-(followups - made) // (2 * chains)))  # ceiling
        people = [bench, *pools] + [
            Person(v.uid(USER, u), ZONES[u % len(ZONES)], chains) for u in range(others)
        ]
        gen = Generator(v, people, now, seed)

        def batches() -> Iterator[tuple[str, list[Row]]]:
            for s in range(0, others, 10_000):
                n = min(10_000, others - s)
                yield "app_user", list(gen.users(s, n))
                yield "api_token", list(gen.tokens(s, n))
            yield from gen.per_user()

        loader = Loader(database)
        t0 = time.perf_counter()
        loader.load(batches())
        load_s = time.perf_counter() - t0 - loader.index_s
        if backend == "postgresql":
            with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text(f"VACUUM ANALYZE {', '.join(LOADED)}"))
        else:
            with database.engine.connect() as conn:
                conn.exec_driver_sql("ANALYZE")
        return Meta(
            url=url, backend=backend, followups=loader.rows["follow_up"], users=others + 1 + len(sender_users),
            bench_email="bench@bench.example", bench_token=bench_token,
            bench_user_id=str(bench_id), bench_timezone=zone, due_today=due_today,
            sends=[(sender_users[u][0], str(uuid.UUID(i))) for _, u, i in sorted(gen.send_ids)],
            rows=loader.rows, load_s=round(load_s, 2), index_s=round(loader.index_s, 2),
            total_s=round(time.perf_counter() - started, 2),
        )
    finally:
        database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--followups", type=int, default=1_000_000)
    parser.add_argument("--per-user", type=int, default=100, help="follow-ups per generated user")
    parser.add_argument("--due-today", type=int, default=50)
    parser.add_argument("--send-pool", type=int, default=0)
    parser.add_argument("--senders", type=int, default=1, help="users sharing the send pool")
    parser.add_argument("--schema", help="PostgreSQL: load into this schema (search_path)")
    parser.add_argument("--meta", help="write tokens, ids and timings here as JSON")
    args = parser.parse_args()
    if args.per_user < 2:
        parser.error("--per-user must be at least 2")
    meta = generate(args.url, followups=args.followups, per_user=args.per_user,
                    due_today=args.due_today, send_pool=args.send_pool, senders=args.senders,
                    schema=args.schema)
    rows = ", ".join(f"{t} {n:,}" for t, n in meta.rows.items())
    print(f"{meta.backend}: {meta.followups:,} follow-ups for {meta.users:,} users ({rows}) "
          f"loaded in {meta.load_s:.1f} s + keys and indexes {meta.index_s:.1f} s; "
          f"{meta.total_s:.1f} s in all")
    if args.meta:
        with open(args.meta, "w") as f:
            json.dump(asdict(meta), f)


if __name__ == "__main__":
    main()
