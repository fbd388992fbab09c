"""Edge guards: body size, login rate limits, token revocation, no secrets in answers or logs."""

from __future__ import annotations

import logging
import time

import httpx
import pytest
from sqlalchemy import func, select

from followups.models import Job


def test_a_ten_megabyte_body_is_refused_early_with_413(api, ada, db):
    big = b'{"company": "' + b"x" * 10_000_000 + b'", "role": "r"}'
    start = time.perf_counter()
    r = api.client.post("/jobs", content=big, headers={**ada, "content-type": "application/json"})
    assert r.status_code == 413 and r.json()["error"] == "PayloadTooLarge"
    assert time.perf_counter() - start < 2

    def chunks():
        for _ in range(100):
            yield b"x" * 100_000

    r = api.client.post("/jobs", content=chunks(), headers={**ada, "content-type": "application/json"})
    assert r.status_code == 413
    with db.transaction(write=False) as s:
        assert s.scalar(select(func.count()).select_from(Job)) == 0


def test_deeply_nested_json_is_a_clear_4xx(api, ada):
    body = '{"company": ' + "[" * 50_000 + "]" * 50_000 + ', "role": "x"}'
    r = api.client.post("/jobs", content=body, headers={**ada, "content-type": "application/json"})
    assert r.status_code in (400, 422) and r.json()["detail"]


def test_failed_logins_are_limited_per_account_with_429(api):
    api.signup("victim@example.com")
    for _ in range(10):
        r = api.client.post("/auth/login", json={"email": "victim@example.com", "password": "guess-guess"})
        assert r.status_code == 401
    r = api.client.post("/auth/login", json={"email": "victim@example.com", "password": "correct horse"})
    assert r.status_code == 429 and r.json()["error"] == "TooManyRequests"
    assert int(r.headers["retry-after"]) > 0 and "try again" in r.json()["detail"]
    # Another account from the same address still signs in.
    api.signup("other@example.com")


def test_failed_logins_are_limited_per_address(app, api):
    from followups.api.limits import LoginLimiter

    app.state.login_limiter = LoginLimiter("100 per 15 minutes", "5 per 15 minutes")
    for i in range(5):
        r = api.client.post("/auth/login", json={"email": f"nobody{i}@example.com", "password": "whatever1"})
        assert r.status_code == 401
    r = api.client.post("/auth/login", json={"email": "someone@example.com", "password": "whatever1"})
    assert r.status_code == 429


def test_an_attacker_elsewhere_does_not_lock_the_owner_out(app, live_url):
    """The account's limit counts per account and address: ten wrong guesses from 127.0.0.2
    lock that address out of the account, not the owner signing in from 127.0.0.1."""
    def client(address: str) -> httpx.Client:
        return httpx.Client(base_url=live_url, timeout=30, transport=httpx.HTTPTransport(local_address=address))

    with client("127.0.0.1") as owner, client("127.0.0.2") as attacker:
        owner.post("/auth/register", json={"email": "victim@example.com", "password": "correct horse"})
        for _ in range(10):
            r = attacker.post("/auth/login", json={"email": "victim@example.com", "password": "guess-guess"})
            assert r.status_code == 401
        r = attacker.post("/auth/login", json={"email": "victim@example.com", "password": "correct horse"})
        assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
        assert owner.post("/auth/login", json={"email": "victim@example.com",
                                               "password": "correct horse"}).status_code == 200
        # The owner's success clears nothing of the attacker's count.
        r = attacker.post("/auth/login", json={"email": "victim@example.com", "password": "correct horse"})
        assert r.status_code == 429


def test_logout_all_revokes_every_token(api):
    first = api.signup("many@example.com")
    second = {"Authorization": "Bearer " + api.client.post(
        "/auth/login", json={"email": "many@example.com", "password": "correct horse"}).json()["accessToken"]}
    assert api.client.get("/me", headers=second).status_code == 200
    assert api.client.post("/auth/logout-all", headers=first).status_code == 204
    assert api.client.get("/me", headers=first).status_code == 401
    assert api.client.get("/me", headers=second).status_code == 401


def test_no_secret_in_answers_or_logs(api, caplog):
    caplog.set_level(logging.DEBUG)
    headers = api.signup("secret@example.com")
    token = headers["Authorization"].removeprefix("Bearer ")
    me = api.call("PATCH", "/me", headers, 200,
                  json={"webhook": {"url": "https://example.com/hook", "secret": "hook-secret-0123456789"}}).text
    answers = me + api.call("GET", "/me", headers, 200).text
    assert "hook-secret-0123456789" not in answers and "argon2" not in answers and "correct horse" not in answers
    api.client.post("/auth/login", json={"email": "secret@example.com", "password": "wrong password!"})
    logged = caplog.text
    for secret in (token, "correct horse", "wrong password!", "hook-secret-0123456789"):
        assert secret not in logged


HOSTILE_TEXT = [
    "Robert'); DROP TABLE job;--",
    "' OR '1'='1",
    "x%' OR 1=1 --",
    "名前 – Ünïcödé ✓ 🚀",
    "\u202eevil\u202c right-to-left",
    "<script>alert(1)</script>",
]


def test_hostile_but_valid_text_is_stored_verbatim_and_harms_nothing(api, ada):
    ids = []
    for text in HOSTILE_TEXT:
        job = api.call("POST", "/jobs", ada, 201, json={"company": text, "role": text, "url": text}).json()
        assert job["company"] == text and job["role"] == text
        ids.append(job["id"])
        o = api.call("POST", "/outreach", ada, 201, json={"jobId": job["id"], "channel": "OTHER", "note": text}).json()
        assert o["note"] == text and o["followup"]["job"]["company"] == text
    listed = {j["id"]: j["company"] for j in api.call("GET", "/jobs", ada, 200).json()}
    assert listed == dict(zip(ids, HOSTILE_TEXT, strict=True))
    assert len(api.call("GET", "/followups?due=upcoming", ada, 200).json()) == len(HOSTILE_TEXT)


@pytest.mark.parametrize("instant", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "1969-12-31T23:59:59Z",
                                     "3000-01-01T00:00:00Z", "2026-03-05T10:00:00+25:00"])
def test_far_instants_are_422_and_nothing_is_written(api, ada, instant):
    job = api.call("POST", "/jobs", ada, 201, json={"company": "A", "role": "B"}).json()
    r = api.call("POST", "/followups", ada, 422, json={"jobId": job["id"], "dueAt": instant})
    assert r.json()["fields"][0]["field"] == "dueAt"
    r = api.call("POST", "/outreach", ada, 422, json={"jobId": job["id"], "channel": "EMAIL", "sentAt": instant})
    assert r.json()["fields"][0]["field"] == "sentAt"
    assert all(api.call("GET", f"/followups?due={b}", ada, 200).json() == [] for b in ("today", "overdue", "upcoming"))
    assert api.call("GET", "/outreach", ada, 200).json() == []
