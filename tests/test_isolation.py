"""One user can neither see nor touch another user's records.

A stranger's id answers exactly like a missing one: 404 with the error body, and
nothing of the owner's changes. The walk enumerates every route of the app whose
path takes an id, so a route added later is covered (or the test fails until it is
taught which id to use).
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from fastapi.routing import APIRoute

BOB = "bob@example.com"

# Which of Ada's records a path parameter names.
PARAM_KINDS = {
    "job_id": "job",
    "contact_id": "contact",
    "outreach_id": "outreach",
    "followup_id": "followup",
    "notification_id": "notification",
}

# A valid body per (method, path): valid, so a 404 cannot hide behind a 422, and
# harmful, so a missing ownership check would show up as a change to Ada's records.
BODIES = {
    ("PATCH", "/jobs/{job_id}"): {"company": "Hijacked", "stage": "REJECTED", "archived": True},
    ("PATCH", "/contacts/{contact_id}"): {"name": "Hijacked", "archived": True},
    ("PATCH", "/outreach/{outreach_id}"): {"outcome": "POSITIVE", "note": "hijacked"},
    ("PATCH", "/followups/{followup_id}"): {"dueAt": "2026-04-01T09:00:00Z", "note": "hijacked"},
    ("PATCH", "/followups/{followup_id}/send"): {"note": "hijacked"},
}

PARAM = re.compile(r"{([^}:]+)(?::[^}]*)?}")
# Routes whose path parameter is a secret token rather than the id of a record: the
# token is the credential, so they are checked with an unknown token instead.
SECRET_PATH = re.compile(r"^/calendar/")


def flat_routes(routes, prefix: str = ""):
    """(full path, route) for every endpoint under `routes`, descending into included
    routers (FastAPI keeps them as one entry of `app.routes` with `original_router`)
    and mounts."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            context = getattr(route, "include_context", None)
            yield from flat_routes(included.routes, prefix + getattr(context, "prefix", ""))
        elif getattr(route, "path", None) is None:
            continue
        elif getattr(route, "methods", None) is None and getattr(route, "routes", None):
            yield from flat_routes(route.routes, prefix + route.path)
        else:
            yield prefix + route.path, route


def id_routes(app) -> list[tuple[str, str, list[str]]]:
    """(method, path, [param names]) for every route whose path takes a parameter."""
    found = []
    for path, route in flat_routes(app.routes):
        if "{" not in path or SECRET_PATH.match(path) or PAGES.match(path):
            continue
        methods = sorted(set(getattr(route, "methods", None) or []) - {"HEAD", "OPTIONS"})
        assert methods, f"route {path} has no methods to walk"
        for method in methods:
            found.append((method, path, PARAM.findall(path)))
    # the published schema must not know of an id route that the walk missed
    listed = {(m, p) for m, p, _ in found}
    for path, item in app.openapi()["paths"].items():
        if "{" in path and not SECRET_PATH.match(path):
            for method in item:
                assert (method.upper(), path) in listed, f"{method.upper()} {path} is not walked"
    return found


def assert_not_found(r, what: str) -> dict:
    assert r.status_code == 404, f"{what}: expected 404, got {r.status_code} {r.text}"
    body = r.json()
    assert body.get("error") == "NotFound", f"{what}: {body}"
    assert isinstance(body.get("detail"), str) and body["detail"], f"{what}: {body}"
    assert "fields" not in body, f"{what}: {body}"
    return body


def assert_unauthorized(r, what: str) -> None:
    assert r.status_code == 401, f"{what}: expected 401, got {r.status_code} {r.text}"
    body = r.json()
    assert body.get("error") == "Unauthorized", f"{what}: {body}"
    assert isinstance(body.get("detail"), str) and body["detail"], f"{what}: {body}"


