"""Reply statistics: per channel and attempt, medians, and the adaptive delay.

The main story is built through the API with a moving clock, so replied_at and the
follow-ups' sent_at come from the real use cases; the few states the API cannot make
(an attempt sent after the reply, a thank-you note on an outreach) are set in the
database. Every expectation is computed by hand in the comments."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from conftest import NOW
from followups.models import FollowUp, FollowupType, Outreach, User
from followups.stats import service as stats
from followups.stats.service import ADAPTIVE_MIN_REPLIES, AdaptiveDelay
from helpers import contact, outreach, send
from test_cli_verbs import Cli, ago


def at(days: float):
    return NOW + timedelta(days=days)


class Story:
    """One user's outreach, each to its own contact (no thread or per-contact rule applies)."""

    def __init__(self, api, clock, headers):
        self.api, self.clock, self.headers = api, clock, headers

    def outreach(self, channel: str = "EMAIL", **body) -> dict:
        who = contact(self.api, self.headers, name=f"Person {uuid.uuid4().hex[:8]}")
        return outreach(self.api, self.headers, contactId=who["id"], channel=channel, **body)

    def reply(self, made: dict, outcome: str = "POSITIVE") -> None:
        self.api.call("PATCH", f"/outreach/{made['id']}", self.headers, 200, json={"outcome": outcome})

    def send(self, followup_id: str) -> None:
        send(self.api, self.headers, followup_id)

    def stats(self) -> dict:
        return self.api.call("GET", "/stats", self.headers, 200).json()


def _next_attempt(db, outreach_id: str, attempt_no: int) -> str:
    with db.transaction(write=False) as s:
        return str(
            s.scalar(
                select(FollowUp.id).where(
                    FollowUp.outreach_id == uuid.UUID(outreach_id), FollowUp.attempt_no == attempt_no
                )
            )
        )


@pytest.fixture
def story(api, clock, ada, db):
    """Outreach at day 0 (NOW); answers and sends at the days noted:

    EMAIL  e1 answered day 1                     -> attempt 0, 1.0 days
           e2 attempt 1 day 3, answered day 5     -> attempt 1, 2.0 days
           e3 attempts 1 and 2 (days 3, 6)        -> not answered, 2 attempts
           e4 recorded already POSITIVE           -> attempt 0, reply time unknown
           e5 answered day 0.25, then deleted     -> not counted
           e6 attempt 1 day 3, answered day 4, its attempt 2 marked sent day 6 (after the
              answer, in the database)            -> attempt 1, 1.0 days
    LINKEDIN l1 answered day 0.5                  -> attempt 0, 0.5 days
           l2 its follow-up sent day 3 but a THANK_YOU (database) -> 0 attempts, no answer
    Another user's answered outreach never counts."""
    me = Story(api, clock, ada)
    bob = Story(api, clock, api.signup("bob@example.com"))
    made = {name: me.outreach() for name in ("e1", "e2", "e3", "e5", "e6")}
    made["e4"] = me.outreach(outcome="POSITIVE")
    made["l1"] = me.outreach("LINKEDIN")
    made["l2"] = me.outreach("LINKEDIN")
    theirs = bob.outreach("LINKEDIN")
    assert made["e4"]["followup"] is None
    clock.now = at(0.25)
    me.reply(made["e5"], "NEGATIVE")
    api.call("DELETE", f"/outreach/{made['e5']['id']}", ada, 204)
    clock.now = at(0.5)
    me.reply(made["l1"])
    bob.reply(theirs)
    clock.now = at(1)
    me.reply(made["e1"])
    clock.now = at(3)
    for name in ("e2", "e3", "e6", "l2"):
        me.send(made[name]["followup"]["id"])
    clock.now = at(4)
    me.reply(made["e6"])
    clock.now = at(5)
    me.reply(made["e2"], "NEGATIVE")
    clock.now = at(6)
    me.send(_next_attempt(db, made["e3"]["id"], 2))
    with db.transaction() as s:
        s.execute(
            update(FollowUp)
            .where(FollowUp.outreach_id == uuid.UUID(made["e6"]["id"]), FollowUp.attempt_no == 2)
            .values(sent_at=at(6), cancelled_at=None, cancel_reason=None)
        )
        s.execute(
            update(FollowUp)
            .where(FollowUp.outreach_id == uuid.UUID(made["l2"]["id"]))
            .values(type=FollowupType.THANK_YOU.value)
        )
    return me


