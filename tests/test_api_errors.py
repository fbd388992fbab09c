"""Bad input gets a clear 4xx with the error body, and changes nothing.

The contract (API.md, "Errors"): `{"error": "<Kind>", "detail": "<sentence>"}`, a 422
adds `"fields": [{"field": "dueAt", "message": ...}]` naming the field as the client
spelled it (camelCase), and no input makes a 500.

The cases are grouped in tables; each group is one test that tries every case, checks
after each one that nothing the user can read changed, and reports every case that
failed at once (one signup per group keeps the file fast on both backends).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from followups.models import Base

NOBODY = object()
OK_DUE = "2026-03-06T09:00:00Z"
MISSING = str(uuid.uuid4())


@dataclass
class Case:
    label: str
    method: str
    # formatted with the ids of `world`: {job} {contact} {outreach} {open} {sent} {cancelled}
    url: str
    body: Any = NOBODY
    status: int | tuple[int, ...] = 422
    field: str | None = None  # for a 422: a field the answer must name
    raw: bytes | None = None  # sent as is, with Content-Type: `content_type`
    content_type: str = "application/json"


def bad(label, method, url, body=NOBODY, field=None, status=422, raw=None) -> Case:
    return Case(label, method, url, body, status, field, raw)


def every(
    label_fmt: str, method: str, url: str, make_body, field: str, values, status=422
) -> list[Case]:
    return [bad(label_fmt.format(v=v), method, url, make_body(v), field, status) for v in values]


N2001 = "n" * 2001
NAIVE = "2026-03-06T09:00:00"
DATE_ONLY = "2026-03-06"
BAD_INSTANTS = [
    NAIVE,
    DATE_ONLY,
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:30:00+01:00",  # before year 1 in UTC
    "9999-12-31T23:59:59Z",
    "9999-12-31T23:30:00-01:00",  # after year 9999 in UTC
    "2026-03-06T09:00:00+24:00",
    "2026-03-06T09:00:00+25:00",
    "2026-03-06T09:00:00-99:00",
    "2026-03-06T09:00:00+99:99",
    "2026-13-01T09:00:00Z",
    "2026-02-30T09:00:00Z",
    "2026-03-06T25:00:00Z",
    "tomorrow",
    "",
    1772787600,  # epoch seconds are not ISO 8601
    1e300,
    True,
    ["2026-03-06T09:00:00Z"],
]

CASES: dict[str, list[Case]] = {
    "malformed bodies": [
        bad(
            "malformed JSON",
            "POST",
            "/jobs",
            raw=b'{"company": "Acme", "role": ',
            status=422,
            field="body",
        ),
        bad(
            "trailing comma",
            "POST",
            "/jobs",
            raw=b'{"company": "Acme", "role": "r",}',
            status=422,
            field="body",
        ),
        bad(
            "single quotes",
            "POST",
            "/jobs",
            raw=b"{'company': 'Acme'}",
            status=422,
            field="body",
        ),
        bad(
            "not UTF-8",
            "POST",
            "/jobs",
            raw=b'{"company": "\xff\xfe", "role": "r"}',
            status=422,
            field="body",
        ),
        bad(
            "NaN literal",
            "PATCH",
            "/me",
            raw=b'{"cadence": {"followupDelaysDays": [NaN]}}',
            status=422,
        ),
        bad(
            "1e400 literal",
            "PATCH",
            "/me",
            raw=b'{"cadence": {"dormantAfterDays": 1e400}}',
            status=422,
        ),
        bad(
            "deeply nested JSON",
            "POST",
            "/jobs",
            raw=b"[" * 100_000 + b"]" * 100_000,
            status=422,
        ),
        bad("empty body", "POST", "/jobs", raw=b"", status=422),
        bad("no body", "POST", "/outreach", status=422),
        bad(
            "JSON array for POST /jobs",
            "POST",
            "/jobs",
            [{"company": "A", "role": "r"}],
            field="body",
        ),
        bad("JSON array for POST /contacts", "POST", "/contacts", [], field="body"),
        bad("JSON array for POST /outreach", "POST", "/outreach", [1, 2], field="body"),
        bad("JSON array for POST /followups", "POST", "/followups", [], field="body"),
        bad("JSON array for PATCH /jobs", "PATCH", "/jobs/{job}", [], field="body"),
        bad("JSON array for PATCH /me", "PATCH", "/me", [], field="body"),
        bad("JSON string for PATCH /followups", "PATCH", "/followups/{open}", "note", field="body"),
        bad("JSON number for send", "PATCH", "/followups/{open}/send", 3, field="body"),
        bad("JSON null for POST /jobs", "POST", "/jobs", raw=b"null", status=422),
        Case(
            "JSON sent as text/plain",
            "POST",
            "/jobs",
            status=(400, 415, 422),
            raw=b'{"company": "Acme", "role": "r"}',
            content_type="text/plain",
        ),
        Case(
            "a form instead of JSON",
            "POST",
            "/jobs",
            status=(400, 415, 422),
            raw=b"company=Acme&role=r",
            content_type="application/x-www-form-urlencoded",
        ),
        bad(
            "a note of half a megabyte", "PATCH", "/followups/{open}", {"note": "n" * 500_000}, "note"
        ),
        # Past FOLLOWUPS_MAX_BODY_BYTES (1 MB) the body is refused before it is read.
        bad("a body of two megabytes", "PATCH", "/followups/{open}", {"note": "n" * 2_000_000},
            status=413),
    ],
    "wrong types": [
        bad("number for company", "POST", "/jobs", {"company": 123, "role": "r"}, "company"),
        bad(
            "huge number for company", "POST", "/jobs", {"company": 10**30, "role": "r"}, "company"
        ),
        bad("object for role", "POST", "/jobs", {"company": "A", "role": {"x": 1}}, "role"),
        bad("list for url", "POST", "/jobs", {"company": "A", "role": "r", "url": ["x"]}, "url"),
        bad("missing role", "POST", "/jobs", {"company": "A"}, "role"),
        bad("null company on create", "POST", "/jobs", {"company": None, "role": "r"}, "company"),
        bad("null company on PATCH", "PATCH", "/jobs/{job}", {"company": None}, "company"),
        bad("null stage on PATCH", "PATCH", "/jobs/{job}", {"stage": None}, "stage"),
        bad("string for archived", "PATCH", "/jobs/{job}", {"archived": "yes"}, "archived"),
        bad("number for archived", "PATCH", "/contacts/{contact}", {"archived": 1}, "archived"),
        bad("number for name", "POST", "/contacts", {"name": 7}, "name"),
        bad(
            "string for createFollowup",
            "POST",
            "/outreach",
            {"jobId": "{job}", "channel": "EMAIL", "createFollowup": "yes"},
            "createFollowup",
        ),
        bad(
            "number for createFollowup",
            "POST",
            "/outreach",
            {"jobId": "{job}", "channel": "EMAIL", "createFollowup": 0},
            "createFollowup",
        ),
        bad("number for jobId", "POST", "/outreach", {"jobId": 5, "channel": "EMAIL"}, "jobId"),
        bad("number for note", "PATCH", "/outreach/{outreach}", {"note": 5}, "note"),
        bad("null outcome on PATCH", "PATCH", "/outreach/{outreach}", {"outcome": None}, "outcome"),
        bad("null dueAt on PATCH", "PATCH", "/followups/{open}", {"dueAt": None}, "dueAt"),
        bad("missing dueAt", "POST", "/followups", {"jobId": "{job}"}, "dueAt"),
        bad("missing channel", "POST", "/outreach", {"jobId": "{job}"}, "channel"),
        bad("null timezone on PATCH /me", "PATCH", "/me", {"timezone": None}, "timezone"),
        bad("null cadence on PATCH /me", "PATCH", "/me", {"cadence": None}, "cadence"),
        bad("number for timezone", "PATCH", "/me", {"timezone": 1}, "timezone"),
    ],
    "unknown enum values": [
        bad(
            "stage on create",
            "POST",
            "/jobs",
            {"company": "A", "role": "r", "stage": "INTERVIEW"},
            "stage",
        ),
        bad(
            "lower-case stage",
            "POST",
            "/jobs",
            {"company": "A", "role": "r", "stage": "applied"},
            "stage",
        ),
        bad("stage on PATCH", "PATCH", "/jobs/{job}", {"stage": "HIRED"}, "stage"),
        bad("channel", "POST", "/outreach", {"jobId": "{job}", "channel": "FAX"}, "channel"),
        bad("empty channel", "POST", "/outreach", {"jobId": "{job}", "channel": ""}, "channel"),
        bad(
            "outcome on create",
            "POST",
            "/outreach",
            {"jobId": "{job}", "channel": "EMAIL", "outcome": "MAYBE"},
            "outcome",
        ),
        bad("outcome on PATCH", "PATCH", "/outreach/{outreach}", {"outcome": "MAYBE"}, "outcome"),
        bad(
            "type",
            "POST",
            "/followups",
            {"jobId": "{job}", "dueAt": OK_DUE, "type": "MEETING"},
            "type",
        ),
        bad("due=", "GET", "/followups?due=yesterday", field="due"),
        bad("due= empty", "GET", "/followups?due=", field="due"),
        bad("scope=", "GET", "/notifications?scope=later", field="scope"),
        bad("seen=", "GET", "/notifications?seen=maybe", field="seen"),
        bad("archived= on jobs", "GET", "/jobs?archived=maybe", field="archived"),
        bad("archived= on contacts", "GET", "/contacts?archived=2", field="archived"),
    ],
    "instants": [
        *every(
            "dueAt {v!r} on POST",
            "POST",
            "/followups",
            lambda v: {"jobId": "{job}", "dueAt": v},
            "dueAt",
            BAD_INSTANTS,
        ),
        *every(
            "dueAt {v!r} on PATCH",
            "PATCH",
            "/followups/{open}",
            lambda v: {"dueAt": v},
            "dueAt",
            BAD_INSTANTS,
        ),
        *every(
            "sentAt {v!r}",
            "POST",
            "/outreach",
            lambda v: {"jobId": "{job}", "channel": "EMAIL", "sentAt": v},
            "sentAt",
            BAD_INSTANTS,
        ),
    ],
    "text": [
        bad(
            "note of 2001 on POST /outreach",
            "POST",
            "/outreach",
            {"jobId": "{job}", "channel": "EMAIL", "note": N2001},
            "note",
        ),
        bad(
            "note of 2001 on PATCH /outreach",
            "PATCH",
            "/outreach/{outreach}",
            {"note": N2001},
            "note",
        ),
        bad(
            "note of 2001 on POST /followups",
            "POST",
            "/followups",
            {"jobId": "{job}", "dueAt": OK_DUE, "note": N2001},
            "note",
        ),
        bad(
            "note of 2001 on PATCH /followups",
            "PATCH",
            "/followups/{open}",
            {"note": N2001},
            "note",
        ),
        bad("note of 2001 on send", "PATCH", "/followups/{open}/send", {"note": N2001}, "note"),
        bad("NUL in company", "POST", "/jobs", {"company": "Ac\x00me", "role": "r"}, "company"),
        bad("NUL in role", "POST", "/jobs", {"company": "Acme", "role": "\x00"}, "role"),
        bad(
            "NUL in url",
            "POST",
            "/jobs",
            {"company": "Acme", "role": "r", "url": "https://a.test/\x00"},
            "url",
        ),
        bad("NUL in company on PATCH", "PATCH", "/jobs/{job}", {"company": "A\x00"}, "company"),
        bad("NUL in contact name", "POST", "/contacts", {"name": "Gr\x00ace"}, "name"),
        bad(
            "NUL in contact email",
            "POST",
            "/contacts",
            {"name": "G", "email": "g\x00@acme.test"},
            "email",
        ),
        bad(
            "NUL in contact company",
            "POST",
            "/contacts",
            {"name": "G", "company": "A\x00"},
            "company",
        ),
        bad(
            "NUL in linkedinUrl",
            "PATCH",
            "/contacts/{contact}",
            {"linkedinUrl": "https://l.test/\x00"},
            "linkedinUrl",
        ),
        bad(
            "NUL in outreach note",
            "POST",
            "/outreach",
            {"jobId": "{job}", "channel": "EMAIL", "note": "a\x00b"},
            "note",
        ),
        bad(
            "NUL in outreach note on PATCH",
            "PATCH",
            "/outreach/{outreach}",
            {"note": "\x00"},
            "note",
        ),
        bad(
            "NUL in follow-up note",
            "POST",
            "/followups",
            {"jobId": "{job}", "dueAt": OK_DUE, "note": "\x00"},
            "note",
        ),
        bad(
            "NUL in follow-up note on PATCH",
            "PATCH",
            "/followups/{open}",
            {"note": "a\x00"},
            "note",
        ),
        bad("NUL in send note", "PATCH", "/followups/{open}/send", {"note": "\x00"}, "note"),
        bad("NUL in timezone", "PATCH", "/me", {"timezone": "UTC\x00"}, "timezone"),
        bad("bell in company", "POST", "/jobs", {"company": "Acme\x07", "role": "r"}, "company"),
        bad("escape in role", "POST", "/jobs", {"company": "Acme", "role": "\x1b[31mred"}, "role"),
        bad("newline in name", "POST", "/contacts", {"name": "Grace\nHopper"}, "name"),
        bad("DEL in name on PATCH", "PATCH", "/contacts/{contact}", {"name": "Grace\x7f"}, "name"),
        bad("C1 control in name", "POST", "/contacts", {"name": "Gr\x85ace"}, "name"),
        bad("NUL alone as a name", "POST", "/contacts", {"name": "\x00"}, "name"),
        bad("escape in follow-up note", "PATCH", "/followups/{open}", {"note": "a\x1bb"}, "note"),
        bad("empty company", "POST", "/jobs", {"company": "", "role": "r"}, "company"),
        bad("blank company", "POST", "/jobs", {"company": "   ", "role": "r"}, "company"),
        bad("blank name on PATCH", "PATCH", "/contacts/{contact}", {"name": " "}, "name"),
        bad("company of 201", "POST", "/jobs", {"company": "c" * 201, "role": "r"}, "company"),
        bad(
            "url of 2001", "POST", "/jobs", {"company": "A", "role": "r", "url": "u" * 2001}, "url"
        ),
        bad(
            "lone surrogate in company",
            "POST",
            "/jobs",
            raw=b'{"company": "A\\ud800", "role": "r"}',
            status=422,
        ),
        bad(
            "lone surrogate in note",
            "PATCH",
            "/followups/{open}",
            raw=b'{"note": "\\udfff"}',
            status=422,
        ),
        bad(
            "bad contact email",
            "POST",
            "/contacts",
            {"name": "G", "email": "not-an-email"},
            "email",
        ),
        bad("bad contact email on PATCH", "PATCH", "/contacts/{contact}", {"email": "a@"}, "email"),
    ],
    "limit": [
        *[
            bad(f"limit={v}", "GET", f"/followups?due=today&limit={v}", field="limit")
            for v in ("0", "501", str(10**30), "-1", "abc", "1.5", "", "1e3", "%00")
        ],
    ],
    "cadence": [
        *every(
            "followupDelaysDays {v!r}",
            "PATCH",
            "/me",
            lambda v: {"cadence": {"followupDelaysDays": v}},
            "followupDelaysDays",
            [
                [0],
                [366],
                [3, -1],
                [],
                [3] * 11,
                [1.5],
                ["3"],
                [True],
                [None],
                [10**30],
                None,
                "3",
                3,
                {"a": 1},
            ],
        ),
        *every(
            "dormantAfterDays {v!r}",
            "PATCH",
            "/me",
            lambda v: {"cadence": {"dormantAfterDays": v}},
            "dormantAfterDays",
            [0, 366, -7, 7.5, "7", True, None, 10**30, [7]],  # 7.0 is 7 (test_openapi_agrees)
        ),
        *every(
            "skipWeekends {v!r}",
            "PATCH",
            "/me",
            lambda v: {"cadence": {"skipWeekends": v}},
            "skipWeekends",
            ["yes", 1, None],
        ),
        bad("cadence as a list", "PATCH", "/me", {"cadence": [3, 3]}, "cadence"),
        bad(
            "unknown zone on PATCH /me",
            "PATCH",
            "/me",
            {"timezone": "Mars/Olympus_Mons"},
            "timezone",
        ),
        bad("empty zone on PATCH /me", "PATCH", "/me", {"timezone": ""}, "timezone"),
        bad("offset as zone on PATCH /me", "PATCH", "/me", {"timezone": "+02:00"}, "timezone"),
        bad(
            "path as zone on PATCH /me",
            "PATCH",
            "/me",
            {"timezone": "../../etc/passwd"},
            "timezone",
        ),
        bad(
            "long zone on PATCH /me",
            "PATCH",
            "/me",
            {"timezone": "Europe/" + "x" * 500},
            "timezone",
        ),
        bad(
            "good zone, bad cadence: neither applies",
            "PATCH",
            "/me",
            {"timezone": "Europe/Paris", "cadence": {"followupDelaysDays": [0]}},
            "followupDelaysDays",
        ),
    ],
    "job or contact required": [
        bad("outreach with neither", "POST", "/outreach", {"channel": "EMAIL"}, "jobId"),
        bad(
            "outreach with both null",
            "POST",
            "/outreach",
            {"jobId": None, "contactId": None, "channel": "EMAIL"},
            "jobId",
        ),
        bad("follow-up with neither", "POST", "/followups", {"dueAt": OK_DUE}, "jobId"),
        bad(
            "follow-up with both null",
            "POST",
            "/followups",
            {"jobId": None, "contactId": None, "dueAt": OK_DUE},
            "jobId",
        ),
    ],
    "ids": [
        *[
            bad(f"{m} {u}", m, u, b, status=404)
            for m, u, b in [
                ("GET", f"/jobs/{MISSING}", NOBODY),
                ("GET", "/jobs/not-an-id", NOBODY),
                ("GET", "/jobs/0", NOBODY),
                ("GET", "/jobs/%00", NOBODY),
                ("GET", "/jobs/" + "9" * 1000, NOBODY),
                ("GET", "/jobs/{job}x", NOBODY),
                ("PATCH", f"/jobs/{MISSING}", {"company": "X"}),
                ("PATCH", "/jobs/garbage", {"company": "X"}),
                ("GET", f"/contacts/{MISSING}", NOBODY),
                ("PATCH", "/contacts/%20", {"name": "X"}),
                ("PATCH", f"/outreach/{MISSING}", {"note": "x"}),
                ("PATCH", "/outreach/garbage", {"note": "x"}),
                ("DELETE", f"/outreach/{MISSING}", NOBODY),
                ("DELETE", "/outreach/garbage", NOBODY),
                ("GET", f"/followups/{MISSING}", NOBODY),
                ("GET", "/followups/garbage", NOBODY),
                ("PATCH", f"/followups/{MISSING}", {"note": "x"}),
                ("PATCH", f"/followups/{MISSING}/send", NOBODY),
                ("PATCH", "/followups/garbage/send", {"note": "x"}),
                ("DELETE", f"/followups/{MISSING}", NOBODY),
                ("DELETE", "/followups/garbage", NOBODY),
                ("PATCH", f"/notifications/{MISSING}/send", NOBODY),
                ("PATCH", "/notifications/garbage/send", NOBODY),
                ("PATCH", "/notifications/{job}/send", NOBODY),  # another kind's id
                ("GET", "/followups/{job}", NOBODY),  # another kind's id
                ("GET", f"/outreach?jobId={MISSING}", NOBODY),
                ("GET", "/outreach?jobId=garbage", NOBODY),
                ("GET", "/outreach?jobId=%00", NOBODY),
                ("GET", f"/outreach?contactId={MISSING}", NOBODY),
                ("GET", "/outreach?contactId={job}", NOBODY),  # a job id is no contact id
                ("POST", "/outreach", {"jobId": MISSING, "channel": "EMAIL"}),
                ("POST", "/outreach", {"jobId": "garbage", "channel": "EMAIL"}),
                ("POST", "/outreach", {"jobId": "{job}", "contactId": MISSING, "channel": "EMAIL"}),
                ("POST", "/outreach", {"contactId": "{job}", "channel": "EMAIL"}),
                ("POST", "/followups", {"jobId": MISSING, "dueAt": OK_DUE}),
                ("POST", "/followups", {"contactId": "garbage", "dueAt": OK_DUE}),
                ("POST", "/followups", {"jobId": "{job}", "contactId": "{job}", "dueAt": OK_DUE}),
            ]
        ],
        bad("deleted outreach on PATCH", "PATCH", "/outreach/{deleted}", {"note": "x"}, status=404),
        bad("deleted outreach on DELETE", "DELETE", "/outreach/{deleted}", status=404),
        bad("no such route", "GET", "/nothing-here", status=404),
    ],
    "state conflicts": [
        bad("PATCH a sent follow-up", "PATCH", "/followups/{sent}", {"note": "late"}, status=409),
        bad(
            "reschedule a sent follow-up",
            "PATCH",
            "/followups/{sent}",
            {"dueAt": OK_DUE},
            status=409,
        ),
        bad("DELETE a sent follow-up", "DELETE", "/followups/{sent}", status=409),
        bad("send a sent follow-up", "PATCH", "/followups/{sent}/send", status=409),
        bad(
            "send a sent follow-up with a note",
            "PATCH",
            "/followups/{sent}/send",
            {"note": "again"},
            status=409,
        ),
        bad(
            "PATCH a cancelled follow-up",
            "PATCH",
            "/followups/{cancelled}",
            {"note": "x"},
            status=409,
        ),
        bad("send a cancelled follow-up", "PATCH", "/followups/{cancelled}/send", status=409),
        bad(
            "PATCH a sent follow-up with a bad note",
            "PATCH",
            "/followups/{sent}",
            {"note": N2001},
            "note",
        ),
    ],
    "register and login": [
        bad(
            "unknown zone",
            "POST",
            "/auth/register",
            {
                "email": "zone@example.com",
                "password": "correct horse",
                "timezone": "Mars/Olympus_Mons",
            },
            "timezone",
        ),
        bad(
            "empty zone",
            "POST",
            "/auth/register",
            {"email": "zone2@example.com", "password": "correct horse", "timezone": ""},
            "timezone",
        ),
        bad(
            "number zone",
            "POST",
            "/auth/register",
            {"email": "zone3@example.com", "password": "correct horse", "timezone": 2},
            "timezone",
        ),
        bad(
            "short password",
            "POST",
            "/auth/register",
            {"email": "short@example.com", "password": "1234567"},
            "password",
        ),
        bad(
            "empty password",
            "POST",
            "/auth/register",
            {"email": "short2@example.com", "password": ""},
            "password",
        ),
        bad(
            "NUL in password",
            "POST",
            "/auth/register",
            {"email": "nul@example.com", "password": "correct\x00horse"},
            "password",
        ),
        bad(
            "missing password",
            "POST",
            "/auth/register",
            {"email": "nopass@example.com"},
            "password",
        ),
        bad(
            "number password",
            "POST",
            "/auth/register",
            {"email": "num@example.com", "password": 12345678},
            "password",
        ),
        *every(
            "bad email {v!r}",
            "POST",
            "/auth/register",
            lambda v: {"email": v, "password": "correct horse"},
            "email",
            [
                "not-an-email",
                "a@",
                "@example.com",
                "",
                "a b@example.com",
                "ada@@example.com",
                "ada\x00@example.com",
                "x" * 400 + "@example.com",
                5,
                None,
            ],
        ),
        bad(
            "taken email",
            "POST",
            "/auth/register",
            {"email": "ada@example.com", "password": "another one"},
            status=409,
        ),
        bad(
            "taken email, other case",
            "POST",
            "/auth/register",
            {"email": "ADA@Example.com", "password": "another one"},
            status=409,
        ),
        bad(
            "wrong password",
            "POST",
            "/auth/login",
            {"email": "ada@example.com", "password": "wrong horse"},
            status=401,
        ),
        bad(
            "unknown email",
            "POST",
            "/auth/login",
            {"email": "nobody@example.com", "password": "correct horse"},
            status=401,
        ),
        bad(
            "NUL in login password",
            "POST",
            "/auth/login",
            {"email": "ada@example.com", "password": "a\x00"},
            status=(401, 422),
        ),
        bad(
            "NUL in login email",
            "POST",
            "/auth/login",
            {"email": "ada\x00@example.com", "password": "correct horse"},
            status=(401, 422),
        ),
        bad(
            "login email of 400",
            "POST",
            "/auth/login",
            {"email": "x" * 400 + "@example.com", "password": "p"},
            status=(401, 422),
        ),
        bad(
            "login without password",
            "POST",
            "/auth/login",
            {"email": "ada@example.com"},
            "password",
        ),
        bad("login with a list", "POST", "/auth/login", [], field="body"),
    ],
}


ERROR_KINDS = {401: "Unauthorized", 404: "NotFound", 409: "Conflict", 422: "ValidationError"}


@pytest.fixture
def world(api, ada) -> dict:
    """Ada's records: a job, a contact, an outreach with its open attempt 1, a sent
    follow-up, a cancelled one and a deleted outreach."""
    job = api.call("POST", "/jobs", ada, 201, json={"company": "Acme", "role": "Engineer"}).json()
    contact = api.call("POST", "/contacts", ada, 201, json={"name": "Grace"}).json()
    out = api.call(
        "POST",
        "/outreach",
        ada,
        201,
        json={"jobId": job["id"], "contactId": contact["id"], "channel": "EMAIL", "note": "hello"},
    ).json()
    sent = api.call(
        "POST", "/followups", ada, 201, json={"contactId": contact["id"], "dueAt": OK_DUE}
    ).json()
    api.call("PATCH", f"/followups/{sent['id']}/send", ada, 200)
    cancelled = api.call(
        "POST",
        "/followups",
        ada,
        201,
        json={"jobId": job["id"], "dueAt": OK_DUE, "type": "APPOINTMENT"},
    ).json()
    api.call("DELETE", f"/followups/{cancelled['id']}", ada, 204)
    deleted = api.call(
        "POST", "/outreach", ada, 201, json={"contactId": contact["id"], "channel": "PHONE"}
    ).json()
    api.call("DELETE", f"/outreach/{deleted['id']}", ada, 204)
    return {
        "job": job["id"],
        "contact": contact["id"],
        "outreach": out["id"],
        "open": out["followup"]["id"],
        "sent": sent["id"],
        "cancelled": cancelled["id"],
        "deleted": deleted["id"],
    }


READS = [
    "/me",
    "/jobs",
    "/jobs?archived=true",
    "/contacts",
    "/contacts?archived=true",
    "/outreach",
    "/followups?due=today",
    "/followups?due=overdue",
    "/followups?due=upcoming",
    "/notifications?scope=upcoming",
    "/notifications?scope=today",
]


def snapshot(api, headers, world) -> dict:
    snap = {url: api.call("GET", url, headers, 200).json() for url in READS}
    for key in ("open", "sent", "cancelled"):
        url = f"/followups/{world[key]}"
        snap[url] = api.call("GET", url, headers, 200).json()
    return snap


# The sign-in limiter's counters: a failed sign-in must count, that is its job.
NOT_RECORDS = {"login_failure"}


def stored(db) -> dict:
    """Every row of every table of records: what a request that "changes nothing" leaves
    as it was."""
    with db.engine.connect() as conn:
        return {
            t.name: sorted(map(repr, conn.execute(select(t)).all()))
            for t in Base.metadata.sorted_tables
            if t.name not in NOT_RECORDS
        }


def fill(value, world):
    """Put the world's ids into a url or a JSON body."""
    if isinstance(value, str):
        return value.format(**world) if "{" in value else value
    if isinstance(value, list):
        return [fill(v, world) for v in value]
    if isinstance(value, dict):
        return {k: fill(v, world) for k, v in value.items()}
    return value


