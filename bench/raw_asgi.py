"""The limit: `GET /followups?due=`, `PATCH /followups/{id}/send` and `/health` as a bare
ASGI app on psycopg 3's `AsyncConnectionPool`: what a Python server can do with the API's
work and nothing else.

    FOLLOWUPS_DATABASE_URL=postgresql+psycopg://... .venv/bin/python -m followups.serving \
        raw_asgi:app --app-dir bench --workers 2 --loop uvloop --http httptools

Served as the API is (bench/perf.py: the same launcher, uvicorn with uvloop and httptools, no
access log, the same number of processes). No framework, no ORM, no validation models, no
thread: each request takes an autocommit connection from the process's async pool (opened at
start-up, as many connections as the API's pool: `FOLLOWUPS_DB_POOL_SIZE`, default 10, each in UTC) and
sends the API's statements, with the API's parameters, over psycopg's async protocol:

- the list: the bearer token's user (the API's sign-in, the same columns), then the bucket
  with the same joins, filters, order and limit; the answer written by orjson from the rows,
  as the API's `followups.api.wire` writes it (the same bytes, checked by bench/perf.py);
- mark-sent: one transaction (BEGIN; the sign-in that bumps the user's write_seq; the send
  and the read of its answer in one statement; the drop of its reminder when it had one; the
  next attempt or the dormant check; COMMIT), the next step from the user's fixed cadence
  (followups.cadence, pure code; no rules: the bench's senders have none).

It answers only what the benchmark sends; anything else is a bare 404, 401 or 409.
PostgreSQL only.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

import orjson
from psycopg_pool import AsyncConnectionPool

from followups import cadence as cad
from followups import clock

# The API's statements (followups.users.tokens, followups.chains.queries), in its column order.
USER_COLUMNS = """app_user.id, app_user.timezone, app_user.followup_delays_days,
  app_user.dormant_after_days, app_user.skip_weekends, app_user.cadence_adaptive, app_user.rules,
  app_user.write_seq"""
TOKEN_OF = """api_token.user_id = app_user.id AND api_token.token_hash = %(hash)s
  AND api_token.revoked_at IS NULL AND api_token.expires_at > %(now)s"""
AUTH_SQL = f"SELECT {USER_COLUMNS} FROM app_user, api_token WHERE {TOKEN_OF}"
SIGN_IN_WRITER_SQL = f"""UPDATE app_user SET write_seq = app_user.write_seq + 1 FROM api_token
WHERE {TOKEN_OF} RETURNING {USER_COLUMNS}"""

ANSWER_COLUMNS = """job.id, job.company, job.role, job.url, job.stage, job.archived_at,
       job.created_at, contact.id, contact.name, contact.email, contact.company,
       contact.linkedin_url, contact.archived_at, contact.created_at"""
BUCKET_SQL = f"""
SELECT follow_up.id, follow_up.job_id, follow_up.contact_id, follow_up.outreach_id,
       follow_up.attempt_no, follow_up.type, follow_up.due_at, follow_up.sent_at,
       follow_up.cancelled_at, follow_up.cancel_reason, follow_up.note, follow_up.why,
       {ANSWER_COLUMNS}
FROM follow_up LEFT OUTER JOIN job ON job.id = follow_up.job_id AND job.user_id = follow_up.user_id
LEFT OUTER JOIN contact ON contact.id = follow_up.contact_id AND contact.user_id = follow_up.user_id
WHERE follow_up.user_id = %(uid)s AND follow_up.sent_at IS NULL AND follow_up.cancelled_at IS NULL
  AND job.archived_at IS NULL AND contact.archived_at IS NULL AND {{bucket}}
ORDER BY follow_up.due_at, follow_up.id
LIMIT %(limit)s
"""
BUCKETS = {
    "today": BUCKET_SQL.format(bucket="follow_up.due_at >= %(lower)s AND follow_up.due_at < %(upper)s"),
    "overdue": BUCKET_SQL.format(bucket="follow_up.due_at < %(upper)s"),
    "upcoming": BUCKET_SQL.format(bucket="follow_up.due_at >= %(lower)s"),
}

# Mark-sent (followups.chains.service.mark_sent_answer, queries.send_and_answer).
SEND_SQL = f"""
WITH sent AS (
  UPDATE follow_up SET sent_at = %(now)s, note = coalesce(%(note)s, follow_up.note), updated_at = %(now)s
  WHERE follow_up.id = %(fid)s AND follow_up.user_id = %(uid)s AND follow_up.sent_at IS NULL
    AND follow_up.cancelled_at IS NULL
  RETURNING follow_up.id, follow_up.job_id, follow_up.contact_id, follow_up.outreach_id,
            follow_up.attempt_no, follow_up.type, follow_up.due_at, follow_up.sent_at,
            follow_up.cancelled_at, follow_up.cancel_reason, follow_up.note, follow_up.why,
            follow_up.chain_id, follow_up.reminded_at, follow_up.user_id)
