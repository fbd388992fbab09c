"""The job-search rules on the pages: the settings forms, holidays and their .ics upload,
"not now" answers from the record form and from a job's page, thank-you notes.

Time is fixed on the server: Thu 5 Mar 2026, 15:00 UTC (the user is in UTC).
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime

from playwright.sync_api import expect
from sqlalchemy import func, select

from followups.models import FollowUp, Job, Outreach
from followups.rules import RECOMMENDED, Rules

from .conftest import PASSWORD, user_of


def count(db, model, *where) -> int:
    with db.transaction(write=False) as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def me(db):
    with db.transaction(write=False) as s:
        user = user_of(s, "ada@example.com")
        return user.rule_set, user.cadence_adaptive


def followup(db, fid: str) -> FollowUp:
    with db.transaction(write=False) as s:
        return s.get(FollowUp, uuid.UUID(fid))


def record(web, expect_status: int = 303, **fields):
    data = {"channel": "EMAIL", "date": "2026-03-05", "new_company": "Acme", "new_role": "Backend engineer"}
    data.update(fields)
    return web.post("/app/record", data, page="/app/record")


def ics(*events: tuple[str, str]) -> bytes:
    """An iCalendar file with all-day events (first day, exclusive end)."""
    body = "".join(
        f"BEGIN:VEVENT\r\nUID:{n}@test\r\nDTSTART;VALUE=DATE:{start}\r\nDTEND;VALUE=DATE:{end}\r\n"
        f"SUMMARY:Day off {n}\r\nEND:VEVENT\r\n"
        for n, (start, end) in enumerate(events)
    )
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n{body}END:VCALENDAR\r\n".encode()


def upload(web, content: bytes | None, token: str | None = None):
    files = {"ics": ("holidays.ics", content, "text/calendar")} if content is not None else None
    data = {"csrf_token": token if token is not None else web.token("/app/settings")}
    return web.client.post("/app/settings/holidays/import", data=data, files=files, follow_redirects=False)


# --- the rules form ---------------------------------------------------------------------


def test_the_rules_form_changes_the_rules_and_explains_each_one(web, db):
    web.register()
    page = web.client.get("/app/settings").text
    for text in (
        "Job-search rules",
        "One reply settles the job",
        "A reply from any contact of a job cancels the open follow-ups to its other contacts.",
        "0 turns it off, 2 is a good start",
        "one thank-you note is due the next day",
        "Use the recommended rules",
    ):
        assert text in page, text
    assert me(db) == (Rules(), False)

    r = web.post(
        "/app/settings/rules",
        {"thread_by_job": "1", "min_gap_days": "3", "adaptive": "1", "action": "save"},
        page="/app/settings",
    )
    assert r.status_code == 303 and r.headers["location"] == "/app/settings?saved=rules"
    assert me(db) == (Rules(thread_by_job=True, min_gap_days=3), True)
    page = web.client.get(r.headers["location"]).text
    assert "Job-search rules saved" in page
    assert re.search(r'id="r-thread_by_job"[^>]* checked', page)
    assert not re.search(r'id="r-stage_aware"[^>]* checked', page)
    assert re.search(r'id="r-adaptive"[^>]* checked', page)

    # Out of range: the form comes back with the message and what was typed; nothing changes.
    r = web.post("/app/settings/rules", {"min_gap_days": "31", "stage_aware": "1"}, page="/app/settings")
    assert r.status_code == 422
    assert "Give a whole number of days from 0 (off) to 30." in r.text and 'value="31"' in r.text
    assert me(db) == (Rules(thread_by_job=True, min_gap_days=3), True)

    # Unticking turns a rule off; a blank gap is 0 (off).
    r = web.post("/app/settings/rules", {"min_gap_days": ""}, page="/app/settings")
    assert r.status_code == 303
    assert me(db) == (Rules(), False)


def test_use_the_recommended_rules_keeps_the_holidays_and_adaptive_choice(web, db):
    web.register()
    web.post("/app/settings/holidays", {"day": "2026-12-25"}, page="/app/settings")
    web.post("/app/settings/rules", {"min_gap_days": "0", "adaptive": "1"}, page="/app/settings")
    r = web.post("/app/settings/rules", {"action": "recommended", "min_gap_days": "x"}, page="/app/settings")
    assert r.headers["location"] == "/app/settings?saved=rules-recommended"
    rules, adaptive = me(db)
    assert rules == Rules(**RECOMMENDED, holidays=(date(2026, 12, 25),))
    assert adaptive is True
    page = web.client.get(r.headers["location"]).text
    assert "The recommended rules are on" in page and "(on now)" in page
    assert re.search(r'value="recommended"[^>]* disabled', page)


# --- holidays ---------------------------------------------------------------------------


def test_holidays_are_added_listed_and_removed(web, db):
    web.register()
    assert "No holidays yet." in web.client.get("/app/settings").text
    for day in ("2026-12-25", "2026-05-01"):
        r = web.post("/app/settings/holidays", {"day": day}, page="/app/settings")
        assert r.headers["location"] == "/app/settings?saved=holiday-added"
    assert me(db)[0].holidays == (date(2026, 5, 1), date(2026, 12, 25))
    page = web.client.get("/app/settings").text
    assert page.index("Fri 1 May 2026") < page.index("Fri 25 Dec 2026")

    r = web.post("/app/settings/holidays", {"day": "not a day"}, page="/app/settings")
    assert r.status_code == 422 and "Enter a date (YYYY-MM-DD)." in r.text

    r = web.post("/app/settings/holidays", {"remove": "2026-05-01"}, page="/app/settings")
    assert r.headers["location"] == "/app/settings?saved=holiday-removed"
    assert me(db)[0].holidays == (date(2026, 12, 25),)
    assert "Fri 1 May 2026" not in web.client.get("/app/settings").text


def test_an_ics_upload_adds_its_days_and_says_what_it_left_out(web, db):
    web.register()
    web.post("/app/settings/holidays", {"day": "2026-12-25"}, page="/app/settings")
    content = ics(
        ("20261224", "20261226"),  # Christmas Eve and Day: one new, one already listed
        ("20260101", "20260102"),  # past: left out
        ("20270101", "20270102"),
    )
    r = upload(web, content)
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/app/settings?saved=holidays-imported&added=2&ignored=2"
    assert me(db)[0].holidays == (date(2026, 12, 24), date(2026, 12, 25), date(2027, 1, 1))
    page = web.client.get(r.headers["location"]).text
    assert "2 holidays added from the calendar file; 2 days left out" in page
    assert "Fri 1 Jan 2027" in page


def test_a_bad_ics_upload_is_explained_and_changes_nothing(web, db):
    web.register()
    r = upload(web, b"this is not a calendar")
    assert r.status_code == 422
    assert "The file is not a readable iCalendar (.ics) file" in r.text
    r = upload(web, None)
    assert r.status_code == 422 and "Choose an .ics file to import." in r.text
    # A multipart form is CSRF-checked like any other.
    r = upload(web, ics(("20261224", "20261225")), token="0" * 64)
    assert r.status_code == 403
    # A multipart body that cannot be read is refused as a form, not a server error.
    r = web.client.post(
        "/app/settings/holidays/import",
        content=b"--x\r\nContent-Disposition: form-data\r\n\r\nno name, no end",
        headers={"Content-Type": "multipart/form-data; boundary=x"},
    )
    assert r.status_code == 415 and "The form could not be read." in r.text
    assert me(db)[0].holidays == ()


# --- "not now" and thank-you notes -------------------------------------------------------


def test_not_now_on_the_record_form_schedules_one_follow_up_on_that_day(web, db):
    web.register()
    form = web.client.get("/app/record").text
    assert "Not now: follow up on a day they named" in form and 'placeholder="next week"' in form

    r = record(web, new_contact="Grace", outcome="LATER", resume_on="next week")
    assert r.status_code == 303, r.text
    fid = r.headers["location"].split("followup=")[1]
    fu = followup(db, fid)
    assert fu.due_at == datetime(2026, 3, 9, 9, 0, tzinfo=UTC)  # Monday, 09:00 local
    assert fu.why == 'Not now ("next week"): the thread pauses until Mon 9 Mar'
    page = web.client.get(r.headers["location"]).text
    assert "Recorded. A follow-up is scheduled." in page and "due <strong>Mon 9 Mar, 09:00</strong>" in page
    assert 'Not now (&#34;next week&#34;): the thread pauses until Mon 9 Mar' in page
    with db.transaction(write=False) as s:
        assert s.scalar(select(Outreach.resume_on)) == date(2026, 3, 9)
    upcoming = web.client.get("/app/today?tab=upcoming").text
    assert "the thread pauses until Mon 9 Mar" in upcoming


def test_not_now_needs_a_readable_future_day(web, db):
    web.register()
    for fields, message in (
        ({"outcome": "LATER"}, "Say when to follow up again"),
        ({"outcome": "LATER", "resume_on": "someday"}, "Could not read &#39;someday&#39; as a date"),
        ({"outcome": "LATER", "resume_on": "2026-03-01"}, "2026-03-01 is not after today (2026-03-05)"),
        ({"outcome": "NONE", "resume_on": "next week"}, "A day to resume goes with “Not now”"),
    ):
        r = record(web, **fields)
        assert r.status_code == 422, fields
        assert message in r.text, (fields, r.text[:200])
        assert 'value="Acme"' in r.text
    assert count(db, Job) == 0 and count(db, Outreach) == 0 and count(db, FollowUp) == 0


def test_answers_on_a_jobs_page_pause_or_settle_the_thread(web, db):
    web.register()
    fid = record(web, new_contact="Grace").headers["location"].split("followup=")[1]
    job_id = followup(db, fid).job_id
    url = f"/app/jobs/{job_id}"
    page = web.client.get(url).text
    assert 'data-testid="outreach"' in page and "Their answer" in page
    with db.transaction(write=False) as s:
        oid = s.scalar(select(Outreach.id))
    answer = f"/app/outreach/{oid}/answer"

    r = web.post(answer, {"on": f"jobs/{job_id}", "outcome": "LATER", "resume_on": "soonish"}, page=url)
    assert r.status_code == 422
    assert "Could not read &#39;soonish&#39; as a date" in r.text and 'value="soonish"' in r.text
    assert "<details class=\"answer\" open>" in r.text
    assert followup(db, fid).cancelled_at is None

    r = web.post(answer, {"on": f"jobs/{job_id}", "outcome": "LATER", "resume_on": "after the 15th"}, page=url)
    assert r.status_code == 303 and r.headers["location"] == f"{url}?answered={oid}#outreach"
    assert followup(db, fid).cancel_reason == "Paused: not now, until Mon 16 Mar"
    page = web.client.get(url).text
    assert "Resumes Mon 16 Mar, 09:00" in page and "not now, resumes Mon 16 Mar" in page
    with db.transaction(write=False) as s:
        resumed = s.scalar(select(FollowUp).where(FollowUp.cancelled_at.is_(None)))
        assert resumed.due_at == datetime(2026, 3, 16, 9, 0, tzinfo=UTC)

    # From the contact's page, a reply settles it.
    with db.transaction(write=False) as s:
        contact_id = s.get(FollowUp, resumed.id).contact_id
    r = web.post(answer, {"on": f"contacts/{contact_id}", "outcome": "POSITIVE"}, page=url)
    assert r.headers["location"] == f"/app/contacts/{contact_id}?answered={oid}#outreach"
    assert count(db, FollowUp, FollowUp.cancelled_at.is_(None)) == 0
    assert "Replied (positive)" in web.client.get(f"/app/contacts/{contact_id}").text


def test_a_thank_you_note_reads_as_one_with_its_reason(web, db):
    web.register()
    web.post("/app/settings/rules", {"stage_aware": "1", "min_gap_days": "0"}, page="/app/settings")
    fid = record(web, new_contact="Grace").headers["location"].split("followup=")[1]
    job_id = followup(db, fid).job_id
    r = web.post(f"/app/jobs/{job_id}/stage", {"stage": "HR", "back": f"/app/jobs/{job_id}"})
    assert r.status_code == 303
    upcoming = web.client.get("/app/today?tab=upcoming").text
    assert "Thank-you note" in upcoming and "Attempt 1 of" not in upcoming
    assert "Thank-you note: the job moved to HR on Thu 5 Mar" in upcoming
    assert "Thank-you note due" in web.client.get(f"/app/jobs/{job_id}").text


# --- in a real browser ----------------------------------------------------------------------


def test_the_rules_in_chromium_on_a_phone(chromium, live_server, db):
    context = chromium.new_context(viewport={"width": 375, "height": 812}, timezone_id="UTC", locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(5000)
    page.goto(live_server + "/app/register")
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password, again").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(re.compile(r"/app/today$"))

    page.goto(live_server + "/app/settings")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.get_by_role("button", name="Use the recommended rules").click()
    expect(page.get_by_role("status")).to_contain_text("The recommended rules are on")
    expect(page.get_by_label("One reply settles the job")).to_be_checked()
    expect(page.get_by_label("Minimum gap per person (days)")).to_have_value("2")

    page.get_by_label("Import from a calendar file (.ics)").set_input_files(
        {"name": "holidays.ics", "mimeType": "text/calendar", "buffer": ics(("20261225", "20261226"))}
    )
    page.get_by_role("button", name="Import holidays").click()
    expect(page.get_by_role("status")).to_contain_text("1 holiday added from the calendar file.")
    expect(page.get_by_test_id("holidays")).to_contain_text("Fri 25 Dec 2026")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    context.close()
    assert me(db)[0].holidays == (date(2026, 12, 25),)
