"""The pages keep the one date rule and say what changed, with and without JavaScript
(server time: Thu 5 Mar 2026, 15:00 UTC)."""

from __future__ import annotations

import re

from sqlalchemy import select

from followups.models import Contact, FollowUp

from .test_web_pages import record


def test_snooze_into_the_past_is_refused_and_the_picker_defaults_ahead(web):
    web.register()
    fid = record(web)
    page = web.client.get("/app/today?tab=upcoming").text
    # The picker starts on the first preset (tomorrow, 09:00), not on today's past 09:00.
    assert re.search(rf'id="date-{fid}" type="date" name="date" value="2026-03-06" min="2026-03-05"', page)
    assert f'id="time-{fid}" type="time" name="time" value="09:00"' in page
    r = web.post(f"/app/followups/{fid}/snooze", {"to": "date", "date": "2026-03-05", "time": "09:00"})
    assert r.status_code == 422
    assert "Thu 5 Mar, 09:00 has passed: pick a time still ahead." in r.text
    r = web.post(f"/app/followups/{fid}/snooze", {"to": "date", "date": "2019-01-01", "time": "09:00"})
    assert r.status_code == 422 and "Tue 1 Jan 2019, 09:00 has passed" in r.text


def test_presets_skip_the_users_quiet_days(web, clock):
    from datetime import UTC, datetime

    clock.now = datetime(2026, 3, 6, 18, 0, tzinfo=UTC)  # a Friday evening
    web.register()
    fid = record(web, date="2026-03-06")
    r = web.post("/app/settings/cadence", {"delays": "3, 3", "dormant_after_days": "7", "skip_weekends": "1"},
                 page="/app/settings")
    assert r.status_code == 303, r.text
    page = web.client.get("/app/today?tab=upcoming").text
    assert "Next working day <span class=\"when\">Mon 9 Mar, 09:00</span>" in page
    r = web.post(f"/app/followups/{fid}/snooze", {"to": "tomorrow", "tab": "upcoming"})
    assert r.status_code == 303
    moved = web.client.get(r.headers["location"]).text
    # Without JavaScript the page after the redirect says what changed.
    assert "Moved to Mon 9 Mar, 09:00 (Upcoming)." in moved


def test_without_javascript_send_and_answer_say_what_changed(web):
    web.register()
    fid = record(web, new_contact="Grace Hopper")
    r = web.post(f"/app/followups/{fid}/send", {"tab": "upcoming"})
    assert r.status_code == 303
    after = web.client.get(r.headers["location"]).text
    assert "Marked sent. Attempt 2 is due Sun 8 Mar, 15:00 (Upcoming)." in after
    job_page = web.client.get("/app/jobs").text
    job_id = re.search(r'href="/app/jobs/([0-9a-f-]{36})"', job_page).group(1)
    page = web.client.get(f"/app/jobs/{job_id}").text
    oid = re.search(r'action="/app/outreach/([0-9a-f-]{36})/answer"', page).group(1)
    r = web.post(f"/app/outreach/{oid}/answer", {"on": f"jobs/{job_id}", "outcome": "LATER",
                                                  "resume_on": "2026-03-20"}, page=f"/app/jobs/{job_id}")
    assert r.status_code == 303
    shown = web.client.get(r.headers["location"]).text
    assert "Answer saved: not now. The thread pauses; one follow-up falls due Fri 20 Mar, 09:00." in shown
    r = web.post(f"/app/outreach/{oid}/answer", {"on": f"jobs/{job_id}", "outcome": "POSITIVE"},
                 page=f"/app/jobs/{job_id}")
    shown = web.client.get(r.headers["location"]).text
    assert "Answer saved: replied (positive). Its open follow-ups are cancelled." in shown


def test_see_it_links_the_tab_it_is_in_and_a_new_contact_keeps_the_jobs_company(web, db):
    web.register()
    fid = record(web, new_contact="Grace Hopper")
    page = web.client.get(f"/app/record?followup={fid}").text
    assert '<a href="/app/today?tab=upcoming">See it in Upcoming</a>' in page
    # Sent three days ago: attempt 1 is due today.
    fid = record(web, new_company="Initech", new_role="SRE", date="2026-03-02")
    page = web.client.get(f"/app/record?followup={fid}").text
    assert '<a href="/app/today?tab=today">See it in Today</a>' in page
    with db.transaction(write=False) as s:
        assert s.scalar(select(Contact.company).where(Contact.name == "Grace Hopper")) == "Acme"


def test_a_second_outreach_on_the_form_supersedes_unless_kept(web, db):
    web.register()
    first = record(web, new_contact="Grace Hopper", date="2026-03-02")
    page = web.client.get("/app/record").text
    job_id = re.search(r'<option value="([0-9a-f-]{36})"[^>]*>Acme', page).group(1)
    contact_id = re.search(r'<option value="([0-9a-f-]{36})"[^>]*>Grace Hopper', page).group(1)
    picked = {"new_company": "", "new_role": "", "job_id": job_id, "contact_id": contact_id}
    second = record(web, **picked, keep_earlier="1")
    assert "It replaces the open follow-up" not in web.client.get(f"/app/record?followup={second}").text
    r = web.post("/app/record", {"channel": "EMAIL", "date": "2026-03-05", **picked}, page="/app/record")
    third = r.headers["location"].split("followup=")[1].split("&")[0]
    shown = web.client.get(r.headers["location"]).text
    assert "It replaces the open follow-up of the earlier outreach to this person for this job" in shown
    with db.transaction(write=False) as s:
        reasons = dict(s.execute(select(FollowUp.id, FollowUp.cancel_reason)).all())
    assert {str(k): v for k, v in reasons.items()} == {
        first: "Superseded by the outreach of Thu 5 Mar",
        second: "Superseded by the outreach of Thu 5 Mar",
        third: None,
    }


def test_cancel_asks_first_and_the_digest_email_is_off_without_smtp(web):
    web.register()
    record(web)
    page = web.client.get("/app/today?tab=upcoming").text
    assert "<summary>Stop following up</summary>" in page
    assert ">Yes, stop following up</button>" in page and ">Cancel</button>" not in page
    settings = web.client.get("/app/settings").text
    assert re.search(r'name="digest_email" type="checkbox" value="1" disabled', settings)
    assert "This server cannot send mail: it has no SMTP settings" in settings


def test_a_snooze_outside_the_years_in_utc_is_refused(web):
    web.register(timezone="Etc/GMT+12")  # UTC-12: 31 Dec 2999 23:59 there is 3000 in UTC
    fid = record(web)
    r = web.post(f"/app/followups/{fid}/snooze", {"to": "date", "date": "2999-12-31", "time": "23:59"})
    assert r.status_code == 422
    assert "Date: Must be between the years 1970 and 2999 in UTC." in r.text
    r = web.post(f"/app/followups/{fid}/snooze", {"to": "date", "date": "2999-12-31", "time": "11:59"})
    assert r.status_code == 303
