"""The secret-URL calendar feed, read back with an independent parser (`ics`, not icalendar).

The feed is exactly the three buckets together; a reschedule keeps the UID and bumps
SEQUENCE; sent, cancelled and archived follow-ups leave it; the address is the only
credential, and rotating or revoking it makes the old one answer 404.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import ics
from ics.alarm import DisplayAlarm
from sqlalchemy import event

from helpers import bucket, contact, followup, job, outreach, send

UID_SUFFIX = "@followups"


def calendar_path(api, headers) -> str:
    path = api.call("POST", "/me/calendar", headers, 200).json()["calendarPath"]
    assert re.fullmatch(r"/calendar/[A-Za-z0-9_-]{40,}\.ics", path), path
    return path


def fetch(api, path: str):
    """GET the feed like a calendar app does: no Authorization header at all."""
    r = api.client.get(path)
    assert r.status_code == 200, r.text
    return r


def feed(api, path: str) -> ics.Calendar:
    return ics.Calendar(fetch(api, path).text)


def events(api, path: str) -> dict[str, ics.Event]:
    """The feed's events by follow-up id (taken from the UID)."""
    out = {}
    for ev in feed(api, path).events:
        assert ev.uid.endswith(UID_SUFFIX), ev.uid
        out[ev.uid.removesuffix(UID_SUFFIX)] = ev
    return out


def prop(ev: ics.Event, name: str) -> str | None:
    """A property the `ics` model keeps only as a raw line (e.g. SEQUENCE)."""
    values = [line.value for line in ev.extra if line.name == name]
    assert len(values) <= 1, values
    return values[0] if values else None


def sequence(ev: ics.Event) -> int:
    return int(prop(ev, "SEQUENCE"))


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def all_buckets(api, headers) -> dict[str, dict]:
    return {
        f["id"]: f for due in ("overdue", "today", "upcoming") for f in bucket(api, headers, due)
    }


def assert_not_found(api, path: str) -> None:
    r = api.client.get(path)
    assert r.status_code == 404, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert body["error"] == "NotFound" and body["detail"]


def test_feed_is_the_three_buckets_together(api, ada):
    j = job(api, ada, company="Acme", role="Backend engineer")
    c = contact(api, ada, name="Grace Hopper", email="grace@example.com")
    overdue = followup(
        api, ada, "2026-03-04T09:00:00Z", contactId=c["id"], note="Ask about the team"
    )
    today = followup(api, ada, "2026-03-05T18:00:00Z", jobId=j["id"], contactId=c["id"])
    upcoming = outreach(api, ada, jobId=j["id"], sentAt="2026-03-05T10:00:00Z")["followup"]
    path = calendar_path(api, ada)

    expected = all_buckets(api, ada)
    assert set(expected) == {overdue["id"], today["id"], upcoming["id"]}
    got = events(api, path)
    assert set(got) == set(expected)
    for fid, fu in expected.items():
        ev = got[fid]
        assert ev.begin.datetime == instant(fu["dueAt"])
        assert ev.duration == timedelta(minutes=15)
        assert sequence(ev) == 0
        assert fu["why"] in ev.description
        assert len(ev.alarms) == 1 and isinstance(ev.alarms[0], DisplayAlarm)
        assert timedelta(minutes=-60) <= ev.alarms[0].trigger <= timedelta(0)

    assert got[today["id"]].name == "Follow up: Acme – Backend engineer (attempt 1)"
    assert got[upcoming["id"]].name == "Follow up: Acme – Backend engineer (attempt 1)"
    assert got[overdue["id"]].name == "Follow up: Grace Hopper (attempt 1)"
    assert "Ask about the team" in got[overdue["id"]].description


def test_feed_is_ordered_by_due_then_id(api, ada):
    j = job(api, ada)
    same = [followup(api, ada, "2026-03-06T10:00:00Z", jobId=j["id"])["id"] for _ in range(3)]
    earlier = followup(api, ada, "2026-03-04T10:00:00Z", jobId=j["id"])["id"]
    text = fetch(api, calendar_path(api, ada)).text
    uids = re.findall(r"^UID:(.+?)@followups\r?$", text, flags=re.MULTILINE)
    assert uids == [earlier, *sorted(same)]