def problems_with(r, case: Case) -> list[str]:
    """What is wrong with the answer to a bad request, per the contract."""
    expected = case.status if isinstance(case.status, tuple) else (case.status,)
    if r.status_code not in expected:
        return [
            f"status {r.status_code}, expected {' or '.join(map(str, expected))}: {r.text[:300]}"
        ]
    try:
        body = r.json()
    except ValueError:
        return [f"not a JSON error body: {r.headers.get('content-type')} {r.text[:200]!r}"]
    out = []
    if not isinstance(body, dict):
        return [f"error body is not an object: {body!r}"]
    kind = body.get("error")
    if not isinstance(kind, str) or not kind or " " in kind:
        out.append(f"`error` is not a kind: {kind!r}")
    elif r.status_code in ERROR_KINDS and kind != ERROR_KINDS[r.status_code]:
        out.append(f"`error` is {kind!r}, expected {ERROR_KINDS[r.status_code]!r}")
    if not isinstance(body.get("detail"), str) or not body["detail"].strip():
        out.append(f"`detail` is not a sentence: {body.get('detail')!r}")
    if r.status_code == 422:
        fields = body.get("fields")
        if not isinstance(fields, list) or not fields:
            out.append(f"a 422 without `fields`: {body}")
        else:
            for f in fields:
                if not (
                    isinstance(f, dict)
                    and isinstance(f.get("field"), str)
                    and isinstance(f.get("message"), str)
                ):
                    out.append(f"malformed entry in `fields`: {f!r}")
            names = [f.get("field", "") for f in fields if isinstance(f, dict)]
            if case.field and not any(f".{case.field}." in f".{n}." for n in names):
                out.append(f"`fields` does not name {case.field!r}: {names}")
    elif "fields" in body and r.status_code != 422:
        out.append(f"`fields` on a {r.status_code}: {body}")
    return out