EXPECTED = {
    # 7 outreach (e5 deleted), 5 answered; medians over e1 1.0, e2 2.0, e6 1.0, l1 0.5.
    "overall": {"outreach": 7, "replies": 5, "replyRate": 0.7143, "medianDaysToReply": 1.0},
    "channels": [
        {
            "channel": "LINKEDIN",
            "outreach": 2,
            "replies": 1,
            "replyRate": 0.5,
            "medianDaysToReply": 0.5,
            "attempts": [
                {"attemptNo": 0, "reached": 2, "replies": 1, "replyRate": 0.5, "medianDaysToReply": 0.5}
            ],
        },
        {
            "channel": "EMAIL",
            "outreach": 5,
            "replies": 4,
            "replyRate": 0.8,
            "medianDaysToReply": 1.0,
            "attempts": [
                # e1 and e4 answered the first message; e4's time is unknown.
                {"attemptNo": 0, "reached": 5, "replies": 2, "replyRate": 0.4, "medianDaysToReply": 1.0},
                # e2, e3, e6 got a first follow-up; e2 (2.0) and e6 (1.0) answered it.
                {"attemptNo": 1, "reached": 3, "replies": 2, "replyRate": 0.6667, "medianDaysToReply": 1.5},
                {"attemptNo": 2, "reached": 1, "replies": 0, "replyRate": 0.0, "medianDaysToReply": None},
            ],
        },
    ],
    "adaptive": {"enabled": False, "replies": 4, "minReplies": 5, "medianDaysToReply": 1.0, "delayDays": None},
}


def test_stats_per_channel_and_attempt(story):
    assert story.stats() == EXPECTED


def test_the_service_gives_the_same_numbers_unrounded(story, db):
    with db.transaction(write=False) as s:
        ada = s.scalar(select(User).where(User.email_key == "ada@example.com"))
        result = stats.reply_stats(s, ada)
        delay = stats.adaptive_delay(s, ada)
    assert result.overall.reply_rate == 5 / 7
    email = result.channels[1]
    assert [a.reply_rate for a in email.attempts] == [0.4, 2 / 3, 0.0]
    assert delay == AdaptiveDelay(days=None, median=1.0, replies=4, min_replies=ADAPTIVE_MIN_REPLIES)
    assert result.adaptive == delay


def test_another_user_sees_only_their_own(story, api):
    bob = api.users["bob@example.com"]
    got = api.call("GET", "/stats", bob, 200).json()
    assert got["overall"] == {"outreach": 1, "replies": 1, "replyRate": 1.0, "medianDaysToReply": 0.5}
    assert [c["channel"] for c in got["channels"]] == ["LINKEDIN"]


def test_no_outreach_gives_nulls_not_errors(api, ada):
    got = api.call("GET", "/stats", ada, 200).json()
    assert got == {
        "overall": {"outreach": 0, "replies": 0, "replyRate": None, "medianDaysToReply": None},
        "channels": [],
        "adaptive": {"enabled": False, "replies": 0, "minReplies": 5, "medianDaysToReply": None, "delayDays": None},
    }


def test_stats_need_a_token(api):
    r = api.client.get("/stats")
    assert r.status_code == 401 and r.json()["error"]
    assert api.client.get("/stats", headers={"Authorization": "Bearer nope"}).status_code == 401


# --- the adaptive delay ------------------------------------------------------------------


def _answered(db, email: str, reply_days: list[float | None], *, channel: str = "EMAIL") -> None:
    """Answered outreach sent at NOW, each answered after the given days (None: unknown)."""
    with db.transaction() as s:
        user = s.scalar(select(User).where(User.email_key == email))
        for days in reply_days:
            s.add(
                Outreach(
                    user_id=user.id,
                    channel=channel,
                    sent_at=NOW,
                    outcome="POSITIVE",
                    replied_at=None if days is None else at(days),
                    created_at=NOW,
                    updated_at=NOW,
                )
            )


def _delay(db, email: str = "ada@example.com") -> AdaptiveDelay:
    with db.transaction(write=False) as s:
        return stats.adaptive_delay(s, s.scalar(select(User).where(User.email_key == email)))


@pytest.mark.parametrize(
    ("reply_days", "median", "days"),
    [
        ([1, 2, 3, 4, 20], 3, 3),
        ([2, 2, 2.5, 3, 3, 9], 2.75, 3),
        ([2, 2.5, 2.5, 4, 4], 2.5, 3),  # half up, not to even
        ([0.1, 0.2, 0.5, 1, 30], 0.5, 2),  # never below 2 days
        ([12, 12, 14, 15, 1], 12, 10),  # never above 10 days
    ],
)
def test_adaptive_delay_is_the_median_within_two_to_ten_days(api, ada, db, reply_days, median, days):
    _answered(db, "ada@example.com", reply_days)
    assert _delay(db) == AdaptiveDelay(days=days, median=median, replies=len(reply_days), min_replies=5)


