"""The two hottest routes on the event loop: `GET /followups` and
`PATCH /followups/{id}/send` answered with async I/O, beside FastAPI and before it, on
PostgreSQL without replicas.

FastAPI's routing, dependency solving and validation, SQLAlchemy's execution path and the
hop to a worker thread cost these requests about half of their CPU (bench/RESULTS.md). This
ASGI middleware, innermost of the app's (request ids, the access log, metrics and the JSON
headers are around it, as around every route), answers them itself when the request is
plainly valid, with the same use case on psycopg's async pool (followups.hot_db):

- the list: a query of at most `due` (a bucket) and `limit` (1 to 500, digits), once each,
  and a bearer token: the same sign-in statement (users.tokens.sign_in_query), the same
  list statement and parameters (chains.service.due_rows_query); on SQLite the threads'
  own sign-in and list (tokens.sign_in_reader, service.list_due_rows) in this thread, as
  api.deps.Unit reads there (a read in WAL mode waits for no writer): FastAPI skipped;
- mark-sent: a bearer token and no body or a JSON body that `SendIn` takes, for a user whose
  plan reads nothing (chains.planner.Planner.reads: no adaptive delays, no minimum gap, no
  company spread): in one transaction the writer's sign-in, the send's gate and answer
  (queries.send_and_answer), the drop of its reminder, and what it makes next
  (chains.service.what_follows), as chains.service.mark_sent_answer runs them in a thread;

and the same answers (routes.followups.ANSWER, followups.api.wire) and errors
(api.errors.answer).

Anything else goes on to FastAPI unchanged (a transaction begun here rolled back) and is
answered there, errors included: a query or a body it would refuse, a missing or refused
token, a follow-up that is not open (its 404 or 409 explained there), a user with rules that
read, a send on SQLite (a write waits for its lock: in a thread, api.deps.Unit), a replica to
read from (followups.replica), an app on PostgreSQL served without its lifespan (no pool), a
pool that cannot connect (hot_db.Pool.serving). So this answers nothing that the general path would answer
otherwise (tests/test_hot_path.py; on PostgreSQL the API's tests run through it).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import parse_qsl

from fastapi import FastAPI
from fastapi.security.utils import get_authorization_scheme_param
from pydantic import ValidationError

from followups import hot_db, observability
from followups.api import errors, wire
from followups.api.routes.followups import ANSWER
from followups.api.routes.followups import router as followups_router
from followups.api.schemas import SendIn
from followups.chains import buckets, queries
from followups.chains import service as followups
from followups.chains.planner import Planner
from followups.errors import NotFound, Unauthorized
from followups.models import SignedIn
from followups.owned import parse_id
from followups.users import tokens

LIST_PATH = "/followups"
SEND_PATH = "/followups/{followup_id}/send"
_LIMIT = re.compile(r"[0-9]{1,3}")
_LIMITS = (1, 500)  # as routes.followups.list_due declares it
_DEFAULT_LIMIT = 200
_JSON = re.compile(r"application/json\s*(;.*)?", re.IGNORECASE)


class _GeneralPath(Exception):  # noqa: N818 - not an error: the request goes on to FastAPI
    """Raised inside a transaction to roll it back and let FastAPI answer."""


def _bucket_and_limit(query_string: bytes) -> tuple[str, int] | None:
    """(due, limit) of a query FastAPI would take as it is, else None."""
    due, limit = buckets.DEFAULT, _DEFAULT_LIMIT
    seen = set()
    for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if name in seen:
            return None
        seen.add(name)
        if name == "due" and value in buckets.OFFERED:
            due = value
        elif name == "limit" and _LIMIT.fullmatch(value) and _LIMITS[0] <= int(value) <= _LIMITS[1]:
            limit = int(value)
        else:
            return None
    return due, limit


def _header(headers, wanted: bytes) -> str | None:
    """The first header of that (lower-case) name, as Starlette's Headers.get reads it."""
    for name, value in headers:
        if name == wanted:
            return value.decode("latin-1")
    return None


def _bearer(headers) -> str | None:
    """The bearer token, as api.deps reads it."""
    scheme, credentials = get_authorization_scheme_param(_header(headers, b"authorization"))
    return credentials if scheme.lower() == "bearer" and credentials else None


def _note(headers, body: bytes) -> tuple[bool, str | None]:
    """(taken, note) of mark-sent's body: none, or JSON that SendIn takes."""
    if not body:
        return True, None
    if not _JSON.fullmatch(_header(headers, b"content-type") or ""):
        return False, None
    try:
        return True, SendIn.model_validate_json(body).note
    except ValidationError:
        return False, None


