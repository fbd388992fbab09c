"""Mark-sent is done whole in one worker thread (api.deps.WriteUnit): sign-in, send, commit.
On PostgreSQL the sign-in of such a write bumps the user's write_seq, in the send's own
statement (followups.replica): exactly once per send, and a refused send (401, 404, 409)
changes nothing, the bump included."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from followups.errors import Unauthorized
from followups.models import Notification, SignedIn, User
from followups.notification_kinds import FOLLOWUP_DUE
from followups.notifications.reminders import sweep_reminders
from followups.users.tokens import Presented, sign_in_reader, sign_in_writer
from helpers import contact, followup, job, outreach, send


def _write_seq(db, email: str) -> int:
    with db.transaction(write=False) as session:
        return session.scalar(select(User.write_seq).where(User.email == email))


def test_a_send_bumps_once_and_a_refused_one_changes_nothing(api, db):
    ada = api.signup("ada@example.com")
    made = outreach(api, ada, jobId=job(api, ada)["id"], contactId=contact(api, ada)["id"])
    [first] = [f for f in api.call("GET", "/followups?due=upcoming", ada, 200).json()
               if f["outreachId"] == made["id"]]
    before = _write_seq(db, "ada@example.com")
    bumps = 1 if db.engine.dialect.name == "postgresql" else 0  # SQLite has no replicas

    sent = send(api, ada, first["id"], note="Pinged on LinkedIn")
    assert sent.json()["sentAt"] is not None
    assert sent.json()["job"]["company"] == "Acme" and sent.json()["contact"]["name"] == "Grace Hopper"
    assert _write_seq(db, "ada@example.com") == before + bumps

    send(api, ada, first["id"], expect=409)  # sent already
    send(api, ada, str(uuid.uuid4()), expect=404)
    send(api, ada, "not-an-id", expect=404)
    for fid in (first["id"], str(uuid.uuid4()), "not-an-id"):  # the token is looked at first
        r = api.client.patch(f"/followups/{fid}/send", headers={"Authorization": "Bearer nope"})
        assert r.status_code == 401 and r.json()["error"] == "Unauthorized", r.text
    assert _write_seq(db, "ada@example.com") == before + bumps
    # The send made attempt 2, once.
    nexts = [f for f in api.call("GET", "/followups?due=upcoming", ada, 200).json()
             if f["outreachId"] == made["id"]]
    assert [f["attemptNo"] for f in nexts] == [2]


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_send_waiting_on_a_reminder_sweep_cancels_the_reminder_it_made(api, db, clock):
    """The worker claims a due follow-up and makes its reminder; a send of that follow-up
    arrives before the worker commits, waits, and then cancels that reminder (the send reads
    the claimed row's newest version; a reminder exists only for a reminded row)."""
    ada = api.signup("ada@example.com")
    due = (clock() + timedelta(hours=2)).isoformat().replace("+00:00", "Z")
    fu = followup(api, ada, due, jobId=job(api, ada)["id"])
    answers: list = []
    with db.transaction() as worker_tx:
        assert sweep_reminders(worker_tx, now=clock(), batch=10) == 1  # claimed, not committed
        sender = threading.Thread(target=lambda: answers.append(send(api, ada, fu["id"])))
        sender.start()
        time.sleep(0.5)
        assert sender.is_alive(), "the send should wait for the worker's transaction"
    sender.join(30)
    assert answers and answers[0].json()["sentAt"] is not None
    with db.transaction(write=False) as session:
        [reminder] = session.scalars(select(Notification).where(Notification.followup_id == uuid.UUID(fu["id"])))
        assert reminder.kind == FOLLOWUP_DUE.name
        assert reminder.cancelled_at is not None  # made by the sweep, cancelled by the send


def test_the_hot_sign_ins_read_the_users_own_settings(api, db, clock):
    """The list's and mark-sent's user is a plain SignedIn, not a mapped User: its zone,
    cadence, rules and write_seq are the User's, for settings far from the defaults; a
    revoked token is refused."""
    ada = api.signup("ada@example.com", timezone="Asia/Kolkata")
    api.call("PATCH", "/me", ada, 200, json={"cadence": {
        "followupDelaysDays": [2, 5, 9], "dormantAfterDays": 12, "skipWeekends": True, "adaptive": True}})
    api.call("PATCH", "/me", ada, 200, json={"rules": {
        "minGapDays": 2, "spreadByCompany": True, "holidays": ["2026-12-24", "2026-12-25"]}})
    token = ada["Authorization"].removeprefix("Bearer ")
    for sign_in in (sign_in_reader, sign_in_writer):
        with db.transaction() as session:
            signed = sign_in(session, Presented(token, clock()))
            user = session.scalar(select(User).where(User.email == "ada@example.com"))
            assert isinstance(signed, SignedIn) and signed.id == user.id
            assert (signed.zone, signed.cadence, signed.rule_set, signed.cadence_adaptive) == (
                user.zone, user.cadence, user.rule_set, True)
            assert signed.cadence.followup_delays_days == (2, 5, 9) and signed.rule_set.min_gap_days == 2
            assert signed.write_seq == user.write_seq  # the writer's as bumped (PostgreSQL)
    api.call("POST", "/auth/logout", ada, 204)
    for sign_in in (sign_in_reader, sign_in_writer):
        with db.transaction() as session, pytest.raises(Unauthorized):
            sign_in(session, Presented(token, clock()))