SELECT sent.id, sent.job_id, sent.contact_id, sent.outreach_id, sent.attempt_no, sent.type,
       sent.due_at, sent.sent_at, sent.cancelled_at, sent.cancel_reason, sent.note, sent.why,
       {ANSWER_COLUMNS}, sent.chain_id, sent.reminded_at
FROM sent LEFT OUTER JOIN job ON job.id = sent.job_id AND job.user_id = sent.user_id
LEFT OUTER JOIN contact ON contact.id = sent.contact_id AND contact.user_id = sent.user_id
"""
DROP_REMINDER_SQL = """
UPDATE notification SET cancelled_at = %(now)s
WHERE notification.user_id = %(uid)s AND notification.followup_id = %(fid)s
  AND notification.kind = 'followup_due' AND notification.sent_at IS NULL
  AND notification.cancelled_at IS NULL
"""
INSERT_FOLLOWUP_SQL = """
INSERT INTO follow_up (id, user_id, chain_id, attempt_no, type, job_id, contact_id, outreach_id,
  due_at, why, due_set_by_user, revision, remind_at, created_at, updated_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, false, 0, %s, %s, %s)
"""
INSERT_DORMANT_SQL = """
INSERT INTO notification (id, user_id, kind, dedupe_key, message, due_at, job_id, contact_id,
  followup_id, chain_id, created_at)
VALUES (%s, %s, 'dormant_candidate', %s, %s, %s, %s, %s, %s, %s, %s)
"""


def conninfo(url: str) -> str:
    """A SQLAlchemy URL (postgresql+psycopg://...) as a libpq URI."""
    scheme, rest = url.split("://", 1)
    return "postgresql://" + rest if scheme.startswith("postgresql") else url


def _today(now: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    day = now.astimezone(tz).date()
    start = datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)
    nxt = day + timedelta(days=1)
    return start, datetime(nxt.year, nxt.month, nxt.day, tzinfo=tz).astimezone(UTC)


# The answer's keys (FollowupOut, JobOut, ContactOut by alias, in their field order).
FOLLOWUP_KEYS = ("id", "jobId", "contactId", "outreachId", "attemptNo", "type", "dueAt", "sentAt",
                 "cancelledAt", "cancelReason", "note", "why")


def _followup(r) -> dict:
    answer = dict(zip(FOLLOWUP_KEYS, r, strict=False))  # the first 12 columns
    answer["job"] = None if r[12] is None else {
        "id": r[12], "company": r[13], "role": r[14], "url": r[15], "stage": r[16],
        "archived": r[17] is not None, "archivedAt": r[17], "createdAt": r[18],
    }
    answer["contact"] = None if r[19] is None else {
        "id": r[19], "name": r[20], "email": r[21], "company": r[22], "linkedinUrl": r[23],
        "archived": r[24] is not None, "archivedAt": r[24], "createdAt": r[25],
    }
    return answer


def _json(value) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_UTC_Z)  # as followups.api.wire writes


NO_TOKEN = 401, b'{"error":"Unauthorized","detail":"A bearer token is required."}'
BAD_TOKEN = 401, b'{"error":"Unauthorized","detail":"The bearer token is invalid."}'
NOT_OPEN = 409, b'{"error":"Conflict","detail":"Not open."}'
NOT_FOUND = 404, b'{"error":"NotFound","detail":"There is nothing at this address."}'
BAD_QUERY = 422, b'{"error":"ValidationError","detail":"bad query"}'


def _bearer(headers: list[tuple[bytes, bytes]]) -> str | None:
    for name, value in headers:
        if name == b"authorization" and value[:7].lower() == b"bearer ":
            return value[7:].decode().strip() or None
    return None


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def _utc(conn) -> None:
    await conn.execute("SET TIME ZONE 'UTC'")  # as the API's sessions (followups.db)


