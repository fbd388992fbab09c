"""Follow-ups over HTTP: buckets in the owner's zone, the cadence, sending, cancelling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event

from conftest import NOW
from followups import hot_db
from followups.api.schemas import FollowupOut
from helpers import as_the_model_writes, bucket, bucket_ids, contact, followup, job, outreach, send


def test_outreach_schedules_attempt_one_three_days_later(api, ada):
    j = job(api, ada)
    o = outreach(api, ada, jobId=j["id"], sentAt="2026-03-05T10:00:00Z", note="Applied online")
    fu = o["followup"]
    assert fu["attemptNo"] == 1
    assert fu["dueAt"] == "2026-03-08T10:00:00Z"
    assert fu["outreachId"] == o["id"]
    assert fu["job"]["company"] == "Acme" and fu["contact"] is None
    assert fu["why"] == "Attempt 1: outreach sent Thu 5 Mar + 3 days = Sun 8 Mar"
    assert bucket_ids(api, ada, "upcoming") == [fu["id"]]


@pytest.mark.parametrize(
    ("zone", "overdue", "today", "upcoming"),
    [
        # 15:00Z on 5 Mar is 05:00 on 6 Mar in Kiritimati (UTC+14): its day is [5 Mar 10:00Z, 6 Mar 10:00Z).
        ("Pacific/Kiritimati", ["2026-03-05T09:59:00Z"], ["2026-03-05T10:00:00Z", "2026-03-06T09:59:00Z"],
         ["2026-03-06T10:00:00Z"]),
        # ... and 04:00 on 5 Mar in Pago Pago (UTC-11): its day is [5 Mar 11:00Z, 6 Mar 11:00Z).
        ("Pacific/Pago_Pago", ["2026-03-05T10:59:00Z"], ["2026-03-05T11:00:00Z", "2026-03-06T10:59:00Z"],
         ["2026-03-06T11:00:00Z"]),
        # 20:30 local in Kolkata (+5:30): the day is [4 Mar 18:30Z, 5 Mar 18:30Z).
        ("Asia/Kolkata", ["2026-03-04T18:29:00Z"], ["2026-03-04T18:30:00Z", "2026-03-05T18:29:00Z"],
         ["2026-03-05T18:30:00Z"]),
    ],
)
def test_buckets_follow_the_owners_local_day(api, zone, overdue, today, upcoming):
    headers = api.signup("zone@example.com", zone)
    j = job(api, headers)
    made = {
        name: [followup(api, headers, due, jobId=j["id"])["id"] for due in dues]
        for name, dues in (("overdue", overdue), ("today", today), ("upcoming", upcoming))
    }
    for name, ids in made.items():
        assert bucket_ids(api, headers, name) == ids, name
    # The default bucket is today.
    assert [f["id"] for f in api.call("GET", "/followups", headers, 200).json()] == made["today"]


def test_buckets_order_by_due_then_id_and_respect_limit(api, ada):
    j = job(api, ada)
    same = [followup(api, ada, "2026-03-05T16:00:00Z", jobId=j["id"])["id"] for _ in range(5)]
    earlier = followup(api, ada, "2026-03-05T08:00:00Z", jobId=j["id"])["id"]
    assert bucket_ids(api, ada, "today") == [earlier, *sorted(same)]
    limited = api.call("GET", "/followups?due=today&limit=2", ada, 200).json()
    assert [f["id"] for f in limited] == [earlier, sorted(same)[0]]


def test_archiving_a_job_or_contact_hides_its_followups_and_unarchiving_restores(api, ada):
    j = job(api, ada)
    c = api.call("POST", "/contacts", ada, 201, json={"name": "Lin"}).json()
    by_job = followup(api, ada, "2026-03-05T16:00:00Z", jobId=j["id"])["id"]
    by_contact = followup(api, ada, "2026-03-05T17:00:00Z", contactId=c["id"])["id"]
    both = followup(api, ada, "2026-03-05T18:00:00Z", jobId=j["id"], contactId=c["id"])["id"]
    assert bucket_ids(api, ada, "today") == [by_job, by_contact, both]

    archived = api.call("PATCH", f"/jobs/{j['id']}", ada, 200, json={"archived": True}).json()
    assert archived["archived"] is True and archived["archivedAt"] == "2026-03-05T15:00:00Z"
    assert bucket_ids(api, ada, "today") == [by_contact]
    api.call("PATCH", f"/contacts/{c['id']}", ada, 200, json={"archived": True})
    assert all(bucket_ids(api, ada, b) == [] for b in ("today", "overdue", "upcoming"))
    # Still there by id, as history.
    assert api.call("GET", f"/followups/{both}", ada, 200).json()["job"]["archived"] is True

    api.call("PATCH", f"/jobs/{j['id']}", ada, 200, json={"archived": False})
    api.call("PATCH", f"/contacts/{c['id']}", ada, 200, json={"archived": False})
    assert bucket_ids(api, ada, "today") == [by_job, by_contact, both]
    assert [x["id"] for x in api.call("GET", "/jobs", ada, 200).json()] == [j["id"]]


def test_sending_walks_the_default_cadence_once(api, ada, clock):
    fu = outreach(api, ada, jobId=job(api, ada)["id"], sentAt="2026-03-02T09:00:00Z")["followup"]
    sent = send(api, ada, fu["id"], note="Pinged again").json()
    assert sent["sentAt"] == "2026-03-05T15:00:00Z" and sent["note"] == "Pinged again"

    again = send(api, ada, fu["id"], expect=409).json()
    assert again["error"] == "Conflict"
    second = bucket(api, ada, "upcoming")
    assert [(f["attemptNo"], f["dueAt"]) for f in second] == [(2, "2026-03-08T15:00:00Z")]
    assert second[0]["outreachId"] == fu["outreachId"]
    assert second[0]["why"] == "Attempt 2: attempt 1 sent Thu 5 Mar + 3 days = Sun 8 Mar"

    clock.now = NOW + timedelta(days=3)
    send(api, ada, second[0]["id"])
    assert all(bucket(api, ada, b) == [] for b in ("today", "overdue", "upcoming"))
    dormant = api.call("GET", "/notifications?scope=upcoming", ada, 200).json()
    assert [(n["kind"], n["dueAt"]) for n in dormant] == [("dormant_candidate", "2026-03-15T15:00:00Z")]
    assert dormant[0]["followupId"] == second[0]["id"]
    send(api, ada, second[0]["id"], expect=409)
    assert len(api.call("GET", "/notifications?scope=upcoming", ada, 200).json()) == 1


def test_a_longer_cadence_makes_more_attempts(api, ada):
    cadence = {"followupDelaysDays": [1, 2, 4], "dormantAfterDays": 10, "skipWeekends": False}
    me = api.call("PATCH", "/me", ada, 200, json={"cadence": cadence}).json()
    assert me["cadence"] == cadence
    fu = outreach(api, ada, contactId=api.call("POST", "/contacts", ada, 201, json={"name": "Lin"}).json()["id"],
                  sentAt="2026-03-05T09:00:00Z")["followup"]
    assert fu["dueAt"] == "2026-03-06T09:00:00Z"
    dues = []
    current = fu
    for expected_next in (2, 3):
        send(api, ada, current["id"])
        [current] = bucket(api, ada, "upcoming")
        assert current["attemptNo"] == expected_next
        dues.append(current["dueAt"])
    assert dues == ["2026-03-07T15:00:00Z", "2026-03-09T15:00:00Z"]
    send(api, ada, current["id"])
    notes = api.call("GET", "/notifications?scope=upcoming", ada, 200).json()
    assert [(n["kind"], n["dueAt"]) for n in notes] == [("dormant_candidate", "2026-03-15T15:00:00Z")]


def test_an_appointment_has_no_cadence(api, ada):
    fu = followup(api, ada, "2026-03-05T16:00:00Z", jobId=job(api, ada)["id"], type="APPOINTMENT")
    assert fu["type"] == "APPOINTMENT" and fu["attemptNo"] == 1
    send(api, ada, fu["id"])
    assert all(bucket(api, ada, b) == [] for b in ("today", "overdue", "upcoming"))
    assert api.call("GET", "/notifications?scope=upcoming", ada, 200).json() == []


def test_a_manual_standard_followup_chains_like_outreach(api, ada):
    fu = followup(api, ada, "2026-03-05T16:00:00Z", jobId=job(api, ada)["id"], note="Call back")
    assert fu["outreachId"] is None
    sent = send(api, ada, fu["id"]).json()
    assert sent["note"] == "Call back"  # no note on send keeps it
    [nxt] = bucket(api, ada, "upcoming")
    assert nxt["attemptNo"] == 2 and nxt["dueAt"] == "2026-03-08T15:00:00Z"
    api.call("PATCH", f"/followups/{nxt['id']}", ada, 200, json={"note": "Second nudge"})
    sent = api.call("PATCH", f"/followups/{nxt['id']}/send", ada, 200, json={"note": None}).json()
    assert sent["note"] == "Second nudge"  # a null note on send keeps it too


def test_skip_weekends_moves_cadence_dates_but_not_explicit_ones(api):
    headers = api.signup("ny@example.com", "America/New_York")
    api.call("PATCH", "/me", headers, 200,
             json={"cadence": {"followupDelaysDays": [3, 3], "dormantAfterDays": 7, "skipWeekends": True}})
    j = job(api, headers)
    # Thu 5 Mar 10:00 EST + 3 days = Sun 8 Mar (DST starts) -> Mon 9 Mar 10:00 EDT = 14:00Z.
    fu = outreach(api, headers, jobId=j["id"], sentAt="2026-03-05T15:00:00Z")["followup"]
    assert fu["dueAt"] == "2026-03-09T14:00:00Z"
    assert fu["why"] == (
        "Attempt 1: outreach sent Thu 5 Mar + 3 days = Sun 8 Mar, moved to Mon 9 Mar (weekends skipped)"
    )
    saturday = followup(api, headers, "2026-03-07T15:00:00Z", jobId=j["id"])
    assert saturday["dueAt"] == "2026-03-07T15:00:00Z"


def test_days_are_local_calendar_days_across_dst(api, clock):
    clock.now = datetime(2026, 3, 6, 15, 0, tzinfo=UTC)  # the outreach is not in the future
    headers = api.signup("ny2@example.com", "America/New_York")
    # Fri 6 Mar 09:00 EST (14:00Z) + 3 days = Mon 9 Mar 09:00 EDT (13:00Z), not 14:00Z.
    fu = outreach(api, headers, jobId=job(api, headers)["id"], sentAt="2026-03-06T14:00:00Z")["followup"]
    assert fu["dueAt"] == "2026-03-09T13:00:00Z"


def test_rescheduling_and_editing_an_open_followup(api, ada):
    fu = followup(api, ada, "2026-03-10T09:00:00Z", jobId=job(api, ada)["id"], note="first")
    assert bucket_ids(api, ada, "today") == []
    moved = api.call("PATCH", f"/followups/{fu['id']}", ada, 200,
                     json={"dueAt": "2026-03-05T18:00:00+01:00"}).json()
    assert moved["dueAt"] == "2026-03-05T17:00:00Z" and moved["note"] == "first"
    assert bucket_ids(api, ada, "today") == [fu["id"]]
    cleared = api.call("PATCH", f"/followups/{fu['id']}", ada, 200, json={"note": None}).json()
    assert cleared["note"] is None and cleared["dueAt"] == "2026-03-05T17:00:00Z"
    send(api, ada, fu["id"])
    r = api.call("PATCH", f"/followups/{fu['id']}", ada, 409, json={"note": "late"})
    assert r.json()["error"] == "Conflict"


def test_cancel_keeps_history_is_idempotent_and_refuses_sent(api, ada):
    j = job(api, ada)
    fu = followup(api, ada, "2026-03-05T16:00:00Z", jobId=j["id"])
    api.call("DELETE", f"/followups/{fu['id']}", ada, 204)
    api.call("DELETE", f"/followups/{fu['id']}", ada, 204)
    kept = api.call("GET", f"/followups/{fu['id']}", ada, 200).json()
    assert kept["cancelledAt"] == "2026-03-05T15:00:00Z" and kept["cancelReason"]
    assert bucket_ids(api, ada, "today") == []
    send(api, ada, fu["id"], expect=409)
    api.call("PATCH", f"/followups/{fu['id']}", ada, 409, json={"note": "x"})

    other = followup(api, ada, "2026-03-05T16:00:00Z", jobId=j["id"])
    send(api, ada, other["id"])
    assert api.call("DELETE", f"/followups/{other['id']}", ada, 409).json()["error"] == "Conflict"
    assert api.call("GET", f"/followups/{other['id']}", ada, 200).json()["cancelledAt"] is None


def test_listing_costs_the_same_number_of_queries_for_1_or_30_rows(api, ada, db):
    j = job(api, ada)
    c = api.call("POST", "/contacts", ada, 201, json={"name": "Lin"}).json()
    statements: list[str] = []

    def count(*_args):
        statements.append("x")

    followup(api, ada, "2026-03-05T16:00:00Z", jobId=j["id"], contactId=c["id"])
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        bucket(api, ada, "today")
        one = len(statements)
        for _ in range(29):
            followup(api, ada, "2026-03-05T16:00:00Z", jobId=j["id"], contactId=c["id"])
        statements.clear()
        rows = bucket(api, ada, "today")
        assert len(rows) == 30 and all(r["job"] and r["contact"] for r in rows)
        assert len(statements) == one
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


@pytest.mark.parametrize("backend", ["postgresql"])  # SQLite: a plain read transaction
def test_a_list_read_on_postgresql_runs_without_a_transaction_block(api, ada, db):
    """The list reads write nothing: on PostgreSQL their statements run in autocommit (no
    BEGIN and COMMIT round trips); a write keeps its transaction."""
    j = job(api, ada)
    followup(api, ada, "2026-03-05T16:00:00Z", jobId=j["id"])
    seen: list[bool] = []

    def record(conn, *_args):
        seen.append(conn.connection.driver_connection.autocommit)

    def record_hot(conn, *_args):  # the list's own connections (followups.api.hot)
        seen.append(conn.autocommit)

    event.listen(db.engine, "before_cursor_execute", record)
    hot_db.observers.append(record_hot)
    try:
        assert len(bucket(api, ada, "today")) == 1
        assert seen and all(seen)
        seen.clear()
        followup(api, ada, "2026-03-05T17:00:00Z", jobId=j["id"])
        assert seen and not any(seen)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
        hot_db.observers.remove(record_hot)


def test_the_list_and_a_send_answer_the_response_models_bytes(api, ada):
    """The list and mark-sent write plain values without validating them (followups.api.wire):
    byte for byte what the response model writes (field order, aliases, instants, ids) with
    a job and a contact (one archived-free, one with a URL), a job alone, a note with quotes
    and a line separator, on both backends."""
    j = job(api, ada, url="https://example.com/jobs/1")
    c = contact(api, ada, email="grace@example.com", linkedinUrl="https://linkedin.com/in/grace")
    outreach(api, ada, jobId=j["id"], contactId=c["id"], sentAt="2026-03-02T09:15:30.250Z")
    followup(api, ada, "2026-03-05T16:00:00Z", jobId=j["id"], note='Said "call me"\u2028Thursday')
    listed = api.call("GET", "/followups?due=today", ada, 200)
    items = listed.json()
    assert len(items) == 2 and {bool(f["contact"]) for f in items} == {True, False}
    assert listed.headers["content-type"] == "application/json"
    assert listed.content == as_the_model_writes(list[FollowupOut], items)
    for item in items:  # as GET /followups/{id} answers it, through the response model
        assert item == api.call("GET", f"/followups/{item['id']}", ada, 200).json()
    sent = send(api, ada, items[0]["id"], note="Pinged")
    assert sent.content == as_the_model_writes(FollowupOut, sent.json())
    assert sent.json() == api.call("GET", f"/followups/{items[0]['id']}", ada, 200).json()