def test_calendar_properties_and_headers(api, ada):
    followup(api, ada, "2026-03-06T10:00:00Z", jobId=job(api, ada)["id"])
    r = fetch(api, calendar_path(api, ada))
    assert r.headers["content-type"] == "text/calendar; charset=utf-8"
    assert r.headers["cache-control"] == "private, max-age=300"
    assert "\r\n" in r.text  # RFC 5545 line endings

    cal = ics.Calendar(r.text)
    assert cal.creator and cal.creator.startswith("-//")
    extra = {line.name: line for line in cal.extra}
    assert extra["X-WR-CALNAME"].value == "followups"
    assert extra["X-PUBLISHED-TTL"].value == "PT15M"
    assert extra["REFRESH-INTERVAL"].value == "PT15M"
    assert extra["REFRESH-INTERVAL"].params.get("VALUE") == ["DURATION"]
    assert re.search(r"^VERSION:2\.0\r?$", r.text, flags=re.MULTILINE)


def test_text_survives_escaping(api, ada):
    note = "Mention: commas, semicolons; back\\slash,\nand a second line — ünïcödé ✓"
    c = contact(api, ada, name="Zoë, O'Brien; Jr.")
    fu = followup(api, ada, "2026-03-06T10:00:00Z", contactId=c["id"], note=note)
    ev = events(api, calendar_path(api, ada))[fu["id"]]
    assert ev.name == "Follow up: Zoë, O'Brien; Jr. (attempt 1)"
    assert note in ev.description
    assert fu["why"] in ev.description


def test_dtstart_is_the_instant_whatever_the_users_zone(api):
    headers = api.signup("berlin@example.com", "Europe/Berlin")
    fu = followup(api, headers, "2026-03-29T00:30:00Z", jobId=job(api, headers)["id"])  # DST night
    ev = events(api, calendar_path(api, headers))[fu["id"]]
    assert ev.begin.datetime == instant("2026-03-29T00:30:00Z")


def test_reschedule_keeps_the_uid_and_bumps_sequence(api, ada):
    fu = followup(api, ada, "2026-03-06T10:00:00Z", jobId=job(api, ada)["id"])
    path = calendar_path(api, ada)
    assert sequence(events(api, path)[fu["id"]]) == 0

    moved = api.call(
        "PATCH", f"/followups/{fu['id']}", ada, 200, json={"dueAt": "2026-03-09T08:00:00Z"}
    ).json()
    got = events(api, path)
    assert list(got) == [fu["id"]]
    ev = got[fu["id"]]
    assert sequence(ev) == 1
    assert ev.begin.datetime == instant("2026-03-09T08:00:00Z")
    assert moved["why"] in ev.description

    api.call("PATCH", f"/followups/{fu['id']}", ada, 200, json={"dueAt": "2026-03-10T08:00:00Z"})
    assert sequence(events(api, path)[fu["id"]]) == 2
    # A note alone is not a reschedule: it shows, the sequence stays.
    api.call("PATCH", f"/followups/{fu['id']}", ada, 200, json={"note": "Bring the portfolio"})
    ev = events(api, path)[fu["id"]]
    assert sequence(ev) == 2 and "Bring the portfolio" in ev.description


def test_sent_and_cancelled_followups_leave_the_feed(api, ada):
    j = job(api, ada)
    o = outreach(api, ada, jobId=j["id"], sentAt="2026-03-02T10:00:00Z")
    first = o["followup"]
    other = followup(api, ada, "2026-03-07T10:00:00Z", jobId=j["id"])
    path = calendar_path(api, ada)
    assert set(events(api, path)) == {first["id"], other["id"]}

    send(api, ada, first["id"])
    got = events(api, path)
    assert first["id"] not in got
    # Sending scheduled attempt 2: a new follow-up, a new event.
    (second,) = set(got) - {other["id"]}
    assert got[second].name.endswith("(attempt 2)")
    assert set(got) == set(all_buckets(api, ada))

    api.call("DELETE", f"/followups/{other['id']}", ada, 204)
    assert set(events(api, path)) == {second}

    # A reply cancels the rest of the chain: the feed is empty, and still valid.
    api.call("PATCH", f"/outreach/{o['id']}", ada, 200, json={"outcome": "POSITIVE"})
    assert events(api, path) == {}
    assert all_buckets(api, ada) == {}


