"""The hot path answers exactly what the general path answers.

The follow-up list and mark-sent answer from plain rows written straight to JSON
(followups.api.wire, queries.due_bucket_rows, queries.send_and_answer on PostgreSQL);
the general path is the ORM objects of the same service (list_due, get_followup) dumped
through the response model, as every other route answers. Byte for byte, on SQLite and
PostgreSQL, for data far from the defaults: a zone that is not UTC, follow-ups in every
bucket with and without a job or a contact, archived records, notes in any script.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, select

from followups import hot_db
from followups.api.schemas import FollowupOut
from followups.chains import service
from followups.models import User
from helpers import as_the_model_writes, contact, followup, job, outreach, send

ZONE = "America/Los_Angeles"


def _at(clock, **delta) -> str:
    return (clock() + timedelta(**delta)).isoformat().replace("+00:00", "Z")


def _user(session) -> User:
    return session.scalar(select(User).where(User.email == "ada@example.com"))


def _general_list(db, clock, due: str, limit: int) -> bytes:
    with db.transaction(write=False) as session:
        listed = service.list_due(session, _user(session), due, now=clock(), limit=limit)
        return as_the_model_writes(list[FollowupOut], listed)


def _general_one(db, followup_id: str) -> bytes:
    with db.transaction(write=False) as session:
        return as_the_model_writes(FollowupOut, service.get_followup(session, _user(session), followup_id))


def test_the_list_and_a_send_answer_what_the_orm_objects_answer(api, db, clock):
    ada = api.signup("ada@example.com", ZONE)
    acme = job(api, ada, url="https://acme.example/jobs/1")
    globex = job(api, ada, company="Globex «Ünïcode»", role='Staff "quoted" \u2028 engineer')
    grace = contact(api, ada, email="grace@example.com", company="Acme", linkedinUrl="https://linkedin.com/in/g")
    linus = contact(api, ada, name="Linus 林纳斯")
    made = [
        outreach(api, ada, jobId=acme["id"], contactId=grace["id"]),
        outreach(api, ada, jobId=globex["id"]),
        outreach(api, ada, contactId=linus["id"], note="Met at the meetup"),
    ]
    followup(api, ada, _at(clock, days=-3), jobId=acme["id"], note="Overdue, with a note")
    followup(api, ada, _at(clock, hours=2), contactId=linus["id"], type="APPOINTMENT")
    followup(api, ada, _at(clock, hours=3), jobId=globex["id"], contactId=grace["id"])
    hidden = followup(api, ada, _at(clock, days=5), contactId=linus["id"])
    api.call("PATCH", f"/contacts/{linus['id']}", ada, 200, json={"archived": True})  # hides his
    assert made and hidden

    listed = {}
    for due in ("overdue", "today", "upcoming"):
        for limit in (1, 200):
            answer = api.call("GET", f"/followups?due={due}&limit={limit}", ada, 200)
            assert answer.content == _general_list(db, clock, due, limit), (due, limit)
        listed[due] = answer.json()
    assert all(listed.values()), listed  # every bucket has follow-ups to compare
    assert hidden["id"] not in {f["id"] for f in listed["upcoming"]}

    # A send with a note, one without (the note kept), one whose contact is archived
    # (answered with "archived": true), an appointment (no next attempt).
    to_send = [*listed["overdue"], *listed["today"], *listed["upcoming"][:2], hidden]
    for n, item in enumerate(to_send):
        body = {"note": f"Sent №{n} ✓"} if n % 2 == 0 else {}
        answer = send(api, ada, item["id"], **body)
        assert answer.content == _general_one(db, item["id"]), item
        assert answer.json()["sentAt"] is not None
        assert answer.json()["note"] == (body["note"] if body else item["note"])
    send(api, ada, hidden["id"], expect=409)
    with db.transaction(write=False) as session:
        archived = service.get_followup(session, _user(session), hidden["id"])
        assert archived.contact is not None and archived.contact.archived_at is not None

    # What the sends made next lists the same way too.
    for due in ("overdue", "today", "upcoming"):
        answer = api.call("GET", f"/followups?due={due}", ada, 200)
        assert answer.content == _general_list(db, clock, due, 200), due


@pytest.mark.parametrize("backend", ["postgresql"])  # the event loop's path is PostgreSQL's
def test_on_postgresql_the_list_and_a_plain_send_are_answered_on_the_event_loop(api, db, clock):
    """followups.api.hot answers the list and a send of a user whose plan reads nothing
    (its statements go through hot_db); a send whose plan reads (a minimum gap), a refused
    token, a query or a body FastAPI refuses and a follow-up that is not open go on to
    FastAPI (the threads' engine) and get the answers they always got."""
    ada = api.signup("ada@example.com", ZONE)
    acme = job(api, ada)
    first = followup(api, ada, _at(clock, hours=1), jobId=acme["id"])
    second = followup(api, ada, _at(clock, hours=2), jobId=acme["id"])
    hot: list[str] = []
    threads: list[str] = []

    def on_loop(_conn, sql, _params):
        hot.append(sql)

    def in_thread(_conn, _cursor, sql, *_args):
        threads.append(sql)

    def paths() -> tuple[int, int]:
        counts = (len(hot), len(threads))
        hot.clear()
        threads.clear()
        return counts

    hot_db.observers.append(on_loop)
    event.listen(db.engine, "before_cursor_execute", in_thread)
    try:
        api.call("GET", "/followups?due=today&limit=5", ada, 200)
        assert paths() == (2, 0)  # the sign-in and the list
        assert send(api, ada, first["id"], note="By mail").json()["note"] == "By mail"
        hot_count, thread_count = paths()
        assert hot_count >= 3 and thread_count == 0  # sign-in, send, what follows
        send(api, ada, first["id"], expect=409)  # not open: FastAPI says so
        assert paths()[1] > 0
        api.call("GET", "/followups?due=someday", ada, 422)
        api.call("GET", "/followups?due=today", {"Authorization": "Bearer nope"}, 401)
        api.call("PATCH", f"/followups/{second['id']}/send", ada, 422, json={"note": 5})
        assert paths()[0] <= 1  # at most the refused token's sign-in went the hot way
        api.call("PATCH", "/me", ada, 200, json={"rules": {"minGapDays": 2}})
        paths()
        send(api, ada, second["id"])
        hot_count, thread_count = paths()
        assert thread_count > 0  # the minimum gap reads the user's touches: FastAPI's path
    finally:
        hot_db.observers.remove(on_loop)
        event.remove(db.engine, "before_cursor_execute", in_thread)
