"""Guards at the edge: the request body size, and failed-login rate limits."""

from __future__ import annotations

import hashlib
import json
import uuid
from contextlib import suppress
from datetime import datetime, timedelta

from fastapi import Request
from limits import RateLimitItem, parse
from sqlalchemy import ColumnElement, and_, delete, func, insert, or_, select
from sqlalchemy.orm import Session

from followups.config import Settings
from followups.db import Database
from followups.errors import TooManyRequests, Unauthorized
from followups.models import LoginFailure, new_id
from followups.users import service as users


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
    """Failed sign-ins, in a moving window: per account and client address (so that failures
    from elsewhere never lock the owner out), and per client address alone.

    The failures are rows of `login_failure` (hashed keys: what someone typed as an email is
    not kept), on PostgreSQL and SQLite alike, so every server process (and machine) counts
    the same failures: `serve --workers N` does not multiply the limits. A try is counted
    before the password is checked, in one write transaction with the check (serialised
    across processes by SQLite's BEGIN IMMEDIATE, or PostgreSQL advisory locks on the keys),
    so concurrent tries let at most the limit through; a success takes its own count back
    and clears the account's failures from its address. The sign-in's transactions run one
    after the other, never nested: on SQLite none waits for the write lock another holds,
    and on PostgreSQL none holds a pooled connection while it waits for a second.
    """

    def __init__(self, per_account: str, per_address: str) -> None:
        self._items = {ACCOUNT: parse(per_account), ADDRESS: parse(per_address)}

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginLimiter:
        return cls(settings.login_limit_account, settings.login_limit_address)

    def prune(self, session: Session, *, now: datetime, batch: int) -> int:
        """Deletes up to `batch` failures that no limit counts any more: older than the longest
        window (a key that never tries again is otherwise kept for ever), and those of a scope
        no longer in use (as "account", before the account was counted per address). The
        number deleted. Each is an index range read: a look-up when there is nothing to do."""
        gone = now - max(_window(item) for item in self._items.values())
        deleted = 0
        for stale in (LoginFailure.at <= gone, _scope_not_in_use(session)):
            if stale is None or deleted >= batch:
                continue
            # SKIP LOCKED: a row another worker is deleting is its own; none waits on another.
            ids = select(LoginFailure.id).where(stale).limit(batch - deleted).with_for_update(skip_locked=True)
            deleted += session.execute(delete(LoginFailure).where(LoginFailure.id.in_(ids))).rowcount
        return deleted

    def sign_in(self, db: Database, *, email: str, password: str, address: str, now: datetime,
                ttl_days: int) -> str:
        """A new bearer token; Unauthorized for a wrong pair, TooManyRequests past a limit."""
        keys = {ACCOUNT: _hashed(f"{users.email_key(email)}\n{address}"), ADDRESS: _hashed(address)}
        with db.transaction() as session:
            counted = self._count(session, keys, now)
        try:
            with db.transaction() as session:
                token = users.login(session, email=email, password=password, now=now, ttl_days=ttl_days)
                session.execute(delete(LoginFailure).where(or_(
                    and_(LoginFailure.scope == ACCOUNT, LoginFailure.key == keys[ACCOUNT]),
                    LoginFailure.id.in_(counted),
                )))
        except Unauthorized:
            raise  # the try stays counted
        except BaseException:
            # Not a wrong password (the database failed, the request was cut short): the try
            # does not count. Best effort: the error that got here is the answer.
            with suppress(Exception), db.transaction() as session:
                session.execute(delete(LoginFailure).where(LoginFailure.id.in_(counted)))
            raise
        return token

    def _count(self, session: Session, keys: dict[str, str], now: datetime) -> list[uuid.UUID]:
        """Refuse past either limit (nothing written), else count this try under both keys."""
        if session.get_bind().dialect.name == "postgresql":
            for key in sorted(keys.values()):  # one order everywhere: no deadlock
                session.execute(select(func.pg_advisory_xact_lock(int(key[:15], 16))))
        for scope, key in keys.items():
            reset = self._reset(session, self._items[scope], scope, key, now)
            if reset is not None:
                retry = max(int((reset - now).total_seconds()) + 1, 1)
                raise TooManyRequests(f"Too many failed sign-ins; try again in {retry} seconds.", retry_after_s=retry)
        counted = []
        for scope, key in keys.items():
            # Housekeeping on the way: this key's failures that left the window.
            gone = now - _window(self._items[scope])
            session.execute(delete(LoginFailure).where(
                LoginFailure.scope == scope, LoginFailure.key == key, LoginFailure.at <= gone))
            counted.append(new_id())
            session.execute(insert(LoginFailure).values(id=counted[-1], scope=scope, key=key, at=now))
        return counted

    @staticmethod
    def _reset(session: Session, item: RateLimitItem, scope: str, key: str, now: datetime) -> datetime | None:
        """When the key may try again, or None if it may now. As the `limits` moving window:
        refused once `amount` failures lie in the window, until the amount-th newest of them
        leaves it."""
        ats = session.scalars(
            select(LoginFailure.at)
            .where(LoginFailure.scope == scope, LoginFailure.key == key, LoginFailure.at > now - _window(item))
            .order_by(LoginFailure.at.desc())
            .limit(item.amount)
        ).all()
        if len(ats) < item.amount:
            return None
        return ats[-1] + _window(item)


def client_address(request: Request) -> str:
    """The client's address: the socket's peer, or what a trusted proxy forwarded for it
    (FOLLOWUPS_TRUSTED_PROXIES, applied by the app's proxy-headers middleware)."""
    return request.client.host if request.client else "unknown"


# The scopes of login_failure: an account from one address, and an address.
ACCOUNT = "account_address"
ADDRESS = "address"
SCOPES = (ACCOUNT, ADDRESS)


def _scope_not_in_use(session: Session) -> ColumnElement[bool] | None:
    """`scope` is one no longer in use, or None when every row's is. The scopes present are
    read one by one through the index that leads with `scope` (a handful of index probes
    where `NOT IN` would read the whole table), in the database's own order."""
    unused: list[str] = []
    last = None
    while True:
        query = select(LoginFailure.scope).order_by(LoginFailure.scope).limit(1)
        last = session.scalar(query if last is None else query.where(LoginFailure.scope > last))
        if last is None:
            return LoginFailure.scope.in_(unused) if unused else None
        if last not in SCOPES:
            unused.append(last)


def _window(item: RateLimitItem) -> timedelta:
    return timedelta(seconds=item.get_expiry())


def _hashed(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()