def seed(api, ada) -> dict:
    """Ada's records: one of each kind, and a follow-up in each state worth guarding."""
    job = api.call("POST", "/jobs", ada, 201, json={"company": "Acme", "role": "Engineer"}).json()
    contact = api.call(
        "POST", "/contacts", ada, 201, json={"name": "Grace", "email": "grace@acme.test"}
    ).json()
    first = api.call(
        "POST",
        "/outreach",
        ada,
        201,
        json={"jobId": job["id"], "contactId": contact["id"], "channel": "EMAIL", "note": "hello"},
    ).json()
    attempt1 = first["followup"]
    assert attempt1 and attempt1["attemptNo"] == 1
    api.call("PATCH", f"/followups/{attempt1['id']}/send", ada, 200)
    attempt2 = [
        f
        for f in api.call("GET", "/followups?due=upcoming", ada, 200).json()
        if f["outreachId"] == first["id"] and f["attemptNo"] == 2
    ]
    assert len(attempt2) == 1, attempt2
    attempt2 = attempt2[0]
    api.call("PATCH", f"/followups/{attempt2['id']}/send", ada, 200)
    notes = api.call("GET", "/notifications?scope=upcoming", ada, 200).json()
    dormant = [n for n in notes if n["kind"] == "dormant_candidate"]
    assert len(dormant) == 1, notes
    # A second outreach whose attempt 1 stays open.
    second = api.call(
        "POST", "/outreach", ada, 201, json={"contactId": contact["id"], "channel": "LINKEDIN"}
    ).json()
    open_fu = second["followup"]
    assert open_fu and open_fu["sentAt"] is None
    manual = api.call(
        "POST",
        "/followups",
        ada,
        201,
        json={"jobId": job["id"], "dueAt": "2026-03-05T17:00:00Z", "note": "call"},
    ).json()
    return {
        "job": [job["id"]],
        "contact": [contact["id"]],
        "outreach": [first["id"], second["id"]],
        # open ones first: a missing ownership check would change them
        "followup": [open_fu["id"], manual["id"], attempt2["id"], attempt1["id"]],
        "notification": [dormant[0]["id"]],
    }


LISTS = [
    "/jobs",
    "/jobs?archived=true",
    "/jobs?archived=false",
    "/contacts",
    "/contacts?archived=true",
    "/contacts?archived=false",
    "/outreach",
    "/followups?due=today",
    "/followups?due=overdue",
    "/followups?due=upcoming",
    *[
        f"/notifications?scope={s}&seen={seen}"
        for s in ("today", "overdue", "upcoming")
        for seen in ("false", "true")
    ],
]


def snapshot(api, headers, ids: dict | None = None) -> dict:
    """Everything a user can read: every list, /me, and each record by id."""
    snap = {url: api.call("GET", url, headers, 200).json() for url in LISTS}
    snap["/me"] = api.call("GET", "/me", headers, 200).json()
    for kind, url in (
        ("job", "/jobs/{}"),
        ("contact", "/contacts/{}"),
        ("followup", "/followups/{}"),
    ):
        for rid in (ids or {}).get(kind, []):
            snap[url.format(rid)] = api.call("GET", url.format(rid), headers, 200).json()
    return snap


def test_every_id_route_answers_404_for_another_users_ids(api, app, ada):
    ids = seed(api, ada)
    before = snapshot(api, ada, ids)
    bob = api.signup(BOB)

    routes = id_routes(app)
    assert routes, "the app has no routes with an id"
    unknown = sorted({p for _m, path, params in routes for p in params if p not in PARAM_KINDS})
    assert not unknown, f"routes take ids this walk does not know how to fill: {unknown}"

    # secret-path routes: an unknown secret is a 404 with the error body, never a 500
    for path, route in flat_routes(app.routes):
        if SECRET_PATH.match(path) and "{" in path:
            url = PARAM.sub(lambda _m: "not-a-real-secret", path)
            for method in sorted(set(getattr(route, "methods", None) or []) - {"HEAD", "OPTIONS"}):
                assert_not_found(api.call(method, url, bob), f"Bob {method} {url}")

    walked = set()
    for method, path, params in routes:
        # every combination is one request per id of the first parameter's kind; the
        # others (none today) take their first id
        kind = PARAM_KINDS[params[0]]
        for rid in ids[kind]:
            values = {p: ids[PARAM_KINDS[p]][0] for p in params}
            values[params[0]] = rid
            url = path.format(**values)
            body = BODIES.get((method, path))
            kw = {"json": body} if body is not None else {}
            what = f"Bob {method} {url} ({kind} of Ada)"
            got = assert_not_found(api.call(method, url, bob, **kw), what)

            # exactly like a missing id: same status, kind and sentence but for the id
            missing = str(uuid.uuid4())
            missing_url = path.format(**{p: missing for p in params})
            other = assert_not_found(
                api.call(method, missing_url, bob, **kw), f"Bob {method} {missing_url}"
            )
            assert got["detail"].replace(rid, "<id>") == other["detail"].replace(missing, "<id>"), (
                f"{what}: a stranger's id answers unlike a missing one: {got} vs {other}"
            )
            walked.add((method, path))

    assert walked == {(m, p) for m, p, _ in routes}, "some routes with an id were not exercised"

    # query-string ids
    for query in (
        f"jobId={ids['job'][0]}",
        f"contactId={ids['contact'][0]}",
        f"jobId={ids['job'][0]}&contactId={ids['contact'][0]}",
    ):
        assert_not_found(api.call("GET", f"/outreach?{query}", bob), f"Bob GET /outreach?{query}")

    # ids in bodies: creating against Ada's job or contact is 404 and writes nothing
    for url, body in (
        ("/outreach", {"jobId": ids["job"][0], "channel": "EMAIL"}),
        ("/outreach", {"contactId": ids["contact"][0], "channel": "EMAIL"}),
        ("/followups", {"jobId": ids["job"][0], "dueAt": "2026-03-06T09:00:00Z"}),
        ("/followups", {"contactId": ids["contact"][0], "dueAt": "2026-03-06T09:00:00Z"}),
    ):
        assert_not_found(api.call("POST", url, bob, json=body), f"Bob POST {url} {body}")

    # Bob sees nothing, owns nothing; Ada's records are as they were
    for url, value in snapshot(api, bob).items():
        if url != "/me":
            assert value == [], f"Bob GET {url}: {value}"
    after = snapshot(api, ada, ids)
    for key in before:
        assert after[key] == before[key], f"Ada's {key} changed after Bob's walk"
    # and Ada still reaches her own records through the same routes
    api.call("GET", f"/outreach?jobId={ids['job'][0]}", ada, 200)
    api.call("PATCH", f"/notifications/{ids['notification'][0]}/send", ada, 200)