class Raw:
    def __init__(self) -> None:
        self.pool: AsyncConnectionPool | None = None
        self.zones: dict[str, ZoneInfo] = {}

    async def open(self) -> None:
        # In each worker process, at its start-up: connections opened before the first request.
        size = int(os.environ.get("FOLLOWUPS_DB_POOL_SIZE", "10"))  # the API's setting, its default
        self.pool = AsyncConnectionPool(
            conninfo(os.environ["FOLLOWUPS_DATABASE_URL"]), min_size=size, max_size=size,
            kwargs={"autocommit": True}, configure=_utc, open=False)
        await self.pool.open(wait=True)

    def zone(self, name: str) -> ZoneInfo:
        return self.zones.get(name) or self.zones.setdefault(name, ZoneInfo(name))

    async def followups(self, headers, query: bytes) -> tuple[int, bytes]:
        token = _bearer(headers)
        if token is None:
            return NO_TOKEN
        params = dict(parse_qsl(query.decode())) if query else {}
        due = params.get("due", "today")
        limit = int(params.get("limit", "200"))
        if due not in BUCKETS or not 1 <= limit <= 500:
            return BAD_QUERY
        now = datetime.now(UTC)
        async with self.pool.connection() as conn:
            user = await (await conn.execute(AUTH_SQL, {"hash": _hash(token), "now": now})).fetchone()
            if user is None:
                return BAD_TOKEN
            start, end = _today(now, self.zone(user[1]))
            # [lower, upper) of each bucket (followups.chains.buckets.bounds)
            lower, upper = {"today": (start, end), "overdue": (None, start), "upcoming": (end, None)}[due]
            cur = await conn.execute(BUCKETS[due], {"uid": user[0], "lower": lower, "upper": upper,
                                                    "limit": limit})
            rows = await cur.fetchall()
        return 200, _json([_followup(r) for r in rows])

    async def send(self, headers, fid_text: str) -> tuple[int, bytes]:
        token = _bearer(headers)
        if token is None:
            return NO_TOKEN
        try:
            fid = uuid.UUID(fid_text)
        except ValueError:
            return NOT_FOUND
        now = datetime.now(UTC)
        # A refusal rolls back (force_rollback), the sign-in's bump with it.
        async with self.pool.connection() as conn, conn.transaction() as tx:
            user = await (await conn.execute(SIGN_IN_WRITER_SQL, {"hash": _hash(token), "now": now})
                          ).fetchone()
            if user is None:
                tx.force_rollback = True
                return BAD_TOKEN
            uid = user[0]
            row = await (await conn.execute(
                SEND_SQL, {"now": now, "note": None, "fid": fid, "uid": uid})).fetchone()
            if row is None:
                tx.force_rollback = True
                return NOT_OPEN
            if row[27] is not None:  # reminded: its unseen reminder is obsolete
                await conn.execute(DROP_REMINDER_SQL, {"now": now, "uid": uid, "fid": fid})
            tz = self.zone(user[1])
            step = cad.after_sent(row[4], now, tz, cad.Cadence(tuple(user[2]), user[3], user[4]))
            if step.kind == "attempt":
                await conn.execute(INSERT_FOLLOWUP_SQL, (
                    uuid.uuid4(), uid, row[26], step.attempt_no, row[5], row[1], row[2], row[3],
                    step.due_at, step.why, clock.start_of_local_day(step.due_at, tz), now, now))
            else:
                await conn.execute(INSERT_DORMANT_SQL, (
                    uuid.uuid4(), uid, str(row[26]), step.why, step.due_at, row[1], row[2], fid,
                    row[26], now))
        return 200, _json(_followup(row))

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await self.open()
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    if self.pool is not None:
                        await self.pool.close()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        path = scope["path"]
        method = scope["method"]
        if path == "/health":
            status, body = 200, b'{"status":"ok"}'
        elif path == "/followups" and method == "GET":
            status, body = await self.followups(scope["headers"], scope["query_string"])
        elif method == "PATCH" and path.startswith("/followups/") and path.endswith("/send") \
                and path.count("/") == 3:
            while (await receive()).get("more_body"):
                pass
            status, body = await self.send(scope["headers"], path[11:-5])
        else:
            status, body = NOT_FOUND
        await send({
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode())],
        })
        await send({"type": "http.response.body", "body": body})


app = Raw()