@pytest.mark.parametrize("group", list(CASES))
def test_bad_input_is_a_clear_4xx_and_changes_nothing(api, ada, world, db, group):
    seen_before = snapshot(api, ada, world)
    rows_before = stored(db)
    failures = []
    for case in CASES[group]:
        url = fill(case.url, world)
        kw: dict = {}
        if case.raw is not None:
            kw["content"] = case.raw
            headers = {**ada, "Content-Type": case.content_type}
        else:
            headers = ada
            if case.body is not NOBODY:
                kw["json"] = fill(case.body, world)
        r = api.call(case.method, url, headers, **kw)
        what = f"[{case.label}] {case.method} {url}"
        failures += [f"{what}: {p}" for p in problems_with(r, case)]

        rows_after = stored(db)
        changed = sorted(t for t in rows_before if rows_after[t] != rows_before[t])
        if changed:
            failures.append(f"{what}: answered {r.status_code} but wrote to {changed}")
            rows_before = rows_after
        body = kw.get("json")
        if (
            group == "register and login"
            and isinstance(body, dict)
            and isinstance(body.get("email"), str)
            and case.status != 409
            and "ada@" not in body["email"].lower()
        ):
            # no account was made: logging in with the same pair fails
            r = api.client.post(
                "/auth/login", json={"email": body["email"], "password": "correct horse"}
            )
            if r.status_code == 200:
                failures.append(
                    f"{what}: an account exists after the error (login {r.status_code})"
                )
    # and through the API: everything Ada can read is as it was
    seen_after = snapshot(api, ada, world)
    changed = sorted(k for k in seen_before if seen_after[k] != seen_before[k])
    if changed:
        failures.append(f"after the {group!r} cases, Ada reads changes in {changed}")
    # Ada's own credentials still work after the failed registrations and logins
    api.client.post(
        "/auth/login", json={"email": "ada@example.com", "password": "correct horse"}
    ).raise_for_status()
    assert not failures, (
        f"{len(failures)} of {len(CASES[group])} {group!r} cases failed:\n" + "\n".join(failures)
    )


