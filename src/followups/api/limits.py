"""Guards at the edge: the request body size, and failed-login rate limits."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import Connection, Engine, create_engine, delete, insert, select
from sqlalchemy.pool import NullPool

from followups.db import Database
from followups.errors import TooManyRequests
from followups.models import LoginFailure, new_id


class BodySizeLimit:
    """ASGI middleware: a body over `max_bytes` answers 413 at once, from its
    Content-Length or, for a chunked body, as soon as the count passes the limit;
    nothing past the limit is buffered."""

    def __init__(self, app, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        chunked = False
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    too_big = int(value) > self.max_bytes
                except ValueError:
                    too_big = False
                if too_big:
                    return await self._refuse(send)
            elif name == b"transfer-encoding":
                chunked = True
        if not chunked:
            # No body, or one of a Content-Length within the limit, which the server reads
            # to that length and no further: nothing to count (most requests, no wrapper).
            return await self.app(scope, receive, send)
        seen = 0
        too_big = False
        refused = False

        async def counting_receive():
            # Past the limit the body is cut short (nothing more is buffered) and the
            # app's answer to the truncated body is replaced by the 413.
            nonlocal seen, too_big
            if too_big:
                return {"type": "http.request", "body": b"", "more_body": False}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    too_big = True
                    return {"type": "http.request", "body": b"", "more_body": False}
            return message

        async def guarded_send(message):
            nonlocal refused
            if not too_big:
                await send(message)
            elif not refused:
                refused = True
                await self._refuse(send)

        await self.app(scope, counting_receive, guarded_send)

    async def _refuse(self, send) -> None:
        body = json.dumps(
            {"error": "PayloadTooLarge", "detail": f"The request body is larger than {self.max_bytes} bytes."}
        ).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


class LoginLimiter:
    """Failed sign-ins per account and per client address, in a moving window.

    On PostgreSQL the failures are rows of `login_failure`, so every server process (and
    every machine) counts the same failures: `serve --workers N` does not multiply the
    limits. Each check or record is one short statement in a transaction of its own (the
    request's rolls back on the failure it records), on connections of its own: a burst
    of sign-ins each holding a pooled connection and waiting for a second one for the
    limiter cannot exhaust the request pool.

    On SQLite the sign-in request holds the database's one write lock while it records the
    failure, so a second transaction could not; there the counts stay in process memory
    (the embedded single-file set-up, where one process is the rule).
    """

    def __init__(self, per_account: str, per_address: str, db: Database | None = None) -> None:
        self._items = {ACCOUNT: parse(per_account), ADDRESS: parse(per_address)}
        self._engine: Engine | None = None
        if db is not None and not db.settings.is_sqlite:
            self._engine = create_engine(db.engine.url, poolclass=NullPool,
                                         connect_args=_connect_args(db.settings))
            self._slots = threading.BoundedSemaphore(LIMITER_CONNECTIONS)
        else:
            self._memory = MovingWindowRateLimiter(MemoryStorage())

    def check(self, account: str, address: str) -> None:
        keys = ((ACCOUNT, account), (ADDRESS, address))
        if self._engine is None:
            resets = [self._memory_reset(self._items[scope], key) for scope, key in keys]
        else:
            with self._connection() as conn:
                resets = [self._reset(conn, self._items[scope], scope, key) for scope, key in keys]
        for reset in resets:
            if reset is not None:
                retry = max(int(reset - time.time()) + 1, 1)
                raise TooManyRequests(
                    f"Too many failed sign-ins; try again in {retry} seconds.", retry_after_s=retry
                )

    def failed(self, account: str, address: str) -> None:
        if self._engine is None:
            self._memory.hit(self._items[ACCOUNT], "login", account)
            self._memory.hit(self._items[ADDRESS], "login", address)
            return
        now = datetime.now(UTC)
        with self._connection() as conn:
            for scope, key in ((ACCOUNT, account), (ADDRESS, address)):
                hashed = _hashed(key)
                # Housekeeping on the way: this key's failures that left the window.
                conn.execute(delete(LoginFailure).where(
                    LoginFailure.scope == scope, LoginFailure.key == hashed,
                    LoginFailure.at <= now - timedelta(seconds=self._items[scope].get_expiry()),
                ))
                conn.execute(insert(LoginFailure).values(id=new_id(), scope=scope, key=hashed, at=now))

    def succeeded(self, account: str) -> None:
        if self._engine is None:
            self._memory.clear(self._items[ACCOUNT], "login", account)
            return
        with self._connection() as conn:
            conn.execute(delete(LoginFailure).where(
                LoginFailure.scope == ACCOUNT, LoginFailure.key == _hashed(account)))

    def _memory_reset(self, item: RateLimitItem, key: str) -> float | None:
        if self._memory.test(item, "login", key):
            return None
        return self._memory.get_window_stats(item, "login", key).reset_time

    @staticmethod
    def _reset(conn: Connection, item: RateLimitItem, scope: str, key: str) -> float | None:
        """When the key may try again (a Unix time), or None if it may now. As the `limits`
        moving window: refused once `amount` failures lie in the window, until the
        amount-th newest of them leaves it."""
        expiry = timedelta(seconds=item.get_expiry())
        ats = conn.scalars(
            select(LoginFailure.at)
            .where(LoginFailure.scope == scope, LoginFailure.key == _hashed(key),
                   LoginFailure.at > datetime.now(UTC) - expiry)
            .order_by(LoginFailure.at.desc())
            .limit(item.amount)
        ).all()
        if len(ats) < item.amount:
            return None
        return (ats[-1] + expiry).timestamp()

    @contextmanager
    def _connection(self) -> Iterator[Connection]:
        assert self._engine is not None
        with self._slots, self._engine.begin() as conn:
            yield conn


ACCOUNT = "account"
ADDRESS = "address"
# Connections one process opens at most at once for the limiter (each for one statement).
LIMITER_CONNECTIONS = 4


def _hashed(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _connect_args(settings) -> dict:
    args: dict = {"connect_timeout": max(int(settings.db_pool_timeout_s), 1)}
    if settings.db_pgbouncer:  # transaction pooling: no server-side prepared statements
        args["prepare_threshold"] = None
    return args