def test_adaptive_delay_needs_five_known_reply_times(api, ada, db):
    # Four known times and two unknown: six replies, but the median rests on four.
    _answered(db, "ada@example.com", [1, 3, 4, 6, None, None])
    assert _delay(db) == AdaptiveDelay(days=None, median=3.5, replies=4, min_replies=5)
    got = api.call("GET", "/stats", ada, 200).json()
    assert got["overall"]["replies"] == 6 and got["overall"]["medianDaysToReply"] == 3.5
    assert got["adaptive"] == {
        "enabled": False,
        "replies": 4,
        "minReplies": 5,
        "medianDaysToReply": 3.5,
        "delayDays": None,
    }
    _answered(db, "ada@example.com", [5], channel="PHONE")
    with db.transaction() as s:
        s.execute(update(User).where(User.email_key == "ada@example.com").values(cadence_adaptive=True))
    assert _delay(db) == AdaptiveDelay(days=4, median=4, replies=5, min_replies=5)
    got = api.call("GET", "/stats", ada, 200).json()
    assert got["adaptive"] == {"enabled": True, "replies": 5, "minReplies": 5, "medianDaysToReply": 4.0, "delayDays": 4}
    assert [c["channel"] for c in got["channels"]] == ["EMAIL", "PHONE"]


def test_adaptive_delay_ignores_deleted_outreach_and_other_users(api, ada, db):
    api.signup("bob@example.com")
    _answered(db, "bob@example.com", [9, 9, 9, 9, 9])
    _answered(db, "ada@example.com", [1, 1, 1, 1, 1])
    with db.transaction() as s:
        ada_id = s.scalar(select(User.id).where(User.email_key == "ada@example.com"))
        first = s.scalar(select(Outreach.id).where(Outreach.user_id == ada_id).limit(1))
        s.execute(update(Outreach).where(Outreach.id == first).values(deleted_at=NOW))
    assert _delay(db) == AdaptiveDelay(days=None, median=1, replies=4, min_replies=5)
    assert _delay(db, "bob@example.com").days == 9


def test_days_run_from_the_last_attempt_before_the_reply(api, clock, ada, db):
    me = Story(api, clock, ada)
    made = me.outreach()
    clock.now = at(2)
    me.send(made["followup"]["id"])
    clock.now = at(2.5)
    me.send(_next_attempt(db, made["id"], 2))
    clock.now = at(5.5)
    me.reply(made, "NEGATIVE")
    got = me.stats()
    # Attempt 2 at day 2.5, answer at 5.5: 3.0 days, at attempt number 2.
    assert got["overall"]["medianDaysToReply"] == 3.0
    assert [(a["attemptNo"], a["reached"], a["replies"]) for a in got["channels"][0]["attempts"]] == [
        (0, 1, 0),
        (1, 1, 0),
        (2, 1, 1),
    ]


# --- followups stats -------------------------------------------------------------------------


def test_cli_stats_table_and_json(db):
    cli = Cli(db.settings.database_url)
    cli.add_user()
    assert "No outreach yet." in cli("stats").stdout
    quick = cli.json("outreach", "add", "--contact", "Ann", "--channel", "linkedin", "--sent", ago(days=3))
    cli.json("outreach", "add", "--contact", "Ben", "--channel", "linkedin", "--sent", ago(days=3))
    recorded = cli.json("outreach", "add", "--contact", "Cy", "--no-followup")
    # Ann answered 1.5 days after the outreach (the CLI's clock is real: set in the database);
    # Cy's outreach was recorded already answered (no reply time).
    with db.transaction() as s:
        row = s.get(Outreach, uuid.UUID(quick["id"]))
        row.outcome, row.replied_at = "POSITIVE", row.sent_at + timedelta(days=1.5)
        s.execute(update(Outreach).where(Outreach.id == uuid.UUID(recorded["id"])).values(outcome="POSITIVE"))
    got = cli.json("stats")
    assert got["overall"] == {"outreach": 3, "replies": 2, "replyRate": 0.6667, "medianDaysToReply": 1.5}
    assert [(c["channel"], c["outreach"], c["replies"]) for c in got["channels"]] == [
        ("LINKEDIN", 2, 1),
        ("EMAIL", 1, 1),
    ]
    assert got["adaptive"]["delayDays"] is None and got["adaptive"]["replies"] == 1
    table = cli("stats").stdout
    assert "linkedin" in table and "first message" in table and "50%" in table and "1.5 d" in table
    assert "They are off." in table and "They need 4 more replies" in table
    assert "no user 'zed@example.com'" in cli.fails("stats", "--user", "zed@example.com")
