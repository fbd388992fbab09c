"""Request-scoped dependencies: every route gets the same three things, its transaction
(a Session, committed before the answer is sent), its signed-in user and its clock (`now`).

One style, two sizes of the same parts:

- a route declares them as three dependencies: `SessionDep`, `CurrentUser`, `Now`;
- the two hottest routes get the same three at once, as a `Signed` (session, user, now),
  from one dependency, because each dependency FastAPI solves costs such a request about
  5 % of its instructions (bench/RESULTS.md): `SignedRead` for the follow-up list (its
  user a plain SignedIn: tokens.sign_in_reader), `SignedWrite` for mark-sent (a WriteUnit:
  `await unit.run(work)` calls `work(signed)` whole in one worker thread, from the
  transaction's start to its commit, the user signed in by tokens.sign_in_writer).

The sign-in is always done here, at the edge: the services receive a signed-in user
(a User, or a SignedIn for the hot routes) and never see a token.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from fastapi.concurrency import contextmanager_in_threadpool, run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from sqlalchemy.orm import Session

from followups import observability, replica
from followups.errors import Unauthorized
from followups.models import SignedIn, User
from followups.users import service as users
from followups.users import tokens
from followups.users.tokens import Presented

T = TypeVar("T")
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# The list reads a streaming replica may serve, once it has the user's last write.
REPLICA_ROUTES = frozenset({"/followups", "/jobs", "/contacts", "/outreach", "/notifications"})


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One transaction per request, committed before the response is sent (scope="function"),
    so a failed commit is an error answer and never hides behind a 2xx.

    A read's session is opened and committed on the event loop: opening does no I/O (the
    connection is taken by the first statement, at sign-in) and a read's commit is one
    short round trip, cheaper than the two thread hops a sync dependency costs. A write's
    commit flushes to disk (or waits on SQLite's lock): it stays in a worker thread."""
    db = request.app.state.db
    if request.method in READ_METHODS:
        with _read_transaction(request) as session:
            yield session
        return
    async with contextmanager_in_threadpool(_write_transaction(db)) as session:
        yield session


def _read_transaction(request: Request):
    # The list reads (REPLICA_ROUTES) write nothing and need no snapshot across their
    # statements: on PostgreSQL, no BEGIN and COMMIT round trips (Database.transaction).
    return request.app.state.db.transaction(write=False, statements=_lists(request))


@contextmanager
def _write_transaction(db) -> Iterator[Session]:
    # The user's write_seq is bumped by the transaction's first write (followups.replica).
    with db.transaction(write=True) as session:
        yield session


def _now(request: Request) -> datetime:
    clock = getattr(request.app.state, "clock", None)
    return clock() if clock else datetime.now(UTC)


# Dependencies that do no I/O are async: FastAPI runs a sync one in a worker thread.
async def get_now(request: Request) -> datetime:
    return _now(request)


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
Now = Annotated[datetime, Depends(get_now)]
_bearer = HTTPBearer(auto_error=False)
NO_TOKEN = "A bearer token is required (Authorization: Bearer <accessToken>)."
# What the routes that read the token themselves (`_token`) declare in the published schema:
# what HTTPBearer, as a dependency, adds to the others.
BEARER = {"security": [{"HTTPBearer": []}]}


