"""The registration page under FOLLOWUPS_REGISTRATION=first-user-only."""

from __future__ import annotations

from .conftest import PASSWORD


def registering(app, mode: str) -> None:
    app.state.settings = app.state.settings.model_copy(update={"registration": mode})


def test_the_pages_say_registration_is_closed(app, web):
    registering(app, "first-user-only")
    page = web.get("/app/register")
    assert page.status_code == 200 and 'name="password_again"' in page.text  # no account yet
    web.register("ada@example.com")
    web.client.cookies.clear()
    page = web.get("/app/register")
    assert "Registration is closed on this server" in page.text and 'name="password_again"' not in page.text
    token = web.token("/app/login")
    r = web.client.post("/app/register", data={"csrf_token": token, "email": "eve@example.com",
                                               "password": PASSWORD, "password_again": PASSWORD,
                                               "timezone": "UTC"}, follow_redirects=False)
    assert r.status_code == 403 and "Registration is closed" in r.text
