"""The limit: `GET /followups?due=`, `PATCH /followups/{id}/send` and `/health` as a bare
ASGI app, psycopg 3 directly.

    FOLLOWUPS_DATABASE_URL=postgresql+psycopg://... .venv/bin/uvicorn raw_asgi:app --app-dir bench \
        --workers 2 --no-access-log --loop uvloop --http httptools

No framework, no ORM, no validation models: the same two questions the API asks (the
bearer token's user, then the bucket with the same joins, filters, order and limit)
on one autocommit connection per worker, and the same JSON bytes out. Mark-sent makes the
API's round trips in one transaction (BEGIN; the sign-in that bumps the user's write_seq;
the send, the drop of its reminder and the read of the answer in one statement; the next
attempt or the dormant check; COMMIT), the next step from the user's fixed cadence
(followups.cadence, pure code; no rules: the bench's senders have none). It answers only
what the benchmark sends; anything else is a bare 404, 401 or 409. PostgreSQL only.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

import psycopg

from followups import cadence as cad
from followups import clock

AUTH_SQL = """
SELECT app_user.id, app_user.timezone FROM app_user JOIN api_token ON api_token.user_id = app_user.id
WHERE api_token.token_hash = %s AND api_token.revoked_at IS NULL AND api_token.expires_at > %s
"""

BUCKET_SQL = """
SELECT follow_up.id, follow_up.job_id, follow_up.contact_id, follow_up.outreach_id,
       follow_up.attempt_no, follow_up.type, follow_up.due_at, follow_up.sent_at,
       follow_up.cancelled_at, follow_up.cancel_reason, follow_up.note, follow_up.why,
       job.id, job.company, job.role, job.url, job.stage, job.archived_at, job.created_at,
       contact.id, contact.name, contact.email, contact.company, contact.linkedin_url,
       contact.archived_at, contact.created_at
FROM follow_up LEFT OUTER JOIN job ON job.id = follow_up.job_id AND job.user_id = follow_up.user_id
LEFT OUTER JOIN contact ON contact.id = follow_up.contact_id AND contact.user_id = follow_up.user_id
WHERE follow_up.user_id = %s AND follow_up.sent_at IS NULL AND follow_up.cancelled_at IS NULL
  AND job.archived_at IS NULL AND contact.archived_at IS NULL AND {bucket}
ORDER BY follow_up.due_at, follow_up.id
LIMIT %s
"""
BUCKETS = {
    "today": BUCKET_SQL.format(bucket="follow_up.due_at >= %s AND follow_up.due_at < %s"),
    "overdue": BUCKET_SQL.format(bucket="follow_up.due_at < %s"),
    "upcoming": BUCKET_SQL.format(bucket="follow_up.due_at >= %s"),
}


# Mark-sent: the statements the API sends (followups.users.service, followups.chains.service).
SIGN_IN_WRITER_SQL = """
UPDATE app_user SET write_seq = app_user.write_seq + 1 FROM api_token
WHERE api_token.user_id = app_user.id AND api_token.token_hash = %s AND api_token.revoked_at IS NULL
  AND api_token.expires_at > %s
RETURNING app_user.id, app_user.timezone, app_user.followup_delays_days, app_user.dormant_after_days,
          app_user.skip_weekends
"""
SEND_SQL = """
WITH sent AS (
  UPDATE follow_up SET sent_at = %(now)s, updated_at = %(now)s
  WHERE follow_up.id = %(fid)s AND follow_up.user_id = %(uid)s AND follow_up.sent_at IS NULL
    AND follow_up.cancelled_at IS NULL
  RETURNING follow_up.id, follow_up.job_id, follow_up.contact_id, follow_up.outreach_id,
            follow_up.attempt_no, follow_up.type, follow_up.due_at, follow_up.sent_at,
            follow_up.cancelled_at, follow_up.cancel_reason, follow_up.note, follow_up.why,
            follow_up.chain_id, follow_up.reminded_at),
dropped AS (
  UPDATE notification SET cancelled_at = %(now)s
  WHERE notification.user_id = %(uid)s
    AND notification.followup_id IN (SELECT sent.id FROM sent WHERE sent.reminded_at IS NOT NULL)
    AND notification.kind = 'followup_due' AND notification.sent_at IS NULL
    AND notification.cancelled_at IS NULL)
SELECT sent.id, sent.job_id, sent.contact_id, sent.outreach_id, sent.attempt_no, sent.type,
       sent.due_at, sent.sent_at, sent.cancelled_at, sent.cancel_reason, sent.note, sent.why,
       job.id, job.company, job.role, job.url, job.stage, job.archived_at, job.created_at,
       contact.id, contact.name, contact.email, contact.company, contact.linkedin_url,
       contact.archived_at, contact.created_at, sent.chain_id
FROM sent LEFT OUTER JOIN job ON job.id = sent.job_id AND job.user_id = %(uid)s
LEFT OUTER JOIN contact ON contact.id = sent.contact_id AND contact.user_id = %(uid)s
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


def _instant(value: datetime | None) -> str | None:
    if value is None:
        return None
    text = value.astimezone(UTC).isoformat()
    return text[:-6] + "Z"


def _str(value) -> str | None:
    return None if value is None else str(value)


def _today(now: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    day = now.astimezone(tz).date()
    start = datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)
    nxt = day + timedelta(days=1)
    return start, datetime(nxt.year, nxt.month, nxt.day, tzinfo=tz).astimezone(UTC)