def test_archived_job_or_contact_hides_its_followups(api, ada):
    j = job(api, ada)
    c = contact(api, ada)
    by_job = followup(api, ada, "2026-03-06T10:00:00Z", jobId=j["id"])["id"]
    by_contact = followup(api, ada, "2026-03-06T11:00:00Z", contactId=c["id"])["id"]
    path = calendar_path(api, ada)
    assert set(events(api, path)) == {by_job, by_contact}

    api.call("PATCH", f"/jobs/{j['id']}", ada, 200, json={"archived": True})
    assert set(events(api, path)) == {by_contact}
    api.call("PATCH", f"/contacts/{c['id']}", ada, 200, json={"archived": True})
    assert events(api, path) == {}
    api.call("PATCH", f"/jobs/{j['id']}", ada, 200, json={"archived": False})
    api.call("PATCH", f"/contacts/{c['id']}", ada, 200, json={"archived": False})
    assert set(events(api, path)) == {by_job, by_contact}


def test_rotating_and_revoking_the_address(api, ada):
    fu = followup(api, ada, "2026-03-06T10:00:00Z", jobId=job(api, ada)["id"])
    assert api.call("GET", "/me", ada, 200).json()["calendarPath"] is None

    old = calendar_path(api, ada)
    assert set(events(api, old)) == {fu["id"]}
    new = calendar_path(api, ada)
    assert new != old
    assert api.call("GET", "/me", ada, 200).json()["calendarPath"] == new
    assert_not_found(api, old)
    assert set(events(api, new)) == {fu["id"]}

    api.call("DELETE", "/me/calendar", ada, 204)
    assert api.call("GET", "/me", ada, 200).json()["calendarPath"] is None
    assert_not_found(api, new)
    assert_not_found(api, old)


def test_unknown_addresses_answer_404(api, ada):
    assert_not_found(api, "/calendar/not-a-real-token.ics")
    # Not even the shape of an address we give out: still a plain 404, not a database error.
    for odd in ("%00", "a%00b", "%E2%9C%93", "x" * 65, "a.b", "%20"):
        assert_not_found(api, f"/calendar/{odd}.ics")
    path = calendar_path(api, ada)
    token = path.removeprefix("/calendar/").removesuffix(".ics")
    assert_not_found(api, f"/calendar/{token[:-1]}.ics")
    assert_not_found(api, f"/calendar/{token.upper()}x.ics")
    assert (
        api.client.get(f"/calendar/{token}").status_code == 404
    )  # the suffix is part of the address


def test_the_address_is_the_only_credential(api, ada):
    fu = followup(api, ada, "2026-03-06T10:00:00Z", jobId=job(api, ada)["id"])
    path = calendar_path(api, ada)
    # No header, a wrong bearer token, or after logging out: the address alone decides.
    assert set(events(api, path)) == {fu["id"]}
    r = api.client.get(path, headers={"Authorization": "Bearer nonsense"})
    assert r.status_code == 200
    api.call("POST", "/auth/logout", ada, 204)
    assert set(events(api, path)) == {fu["id"]}


def test_another_users_feed_has_only_their_own(api, ada):
    mine = followup(api, ada, "2026-03-06T10:00:00Z", jobId=job(api, ada)["id"])
    bob = api.signup("bob@example.com", "UTC")
    bobs = followup(api, bob, "2026-03-06T10:00:00Z", jobId=job(api, bob, company="Other")["id"])
    ada_path, bob_path = calendar_path(api, ada), calendar_path(api, bob)
    assert ada_path != bob_path
    assert set(events(api, ada_path)) == {mine["id"]}
    assert set(events(api, bob_path)) == {bobs["id"]}
    # Bob revoking his address leaves Ada's working.
    api.call("DELETE", "/me/calendar", bob, 204)
    assert_not_found(api, bob_path)
    assert set(events(api, ada_path)) == {mine["id"]}


def test_feed_costs_the_same_number_of_queries_for_1_or_30_rows(api, ada, db):
    j = job(api, ada)
    c = contact(api, ada, name="Lin")
    followup(api, ada, "2026-03-06T10:00:00Z", jobId=j["id"], contactId=c["id"])
    path = calendar_path(api, ada)
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        fetch(api, path)
        one = len(statements)
        selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
        assert len(selects) == 3, selects  # the address (directory), its owner, then the feed
        for _ in range(29):
            followup(api, ada, "2026-03-06T10:00:00Z", jobId=j["id"], contactId=c["id"])
        statements.clear()
        assert len(events(api, path)) == 30
        assert len(statements) == one
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
