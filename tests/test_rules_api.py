"""The job-search rules (issue 8) over HTTP: each rule, its explanation, and that it is off
until the user turns it on (the v1 contract's dates and cancellations stay the default).

The clock stands at Thu 5 Mar 2026 15:00 UTC (tests/conftest.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from helpers import bucket_ids, contact, followup, job, outreach, send

RECOMMENDED = {"threadByJob": True, "spreadByCompany": True, "minGapDays": 2, "stageAware": True}


def rules(api, headers, **changes) -> dict:
    return api.call("PATCH", "/me", headers, 200, json={"rules": changes}).json()["rules"]


def get(api, headers, followup_id) -> dict:
    return api.call("GET", f"/followups/{followup_id}", headers, 200).json()


def open_ids(api, headers) -> set[str]:
    return {i for b in ("overdue", "today", "upcoming") for i in bucket_ids(api, headers, b)}


# --- settings ---------------------------------------------------------------------------


def test_rules_are_off_and_the_v1_cadence_shape_is_unchanged_by_default(api, ada):
    me = api.call("GET", "/me", ada, 200).json()
    assert me["cadence"] == {"followupDelaysDays": [3, 3], "dormantAfterDays": 7, "skipWeekends": False}
    assert me["rules"] == {
        "threadByJob": False, "spreadByCompany": False, "minGapDays": 0, "stageAware": False, "holidays": [],
    }


def test_rules_change_only_what_is_given_and_adaptive_shows_once_on(api, ada):
    assert rules(api, ada, minGapDays=2)["minGapDays"] == 2
    after = rules(api, ada, threadByJob=True, holidays=["2026-12-25", "2026-12-24", "2026-12-25"])
    assert after == {
        "threadByJob": True, "spreadByCompany": False, "minGapDays": 2, "stageAware": False,
        "holidays": ["2026-12-24", "2026-12-25"],
    }
    cadence = {"followupDelaysDays": [3, 3], "dormantAfterDays": 7, "skipWeekends": False, "adaptive": True}
    me = api.call("PATCH", "/me", ada, 200, json={"cadence": cadence}).json()
    assert me["cadence"] == cadence
    # PATCH /me replaces the cadence whole: leaving adaptive out turns it off again.
    me = api.call("PATCH", "/me", ada, 200, json={"cadence": {"followupDelaysDays": [2]}}).json()
    assert "adaptive" not in me["cadence"] and me["rules"]["minGapDays"] == 2


@pytest.mark.parametrize(
    "bad",
    [
        {"minGapDays": 31},
        {"minGapDays": -1},
        {"minGapDays": "2"},
        {"threadByJob": None},
        {"holidays": ["2026-02-30"]},
        {"holidays": ["2026-01-01"] * 501},
        {"stageAware": "yes"},
    ],
)
def test_bad_rules_are_422_and_change_nothing(api, ada, bad):
    before = api.call("GET", "/me", ada, 200).json()
    r = api.call("PATCH", "/me", ada, 422, json={"rules": bad, "timezone": "Europe/Berlin"})
    assert r.json()["fields"] and r.json()["fields"][0]["field"].startswith("rules")
    assert api.call("GET", "/me", ada, 200).json() == before


# --- 1. one reply settles the job; a company's follow-ups never share a day --------------


def test_a_reply_from_one_contact_settles_the_whole_job_when_the_rule_is_on(api, ada):
    rules(api, ada, threadByJob=True)
    j, other_job = job(api, ada), job(api, ada, company="Globex")
    recruiter, manager = contact(api, ada, name="Rita Recruiter"), contact(api, ada, name="Hank Manager")
    a = outreach(api, ada, jobId=j["id"], contactId=recruiter["id"])
    b = outreach(api, ada, jobId=j["id"], contactId=manager["id"])
    elsewhere = outreach(api, ada, jobId=other_job["id"], contactId=manager["id"])
    interview = followup(api, ada, "2026-03-20T10:00:00Z", jobId=j["id"], type="APPOINTMENT")

    api.call("PATCH", f"/outreach/{b['id']}", ada, 200, json={"outcome": "POSITIVE"})

    own, sibling = get(api, ada, b["followup"]["id"]), get(api, ada, a["followup"]["id"])
    assert own["cancelReason"] == "Reply received (POSITIVE)"
    assert sibling["cancelReason"] == "Reply received (POSITIVE) from Hank Manager: one reply settles the job"
    assert open_ids(api, ada) == {elsewhere["followup"]["id"], interview["id"]}


def test_without_the_rule_a_reply_settles_only_its_own_outreach(api, ada):
    j = job(api, ada)
    a, b = outreach(api, ada, jobId=j["id"]), outreach(api, ada, jobId=j["id"])
    api.call("PATCH", f"/outreach/{b['id']}", ada, 200, json={"outcome": "NEGATIVE"})
    assert open_ids(api, ada) == {a["followup"]["id"]}


def test_an_outreach_recorded_with_a_reply_settles_the_job_too(api, ada):
    rules(api, ada, threadByJob=True)
    j = job(api, ada)
    a = outreach(api, ada, jobId=j["id"])
    replied = outreach(api, ada, jobId=j["id"], outcome="NEGATIVE")
    assert replied["followup"] is None
    assert get(api, ada, a["followup"]["id"])["cancelReason"].startswith("Reply received (NEGATIVE)")


def test_follow_ups_for_one_company_move_to_the_next_free_day(api, ada):
    rules(api, ada, spreadByCompany=True)
    j, j2 = job(api, ada, company="Acme"), job(api, ada, company="acme ", role="Data engineer")
    first = outreach(api, ada, jobId=j["id"])["followup"]
    second = outreach(api, ada, jobId=j2["id"])["followup"]
    # A contact without a job counts by the contact's company.
    third = outreach(api, ada, contactId=contact(api, ada, company="ACME")["id"])["followup"]
    assert first["dueAt"] == "2026-03-08T15:00:00Z"
    assert second["dueAt"] == "2026-03-09T15:00:00Z"
    assert second["why"] == (
        "Attempt 1: outreach sent Thu 5 Mar + 3 days = Sun 8 Mar, moved to Mon 9 Mar"
        " (acme already has a follow-up on Sun 8 Mar)"
    )
    assert third["dueAt"] == "2026-03-10T15:00:00Z"
    # Another company is not affected.
    assert outreach(api, ada, jobId=job(api, ada, company="Globex")["id"])["followup"]["dueAt"] == first["dueAt"]


def test_without_the_rule_one_company_can_have_several_on_a_day(api, ada):
    j = job(api, ada)
    first, second = (outreach(api, ada, jobId=j["id"])["followup"] for _ in range(2))
    assert first["dueAt"] == second["dueAt"]


# --- 2. minimum gap per contact ------------------------------------------------------------


def test_a_new_touch_pushes_a_pending_follow_up_back_with_why(api, ada):
    rules(api, ada, minGapDays=2)
    grace = contact(api, ada)
    pending = outreach(api, ada, contactId=grace["id"], sentAt="2026-03-02T10:00:00Z")["followup"]
    assert pending["dueAt"] == "2026-03-05T10:00:00Z"
    mine = followup(api, ada, "2026-03-05T12:00:00Z", contactId=grace["id"])  # a date I set stays

    outreach(api, ada, contactId=grace["id"], jobId=job(api, ada)["id"], sentAt="2026-03-04T09:00:00Z")

    moved = get(api, ada, pending["id"])
    assert moved["dueAt"] == "2026-03-06T09:00:00Z"
    assert moved["why"] == (
        "Attempt 1: was due Thu 5 Mar, moved to Fri 6 Mar"
        " (at least 2 days after your last touch with Grace Hopper on Wed 4 Mar)"
    )
    assert get(api, ada, mine["id"])["dueAt"] == "2026-03-05T12:00:00Z"
    assert pending["id"] not in bucket_ids(api, ada, "today")


def test_sending_a_follow_up_is_a_touch_too(api, ada, clock):
    rules(api, ada, minGapDays=3)
    grace = contact(api, ada)
    a = outreach(api, ada, contactId=grace["id"], sentAt="2026-03-02T15:00:00Z")["followup"]  # due 5 Mar
    b = outreach(api, ada, contactId=grace["id"], sentAt="2026-03-03T15:00:00Z")["followup"]  # due 6 Mar
    send(api, ada, a["id"])  # now, Thu 5 Mar 15:00
    assert get(api, ada, b["id"])["dueAt"] == "2026-03-08T15:00:00Z"
    # The gap also holds for the chain's own next attempt when the delays are shorter.
    api.call("PATCH", "/me", ada, 200, json={"cadence": {"followupDelaysDays": [1, 1]}})
    clock.now += timedelta(days=3)
    sent = send(api, ada, b["id"]).json()
    assert sent["sentAt"] == "2026-03-08T15:00:00Z"
    upcoming = api.call("GET", "/followups?due=upcoming", ada, 200).json()
    after_a, after_b = (
        next(f for f in upcoming if f["outreachId"] == x["outreachId"] and f["attemptNo"] == 2) for x in (a, b)
    )
    # b's attempt 2 (1 day by the cadence) waits for the gap; a's, due the same day as
    # this send, moves back with it.
    assert after_b["dueAt"] == "2026-03-11T15:00:00Z"
    assert after_b["why"] == (
        "Attempt 2: attempt 1 sent Sun 8 Mar + 1 day = Mon 9 Mar, moved to Wed 11 Mar"
        " (at least 3 days after your last touch with Grace Hopper on Sun 8 Mar)"
    )
    assert after_a["dueAt"] == "2026-03-11T15:00:00Z"
    assert after_a["why"].startswith("Attempt 2: was due Sun 8 Mar, moved to Wed 11 Mar")


# --- 3. not now ----------------------------------------------------------------------------


def test_not_now_pauses_the_thread_until_the_day_they_named(api, ada):
    o = outreach(api, ada, jobId=job(api, ada)["id"], contactId=contact(api, ada)["id"])
    later = api.call(
        "PATCH", f"/outreach/{o['id']}", ada, 200, json={"outcome": "LATER", "resumeOn": "after the 15th"}
    ).json()
    assert later["outcome"] == "LATER" and later["resumeOn"] == "2026-03-16"
    assert later["repliedAt"] == "2026-03-05T15:00:00Z"
    paused = get(api, ada, o["followup"]["id"])
    assert paused["cancelReason"] == "Paused: not now, until Mon 16 Mar"
    [resumed] = api.call("GET", "/followups?due=upcoming", ada, 200).json()
    assert resumed["dueAt"] == "2026-03-16T09:00:00Z" and resumed["outreachId"] == o["id"]
    assert resumed["why"] == 'Not now ("after the 15th"): the thread pauses until Mon 16 Mar'

    # The same answer again changes nothing; a reply later still settles it.
    api.call("PATCH", f"/outreach/{o['id']}", ada, 200, json={"outcome": "LATER", "resumeOn": "after the 15th"})
    assert open_ids(api, ada) == {resumed["id"]}
    api.call("PATCH", f"/outreach/{o['id']}", ada, 200, json={"outcome": "POSITIVE"})
    assert open_ids(api, ada) == set()


def test_not_now_on_a_new_outreach_in_the_users_zone_then_the_cadence_goes_on(api, clock):
    ny = api.signup("nina@example.com", "America/New_York")
    o = outreach(api, ny, contactId=contact(api, ny)["id"], outcome="LATER", resumeOn="next week")
    assert o["resumeOn"] == "2026-03-09" and o["repliedAt"] is None  # reply time unknown
    # Mon 9 Mar 09:00 in New York (EDT from 8 Mar) is 13:00 UTC.
    assert o["followup"]["dueAt"] == "2026-03-09T13:00:00Z"
    clock.now = clock.now.replace(day=9, hour=14)
    send(api, ny, o["followup"]["id"])
    [attempt2] = api.call("GET", "/followups?due=upcoming", ny, 200).json()
    assert attempt2["attemptNo"] == 2 and attempt2["dueAt"] == "2026-03-12T14:00:00Z"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"outcome": "LATER"}, "is required with outcome LATER"),
        ({"outcome": "LATER", "resumeOn": "when pigs fly"}, "could not read 'when pigs fly' as a date"),
        ({"outcome": "LATER", "resumeOn": "2026-03-01"}, "is not after today"),
        ({"outcome": "POSITIVE", "resumeOn": "next week"}, "is only taken with outcome LATER"),
        ({"resumeOn": "next week"}, "is only taken with outcome LATER"),
        ({"outcome": "LATER", "resumeOn": ""}, None),
    ],
)
def test_a_bad_not_now_is_422_on_resume_on_and_changes_nothing(api, ada, body, message):
    o = outreach(api, ada, contactId=contact(api, ada)["id"])
    r = api.call("PATCH", f"/outreach/{o['id']}", ada, 422, json=body).json()
    assert r["fields"][0]["field"] == "resumeOn"
    if message:
        assert message in r["fields"][0]["message"]
    assert api.call("GET", "/outreach", ada, 200).json()[0]["outcome"] == "NONE"
    assert open_ids(api, ada) == {o["followup"]["id"]}
    created = api.call("POST", "/outreach", ada, 422, json={"channel": "EMAIL", "contactId": o["contactId"], **body})
    assert created.json()["fields"][0]["field"] in ("resumeOn", "outcome")


# --- 4. stage-aware cadence ----------------------------------------------------------------


def test_an_interview_stage_stops_the_cadence_and_makes_one_thank_you(api, ada):
    rules(api, ada, stageAware=True)
    j, grace = job(api, ada), contact(api, ada)
    o = outreach(api, ada, jobId=j["id"], contactId=grace["id"])
    interview = followup(api, ada, "2026-03-10T10:00:00Z", jobId=j["id"], type="APPOINTMENT")

    api.call("PATCH", f"/jobs/{j['id']}", ada, 200, json={"stage": "HR"})
    api.call("PATCH", f"/jobs/{j['id']}", ada, 200, json={"stage": "HR"})  # no second note

    assert get(api, ada, o["followup"]["id"])["cancelReason"] == "Job moved to HR: the outreach cadence stops"
    upcoming = api.call("GET", "/followups?due=upcoming", ada, 200).json()
    [thanks] = [f for f in upcoming if f["type"] == "THANK_YOU"]
    assert thanks["dueAt"] == "2026-03-06T09:00:00Z" and thanks["contactId"] == grace["id"]
    assert thanks["why"] == (
        "Thank-you note: the job moved to HR on Thu 5 Mar, the outreach cadence stopped;"
        " due the next day at 09:00"
    )
    assert interview["id"] in open_ids(api, ada)
    # A thank-you note has no cadence after it; no new cadence at an interview stage.
    send(api, ada, thanks["id"])
    assert open_ids(api, ada) == {interview["id"]}
    assert outreach(api, ada, jobId=j["id"])["followup"] is None

    api.call("PATCH", f"/jobs/{j['id']}", ada, 200, json={"stage": "OFFER"})
    assert open_ids(api, ada) == set()
    assert get(api, ada, interview["id"])["cancelReason"] == "Offer: everything stops"


def test_the_thank_you_skips_quiet_days(api, ada, clock):
    api.call("PATCH", "/me", ada, 200, json={"cadence": {"skipWeekends": True}})
    rules(api, ada, stageAware=True, holidays=["2026-03-09"])
    clock.now = clock.now.replace(day=6)  # Friday
    j = job(api, ada)
    api.call("PATCH", f"/jobs/{j['id']}", ada, 200, json={"stage": "TECH"})
    [thanks] = api.call("GET", "/followups?due=upcoming", ada, 200).json()
    assert thanks["dueAt"] == "2026-03-10T09:00:00Z"
    assert thanks["why"].endswith(
        "due the next day at 09:00, moved to Tue 10 Mar (weekends skipped; Mon 9 Mar is a holiday)"
    )


def test_without_the_rule_interview_stages_change_nothing(api, ada):
    j = job(api, ada)
    o = outreach(api, ada, jobId=j["id"])
    for stage in ("HR", "TECH", "OFFER"):
        api.call("PATCH", f"/jobs/{j['id']}", ada, 200, json={"stage": stage})
    assert open_ids(api, ada) == {o["followup"]["id"]}


# --- 5. quiet days -------------------------------------------------------------------------


def test_holidays_are_skipped_like_weekends(api, ada):
    api.call("PATCH", "/me", ada, 200, json={"cadence": {"skipWeekends": True}})
    rules(api, ada, holidays=["2026-03-09"])
    f = outreach(api, ada, contactId=contact(api, ada)["id"])["followup"]
    assert f["dueAt"] == "2026-03-10T15:00:00Z"
    assert f["why"] == (
        "Attempt 1: outreach sent Thu 5 Mar + 3 days = Sun 8 Mar,"
        " moved to Tue 10 Mar (weekends skipped; Mon 9 Mar is a holiday)"
    )
    # A date the user sets is kept as given.
    assert followup(api, ada, "2026-03-09T10:00:00Z", contactId=f["contactId"])["dueAt"] == "2026-03-09T10:00:00Z"


ICS = b"""BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//test//holidays//EN\r
BEGIN:VEVENT\r
UID:1\r
DTSTART;VALUE=DATE:20261224\r
DTEND;VALUE=DATE:20261227\r
SUMMARY:Christmas\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:2\r
DTSTART;VALUE=DATE:20260101\r
SUMMARY:Past new year\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:3\r
DTSTART:20260406T230000Z\r
DTEND:20260407T010000Z\r
SUMMARY:Timed, local day in Berlin\r
END:VEVENT\r
END:VCALENDAR\r
"""


def test_holidays_import_from_an_ics_file(api):
    berlin = api.signup("bert@example.com", "Europe/Berlin")
    headers = {**berlin, "Content-Type": "text/calendar"}
    first = api.call("POST", "/me/holidays", headers, 200, content=ICS).json()
    assert first == {
        "added": 4, "ignored": 1,
        "holidays": ["2026-04-07", "2026-12-24", "2026-12-25", "2026-12-26"],
    }
    again = api.call("POST", "/me/holidays", headers, 200, content=ICS).json()
    assert again["added"] == 0 and again["holidays"] == first["holidays"]
    assert api.call("GET", "/me", berlin, 200).json()["rules"]["holidays"] == first["holidays"]


@pytest.mark.parametrize("body", [b"not a calendar", b"\xff\xfe\x00", b""])
def test_an_unreadable_ics_is_422(api, ada, body):
    r = api.call("POST", "/me/holidays", {**ada, "Content-Type": "text/calendar"}, 422, content=body)
    assert r.json()["fields"][0]["field"] == "body"
    assert api.call("GET", "/me", ada, 200).json()["rules"]["holidays"] == []


# --- all rules at once -----------------------------------------------------------------------


def test_the_recommended_rules_together(api, ada):
    rules(api, ada, **RECOMMENDED)
    j = job(api, ada)
    rita, hank = contact(api, ada, name="Rita"), contact(api, ada, name="Hank")
    a = outreach(api, ada, jobId=j["id"], contactId=rita["id"])["followup"]
    b = outreach(api, ada, jobId=j["id"], contactId=hank["id"])["followup"]
    assert (a["dueAt"], b["dueAt"]) == ("2026-03-08T15:00:00Z", "2026-03-09T15:00:00Z")
    api.call("PATCH", f"/jobs/{j['id']}", ada, 200, json={"stage": "TECH"})
    assert [f["type"] for f in api.call("GET", "/followups?due=upcoming", ada, 200).json()] == ["THANK_YOU"]


# --- 6. adaptive delays ------------------------------------------------------------------


def test_adaptive_delays_follow_the_users_median_time_to_reply(api, ada, clock):
    adaptive = {"followupDelaysDays": [3, 3], "dormantAfterDays": 7, "skipWeekends": False, "adaptive": True}
    api.call("PATCH", "/me", ada, 200, json={"cadence": adaptive})
    grace = contact(api, ada)
    start = clock.now
    # Until 5 replies have a known date the fixed delay holds, and says why.
    first = outreach(api, ada, contactId=grace["id"])["followup"]
    assert first["dueAt"] == "2026-03-08T15:00:00Z"
    assert first["why"] == (
        "Attempt 1: outreach sent Thu 5 Mar + 3 days = Sun 8 Mar"
        " (fixed delay: adaptive delays need 5 replies with a known date, you have 0)"
    )
    # Five answers after 4, 5, 5, 6 and 8 days: the median is 5.
    for days in (4, 5, 5, 6, 8):
        clock.now = start
        o = outreach(api, ada, contactId=grace["id"], createFollowup=False)
        clock.now = start + timedelta(days=days)
        api.call("PATCH", f"/outreach/{o['id']}", ada, 200, json={"outcome": "NEGATIVE"})
    clock.now = start
    f = outreach(api, ada, contactId=grace["id"])["followup"]
    assert f["dueAt"] == "2026-03-10T15:00:00Z"
    assert f["why"] == (
        "Attempt 1: outreach sent Thu 5 Mar + 5 days = Tue 10 Mar"
        " (5 days: your median time to reply is 5.0 days over 5 replies)"
    )
    # Off again: the fixed delays.
    api.call("PATCH", "/me", ada, 200, json={"cadence": {**adaptive, "adaptive": False}})
    assert outreach(api, ada, contactId=grace["id"])["followup"]["dueAt"] == "2026-03-08T15:00:00Z"


def test_adaptive_delays_stay_within_2_to_10_days(api, ada, clock):
    api.call("PATCH", "/me", ada, 200, json={"cadence": {"followupDelaysDays": [3], "adaptive": True}})
    start = clock.now
    for _ in range(5):
        clock.now = start
        o = outreach(api, ada, jobId=job(api, ada)["id"], createFollowup=False)
        clock.now = start + timedelta(hours=6)
        api.call("PATCH", f"/outreach/{o['id']}", ada, 200, json={"outcome": "POSITIVE"})
    clock.now = start
    f = outreach(api, ada, jobId=job(api, ada)["id"])["followup"]
    assert f["dueAt"] == "2026-03-07T15:00:00Z"
    assert f["why"].endswith("(2 days: your median time to reply is 0.2 days over 5 replies, kept within 2 to 10 days)")