# --- what is accepted at the edges, and the idempotent DELETE -----------------------------


def test_limits_that_are_fine(api, ada, world):
    note = "n" * 2000
    fu = api.call(
        "POST", "/followups", ada, 201, json={"jobId": world["job"], "dueAt": OK_DUE, "note": note}
    ).json()
    assert fu["note"] == note
    api.call(
        "PATCH",
        f"/outreach/{world['outreach']}",
        ada,
        200,
        json={"note": "line one\nline two\ttabbed"},
    )
    r = api.call(
        "POST",
        "/followups",
        ada,
        201,
        json={"contactId": world["contact"], "dueAt": "2026-03-06T14:30:00+05:30"},
    )
    assert r.json()["dueAt"] == "2026-03-06T09:00:00Z"
    api.call("POST", "/jobs", ada, 201, json={"company": "c" * 200, "role": "Ünïcødé ✓ 求职"})
    for limit in (1, 500):
        api.call("GET", f"/followups?due=today&limit={limit}", ada, 200)
    assert len(api.call("GET", "/followups?due=today&limit=1", ada, 200).json()) <= 1
    for cadence in (
        {"followupDelaysDays": [365] * 10, "dormantAfterDays": 365},
        {"followupDelaysDays": [1], "dormantAfterDays": 1, "skipWeekends": True},
    ):
        me = api.call("PATCH", "/me", ada, 200, json={"cadence": cadence}).json()
        assert {k: me["cadence"][k] for k in cadence} == cadence
    api.call("PATCH", "/me", ada, 200, json={"timezone": "America/New_York"})
    assert api.call("GET", "/me", ada, 200).json()["timezone"] == "America/New_York"


def test_delete_twice_is_204_both_times_and_a_sent_one_stays_sent(api, ada, world):
    fid = world["open"]
    api.call("DELETE", f"/followups/{fid}", ada, 204)
    first = api.call("GET", f"/followups/{fid}", ada, 200).json()
    assert first["cancelledAt"] is not None and first["sentAt"] is None
    r = api.call("DELETE", f"/followups/{fid}", ada, 204)
    assert r.content == b""
    assert (
        api.call("GET", f"/followups/{fid}", ada, 200).json() == first
    )  # the first cancellation stands
    for method, url in (("PATCH", f"/followups/{fid}"), ("PATCH", f"/followups/{fid}/send")):
        r = api.call(method, url, ada, 409, json={"note": "x"})
        assert r.json()["error"] == "Conflict" and r.json()["detail"]

    sent = api.call("GET", f"/followups/{world['sent']}", ada, 200).json()
    for _ in range(2):
        r = api.call("DELETE", f"/followups/{world['sent']}", ada, 409)
        assert r.json()["error"] == "Conflict" and r.json()["detail"]
    assert api.call("GET", f"/followups/{world['sent']}", ada, 200).json() == sent
