"""Accounts, tokens and the user's settings."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from followups.models import ApiToken, User


def test_register_login_me(api):
    r = api.client.post("/auth/register", json={"email": "Lin@Example.com", "password": "12345678",
                                                 "timezone": "Europe/Berlin"})
    assert r.status_code == 201
    body = r.json()
    assert set(body) == {"id", "email", "timezone"} and body["timezone"] == "Europe/Berlin"
    login = api.client.post("/auth/login", json={"email": "lin@example.com", "password": "12345678"})
    assert login.status_code == 200 and login.json()["tokenType"] == "bearer"
    me = api.client.get("/me", headers={"Authorization": f"Bearer {login.json()['accessToken']}"}).json()
    assert me["id"] == body["id"]
    assert me["cadence"] == {"followupDelaysDays": [3, 3], "dormantAfterDays": 7, "skipWeekends": False}


def test_timezone_defaults_to_utc_and_taken_email_is_409(api):
    first = api.client.post("/auth/register", json={"email": "a@example.com", "password": "12345678"})
    assert first.json()["timezone"] == "UTC"
    again = api.client.post("/auth/register", json={"email": "A@EXAMPLE.COM", "password": "abcdefgh"})
    assert again.status_code == 409 and again.json()["error"] == "Conflict"


@pytest.mark.parametrize("password", ["12345678x", "wrong-password"])
def test_wrong_pair_is_401(api, password):
    api.signup("b@example.com")
    r = api.client.post("/auth/login", json={"email": "b@example.com", "password": password + "!"})
    assert r.status_code == 401 and r.json()["error"] == "Unauthorized"
    r = api.client.post("/auth/login", json={"email": "nobody@example.com", "password": password})
    assert r.status_code == 401


def test_passwords_are_argon2_and_tokens_stored_hashed(api, db):
    headers = api.signup("c@example.com")
    token = headers["Authorization"].removeprefix("Bearer ")
    with db.transaction(write=False) as s:
        user = s.scalar(select(User).where(User.email_key == "c@example.com"))
        assert user.password_hash.startswith("$argon2id$") and "correct horse" not in user.password_hash
        stored = s.scalars(select(ApiToken.token_hash)).all()
    assert token not in stored and len(stored) == 1


def test_a_token_carries_its_user_id_and_only_its_own_secret_signs_in(api):
    ada = api.signup("ada@example.com")
    bob = api.signup("bob@example.com")
    ada_token = ada["Authorization"].removeprefix("Bearer ")
    ada_id, dot, secret = ada_token.partition(".")
    assert dot and api.call("GET", "/me", ada, 200).json()["id"] == ada_id
    bob_id = api.call("GET", "/me", bob, 200).json()["id"]
    for forged in (f"{bob_id}.{secret}", f"not-an-id.{secret}", secret, f"{ada_id}.", "."):
        r = api.call("GET", "/me", {"Authorization": f"Bearer {forged}"}, 401)
        assert r.json()["error"], forged


def test_logout_revokes_the_token(api):
    headers = api.signup("d@example.com")
    assert api.client.get("/me", headers=headers).status_code == 200
    assert api.client.post("/auth/logout", headers=headers).status_code == 204
    assert api.client.get("/me", headers=headers).status_code == 401


def test_patch_me_replaces_timezone_and_cadence(api):
    headers = api.signup("e@example.com")
    me = api.call("PATCH", "/me", headers, 200, json={"timezone": "Asia/Kolkata"}).json()
    assert me["timezone"] == "Asia/Kolkata" and me["cadence"]["followupDelaysDays"] == [3, 3]
    cadence = {"followupDelaysDays": [2], "dormantAfterDays": 14, "skipWeekends": True}
    assert api.call("PATCH", "/me", headers, 200, json={"cadence": cadence}).json()["cadence"] == cadence
    # Replaced whole: omitted members take their defaults.
    partial = api.call("PATCH", "/me", headers, 200, json={"cadence": {"followupDelaysDays": [5]}}).json()
    assert partial["cadence"] == {"followupDelaysDays": [5], "dormantAfterDays": 7, "skipWeekends": False}
    assert api.call("GET", "/me", headers, 200).json()["timezone"] == "Asia/Kolkata"


def test_without_a_valid_token_the_hot_routes_answer_401_before_judging_the_request(api, ada):
    """The list and mark-sent sign in after FastAPI validated their parameters and body; an
    invalid request with a token that signs no one in is still a 401, as on every route."""
    bad = {"Authorization": "Bearer not-a-token"}
    forged = {"Authorization": "Bearer 00000000-0000-0000-0000-000000000000.secret"}
    for headers in (bad, forged):
        r = api.call("GET", "/followups?due=someday", headers, 401)
        assert r.headers["WWW-Authenticate"] == "Bearer"
        api.call("PATCH", "/followups/not-an-id/send", headers, 401, json={"sentAt": [1]})
    # With a valid token the same request is judged: 422 naming the field.
    r = api.call("GET", "/followups?due=someday", ada, 422)
    assert r.json()["fields"][0]["field"] == "due"