def _followup(r) -> dict:
    job = None if r[12] is None else {
        "id": str(r[12]), "company": r[13], "role": r[14], "url": r[15], "stage": r[16],
        "archived": r[17] is not None, "archivedAt": _instant(r[17]), "createdAt": _instant(r[18]),
    }
    contact = None if r[19] is None else {
        "id": str(r[19]), "name": r[20], "email": r[21], "company": r[22], "linkedinUrl": r[23],
        "archived": r[24] is not None, "archivedAt": _instant(r[24]), "createdAt": _instant(r[25]),
    }
    return {
        "id": str(r[0]), "jobId": _str(r[1]), "contactId": _str(r[2]), "outreachId": _str(r[3]),
        "attemptNo": r[4], "type": r[5], "dueAt": _instant(r[6]), "sentAt": _instant(r[7]),
        "cancelledAt": _instant(r[8]), "cancelReason": r[9], "note": r[10], "why": r[11],
        "job": job, "contact": contact,
    }


NO_TOKEN = 401, b'{"error":"Unauthorized","detail":"A bearer token is required."}'
BAD_TOKEN = 401, b'{"error":"Unauthorized","detail":"The bearer token is invalid."}'
NOT_OPEN = 409, b'{"error":"Conflict","detail":"Not open."}'


def _bearer(headers: list[tuple[bytes, bytes]]) -> str | None:
    for name, value in headers:
        if name == b"authorization" and value[:7].lower() == b"bearer ":
            return value[7:].decode().strip()
    return None


class Raw:
    def __init__(self) -> None:
        self.conn: psycopg.Connection | None = None
        self.zones: dict[str, ZoneInfo] = {}

    def connection(self) -> psycopg.Connection:
        # Opened in the worker (after the fork), on first use.
        if self.conn is None or self.conn.closed:
            url = conninfo(os.environ["FOLLOWUPS_DATABASE_URL"])
            self.conn = psycopg.connect(url, autocommit=True)
            self.conn.execute("SET TIME ZONE 'UTC'")
        return self.conn

    def zone(self, name: str) -> ZoneInfo:
        return self.zones.get(name) or self.zones.setdefault(name, ZoneInfo(name))

    def followups(self, headers: list[tuple[bytes, bytes]], query: bytes) -> tuple[int, bytes]:
        token = _bearer(headers)
        if not token:
            return NO_TOKEN
        params = dict(parse_qsl(query.decode()))
        due = params.get("due", "today")
        limit = int(params.get("limit", "200"))
        if due not in BUCKETS or not 1 <= limit <= 500:
            return 422, b'{"error":"ValidationError","detail":"bad query"}'
        now = datetime.now(UTC)
        conn = self.connection()
        user = conn.execute(AUTH_SQL, (hashlib.sha256(token.encode()).hexdigest(), now)).fetchone()
        if user is None:
            return BAD_TOKEN
        tz = self.zone(user[1])
        start, end = _today(now, tz)
        bounds = {"today": (start, end), "overdue": (start,), "upcoming": (end,)}[due]
        rows = conn.execute(BUCKETS[due], (user[0], *bounds, limit)).fetchall()
        body = json.dumps([_followup(r) for r in rows], ensure_ascii=False, separators=(",", ":"))
        return 200, body.encode()

    def send(self, headers: list[tuple[bytes, bytes]], fid: str) -> tuple[int, bytes]:
        token = _bearer(headers)
        if not token:
            return NO_TOKEN
        try:
            fid = uuid.UUID(fid)
        except ValueError:
            return 404, b'{"error":"NotFound","detail":"No such follow-up."}'
        now = datetime.now(UTC)
        conn = self.connection()
        refused = None
        with conn.transaction():  # a refusal rolls back (psycopg.Rollback), the bump with it
            user = conn.execute(SIGN_IN_WRITER_SQL, (hashlib.sha256(token.encode()).hexdigest(), now)).fetchone()
            if user is None:
                refused = BAD_TOKEN
                raise psycopg.Rollback
            uid, zone = user[0], user[1]
            row = conn.execute(SEND_SQL, {"now": now, "fid": fid, "uid": uid}).fetchone()
            if row is None:
                refused = NOT_OPEN
                raise psycopg.Rollback
            tz = self.zone(zone)
            step = cad.after_sent(row[4], now, tz, cad.Cadence(tuple(user[2]), user[3], user[4]))
            if step.kind == "attempt":
                conn.execute(INSERT_FOLLOWUP_SQL, (
                    uuid.uuid4(), uid, row[26], step.attempt_no, row[5], row[1], row[2], row[3],
                    step.due_at, step.why, clock.start_of_local_day(step.due_at, tz), now, now))
            else:
                conn.execute(INSERT_DORMANT_SQL, (
                    uuid.uuid4(), uid, str(row[26]), step.why, step.due_at, row[1], row[2], fid,
                    row[26], now))
        if refused:
            return refused
        body = json.dumps(_followup(row), ensure_ascii=False, separators=(",", ":"))
        return 200, body.encode()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    if self.conn is not None:
                        self.conn.close()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        path = scope["path"]
        if path == "/health":
            status, body = 200, b'{"status":"ok"}'
        elif path == "/followups" and scope["method"] == "GET":
            status, body = self.followups(scope["headers"], scope["query_string"])
        elif (path.startswith("/followups/") and path.endswith("/send") and scope["method"] == "PATCH"
              and path.count("/") == 3):
            while (await receive()).get("more_body"):
                pass
            status, body = self.send(scope["headers"], path.split("/")[2])
        else:
            status, body = 404, b'{"error":"NotFound","detail":"There is nothing at this address."}'
        await send({
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode())],
        })
        await send({"type": "http.response.body", "body": body})


app = Raw()
