"""The reply-rates page: the numbers per channel and attempt, the adaptive sentence, a phone."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import update

from followups.models import Outreach, User

from .conftest import user_of

NOW_FIELDS = ("created_at", "updated_at")


def _answered(db, email: str, now, replies: list[tuple[str, float | None]]) -> None:
    """Outreach sent at `now` on a channel, answered after the given days (None: unknown;
    a negative number: never answered)."""
    with db.transaction() as s:
        user = user_of(s, email)
        for channel, days in replies:
            answered = days is None or days >= 0
            s.add(
                Outreach(
                    user_id=user.id,
                    channel=channel,
                    sent_at=now,
                    outcome="POSITIVE" if answered else "NO_RESPONSE",
                    replied_at=now + timedelta(days=days) if days is not None and days >= 0 else None,
                    **dict.fromkeys(NOW_FIELDS, now),
                )
            )


def _cells(html: str, channel: str) -> list[list[str]]:
    section = html.split(f'id="channel-{channel}"')[1].split("</section>")[0]
    rows = re.findall(r"<tr>(.*?)</tr>", section, re.S)[1:]  # after the header
    return [re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row) for row in rows]


def test_the_stats_page_shows_rates_per_channel_and_attempt(web, db, clock):
    web.register()
    r = web.get("/app/stats")
    assert r.status_code == 200
    assert "No outreach yet" in r.text and "They need 5 more replies" in r.text
    assert 'href="/app/stats" aria-current="page"' in r.text  # the nav link, current
    # EMAIL: answered after 1 and 3 days, one with an unknown time, one never; PHONE: 2 days.
    _answered(db, "ada@example.com", clock.now, [("EMAIL", 1), ("EMAIL", 3), ("EMAIL", None), ("EMAIL", -1)])
    _answered(db, "ada@example.com", clock.now, [("PHONE", 2)])
    # Another user's data never shows.
    web.client.cookies.clear()
    web.register("bob@example.com")
    _answered(db, "bob@example.com", clock.now, [("LINKEDIN", 9)] * 6)
    web.client.cookies.clear()
    r = web.post("/app/login", {"email": "ada@example.com", "password": "correct horse battery"}, page="/app/login")
    assert r.status_code == 303
    html = web.get("/app/stats").text
    assert 'id="channel-linkedin"' not in html and 'id="channel-other"' not in html
    assert _cells(html, "email") == [["First message", "4", "3", "75%", "2.0 d"]]
    assert _cells(html, "phone") == [["First message", "1", "1", "100%", "2.0 d"]]
    overall = re.search(r'data-testid="overall">(.*?)</p>', html).group(1)
    assert "5 outreach" in overall and "4 answered" in overall and "80%" in overall and "median 2.0 d" in overall
    adaptive = re.search(r'data-testid="adaptive">(.*?)</p>', html).group(1)
    assert "They are off." in adaptive and "They need 2 more replies" in adaptive and "(3 of 5)" in adaptive
    assert "<script>" not in html and "style=" not in html  # the CSP allows neither inline

    # Two more timed answers, and adaptive delays switched on: the sentence says the delay.
    _answered(db, "ada@example.com", clock.now, [("EMAIL", 4), ("EMAIL", 5)])
    with db.transaction() as s:
        s.execute(update(User).where(User.email_key == "ada@example.com").values(cadence_adaptive=True))
    adaptive = re.search(r'data-testid="adaptive">(.*?)</p>', web.get("/app/stats").text).group(1)
    # Known days 1, 2, 3, 4, 5: median 3.0.
    assert "They are on." in adaptive and "Your median is 3.0 days over 5 replies, so the delay is 3 days." in adaptive


def test_the_stats_page_needs_a_session(web):
    assert web.get("/app/stats").headers["location"] == "/app/login?next=%2Fapp%2Fstats"


def test_the_stats_page_fits_a_phone(chromium, live_server, web, db, clock):
    web.register()
    replies = [("EMAIL", d) for d in (0.5, 1, 2, 3, 4, 6, None, -1)] + [("LINKEDIN", 12.25)]
    _answered(db, "ada@example.com", clock.now, replies)
    # The widest row label is "First message"; the medians run to two digits.
    context = chromium.new_context(viewport={"width": 375, "height": 812}, is_mobile=True)
    context.add_cookies(
        [{"name": "followups_session", "value": web.client.cookies["followups_session"], "url": live_server}]
    )
    page = context.new_page()
    page.goto(live_server + "/app/stats")
    assert page.locator("table").count() == 2
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    context.close()