def test_own_records_through_another_users_token_after_both_act(api, ada):
    """Two users with records of their own each see exactly theirs."""
    bob = api.signup(BOB)
    a = api.call("POST", "/jobs", ada, 201, json={"company": "A", "role": "r"}).json()
    b = api.call("POST", "/jobs", bob, 201, json={"company": "B", "role": "r"}).json()
    assert [j["id"] for j in api.call("GET", "/jobs", ada, 200).json()] == [a["id"]]
    assert [j["id"] for j in api.call("GET", "/jobs", bob, 200).json()] == [b["id"]]
    assert_not_found(api.call("GET", f"/jobs/{b['id']}", ada), "Ada GET Bob's job")
    assert_not_found(api.call("GET", f"/jobs/{a['id']}", bob), "Bob GET Ada's job")


# --- authentication -----------------------------------------------------------------

# Needs no bearer token. The calendar feed (`/calendar/{token}.ics`) is public: its
# secret path is the credential.
PUBLIC = re.compile(r"^/(health|ready|metrics|auth/|docs|redoc|openapi|calendar/)")
# The action center's pages: cookie sessions, HTML answers; tests/web walks them.
PAGES = re.compile(r"^/(app(/|$)|$)")


def protected_requests(app) -> list[tuple[str, str]]:
    out = []
    for path, route in flat_routes(app.routes):
        if not isinstance(route, APIRoute) or PUBLIC.match(path) or PAGES.match(path):
            continue
        url = PARAM.sub(lambda _m: str(uuid.uuid4()), path)
        out += [(method, url) for method in sorted(route.methods)]
    return out


BAD_AUTH = {
    "none": {},
    "wrong token": {"Authorization": "Bearer not-a-real-token"},
    "empty bearer": {"Authorization": "Bearer "},
    "basic scheme": {"Authorization": "Basic YWRhOmNvcnJlY3QgaG9yc2U="},
    "no scheme": {"Authorization": "not-a-real-token"},
}


@pytest.mark.parametrize("case", list(BAD_AUTH))
def test_protected_routes_need_a_valid_token(api, app, ada, case):
    before = snapshot(api, ada)
    requests = protected_requests(app)
    assert ("GET", "/me") in requests and ("POST", "/jobs") in requests
    for method, url in requests:
        kw = {"json": {}} if method in ("POST", "PATCH", "PUT") else {}
        assert_unauthorized(api.call(method, url, BAD_AUTH[case], **kw), f"{case}: {method} {url}")
    # a valid body on a write, too: still 401 and nothing written
    r = api.call("POST", "/jobs", BAD_AUTH[case], json={"company": "X", "role": "Y"})
    assert_unauthorized(r, f"{case}: POST /jobs with a valid body")
    assert snapshot(api, ada) == before


def test_ada_token_with_bearer_case_and_logout_and_expiry(api, ada, clock):
    token = ada["Authorization"].split(" ", 1)[1]
    api.call("GET", "/me", {"Authorization": f"bearer {token}"}, 200)
    assert_unauthorized(
        api.call("GET", "/me", {"Authorization": f"Bearer {token}x"}), "altered token"
    )

    # an expired token
    api.signup("grace@example.com")
    grace = api.users["grace@example.com"]
    saved = clock.now
    clock.now = saved + timedelta(days=3650)
    assert_unauthorized(api.call("GET", "/me", grace), "token ten years later")
    clock.now = saved
    api.call("GET", "/me", grace, 200)

    # a revoked token
    api.call("POST", "/auth/logout", ada, 204)
    assert_unauthorized(api.call("GET", "/me", ada), "token after logout")
    assert_unauthorized(api.call("GET", "/jobs", ada), "token after logout")


def test_health_needs_no_token(api):
    r = api.call("GET", "/health", {}, 200)
    assert r.json() == {"status": "ok"}
    api.call("GET", "/health", {"Authorization": "Bearer not-a-real-token"}, 200)
