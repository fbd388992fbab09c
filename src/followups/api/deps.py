"""Request-scoped dependencies: every route gets the same three things, its transaction
(a Session, committed before the answer is sent), its signed-in user and its clock (`now`).

No database call runs on the event loop: a statement that waits (a table locked by a
migration, a frozen server) would stall every request, `/health` included. Each runs in a
worker thread, bounded (db.make_engine: statement and lock timeouts, a deadline on each
wait), and a stuck database is a 503 with Retry-After (api.errors).

One style, two sizes of the same parts:

- a route declares them as three dependencies: `SessionDep`, `CurrentUser`, `Now`;
- the two hottest routes get the same three at once, as a `Signed` (session, user, now),
  from one `Unit`: `await unit.run(work)` calls `work(signed)` whole in one worker thread,
  from the transaction's start to its commit, the sign-in included: `SignedRead` for the
  follow-up list (its user a plain SignedIn: tokens.sign_in_reader), `SignedWrite` for
  mark-sent (tokens.sign_in_writer). One thread hop instead of one per dependency, and each
  dependency FastAPI solves costs such a request about 5 % of its instructions
  (bench/RESULTS.md).

On PostgreSQL (and for the list on SQLite) those two are answered before FastAPI when the
request is plainly valid, on the event loop (followups.api.hot: async psycopg, the same
statements); the Unit serves the rest of them: what api.hot leaves to FastAPI.

The sign-in is always done here, at the edge: the services receive a signed-in user
(a User, or a SignedIn for the hot routes) and never see a token.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterator, Callable
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
    so a failed commit is an error answer and never hides behind a 2xx. Begun and ended in a
    worker thread: a commit is a round trip (or a wait on SQLite's lock)."""
    async with contextmanager_in_threadpool(_transaction(request)) as session:
        yield session


def _transaction(request: Request):
    # The list reads (REPLICA_ROUTES) write nothing and need no snapshot across their
    # statements: on PostgreSQL, no BEGIN and COMMIT round trips (Database.transaction).
    # A write's: the user's write_seq is bumped by its first write (followups.replica).
    write = request.method not in READ_METHODS
    return request.app.state.db.transaction(write=write, statements=not write and _lists(request))


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


async def current_user(
    request: Request, session: SessionDep, token: Annotated[str, Depends(bearer_token)], now: Now
) -> User:
    """The bearer token's user: one indexed lookup, in a worker thread."""
    return await run_in_threadpool(_sign_in, request, session, Presented(token, now), users.authenticate)


CurrentUser = Annotated[User, Depends(current_user)]


def signed_in_first(request: Request, token: Annotated[str, Depends(bearer_token)], now: Now) -> User:
    """The bearer token's user, from a read transaction closed at once, for a route that
    waits on the network (a DNS answer, a mail server) before it opens its write
    transaction: no stranger makes the server do so. A sync dependency: FastAPI runs it in
    a thread, before the body is looked at, so a bad token is a 401 as with CurrentUser."""
    with request.app.state.db.transaction(write=False) as session:
        return _sign_in(request, session, Presented(token, now), users.authenticate)


SignedInFirst = Annotated[User, Depends(signed_in_first)]


@dataclass(slots=True)
class Signed:
    """A request's transaction, its signed-in user and its clock, in one dependency."""

    session: Session
    user: SignedIn
    now: datetime


class Unit:
    """A request's database work done whole in one worker thread: the transaction, the
    sign-in, the service call and the commit (`await unit.run(work)`, `work(signed)` in an
    async endpoint). One thread hop instead of the three of `SessionDep` + `CurrentUser` +
    a service call in a thread (session, call, commit): for the hottest read, the follow-up
    list, and the hottest write, mark-sent (bench/RESULTS.md). The user is a SignedIn (its
    settings, no mapped User; a writer's sign-in bumps the user's row on PostgreSQL for the
    replicas, followups.replica): `work` reads the user and never changes it. Errors are
    those of the dependencies: the transaction rolls back, a bad token is a 401 (before
    anything `work` would answer)."""

    __slots__ = ("presented", "request", "write")

    def __init__(self, request: Request, presented: Presented, *, write: bool) -> None:
        self.request = request
        self.presented = presented
        self.write = write

    def _whole(self, work: Callable[[Signed], T]) -> T:
        # A read is the list: statements (no transaction block on PostgreSQL), maybe on a replica.
        db = self.request.app.state.db
        with db.write_unit() if self.write else db.transaction(statements=True) as session:
            sign = tokens.sign_in_writer if self.write else tokens.sign_in_reader
            user = _sign_in(self.request, session, self.presented, sign)
            return work(Signed(session, user, self.presented.at))

    async def run(self, work: Callable[[Signed], T]) -> T:
        """`work(signed)` in a thread of the app's database pool, in a copy of this request's
        context (its log fields): a plain executor's hop costs about half of anyio's, which a
        sync endpoint takes (bench/RESULTS.md). Once started, it runs to its commit or
        rollback even if the request is cancelled meanwhile; its waits on the database are
        bounded (db.make_engine)."""
        db = self.request.app.state.db
        if not self.write and db.settings.is_sqlite and db.replica is None:
            # An SQLite read in WAL mode waits for no writer and makes no network round trip:
            # a thread hop would cost it more than the read (bench/RESULTS.md: the list's
            # req/s halved).
            return self._whole(work)
        ctx = contextvars.copy_context()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.request.app.state.db_threads, ctx.run, self._whole, work)


async def signed_read(request: Request) -> Unit:
    """The follow-up list's one dependency: the token and the clock read here (`_token`); a
    missing token is a 401 before any query parameter is looked at."""
    return Unit(request, Presented(_token(request), _now(request)), write=False)


async def signed_write(request: Request) -> Unit:
    """Mark-sent's one dependency: the token and the clock read here (`_token`)."""
    return Unit(request, Presented(_token(request), _now(request)), write=True)


def signs_in_late(request: Request) -> bool:
    """Whether the request's route signs in inside its Unit (SignedRead, SignedWrite), that is
    after FastAPI has validated its parameters and body."""
    dependant = getattr(request.scope.get("route"), "dependant", None)
    return dependant is not None and any(d.call in (signed_read, signed_write) for d in dependant.dependencies)


async def token_refused(request: Request) -> bool:
    """Whether the request's bearer token signs no one in (checked in a thread; only on an
    error path: an invalid request to a `signs_in_late` route answers 401 before 422, as
    the routes that sign in in a dependency do). A database that cannot answer: not refused."""
    try:
        presented = Presented(_token(request), _now(request))
    except Unauthorized:
        return True

    def check() -> None:
        with request.app.state.db.transaction(statements=True) as session:
            tokens.sign_in_reader(session, presented)

    try:
        await run_in_threadpool(check)
    except Unauthorized:
        return True
    except Exception:  # the request's own answer (422) stands
        return False
    return False


SignedRead = Annotated[Unit, Depends(signed_read)]
SignedWrite = Annotated[Unit, Depends(signed_write)]
