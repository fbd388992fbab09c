"""Engine, sessions, the declarative base and the UTC instant column type."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.types import TypeDecorator

from followups.config import Settings

UTC = UTC

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """An instant: refuses naive datetimes, stores UTC, reads back aware UTC.

    SQLite has no time zone storage and silently drops offsets; this type makes
    both backends behave alike.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime given for a UTC instant column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def result_processor(self, dialect, coltype):
        """Reads back aware UTC with one call per value (TypeDecorator's default, around a
        `process_result_value`, makes two): a listed follow-up has seven instants
        (bench/RESULTS.md)."""
        parse = self.impl_instance.result_processor(dialect, coltype)  # SQLite: from text
        if parse is None:
            return _as_utc

        def process(value):
            return _as_utc(parse(value))

        return process


def _as_utc(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is UTC:  # psycopg, with the session's zone UTC
        return value
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


# Write transactions on SQLite start with BEGIN IMMEDIATE: a deferred transaction that
# reads and then writes fails at once with "database is locked" under concurrency.
WRITE_OPTION = "followups_write"


def _sqlite_engine(settings: Settings) -> Engine:
    url = make_url(settings.database_url)
    if url.database and url.database != ":memory:":
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": settings.sqlite_busy_timeout_ms / 1000},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(settings.sqlite_busy_timeout_ms)}")
        # A WAL file that a checkpoint resets is cut back to this (followups.housekeeping).
        cur.execute(f"PRAGMA journal_size_limit={int(settings.sqlite_wal_max_mb) * 1024 * 1024}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:
        write = conn.get_execution_options().get(WRITE_OPTION, True)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


# A pooled connection used less than this long ago is taken as alive; an older one is
# pinged before use.
PING_AFTER_IDLE_S = 1.0


def _ping_when_idle(engine: Engine) -> None:
    """pool_pre_ping, but only for connections that sat idle: a connection that served a
    request a moment ago is alive, and pinging it cost every request a round trip. One that
    sat idle (a server restart, an idle timeout) is pinged, and replaced if dead, before a
    request sees it."""

    @event.listens_for(engine, "checkin")
    def _checkin(_dbapi_connection, record) -> None:
        record.info["followups_checkin"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_connection, record, _proxy) -> None:
        idle_since = record.info.get("followups_checkin")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_S:
            return  # new, or busy a moment ago
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            # The pool closes this connection and checks out a fresh one.
            raise DisconnectionError("idle connection failed its ping") from exc


def unavailable(exc: BaseException) -> bool:
    """Whether a failure means the database cannot serve right now, so that the edges answer
    503 with Retry-After (each in its own error map): down or frozen (a refused connection,
    connect_timeout, DeadlineExceeded), a statement or a lock wait past its timeout
    (QueryCanceled, LockNotAvailable: OperationalErrors), the pool exhausted (its timeout),
    SQLite's write lock held past its busy timeout."""
    if isinstance(exc, PoolTimeout):
        return True
    return isinstance(exc, DBAPIError) and (
        exc.connection_invalidated or isinstance(exc, OperationalError) or "locked" in str(exc.orig)
    )


class DeadlineExceeded(psycopg.OperationalError):
    """The database server did not answer within the deadline (db_deadline_s)."""


class _BoundedConnection(psycopg.Connection):
    """A psycopg connection whose every wait for the server's answer ends after
    `deadline_s`: against a frozen server (SIGSTOP, a hung host) the kernel still accepts
    what is sent and no server-side timeout fires, so only the client can end the wait. The
    connection is then in an unknown state: it is closed, and the pool discards it."""

    deadline_s: float | None = None

    def wait(self, gen, interval: float = 0.1, timeout: float | None = None):
        try:
            return super().wait(gen, interval, self.deadline_s if timeout is None else timeout)
        except psycopg.errors._WaitTimeout:
            self.pgconn.finish()  # not close(): the caller holds the connection's lock
            raise DeadlineExceeded(f"the database did not answer within {self.deadline_s:g} s") from None


def with_deadline(engine: Engine, settings: Settings) -> None:
    """The engine's connections wait for the server's answers at most settings.db_deadline_s
    (_BoundedConnection)."""

    @event.listens_for(engine, "do_connect")
    def _bounded(_dialect, _record, cargs, cparams):
        connection = _BoundedConnection.connect(*cargs, **cparams)
        connection.deadline_s = settings.db_deadline_s
        return connection


def set_up_sql(settings: Settings, *, bounded: bool) -> str:
    """What each new PostgreSQL connection runs first: instants in UTC, and for the serving
    processes (`bounded`) the statement and lock timeouts. SETs, not the `options` startup
    parameter, which poolers such as PgBouncer refuse; PgBouncer carries TimeZone over to
    each server connection it lends (not the timeouts: behind it the client's deadline is
    what holds)."""
    sql = "SET TIME ZONE 'UTC'"
    if bounded:
        sql += (
            f"; SET statement_timeout = {int(settings.db_statement_timeout_s * 1000)}"
            f"; SET lock_timeout = {int(settings.db_lock_timeout_s * 1000)}"
        )
    return sql


def make_engine(settings: Settings, url: str | None = None, *, bounded: bool = False) -> Engine:
    """The engine of settings.database_url, or of `url` (a replica) with the same settings.
    `bounded` (the serving processes): statement and lock timeouts set on each connection
    and a deadline on each wait for the server (Settings.db_deadline_s)."""
    if settings.is_sqlite and url is None:
        return _sqlite_engine(settings)
    connect_args: dict = {}
    if settings.db_pgbouncer:  # transaction pooling: no server-side prepared statements
        connect_args["prepare_threshold"] = None
    engine = create_engine(
        url or settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_s,
        # A server that is down answers fast on loopback; one that hangs must not hang us.
        connect_args={"connect_timeout": settings.db_connect_timeout_s, **connect_args},
    )
    _ping_when_idle(engine)
    # Instants then come back in UTC already: reading one converts nothing (_as_utc).
    on_connect = set_up_sql(settings, bounded=bounded)
    if bounded:
        with_deadline(engine, settings)

    @event.listens_for(engine, "connect")
    def _set_up(dbapi_connection, _record) -> None:
        dbapi_connection.execute(on_connect)  # one round trip (no parameters: simple query)
        dbapi_connection.commit()

    return engine


# Session.info key: the engine (a replica's) that this session's reads go to from now on.
READ_FROM = "followups_read_from"


class RoutingSession(Session):
    """A session whose statements go to the primary, except reads once `info[READ_FROM]` is set
    (see followups.replica); a flush always goes to the primary."""

    def get_bind(self, mapper=None, clause=None, **kw):
        replica = self.info.get(READ_FROM)
        if (replica is not None and not self._flushing and kw.get("bind") is None
                and not isinstance(clause, UpdateBase)):
            return replica
        return super().get_bind(mapper, clause=clause, **kw)


# session.info key: the transaction must roll back though no exception reached it.
ROLL_BACK = "followups.roll_back"


def roll_back(session: Session) -> None:
    """Make the session's `Database.transaction` roll back instead of committing (for an
    edge that turns a failure into an answer before the transaction ends)."""
    session.info[ROLL_BACK] = True


class Database:
    """One engine and its session factories: write (default) and read-only."""

    def __init__(self, settings: Settings, *, bounded: bool = False) -> None:
        """`bounded`: for the serving processes (make_engine)."""
        self.settings = settings
        self.engine = make_engine(settings, bounded=bounded)
        replica_url = settings.database_replica_url
        self.replica: Engine | None = make_engine(settings, replica_url, bounded=bounded) if replica_url else None
        self._write = sessionmaker(bind=self.engine, expire_on_commit=False, class_=RoutingSession)
        read = self.engine.execution_options(**{WRITE_OPTION: False})
        self._read = sessionmaker(bind=read, expire_on_commit=False, class_=RoutingSession)
        # Reads of one statement at a time on PostgreSQL: no transaction block (see
        # `transaction`). SQLite's BEGIN and COMMIT cost no round trip: a plain read there.
        # Behind PgBouncer's transaction pooling the block is what keeps the server
        # connection between the sign-in and the list query, which runs on the event loop
        # (api.deps): without it that query would wait there for a server connection, held
        # by requests that need the loop to finish (a deadlock seen under load).
        self._statements = self._read if settings.is_sqlite or settings.db_pgbouncer else sessionmaker(
            bind=read.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False,
            class_=RoutingSession,
        )

    @contextmanager
    def transaction(self, *, write: bool = True, statements: bool = False) -> Iterator[Session]:
        """One unit of work: commits on success, rolls back on any error, and when the
        caller answered a failure without raising (`roll_back`).

        `statements=True` (a read; `write` is not looked at), for a read that writes nothing
        and needs no snapshot across its statements: on PostgreSQL (not behind PgBouncer) each statement is its own
        transaction (autocommit), which under READ COMMITTED sees what a transaction block
        would (each statement takes a new snapshot there too), without the BEGIN and COMMIT
        round trips."""
        factory = self._statements if statements else self._write if write else self._read
        with factory() as session, session.begin() as tx:
            yield session
            if session.info.get(ROLL_BACK):
                tx.rollback()

    @contextmanager
    def write_unit(self) -> Iterator[Session]:
        """A write transaction as `transaction()`'s, begun and committed on a Core Connection,
        with a Session joined to it for the services: about 0.19 M instructions fewer than
        the Session's own transaction (bench/instructions.py), for the hottest write
        (api.deps.Unit). What the services added to the Session is flushed before the commit."""
        with self.engine.begin() as conn:
            session = RoutingSession(bind=conn, expire_on_commit=False)
            try:
                yield session
                session.flush()
            finally:
                session.close()  # joined: leaves the connection's transaction to the block

    def dispose(self) -> None:
        self.engine.dispose()
        if self.replica is not None:
            self.replica.dispose()
