"""The drafted email on the Today page and the templates on the settings page, as a user
sees them: Debian's Chromium against a live server (with and without JavaScript), and
plain form posts."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import expect

from .conftest import PASSWORD

DESKTOP = {"width": 1280, "height": 860}
re_hi = re.compile(r"^Hi Dana,\n")


def api_headers(web, email="ada@example.com") -> dict:
    r = web.client.post("/auth/login", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['accessToken']}"}


def email_outreach(web, headers, channel="EMAIL") -> str:
    """An outreach to Dana on 1 March about a job: its attempt 1 is overdue on 5 March."""
    j = web.client.post("/jobs", json={"company": "Acme & Sons", "role": "Backend engineer"}, headers=headers).json()
    c = web.client.post("/contacts", json={"name": "Dana Scully", "email": "dana+jobs@example.org"},
                        headers=headers).json()
    o = web.client.post("/outreach", headers=headers, json={
        "jobId": j["id"], "contactId": c["id"], "channel": channel, "sentAt": "2026-03-01T10:00:00Z",
        "note": "Backend engineer role?",
    })
    assert o.status_code == 201, o.text
    return o.json()["followup"]["id"]


def signed_in_context(chromium, web, live_server, **options):
    context = chromium.new_context(viewport=DESKTOP, **options)
    context.add_cookies([{"name": "followups_session", "value": web.client.cookies["followups_session"],
                          "url": live_server}])
    return context


def test_today_offers_the_draft_to_copy_and_a_mailto_link(chromium, live_server, web):
    web.register()
    headers = api_headers(web)
    fid = email_outreach(web, headers)
    draft = web.client.get(f"/followups/{fid}/draft", headers=headers).json()
    context = signed_in_context(chromium, web, live_server)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    page = context.new_page()
    page.set_default_timeout(5000)
    page.goto(live_server + "/app/today?tab=overdue")
    item = page.get_by_test_id("followup")
    text = item.get_by_test_id("draft-text")
    expect(text).to_be_hidden()  # folded away until asked for
    item.get_by_text("Draft", exact=True).click()
    expect(text).to_be_visible()
    expect(text).to_have_value(draft["body"])
    expect(item.get_by_test_id("draft-subject")).to_have_text("Re: Backend engineer role?")
    expect(item).to_contain_text("Dana Scully <dana+jobs@example.org>")
    link = item.get_by_test_id("mailto")
    assert link.get_attribute("href") == draft["mailto"]
    parts = urlsplit(draft["mailto"])
    assert parts.path == "dana%2Bjobs@example.org"  # a literal + would read as a space
    assert parse_qs(parts.query)["subject"] == ["Re: Backend engineer role?"]
    item.get_by_role("button", name="Copy").click()
    expect(item.locator("[data-copy-status]")).to_have_text("Copied.")
    assert page.evaluate("navigator.clipboard.readText()") == draft["body"]
    # The page as it was: the other actions are all still there.
    for name in ("Mark sent", "Send now"):
        expect(item.get_by_role("button", name=name)).to_have_count(1)
    expect(item.get_by_text("Stop following up", exact=True)).to_have_count(1)  # asks first
    context.close()


def test_without_javascript_the_draft_is_selectable_text(chromium, live_server, web):
    web.register()
    email_outreach(web, api_headers(web))
    context = signed_in_context(chromium, web, live_server, java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(5000)
    page.goto(live_server + "/app/today?tab=overdue")
    page.get_by_text("Draft", exact=True).click()
    text = page.get_by_test_id("draft-text")
    expect(text).to_be_visible()
    expect(text).to_have_js_property("readOnly", True)
    expect(text).to_have_value(re_hi)
    expect(page.get_by_role("button", name="Copy")).to_be_hidden()  # it needs the script
    expect(page.get_by_text("Select the text to copy it.")).to_be_visible()
    context.close()


def test_no_draft_for_a_linkedin_followup(web):
    web.register()
    email_outreach(web, api_headers(web), channel="LINKEDIN")
    html = web.get("/app/today?tab=overdue").text
    assert 'data-testid="followup"' in html and 'data-testid="draft"' not in html


def test_templates_are_edited_on_the_settings_page(chromium, live_server, web):
    web.register()
    headers = api_headers(web)
    email_outreach(web, headers)
    context = signed_in_context(chromium, web, live_server)
    page = context.new_page()
    page.set_default_timeout(5000)
    page.goto(live_server + "/app/settings")
    first = page.get_by_test_id("template-attempt1")
    expect(first).to_contain_text("(default)")
    body = first.get_by_label("Message")
    body.fill("Hello {{ frist_name }}")
    page.get_by_role("button", name="Save templates").click()
    expect(first.locator(".error")).to_contain_text("Line 1: unknown variable 'frist_name'")
    expect(body).to_have_value("Hello {{ frist_name }}")  # what was typed stays to be fixed
    body.fill("Hello {{ first_name }} at {{ company }}, {{ days_since }} days on.")
    page.get_by_role("button", name="Save templates").click()
    expect(page.locator(".flash")).to_have_text("Message templates saved; drafts use them from now on.")
    page.goto(live_server + "/app/today?tab=overdue")
    page.get_by_text("Draft", exact=True).click()
    expect(page.get_by_test_id("draft-text")).to_have_value("Hello Dana at Acme & Sons, 4 days on.\n")
    page.goto(live_server + "/app/settings")
    page.get_by_test_id("template-attempt1").get_by_role("button", name="Restore the default").click()
    expect(page.locator(".flash")).to_have_text("That template is back to the default.")
    expect(page.get_by_test_id("template-attempt1")).to_contain_text("(default)")
    context.close()
