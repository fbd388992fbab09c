"""One rule for dates on every edge, as the API shows it: an outreach is dated up to now
(a few minutes of clock skew allowed), a follow-up moves only forward in time; and a new
outreach to the same person for the same job replaces the earlier open chain."""

from __future__ import annotations

from datetime import timedelta

from conftest import NOW
from followups import clock
from helpers import bucket_ids, contact, followup, job, outreach


def iso(instant) -> str:
    return instant.isoformat().replace("+00:00", "Z")


def test_an_outreach_dated_after_now_is_a_422_naming_sent_at(api, ada):
    j = job(api, ada)
    r = api.call("POST", "/outreach", ada, 422, json={"jobId": j["id"], "channel": "EMAIL",
                                                      "sentAt": iso(NOW + timedelta(days=1))})
    body = r.json()
    assert [f["field"] for f in body["fields"]] == ["sentAt"]
    assert "future" in body["detail"]
    assert api.call("GET", "/outreach", ada, 200).json() == []  # nothing written
    # A sender's clock a little ahead of the server's is not the future.
    ahead = NOW + clock.SENT_AT_SKEW - timedelta(seconds=1)
    made = outreach(api, ada, jobId=j["id"], sentAt=iso(ahead))
    assert made["sentAt"] == iso(ahead)
    api.call("POST", "/outreach", ada, 422, json={
        "jobId": j["id"], "channel": "EMAIL", "sentAt": iso(NOW + clock.SENT_AT_SKEW + timedelta(seconds=1))})


def test_a_follow_up_moves_only_forward_in_time(api, ada):
    fu = followup(api, ada, "2026-03-10T09:00:00Z", jobId=job(api, ada)["id"])
    for past in ("2019-01-01T09:00:00Z", iso(NOW - timedelta(minutes=1)), iso(NOW)):
        r = api.call("PATCH", f"/followups/{fu['id']}", ada, 422, json={"dueAt": past})
        assert [f["field"] for f in r.json()["fields"]] == ["dueAt"], past
    kept = api.call("GET", f"/followups/{fu['id']}", ada, 200).json()
    assert kept["dueAt"] == "2026-03-10T09:00:00Z"
    moved = api.call("PATCH", f"/followups/{fu['id']}", ada, 200,
                     json={"dueAt": iso(NOW + timedelta(minutes=1))}).json()
    assert moved["dueAt"] == iso(NOW + timedelta(minutes=1))
    # A note alone on an overdue follow-up is not a move: still fine.
    late = followup(api, ada, "2026-03-01T09:00:00Z", jobId=job(api, ada, "Initech")["id"])
    api.call("PATCH", f"/followups/{late['id']}", ada, 200, json={"note": "still to do"})


def test_a_second_outreach_to_the_same_person_and_job_replaces_the_open_chain(api, ada):
    j, c = job(api, ada), contact(api, ada)
    first = outreach(api, ada, jobId=j["id"], contactId=c["id"],
                     sentAt="2026-03-02T10:00:00Z")["followup"]
    second = outreach(api, ada, jobId=j["id"], contactId=c["id"], channel="LINKEDIN",
                      keepEarlierChain=False)
    assert second["superseded"] == 1
    old = api.call("GET", f"/followups/{first['id']}", ada, 200).json()
    assert old["cancelledAt"] == iso(NOW)
    assert old["cancelReason"] == "Superseded by the outreach of Thu 5 Mar"
    assert bucket_ids(api, ada, "today") == []
    assert bucket_ids(api, ada, "upcoming") == [second["followup"]["id"]]
    assert second["followup"]["attemptNo"] == 1


def test_keep_earlier_chain_and_outreach_that_do_not_name_both_replace_nothing(api, ada):
    j, c, other = job(api, ada), contact(api, ada), contact(api, ada, "Ada Byron")
    first = outreach(api, ada, jobId=j["id"], contactId=c["id"],
                     sentAt="2026-03-02T10:00:00Z")["followup"]
    kept = outreach(api, ada, jobId=j["id"], contactId=c["id"])  # the API's default (v1)
    assert kept["superseded"] == 0
    replace = {"keepEarlierChain": False}
    assert outreach(api, ada, jobId=j["id"], **replace)["superseded"] == 0  # the job alone
    assert outreach(api, ada, contactId=c["id"], **replace)["superseded"] == 0  # the person alone
    assert outreach(api, ada, jobId=j["id"], contactId=other["id"], **replace)["superseded"] == 0
    still = api.call("GET", f"/followups/{first['id']}", ada, 200).json()
    assert still["cancelledAt"] is None
    assert len(bucket_ids(api, ada, "today") + bucket_ids(api, ada, "upcoming")) == 5
    api.call("POST", "/outreach", ada, 422, json={
        "jobId": j["id"], "channel": "EMAIL", "keepEarlierChain": "yes"})


def test_the_reason_names_the_year_of_an_outreach_from_another_year(api, ada):
    j, c = job(api, ada), contact(api, ada)
    first = outreach(api, ada, jobId=j["id"], contactId=c["id"], sentAt="2025-12-20T10:00:00Z")["followup"]
    outreach(api, ada, jobId=j["id"], contactId=c["id"], sentAt="2025-12-30T10:00:00Z",
             keepEarlierChain=False)
    old = api.call("GET", f"/followups/{first['id']}", ada, 200).json()
    assert old["cancelReason"] == "Superseded by the outreach of Tue 30 Dec 2025"


def test_explanations_of_dates_in_another_year_name_the_year(api, ada):
    j = job(api, ada)
    fu = followup(api, ada, "2027-01-15T09:00:00Z", jobId=j["id"])
    assert fu["why"] == "Attempt 1: due Fri 15 Jan 2027, set by you"
    moved = api.call("PATCH", f"/followups/{fu['id']}", ada, 200, json={"dueAt": "2028-02-01T09:00:00Z"}).json()
    assert moved["why"] == "Rescheduled by you to Tue 1 Feb 2028"
    same_year = api.call("PATCH", f"/followups/{fu['id']}", ada, 200, json={"dueAt": "2026-04-01T09:00:00Z"}).json()
    assert same_year["why"] == "Rescheduled by you to Wed 1 Apr"
