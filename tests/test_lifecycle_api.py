"""Outreach and job lifecycle: what starts a cadence, and what stops it (kept as history)."""

from __future__ import annotations

import pytest

from helpers import bucket, bucket_ids, contact, followup, job, outreach, send


def everything_open(api, headers) -> list[str]:
    return [i for b in ("overdue", "today", "upcoming") for i in bucket_ids(api, headers, b)]


@pytest.mark.parametrize(
    "body",
    [
        {"createFollowup": False},
        {"outcome": "POSITIVE"},
        {"outcome": "NEGATIVE"},
    ],
)
def test_outreach_that_needs_no_followup_schedules_none(api, ada, body):
    o = outreach(api, ada, jobId=job(api, ada)["id"], **body)
    assert o["followup"] is None
    assert everything_open(api, ada) == []


def test_no_response_outcome_still_schedules(api, ada):
    o = outreach(api, ada, jobId=job(api, ada)["id"], outcome="NO_RESPONSE")
    assert o["followup"]["attemptNo"] == 1 and o["outcome"] == "NO_RESPONSE"


@pytest.mark.parametrize("change", [{"stage": "REJECTED"}, {"stage": "DORMANT"}, {"archived": True}])
def test_no_cadence_towards_a_closed_or_archived_job(api, ada, change):
    j = job(api, ada)
    api.call("PATCH", f"/jobs/{j['id']}", ada, 200, json=change)
    assert outreach(api, ada, jobId=j["id"])["followup"] is None


def test_sent_at_defaults_to_now(api, ada):
    o = outreach(api, ada, contactId=contact(api, ada)["id"])
    assert o["sentAt"] == "2026-03-05T15:00:00Z"
    assert o["followup"]["dueAt"] == "2026-03-08T15:00:00Z"
    assert o["followup"]["contact"]["name"] == "Grace Hopper"


@pytest.mark.parametrize("reply", ["POSITIVE", "NEGATIVE"])
def test_a_reply_cancels_that_outreachs_open_followups_only(api, ada, reply):
    j = job(api, ada)
    mine = outreach(api, ada, jobId=j["id"], sentAt="2026-03-04T10:00:00Z")
    other = outreach(api, ada, jobId=j["id"], sentAt="2026-03-04T11:00:00Z")
    updated = api.call("PATCH", f"/outreach/{mine['id']}", ada, 200, json={"outcome": reply}).json()
    assert updated["outcome"] == reply
    cancelled = api.call("GET", f"/followups/{mine['followup']['id']}", ada, 200).json()
    assert cancelled["cancelledAt"] == "2026-03-05T15:00:00Z"
    assert cancelled["cancelReason"] == f"Reply received ({reply})"
    assert everything_open(api, ada) == [other["followup"]["id"]]

    # Back to NONE reschedules nothing.
    api.call("PATCH", f"/outreach/{mine['id']}", ada, 200, json={"outcome": "NONE"})
    assert everything_open(api, ada) == [other["followup"]["id"]]


def test_a_reply_after_the_last_attempt_settles_the_dormant_check(api, ada):
    o = outreach(api, ada, jobId=job(api, ada)["id"])
    send(api, ada, o["followup"]["id"])
    [second] = bucket(api, ada, "upcoming")
    send(api, ada, second["id"])
    assert len(api.call("GET", "/notifications?scope=upcoming", ada, 200).json()) == 1
    api.call("PATCH", f"/outreach/{o['id']}", ada, 200, json={"outcome": "POSITIVE"})
    assert api.call("GET", "/notifications?scope=upcoming", ada, 200).json() == []


