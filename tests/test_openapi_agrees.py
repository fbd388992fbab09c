"""The OpenAPI document and the app agree (what one states, the other does), and the
answers' headers: the methods of a 405, no caching or sniffing of JSON."""

from __future__ import annotations

import pytest


@pytest.fixture
def backend():  # headers and the document: no database behaviour to compare
    return "sqlite"


def _allowed(r) -> set[str]:
    return {m.strip() for m in r.headers["allow"].split(",")}


def test_a_405_names_every_method_of_the_address(api):
    ada = api.signup()
    r = api.call("OPTIONS", "/jobs", ada, 405)
    assert _allowed(r) == {"GET", "POST"}
    r = api.call("PUT", "/followups/some-id", ada, 405)
    assert _allowed(r) == {"GET", "PATCH", "DELETE"}
    assert r.json()["error"] == "MethodNotAllowed"


def test_json_answers_are_neither_cached_nor_sniffed(api):
    ada = api.signup()
    login = api.client.post("/auth/login", json={"email": "ada@example.com", "password": "correct horse"})
    answers = [
        login,  # a bearer token
        api.call("GET", "/followups?due=today", ada, 200),  # the hot list, written by api.wire
        api.call("GET", "/me", ada, 200),
        api.call("GET", "/jobs/nope", ada, 404),
        api.call("POST", "/jobs", ada, 422, json={}),
        api.client.get("/me"),  # 401
    ]
    for r in answers:
        assert r.headers["content-type"].startswith("application/json")
        assert r.headers["cache-control"] == "no-store", r.request.url
        assert r.headers["x-content-type-options"] == "nosniff", r.request.url
    # Answers that set their own keep them.
    static = api.client.get("/static/htmx.min.js")
    assert static.status_code == 200 and static.headers["cache-control"] == "public, max-age=3600"


def test_the_document_states_what_the_app_refuses(app):
    schemas = app.openapi()["components"]["schemas"]
    update = schemas["JobUpdate"]["properties"]
    # Left out is fine, null is refused: the document no longer offers null for them.
    assert update["stage"] == {"$ref": "#/components/schemas/Stage"}
    assert "anyOf" in update["url"]  # null clears the URL
    assert "pattern" in update["company"] and update["company"]["minLength"] == 1
    assert {"required": ["jobId"], "properties": {"jobId": {"type": "string"}}} in schemas["FollowupIn"]["anyOf"]
    assert "Europe/Berlin" in schemas["RegisterIn"]["properties"]["timezone"]["enum"]
    assert schemas["ContactIn"]["properties"]["email"]["anyOf"][0]["format"] == "email"


def test_the_app_takes_what_the_document_allows(api):
    ada = api.signup()
    # JSON Schema's integer includes 3.0; text and booleans stay out.
    me = api.call("PATCH", "/me", ada, 200, json={"cadence": {"followupDelaysDays": [3.0, 4], "dormantAfterDays": 7.0}})
    assert me.json()["cadence"]["followupDelaysDays"] == [3, 4]
    api.call("PATCH", "/me", ada, 422, json={"digestHour": "8"})
    # A holiday is a YYYY-MM-DD date, not a number of seconds.
    api.call("PATCH", "/me", ada, 422, json={"rules": {"holidays": [0]}})
    job = api.call("POST", "/jobs", ada, 201, json={"company": "Acme", "role": "Dev"}).json()
    made = api.call("POST", "/outreach", ada, 201, json={"jobId": job["id"], "channel": "EMAIL"}).json()
    # resumeOn: null with no outcome changes nothing (the document lets it through).
    api.call("PATCH", f"/outreach/{made['id']}", ada, 200, json={"note": "hi", "resumeOn": None})
