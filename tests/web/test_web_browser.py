"""The action center in a real browser: Debian's Chromium driven by Playwright against a
uvicorn started on loopback, time fixed on the server (Thu 5 Mar 2026, 15:00 UTC).

One journey, as a user walks it: register, record outreach, see it in Upcoming, move it
into Today, mark it sent, see attempt 2, cancel it, archive the job and see its item go.
Screenshots of every page land in docs/screenshots/ (from the SQLite run).
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from .conftest import PASSWORD, seed_dormant_lead

# `make screenshots` (FOLLOWUPS_SCREENSHOTS=1) refreshes the README's pictures; a plain
# test run takes them into a temporary folder, so it leaves the work tree as it was.
DOCS_SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 375, "height": 812}
ZONE = "Europe/Berlin"  # the browser's zone: registration guesses it


@pytest.fixture
def shoot(backend, tmp_path):
    shots = DOCS_SHOTS if os.environ.get("FOLLOWUPS_SCREENSHOTS") == "1" else tmp_path / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)

    def take(page: Page, name: str) -> None:
        if backend == "sqlite":  # one set of pictures is enough
            path = shots / f"{name}.png"
            page.screenshot(path=str(path), full_page=True, animations="disabled")
            assert path.stat().st_size > 5_000, f"{name}: the screenshot is empty"

    return take


def tab(page: Page, name: str):
    return page.locator(f"[data-testid=count-{name}]")


def test_the_action_center_journey(chromium, live_server, db, clock, shoot):
    requests: list[str] = []
    # Every console error (a CSP refusal among them) and uncaught exception, on every page.
    errors: list[str] = []
    context = chromium.new_context(viewport=DESKTOP, timezone_id=ZONE, locale="en-GB")
    page = context.new_page()
    page.on("request", lambda r: requests.append(r.url))
    listen_for_errors(page, errors)
    page.set_default_timeout(5000)

    # First start: no account yet, so / leads to registration; the zone is the browser's.
    page.goto(live_server + "/")
    expect(page).to_have_url(re.compile(r"/app/register$"))
    expect(page.get_by_label("Time zone")).to_have_value(ZONE)
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password, again").fill(PASSWORD)
    shoot(page, "register")
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(re.compile(r"/app/today$"))
    expect(page.get_by_text("Nothing due today.")).to_be_visible()

    # Record an outreach: a new job and a new contact typed inline.
    page.get_by_role("link", name="Record outreach").first.click()
    page.get_by_label("or new: company").fill("Acme")
    page.get_by_label("role", exact=True).fill("Backend engineer")
    page.get_by_label("or new: name").fill("Grace Hopper")
    page.get_by_label("Channel").select_option("EMAIL")
    expect(page.get_by_label("Sent on")).to_have_value("2026-03-05")
    page.get_by_label("Note").fill("Applied via the careers page")
    page.get_by_role("button", name="Record outreach").click()
    recorded = page.get_by_test_id("recorded")
    # Sent Thu 5 Mar 16:00 in Berlin: attempt 1 three days later, same local time.
    expect(recorded).to_contain_text("due Sun 8 Mar, 16:00")
    expect(recorded).to_contain_text("Attempt 1: outreach sent Thu 5 Mar + 3 days = Sun 8 Mar")
    shoot(page, "record-outreach")

    # It is in Upcoming, under its local day, with everything the user needs.
    recorded.get_by_role("link", name="See it in Upcoming").click()
    expect(tab(page, "upcoming")).to_have_text("1")
    item = page.get_by_test_id("followup")
    expect(item).to_have_count(1)
    expect(page.locator("h2.day")).to_have_text("Sun 8 Mar (in 3 days)")
    for text in (
        "Acme",
        "Backend engineer",
        "with Grace Hopper",
        "Attempt 1 of 2",
        "via Email",
        "Applied via the careers page",
    ):
        expect(item).to_contain_text(text)
    item.get_by_text("Why is it due?").click()
    expect(item.locator(".why p")).to_have_text(
        "Attempt 1: outreach sent Thu 5 Mar + 3 days = Sun 8 Mar"
    )

    # Move it into Today with "pick a date": the list and the counts update in place.
    # The picker starts on tomorrow 09:00 (never a time already past); 09:00 today is refused.
    url_before = page.url
    item.locator("summary", has_text="Snooze").click()
    expect(item.get_by_label("Pick a date")).to_have_value("2026-03-06")
    item.get_by_label("Pick a date").fill("2026-03-05")
    item.get_by_role("button", name="Move").click()
    expect(page.locator(".flash")).to_have_text("Thu 5 Mar, 09:00 has passed: pick a time still ahead.")
    # The browser logs the refusal it was meant to get; no other error may appear.
    assert len(errors) == 1 and "status of 422" in errors.pop(), errors
    item.locator("summary", has_text="Snooze").click()
    item.get_by_label("Pick a date").fill("2026-03-05")
    item.get_by_label("Time").fill("18:00")
    item.get_by_role("button", name="Move").click()
    expect(page.locator(".flash")).to_have_text("Moved to Thu 5 Mar, 18:00 (Today).")
    expect(tab(page, "today")).to_have_text("1")
    expect(tab(page, "upcoming")).to_have_text("0")
    assert page.url == url_before  # no page load: htmx swapped the panel
    page.locator("[data-tab=today]").click()
    expect(page).to_have_url(re.compile(r"tab=today"))
    expect(item).to_contain_text("due 18:00")
    expect(item.locator(".why p")).to_have_text(
        "Rescheduled by you to Thu 5 Mar", use_inner_text=False
    )
    shoot(page, "today")

    # Mark it sent, with a note: attempt 2 appears in Upcoming.
    item.get_by_label("Note when sent").fill("Also pinged on LinkedIn")
    item.get_by_role("button", name="Mark sent").click()
    expect(page.locator(".flash")).to_have_text(
        "Marked sent. Attempt 2 is due Sun 8 Mar, 16:00 (Upcoming)."
    )
    expect(tab(page, "today")).to_have_text("0")
    expect(tab(page, "upcoming")).to_have_text("1")
    page.locator("[data-tab=upcoming]").click()
    expect(item).to_have_count(1)
    expect(item).to_contain_text("Attempt 2 of 2")
    expect(item.locator(".why p")).to_have_text(
        "Attempt 2: attempt 1 sent Thu 5 Mar + 3 days = Sun 8 Mar", use_inner_text=False
    )

    # Stop following up an hour later (it asks first): gone from the list, kept in the history.
    clock.now += timedelta(hours=1)
    item.locator("summary", has_text="Stop following up").click()
    expect(item).to_contain_text("No more reminders for this follow-up; it stays in the history.")
    item.get_by_role("button", name="Yes, stop following up").click()
    expect(page.locator(".flash")).to_have_text("No more follow-ups on this one; it stays in the history.")
    expect(tab(page, "upcoming")).to_have_text("0")
    expect(item).to_have_count(0)

    # Another hour on, a second outreach, picking the job and the contact from the lists.
    clock.now += timedelta(hours=1)
    page.goto(live_server + "/app/record")
    page.get_by_label("Existing job").select_option(label="Acme – Backend engineer")
    page.get_by_label("Existing contact").select_option(label="Grace Hopper (Acme)")  # kept the job's company
    page.get_by_label("Channel").select_option("LINKEDIN")
    page.get_by_role("button", name="Record outreach").click()
    expect(page.get_by_test_id("recorded")).to_contain_text("due Sun 8 Mar, 18:00")
    page.goto(live_server + "/app/today?tab=upcoming")
    expect(tab(page, "upcoming")).to_have_text("1")
    expect(item).to_contain_text("via LinkedIn")

    # The job's timeline: outreach, the sent and the cancelled attempts, the open one.
    page.get_by_role("link", name="Jobs", exact=True).click()
    expect(page.get_by_test_id("job")).to_contain_text("next follow-up Sun 8 Mar, 18:00")
    shoot(page, "jobs")
    page.get_by_role("link", name="Acme").click()
    timeline = page.locator(".timeline")
    expect(timeline.locator(".what")).to_have_text(
        [
            "Outreach via Email",
            "Attempt 1 of 2 sent (Grace Hopper) was due Thu 5 Mar, 18:00",
            "Attempt 2 of 2 (Grace Hopper) cancelled",
            "Outreach via LinkedIn",
            "Attempt 1 of 2 due (Grace Hopper) open",
        ]
    )
    for text in (
        "Applied via the careers page",
        "Also pinged on LinkedIn",
        "Cancelled by user",
        "Thu 5 Mar, 17:00",
        "Sun 8 Mar, 18:00",
    ):
        expect(timeline).to_contain_text(text)
    shoot(page, "job-timeline")

    # Archive the job: its follow-up leaves Upcoming; unarchive brings it back.
    page.get_by_role("button", name="Archive job").click()
    expect(page.locator(".tag-archived")).to_have_text("archived")
    page.get_by_role("link", name="Today", exact=True).click()
    page.locator("[data-tab=upcoming]").click()
    expect(tab(page, "upcoming")).to_have_text("0")
    expect(page.get_by_test_id("followup")).to_have_count(0)
    expect(page.get_by_text("Nothing in the next 14 days.")).to_be_visible()
    page.goto(live_server + "/app/jobs?archived=1")
    page.get_by_role("button", name="Unarchive job").click()
    page.goto(live_server + "/app/today?tab=upcoming")
    expect(tab(page, "upcoming")).to_have_text("1")

    page.get_by_role("link", name="Contacts").click()
    expect(page.get_by_test_id("contact")).to_contain_text("Grace Hopper")
    shoot(page, "contacts")

    # A lead gone quiet: the bell counts its dormant check; revive it with a new follow-up.
    seed_dormant_lead(db, "ada@example.com", clock.now)
    page.goto(live_server + "/app/today")
    expect(page.get_by_test_id("bell-count")).to_have_text("1")
    page.locator("#bell").click()
    review = page.get_by_test_id("notification")
    expect(review).to_contain_text("Globex – Platform engineer")
    expect(review).to_contain_text("Dormant check: attempt 2 sent")
    expect(review.get_by_role("button", name="Mark dormant")).to_be_visible()
    shoot(page, "notifications")
    review.get_by_label("Note", exact=True).fill("Try the recruiter instead")
    review.get_by_role("button", name="Revive with a new follow-up").click()
    expect(page).to_have_url(re.compile(r"tab=upcoming"))
    expect(page.get_by_test_id("bell-count")).to_have_text("0")
    revived = page.get_by_test_id("followup").filter(has_text="Globex")
    expect(revived).to_contain_text("Try the recruiter instead")
    expect(revived).to_contain_text("Fri 6 Mar, 09:00")

    # Settings: a calendar link to copy, then revoke.
    page.get_by_role("link", name="Settings").click()
    page.get_by_role("button", name="Create a calendar link").click()
    link = page.get_by_label("Calendar link")
    expect(link).to_have_value(re.compile(r"^http://127\.0\.0\.1:\d+/calendar/[\w-]+\.ics$"))
    shoot(page, "settings")
    feed = context.request.get(link.input_value())
    assert feed.ok and "Globex" in feed.text()
    page.get_by_role("button", name="Revoke link").click()
    expect(page.get_by_label("Calendar link")).to_have_count(0)
    assert context.request.get(feed.url).status == 404

    # The same pages on a 375 px wide phone: nothing scrolls sideways.
    phone = chromium.new_context(
        viewport=PHONE,
        timezone_id=ZONE,
        locale="en-GB",
        is_mobile=True,
        storage_state=context.storage_state(),
    )
    small = phone.new_page()
    small.on("request", lambda r: requests.append(r.url))
    listen_for_errors(small, errors)
    for path in (
        "/app/today?tab=upcoming",
        "/app/record",
        "/app/jobs",
        "/app/contacts",
        "/app/notifications",
        "/app/settings",
    ):
        small.goto(live_server + path)
        width = small.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, (path, width)
        # The navigation stays on one line: every link at the same height.
        assert small.evaluate(NAV_LINES) == 1, path
        assert small.evaluate(NAV_FITS), path  # and all of it shows: no link cut off
    small.goto(live_server + "/app/today?tab=upcoming")
    small.get_by_test_id("followup").first.locator("summary", has_text="Snooze").click()
    assert small.evaluate("document.documentElement.scrollWidth") <= 375
    shoot(small, "today-375px")
    phone.close()

    # Signing out leads to the sign-in page; signing in again leads to Today.
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/app/login$"))
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    shoot(page, "sign-in")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/app/today$"))
    context.close()

    hosts = {urlsplit(url).hostname for url in requests}
    assert hosts == {"127.0.0.1"}, hosts
    assert errors == []


NAV_LINES = "new Set([...document.querySelectorAll('.main-nav a')].map(a => a.getBoundingClientRect().top)).size"
NAV_FITS = "(n => n.scrollWidth <= n.clientWidth)(document.querySelector('.main-nav'))"


def listen_for_errors(page: Page, errors: list[str]) -> None:
    page.on("console", lambda m: errors.append(f"{page.url}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))


def test_the_keyboard_alone_can_mark_a_follow_up_sent(chromium, live_server, web, clock):
    """Tab to the button and press Enter: no mouse needed."""
    web.register()
    web.post(
        "/app/record",
        {"channel": "EMAIL", "date": "2026-03-05", "new_company": "Initech", "new_role": "SRE"},
        page="/app/record",
    )
    context = chromium.new_context(viewport=DESKTOP)
    context.add_cookies(
        [
            {
                "name": "followups_session",
                "value": web.client.cookies["followups_session"],
                "url": live_server,
            }
        ]
    )
    page = context.new_page()
    page.goto(live_server + "/app/today?tab=upcoming")
    page.get_by_label("Note when sent").focus()
    page.keyboard.type("sent from the keyboard")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Mark sent")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator(".flash")).to_contain_text("Marked sent. Attempt 2 is due")
    expect(page.locator(".flash")).to_be_focused()
    context.close()