def test_deleting_an_outreach_cancels_exactly_its_own(api, ada):
    j = job(api, ada)
    gone = outreach(api, ada, jobId=j["id"], note="to delete")
    kept = outreach(api, ada, jobId=j["id"])
    manual = followup(api, ada, "2026-03-06T09:00:00Z", jobId=j["id"])
    api.call("DELETE", f"/outreach/{gone['id']}", ada, 204)

    listed = api.call("GET", f"/outreach?jobId={j['id']}", ada, 200).json()
    assert [o["id"] for o in listed] == [kept["id"]]
    history = api.call("GET", f"/followups/{gone['followup']['id']}", ada, 200).json()
    assert history["cancelledAt"] is not None and history["outreachId"] == gone["id"]
    assert sorted(everything_open(api, ada)) == sorted([kept["followup"]["id"], manual["id"]])
    api.call("PATCH", f"/outreach/{gone['id']}", ada, 404, json={"note": "x"})
    api.call("DELETE", f"/outreach/{gone['id']}", ada, 404)


@pytest.mark.parametrize(("stage", "reason"), [("REJECTED", "Job rejected"), ("DORMANT", "Marked dormant")])
def test_closing_a_job_cancels_its_open_followups_with_a_reason(api, ada, stage, reason):
    closing, other = job(api, ada, company="Closing"), job(api, ada, company="Other")
    o1 = outreach(api, ada, jobId=closing["id"])
    sent_first = outreach(api, ada, jobId=closing["id"])
    send(api, ada, sent_first["followup"]["id"])
    survivor = outreach(api, ada, jobId=other["id"])["followup"]

    updated = api.call("PATCH", f"/jobs/{closing['id']}", ada, 200, json={"stage": stage}).json()
    assert updated["stage"] == stage
    assert everything_open(api, ada) == [survivor["id"]]
    fu = api.call("GET", f"/followups/{o1['followup']['id']}", ada, 200).json()
    assert fu["cancelReason"] == reason and fu["cancelledAt"] is not None
    # The sent one stays sent, not cancelled.
    sent = api.call("GET", f"/followups/{sent_first['followup']['id']}", ada, 200).json()
    assert sent["sentAt"] is not None and sent["cancelledAt"] is None
    # Nothing was deleted.
    assert len(api.call("GET", f"/outreach?jobId={closing['id']}", ada, 200).json()) == 2


def test_jobs_and_contacts_round_trip(api, ada):
    j = job(api, ada, url="https://example.com/jobs/1", stage="HR")
    assert j["stage"] == "HR" and j["url"] == "https://example.com/jobs/1" and j["archived"] is False
    assert api.call("GET", f"/jobs/{j['id']}", ada, 200).json() == j
    edited = api.call("PATCH", f"/jobs/{j['id']}", ada, 200, json={"role": "Staff engineer", "url": None}).json()
    assert edited["role"] == "Staff engineer" and edited["url"] is None and edited["company"] == "Acme"
    c = contact(api, ada, email="grace@example.com", company="Acme", linkedinUrl="https://linkedin.com/in/g")
    assert c["email"] == "grace@example.com" and c["linkedinUrl"] == "https://linkedin.com/in/g"
    api.call("PATCH", f"/contacts/{c['id']}", ada, 200, json={"archived": True})
    assert api.call("GET", "/contacts", ada, 200).json() == []
    assert [x["id"] for x in api.call("GET", "/contacts?archived=true", ada, 200).json()] == [c["id"]]
    assert api.call("GET", "/jobs?archived=true", ada, 200).json() == []


def test_outreach_filters_by_job_and_contact(api, ada):
    j, c = job(api, ada), contact(api, ada)
    a = outreach(api, ada, jobId=j["id"])
    b = outreach(api, ada, contactId=c["id"])
    both = outreach(api, ada, jobId=j["id"], contactId=c["id"])
    by_job = api.call("GET", f"/outreach?jobId={j['id']}", ada, 200).json()
    by_contact = api.call("GET", f"/outreach?contactId={c['id']}", ada, 200).json()
    assert {o["id"] for o in by_job} == {a["id"], both["id"]}
    assert {o["id"] for o in by_contact} == {b["id"], both["id"]}
    assert len(api.call("GET", "/outreach", ada, 200).json()) == 3
