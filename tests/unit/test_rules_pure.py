"""The pure parts of the job-search rules: placement (cadence.settle) and the "not now" reader."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from followups import cadence as cad
from followups import clock
from followups.phrases import resume_date
from followups.rules import DEFAULT_RULES, Rules

TUESDAY = date(2026, 11, 24)


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("next week", "2026-11-30"),
        ("Next week.", "2026-11-30"),
        ("after the 15th", "2026-12-16"),
        ("after the 24th", "2026-11-25"),
        ("after the 31st", "2027-01-01"),  # November has no 31st
        ("the 15th", "2026-12-15"),
        ("in 2 weeks", "2026-12-08"),
        ("in ten days", "2026-12-04"),
        ("in a month", "2026-12-24"),
        ("tomorrow", "2026-11-25"),
        ("on Monday", "2026-11-30"),
        ("friday", "2026-11-27"),
        ("after friday", "2026-11-28"),
        ("Jan 10", "2027-01-10"),
        ("10 January", "2027-01-10"),
        ("after Dec 25", "2026-12-26"),
        ("December 31st, 2026", "2026-12-31"),
        ("end of the month", "2026-11-30"),
        ("next month", "2026-12-01"),
        ("2026-12-15", "2026-12-15"),
    ],
)
def test_phrases_people_write_back(phrase, expected):
    assert resume_date(phrase, TUESDAY).isoformat() == expected


@pytest.mark.parametrize(
    ("phrase", "message"),
    [
        ("whenever", "could not read 'whenever' as a date"),
        ("today", "could not read"),
        ("2026-11-24", "is not after today"),
        ("Feb 30", "could not read"),
        ("in 400 days", "more than a year ahead"),
        ("   ", "is empty"),
    ],
)
def test_phrases_that_are_refused_say_why(phrase, message):
    with pytest.raises(ValueError, match=message):
        resume_date(phrase, TUESDAY)


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31)), st.sampled_from(
    ["next week", "after the 15th", "the 31st", "in 3 weeks", "monday", "Feb 29", "end of the month"]
))
def test_a_read_date_is_always_after_today_and_within_a_year(today, phrase):
    try:
        day = resume_date(phrase, today)
    except ValueError:
        return  # e.g. Feb 29 more than a year ahead
    assert today < day <= today + timedelta(days=366)


def test_rules_round_trip_json():
    rules = Rules(thread_by_job=True, min_gap_days=2, holidays=(date(2026, 12, 25),))
    assert Rules.from_json(rules.to_json()) == rules
    assert Rules.from_json(None) == DEFAULT_RULES
    with pytest.raises(ValueError):
        Rules(min_gap_days=31)


ZONES = st.sampled_from(
    [clock.zone(z) for z in ("UTC", "America/New_York", "Pacific/Kiritimati", "Australia/Lord_Howe")]
)


@given(
    st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31)),
    ZONES,
    st.booleans(),
    st.sets(st.integers(0, 20), max_size=12),
    st.sets(st.integers(0, 20), max_size=12),
    st.integers(0, 10),
)
def test_settle_lands_on_a_day_no_rule_objects_to(naive, tz, skip_weekends, holiday_offsets, busy_offsets, gap):
    due = naive.replace(tzinfo=UTC)
    start = clock.local_date(due, tz)
    cadence = cad.Cadence(
        skip_weekends=skip_weekends, holidays=frozenset(start + timedelta(days=n) for n in holiday_offsets)
    )
    limits = cad.Limits(
        not_before=clock.add_days(due, gap, tz) if gap else None,
        not_before_why="gap",
        busy_days=frozenset(start + timedelta(days=n) for n in busy_offsets),
        company="Acme",
    )
    settled, why = cad.settle(due, tz, cadence, limits)
    day = clock.local_date(settled, tz)
    assert settled >= due and (limits.not_before is None or settled >= limits.not_before)
    assert day not in cadence.holidays and day not in limits.busy_days
    assert not (skip_weekends and day.weekday() >= 5)
    assert (why == "") == (settled == due)
    if why:
        assert why.startswith(f", moved to {clock.instant_day_label(settled, tz)} (")