async def bearer_token(creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> str:
    if creds is None or not creds.credentials:
        raise Unauthorized(NO_TOKEN)
    return creds.credentials


def _token(request: Request) -> str:
    """The bearer token, read as HTTPBearer reads it, for the two hottest routes: their one
    dependency reads it itself (each dependency FastAPI solves costs a request about 5 % of
    mark-sent's instructions, bench/RESULTS.md)."""
    authorization = request.headers.get("Authorization")
    scheme, credentials = get_authorization_scheme_param(authorization)
    if not (authorization and scheme and credentials) or scheme.lower() != "bearer":
        raise Unauthorized(NO_TOKEN)
    return credentials


def _lists(request: Request) -> bool:
    return request.method == "GET" and getattr(request.scope.get("route"), "path", None) in REPLICA_ROUTES


SignIn = Callable[[Session, Presented], User | SignedIn]


def _sign_in(request: Request, session: Session, presented: Presented, sign: SignIn) -> User | SignedIn:
    user = sign(session, presented)  # always on the primary
    observability.set_user(str(user.id))  # for the log lines of this request
    if _lists(request):
        replica.reads_from_replica(session, request.app.state.db.replica, user)
    return user


def _sign_in_here(request: Request) -> bool:
    """Sign in on the event loop? Only when nothing can wait: an idle pooled connection is at
    hand (no replica is configured, whose check may connect), and the transaction's first
    statement takes no lock (a read, or PostgreSQL; SQLite's BEGIN IMMEDIATE may wait).
    Behind PgBouncer an idle pooled connection is no promise: in transaction pooling its
    first statement waits for a free server connection, which requests needing the loop hold."""
    db = request.app.state.db
    return (
        (request.method in READ_METHODS or not db.settings.is_sqlite)
        and db.replica is None
        and not db.settings.db_pgbouncer
        and getattr(db.engine.pool, "checkedin", lambda: 0)() > 0
    )


async def current_user(
    request: Request, session: SessionDep, token: Annotated[str, Depends(bearer_token)], now: Now
) -> User:
    """The bearer token's user: one indexed lookup, on the event loop when it cannot wait
    (`_sign_in_here`), which is cheaper than a hop to a worker thread (bench/RESULTS.md).
    The loop must never wait for a pooled connection (the requests holding them may need
    the loop to give them back) nor for a lock; otherwise a worker thread, as before."""
    return await _sign_in_cheaply(request, session, Presented(token, now), users.authenticate)


async def _sign_in_cheaply(request: Request, session: Session, presented: Presented, sign: SignIn):
    """`_sign_in` on the event loop where it cannot wait (`_sign_in_here`), else in a thread."""
    if _sign_in_here(request):
        return _sign_in(request, session, presented, sign)
    return await run_in_threadpool(_sign_in, request, session, presented, sign)


CurrentUser = Annotated[User, Depends(current_user)]


@dataclass(slots=True)
class Signed:
    """A request's transaction, its signed-in user and its clock, in one dependency."""

    session: Session
    user: SignedIn
    now: datetime


async def signed_read(request: Request) -> AsyncIterator[Signed]:
    """The follow-up list's one dependency (the hottest read): the token, the clock, the
    session (as `get_session`'s for a read) and the sign-in (as `current_user`'s, but a plain
    SignedIn instead of a mapped User: tokens.sign_in_reader). A missing token is a 401 before
    any query parameter is looked at, as with the dependencies it stands for."""
    presented = Presented(_token(request), _now(request))
    with _read_transaction(request) as session:
        user = await _sign_in_cheaply(request, session, presented, tokens.sign_in_reader)
        yield Signed(session, user, presented.at)


SignedRead = Annotated[Signed, Depends(signed_read, scope="function")]


class WriteUnit:
    """A write done whole in one worker thread: the transaction, the sign-in, the service
    call and the commit (`await unit.run(work)`, `work(signed)` in an async endpoint). One
    thread hop instead of the three of `SessionDep` + `CurrentUser` + a service call in a
    thread (session, call, commit), and the loop never waits on the database: for the
    hottest write, mark-sent (bench/RESULTS.md). The user is a SignedIn (its settings, no
    mapped User, tokens.sign_in_writer: on PostgreSQL its sign-in bumps the user's row for
    the replicas, followups.replica): `work` reads the user and never changes it. Errors are
    those of the dependencies: the transaction rolls back, a bad token is a 401 (before
    anything `work` would answer)."""

    def __init__(self, request: Request, presented: Presented) -> None:
        self.request = request
        self.presented = presented

    def _whole(self, work: Callable[[Signed], T]) -> T:
        with self.request.app.state.db.transaction(write=True) as session:
            user = tokens.sign_in_writer(session, self.presented)
            observability.set_user(str(user.id))  # for the log lines of this request
            return work(Signed(session, user, self.presented.at))

    async def run(self, work: Callable[[Signed], T]) -> T:
        """`work(signed)` in a thread of the app's writer pool, in a copy of this request's
        context (its log fields): a plain executor's hop costs about half of anyio's, which a
        sync endpoint takes (bench/RESULTS.md). Once started, it runs to its commit or
        rollback even if the request is cancelled meanwhile."""
        ctx = contextvars.copy_context()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.request.app.state.writers, ctx.run, self._whole, work)


async def signed_write(request: Request) -> WriteUnit:
    """Mark-sent's one dependency: the token and the clock read here (`_token`)."""
    return WriteUnit(request, Presented(_token(request), _now(request)))


SignedWrite = Annotated[WriteUnit, Depends(signed_write)]
