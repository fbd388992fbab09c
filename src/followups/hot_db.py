"""The database on the event loop, for the hottest routes (followups.api.hot): psycopg's
AsyncConnectionPool, no thread, on PostgreSQL.

The same bounds as the threads' connections (followups.db): connect_timeout, the SETs of
`db.set_up_sql` (UTC, statement and lock timeouts), a deadline on every wait for the server
(a frozen server answers nothing and fires no timeout of its own: the connection is closed,
and the pool drops it), the pool's timeout, a ping before lending a connection that sat idle.
The statements are the Core statements of their one home (followups.chains.queries,
followups.users.tokens) compiled once for psycopg (`Compiled`): the same SQL text the
threads' engine sends, without SQLAlchemy's execution path around it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import Engine
from sqlalchemy.sql import ClauseElement

from followups.config import Settings
from followups.db import PING_AFTER_IDLE_S, DeadlineExceeded, set_up_sql


class Compiled:
    """A Core statement's SQL text for psycopg (`%(name)s` placeholders) and the values of
    its own bind parameters (a literal such as the 1 of `write_seq + 1`), compiled once with
    the dialect of the engine that sends it elsewhere; an INSERT for the columns `keys`, which
    must hold every column whose default SQLAlchemy would compute. The values are sent as
    psycopg adapts them, without SQLAlchemy's bind processing: give what the column stores
    (aware instants, UUIDs, strings, numbers), as the use cases' parameter builders do."""

    __slots__ = ("own", "sql")

    def __init__(self, statement: ClauseElement, engine: Engine, keys: tuple[str, ...] | None = None) -> None:
        if keys is not None:
            computed = [c.key for c in statement.table.columns if c.default is not None and c.key not in keys]
            if computed:
                raise TypeError(f"columns whose defaults SQLAlchemy computes are not given: {computed}")
        compiled = statement.compile(dialect=engine.dialect, column_keys=keys)
        self.sql = compiled.string
        self.own = {k: v for k, v in compiled.construct_params(_check=False).items() if v is not None}

    def params(self, given: dict) -> dict:
        return {**self.own, **given} if self.own else given


# Called with (connection, SQL, parameters) before each statement sent here: what SQLAlchemy's
# before_cursor_execute is to the threads' engines (the tests watch both).
observers: list[Callable[[AsyncConnection, str, dict], None]] = []


async def rows(conn: AsyncConnection, statement: Compiled, given: dict) -> list[tuple]:
    """The rows of one statement."""
    return await (await execute(conn, statement, given)).fetchall()


async def execute(conn: AsyncConnection, statement: Compiled, given: dict):
    """One statement; its cursor."""
    params = statement.params(given)
    for observe in observers:
        observe(conn, statement.sql, params)
    return await conn.execute(statement.sql, params)


class _BoundedConnection(AsyncConnection):
    """followups.db._BoundedConnection on the event loop: every wait for the server ends
    after `deadline_s`, the connection then closed (its state unknown). Not a cancellation:
    psycopg would then wait up to 10 s more for the server to confirm the cancel."""

    deadline_s: float | None = None
    returned_at: float = 0.0

    async def wait(self, gen, interval: float = 0.1, timeout: float | None = None):
        try:
            return await super().wait(gen, interval, self.deadline_s if timeout is None else timeout)
        except psycopg.errors._WaitTimeout:
            self.pgconn.finish()
            raise DeadlineExceeded(f"the database did not answer within {self.deadline_s:g} s") from None


class Pool:
    """psycopg's AsyncConnectionPool of the settings' database, closed until `open` (in the
    event loop that uses it): up to db_pool_size connections in autocommit (the list's
    statements are each their own transaction), made as `engine` makes its own (its URL's
    arguments), with the bounds of the module doc.

    The library's pool makes connections in the background and lets a request wait for one
    up to its timeout; the threads' engine connects in the request and a refused connection
    is a 503 at once. So while its last attempt to connect failed, the pool is not `serving`
    and the caller goes the threads' way, which answers 503 at once while the database
    refuses and serves again when it is back, until the pool has connected again by itself."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        _args, params = engine.dialect.create_connect_args(engine.url)
        params.pop("context", None)  # SQLAlchemy's adapters (its types adapt what psycopg would)
        kwargs: dict[str, Any] = {**params, "autocommit": True, "connect_timeout": settings.db_connect_timeout_s}
        if settings.db_pgbouncer:  # transaction pooling: no server-side prepared statements
            kwargs["prepare_threshold"] = None
        set_up = set_up_sql(settings, bounded=True)
        self.serving = True
        pool = self

        class Connection(_BoundedConnection):
            @classmethod
            async def connect(cls, conninfo: str = "", **kw):
                try:
                    conn = await super().connect(conninfo, **kw)
                except psycopg.OperationalError:
                    pool.serving = False
                    raise
                pool.serving = True
                return conn

        async def configure(conn: _BoundedConnection) -> None:
            conn.deadline_s = settings.db_deadline_s
            await conn.execute(set_up)

        async def returned(conn: _BoundedConnection) -> None:
            conn.returned_at = time.monotonic()

        async def check(conn: _BoundedConnection) -> None:
            # As the threads' pool (db._ping_when_idle): a connection busy a moment ago is alive.
            if time.monotonic() - conn.returned_at >= PING_AFTER_IDLE_S:
                await AsyncConnectionPool.check_connection(conn)

        self._pool = AsyncConnectionPool(
            "", connection_class=Connection, kwargs=kwargs, min_size=1, max_size=settings.db_pool_size,
            configure=configure, reset=returned, check=check, open=False, name="followups-hot",
        )
        # A request waits for a connection as long as for the pool's own (db_pool_timeout_s),
        # but no longer than a new connection could take after a dead one: a ping's deadline,
        # then a connect.
        self._wait_s = min(settings.db_pool_timeout_s, settings.db_deadline_s + settings.db_connect_timeout_s)

    def connection(self):
        """`async with pool.connection() as conn`: a connection, back to the pool after."""
        return self._pool.connection(timeout=self._wait_s)

    async def open(self) -> None:
        await self._pool.open(wait=False)

    async def close(self) -> None:
        await self._pool.close()