async def _body(receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client left: nothing to answer
            raise _GeneralPath
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def _again(body: bytes, receive):
    """`receive` for FastAPI after the body was read here: the same body once, then the rest."""
    given = False

    async def replay():
        nonlocal given
        if given:
            return await receive()
        given = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


class HotRoutes:
    """ASGI middleware: the list and mark-sent answered on the event loop when they can be
    (module doc)."""

    def __init__(self, app, api: FastAPI) -> None:
        self.app = app
        self.api = api
        self._compiled: dict[tuple, hot_db.Compiled] = {}  # by statement (each built once), keys
        self._routes: dict[str, object] = {}

    def _sql(self, statement, keys: tuple[str, ...] | None = None) -> hot_db.Compiled:
        compiled = self._compiled.get((statement, keys))
        if compiled is None:
            compiled = self._compiled[statement, keys] = hot_db.Compiled(statement, self.api.state.db.engine, keys)
        return compiled

    def _route(self, method: str, path: str):
        # What FastAPI would put in the scope: the metrics and the access log name it.
        route = self._routes.get(path)
        if route is None:
            route = self._routes[path] = next(
                r for r in followups_router.routes if r.path == path and method in r.methods)
        return route

    def _now(self) -> datetime:
        clock = getattr(self.api.state, "clock", None)
        return clock() if clock else datetime.now(UTC)

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            path, method = scope["path"], scope["method"]
            pool = self.api.state.hot_pool
            if method == "GET" and path == LIST_PATH and (pool is not None and pool.serving or self._sqlite()):
                if await self._list(pool, scope, receive, send):
                    return
            elif (method == "PATCH" and path.startswith("/followups/") and path.endswith("/send")
                  and pool is not None and pool.serving):
                receive = await self._send(pool, scope, receive, send)
                if receive is None:
                    return
        await self.app(scope, receive, send)

    def _sqlite(self) -> bool:
        db = self.api.state.db
        return db.settings.is_sqlite and db.replica is None

    async def _answer(self, answer, route: str, scope, receive, send) -> None:
        scope["route"] = self._route(scope["method"], route)
        await answer(scope, receive, send)

    async def _list(self, pool: hot_db.Pool | None, scope, receive, send) -> bool:
        asked = _bucket_and_limit(scope["query_string"])
        token = _bearer(scope["headers"])
        if asked is None or token is None:
            return False
        presented = tokens.Presented(token, self._now())
        try:
            if pool is None:
                rows = self._list_here(presented, *asked)
            else:
                rows = await self._list_on_pool(pool, presented, *asked)
            if rows is None:
                return False  # a refused token: FastAPI answers it
        except Exception as exc:  # noqa: BLE001 - each answered as the general path answers it
            answer = errors.answer(exc)
        else:
            answer = wire.response([ANSWER(row) for row in rows])
        await self._answer(answer, LIST_PATH, scope, receive, send)
        return True

    async def _list_on_pool(self, pool: hot_db.Pool, presented: tokens.Presented, due: str, limit: int):
        async with pool.connection() as conn:
            statement, params = tokens.sign_in_query(presented)
            signed = await hot_db.rows(conn, self._sql(statement), params)
            if not signed:
                return None
            user = SignedIn(*signed[0])
            observability.set_user(str(user.id))
            statement, params = followups.due_rows_query(user, due, now=presented.at, limit=limit)
            return await hot_db.rows(conn, self._sql(statement), params)

    def _list_here(self, presented: tokens.Presented, due: str, limit: int):
        # SQLite: in this thread, as api.deps.Unit reads it (WAL: a read waits for no writer).
        with self.api.state.db.transaction(statements=True) as session:
            try:
                user = tokens.sign_in_reader(session, presented)
            except Unauthorized:
                return None
            observability.set_user(str(user.id))
            return followups.list_due_rows(session, user, due, now=presented.at, limit=limit)

    async def _send(self, pool: hot_db.Pool, scope, receive, send):
        """None once answered here, else the `receive` for FastAPI."""
        followup_id = scope["path"][len("/followups/"):-len("/send")]
        token = _bearer(scope["headers"])
        if not followup_id or "/" in followup_id or token is None:
            return receive
        try:
            body = await _body(receive)
        except _GeneralPath:
            return receive
        taken, note = _note(scope["headers"], body)
        try:
            fid = parse_id(followup_id, "Follow-up")
        except NotFound:
            taken = False
        if not taken:
            return _again(body, receive)
        presented = tokens.Presented(token, self._now())
        now = presented.at
        try:
            async with pool.connection() as conn, conn.transaction():
                statement, params = tokens.sign_in_query(presented, bumps=True)
                signed = await hot_db.rows(conn, self._sql(statement), params)
                if not signed:
                    raise _GeneralPath  # refused: FastAPI answers it
                user = SignedIn(*signed[0])
                planner = Planner(None, user)
                if planner.reads:
                    raise _GeneralPath
                observability.set_user(str(user.id))
                gate = {"fid": fid, "uid": user.id, "now": now, "new_note": note}
                got = await hot_db.rows(conn, self._sql(queries.send_and_answer()), gate)
                if not got:
                    raise _GeneralPath  # not open: FastAPI says why (404 or 409)
                sent = queries.SentRow(*got[0])
                if sent.reminded_at is not None:  # its reminder, if still unseen, is obsolete
                    await hot_db.execute(conn, self._sql(queries.drop_reminder()), gate)
                follows = followups.what_follows(planner, sent, now)
                if follows is not None:
                    insert, values = follows
                    await hot_db.execute(conn, self._sql(insert, tuple(values)), values)
        except _GeneralPath:
            return _again(body, receive)
        except Exception as exc:  # noqa: BLE001 - each answered as the general path answers it
            answer = errors.answer(exc)
        else:
            answer = wire.response(ANSWER(sent))
        await self._answer(answer, SEND_PATH, scope, receive, send)
        return None
