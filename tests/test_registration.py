"""Who may create an account: FOLLOWUPS_REGISTRATION (open, closed, first-user-only)."""

from __future__ import annotations

import threading

import pytest
from fastapi.testclient import TestClient

from followups.config import Settings
from test_cli_verbs import PASSWORD, Cli

BODY = {"password": "correct horse", "timezone": "UTC"}


def registering(app, mode: str) -> None:
    app.state.settings = app.state.settings.model_copy(update={"registration": mode})


def test_the_default_is_first_user_only_on_the_embedded_database_only(monkeypatch):
    monkeypatch.delenv("FOLLOWUPS_DATABASE_URL", raising=False)
    monkeypatch.delenv("FOLLOWUPS_REGISTRATION", raising=False)
    assert Settings().registration_mode == "first-user-only"  # make run: no open sign-up page
    monkeypatch.setenv("FOLLOWUPS_DATABASE_URL", "postgresql+psycopg://u@db/followups")
    assert Settings().registration_mode == "open"  # API.md's contract: a taken email is 409
    monkeypatch.setenv("FOLLOWUPS_DATABASE_URL", "sqlite:///somewhere.db")
    assert Settings().registration_mode == "open"
    monkeypatch.setenv("FOLLOWUPS_REGISTRATION", "closed")
    assert Settings().registration_mode == "closed"
    monkeypatch.setenv("FOLLOWUPS_REGISTRATION", "sometimes")
    with pytest.raises(ValueError, match="registration"):
        Settings()


def test_open_registration_keeps_the_contract(app, api):
    registering(app, "open")
    api.signup("ada@example.com")
    api.signup("bob@example.com")
    r = api.client.post("/auth/register", json={**BODY, "email": "ADA@example.com"})
    assert r.status_code == 409


def test_first_user_only_lets_the_first_in_and_then_tells_nothing(app, api):
    registering(app, "first-user-only")
    api.signup("ada@example.com")
    taken = api.client.post("/auth/register", json={**BODY, "email": "ada@example.com"})
    new = api.client.post("/auth/register", json={**BODY, "email": "eve@example.com"})
    assert taken.status_code == new.status_code == 403
    assert taken.json() == new.json() == {
        "error": "Forbidden",
        "detail": "Registration is closed on this server: its administrator adds accounts"
                  " (followups user add EMAIL).",
    }
    assert api.client.post("/auth/login", json={"email": "eve@example.com", "password": "correct horse"}
                           ).status_code == 401
    # Bad input is still named (it says nothing about accounts).
    assert api.client.post("/auth/register", json={**BODY, "email": "nope"}).status_code == 422


def test_closed_refuses_even_the_first(app, api):
    registering(app, "closed")
    r = api.client.post("/auth/register", json={**BODY, "email": "ada@example.com"})
    assert r.status_code == 403 and "followups user add" in r.json()["detail"]


def test_first_user_only_under_concurrent_first_registrations(app):
    """Eight strangers at once on an empty server: exactly one account."""
    registering(app, "first-user-only")
    codes: list[int] = []
    with TestClient(app) as client:
        barrier = threading.Barrier(8)

        def one(i: int) -> None:
            barrier.wait()
            codes.append(client.post("/auth/register", json={**BODY, "email": f"u{i}@example.com"}).status_code)

        threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(codes) == [201] + [403] * 7


def test_the_cli_adds_users_whatever_the_setting_and_remembers_a_default(db, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    cli = Cli(db.settings.database_url)
    env = {"FOLLOWUPS_REGISTRATION": "closed"}
    for email in ("ada@example.com", "bob@example.com"):
        cli("user", "add", email, "--password-stdin", input=f"{PASSWORD}\n", env=env)
    assert "followups user use EMAIL" in cli.fails("due")
    assert "Verbs now act for bob@example.com" in cli("user", "use", "BOB@example.com").stdout
    cli("outreach", "add", "--contact", "Grace", "--json")
    assert [u["email"] for u in cli.json("user", "list") if u["default"]] == ["bob@example.com"]
    assert len(cli.json("due", "upcoming")) == 1  # bob's
    assert cli.json("due", "upcoming", "--user", "ada@example.com") == []  # --user still wins
    assert "no user 'carol@example.com'" in cli.fails("user", "use", "carol@example.com")
    cli("user", "use", "--clear")
    assert "several users" in cli.fails("due")
