"""Unit tests for followups.cadence: what each sent message makes due, and why.

Expected instants are worked out by hand (see tests/unit/test_clock.py for the
offsets). Calendar: 2026-03-02 Mon, 03-05 Thu, 03-07 Sat, 03-08 Sun (US DST starts),
03-27 Fri, 03-29 Sun (EU DST starts), 10-22 Thu, 10-25 Sun (EU DST ends),
10-30 Fri, 10-31 Sat, 11-01 Sun (US DST ends).
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from followups import cadence as cad
from followups import clock
from followups.cadence import Cadence, Step

NY = clock.zone("America/New_York")
BERLIN = clock.zone("Europe/Berlin")
KIRITIMATI = clock.zone("Pacific/Kiritimati")
PAGO = clock.zone("Pacific/Pago_Pago")
KOLKATA = clock.zone("Asia/Kolkata")

SKIP = Cadence(skip_weekends=True)


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=UTC)


# --------------------------------------------------------------------------- Cadence


def test_default_cadence_is_the_seed_behaviour() -> None:
    c = Cadence()
    assert c.followup_delays_days == (3, 3)
    assert c.dormant_after_days == 7
    assert c.skip_weekends is False
    assert c.attempts == 2
    assert c == cad.DEFAULT


@pytest.mark.parametrize(
    "kwargs",
    [
        {"followup_delays_days": (1,)},
        {"followup_delays_days": (365,)},
        {"followup_delays_days": (1,) * 10},
        {"followup_delays_days": (2, 4, 7), "dormant_after_days": 10},
        {"dormant_after_days": 1},
        {"dormant_after_days": 365},
        {"skip_weekends": True},
    ],
)
def test_cadence_accepts_values_in_range(kwargs) -> None:
    c = Cadence(**kwargs)
    for key, value in kwargs.items():
        assert getattr(c, key) == value


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"followup_delays_days": ()}, "1 to 10 delays"),
        ({"followup_delays_days": (1,) * 11}, "1 to 10 delays"),
        ({"followup_delays_days": (0,)}, "each delay must be 1..365"),
        ({"followup_delays_days": (-1,)}, "each delay must be 1..365"),
        ({"followup_delays_days": (366,)}, "each delay must be 1..365"),
        ({"followup_delays_days": (3, 0, 3)}, "each delay must be 1..365"),
        ({"followup_delays_days": (3, 3, 400)}, "each delay must be 1..365"),
        ({"dormant_after_days": 0}, "dormantAfterDays must be 1..365"),
        ({"dormant_after_days": -7}, "dormantAfterDays must be 1..365"),
        ({"dormant_after_days": 366}, "dormantAfterDays must be 1..365"),
    ],
)
def test_cadence_rejects_values_out_of_range(kwargs, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Cadence(**kwargs)


def test_cadence_and_step_are_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        cad.DEFAULT.dormant_after_days = 1  # type: ignore[misc]
    step = cad.first_attempt(utc(2026, 3, 5, 15), NY)
    with pytest.raises(dataclasses.FrozenInstanceError):
        step.due_at = utc(2030, 1, 1)  # type: ignore[misc]


# --------------------------------------------------------------------------- first_attempt


@pytest.mark.parametrize(
    ("sent", "tz", "cadence", "due", "why"),
    [
        # Thu 10:00 EST + 3 days = Sun 10:00 EDT (across spring forward)
        (
            utc(2026, 3, 5, 15),
            NY,
            Cadence(),
            utc(2026, 3, 8, 14),
            "Attempt 1: outreach sent Thu 5 Mar + 3 days = Sun 8 Mar",
        ),
        (
            utc(2026, 3, 5, 15),
            NY,
            SKIP,
            utc(2026, 3, 9, 14),
            "Attempt 1: outreach sent Thu 5 Mar + 3 days = Sun 8 Mar, "
            "moved to Mon 9 Mar (weekends skipped)",
        ),
        # one day: singular "day"
        (
            utc(2026, 3, 5, 15),
            NY,
            Cadence((1,)),
            utc(2026, 3, 6, 15),
            "Attempt 1: outreach sent Thu 5 Mar + 1 day = Fri 6 Mar",
        ),
        # 02:30 EST + 3 days = 02:30 on 8 Mar, which does not exist -> 03:30 EDT
        (
            utc(2026, 3, 5, 7, 30),
            NY,
            Cadence(),
            utc(2026, 3, 8, 7, 30),
            "Attempt 1: outreach sent Thu 5 Mar + 3 days = Sun 8 Mar",
        ),
        # 01:30 EDT + 3 days = ambiguous 01:30 on 1 Nov -> first one (EDT)
        (
            utc(2026, 10, 29, 5, 30),
            NY,
            Cadence(),
            utc(2026, 11, 1, 5, 30),
            "Attempt 1: outreach sent Thu 29 Oct + 3 days = Sun 1 Nov",
        ),
        # ... and with weekends skipped, Mon 2 Nov 01:30 EST
        (
            utc(2026, 10, 29, 5, 30),
            NY,
            SKIP,
            utc(2026, 11, 2, 6, 30),
            "Attempt 1: outreach sent Thu 29 Oct + 3 days = Sun 1 Nov, "
            "moved to Mon 2 Nov (weekends skipped)",
        ),
        # Berlin: Fri 09:00 CET + 3 days = Mon 09:00 CEST
        (
            utc(2026, 3, 27, 8),
            BERLIN,
            Cadence(),
            utc(2026, 3, 30, 7),
            "Attempt 1: outreach sent Fri 27 Mar + 3 days = Mon 30 Mar",
        ),
        # Berlin: Thu 09:00 CEST + 3 days = Sun 09:00 CET
        (
            utc(2026, 10, 22, 7),
            BERLIN,
            Cadence(),
            utc(2026, 10, 25, 8),
            "Attempt 1: outreach sent Thu 22 Oct + 3 days = Sun 25 Oct",
        ),
        (
            utc(2026, 10, 22, 7),
            BERLIN,
            SKIP,
            utc(2026, 10, 26, 8),
            "Attempt 1: outreach sent Thu 22 Oct + 3 days = Sun 25 Oct, "
            "moved to Mon 26 Oct (weekends skipped)",
        ),
        # Kolkata: 00:05 IST on Thu 5 Mar is Wed 4 Mar in UTC; labels are local
        (
            utc(2026, 3, 4, 18, 35),
            KOLKATA,
            Cadence(),
            utc(2026, 3, 7, 18, 35),
            "Attempt 1: outreach sent Thu 5 Mar + 3 days = Sun 8 Mar",
        ),
        (
            utc(2026, 3, 4, 18, 35),
            KOLKATA,
            SKIP,
            utc(2026, 3, 8, 18, 35),
            "Attempt 1: outreach sent Thu 5 Mar + 3 days = Sun 8 Mar, "
            "moved to Mon 9 Mar (weekends skipped)",
        ),
        # Kiritimati: due Mon 9 Mar 01:00 local is Sun in UTC -> not moved
        (
            utc(2026, 3, 5, 11),
            KIRITIMATI,
            SKIP,
            utc(2026, 3, 8, 11),
            "Attempt 1: outreach sent Fri 6 Mar + 3 days = Mon 9 Mar",
        ),
        # Pago Pago: Mon 2 Mar 18:00 local is Tue 3 Mar in UTC
        (
            utc(2026, 3, 3, 5),
            PAGO,
            Cadence(),
            utc(2026, 3, 6, 5),
            "Attempt 1: outreach sent Mon 2 Mar + 3 days = Thu 5 Mar",
        ),
        # ... + 5 days = Sat 7 Mar 18:00 local (Sun in UTC) -> Mon 9 Mar 18:00 local
        (
            utc(2026, 3, 3, 5),
            PAGO,
            Cadence((5,), skip_weekends=True),
            utc(2026, 3, 10, 5),
            "Attempt 1: outreach sent Mon 2 Mar + 5 days = Sat 7 Mar, "
            "moved to Mon 9 Mar (weekends skipped)",
        ),
    ],
)
def test_first_attempt(sent, tz, cadence, due, why) -> None:
    assert cad.first_attempt(sent, tz, cadence) == Step("attempt", 1, due, why)


def test_first_attempt_uses_the_default_cadence() -> None:
    step = cad.first_attempt(utc(2026, 3, 5, 15), NY)
    assert step.due_at == utc(2026, 3, 8, 14)  # a Sunday: weekends not skipped by default
    assert step.due_at.utcoffset() == timedelta(0)


def test_first_attempt_without_skip_keeps_a_weekend_due_date() -> None:
    step = cad.first_attempt(utc(2026, 3, 5, 15), NY, Cadence(skip_weekends=False))
    assert clock.is_weekend(step.due_at, NY)
    assert "moved" not in step.why


# --------------------------------------------------------------------------- after_sent


@pytest.mark.parametrize(
    ("attempt_no", "sent", "tz", "cadence", "expected"),
    [
        # the example from the contract
        (
            1,
            utc(2026, 3, 5, 15),
            NY,
            SKIP,
            Step(
                "attempt",
                2,
                utc(2026, 3, 9, 14),
                "Attempt 2: attempt 1 sent Thu 5 Mar + 3 days = Sun 8 Mar, "
                "moved to Mon 9 Mar (weekends skipped)",
            ),
        ),
        (
            1,
            utc(2026, 3, 5, 15),
            NY,
            Cadence(),
            Step(
                "attempt",
                2,
                utc(2026, 3, 8, 14),
                "Attempt 2: attempt 1 sent Thu 5 Mar + 3 days = Sun 8 Mar",
            ),
        ),
        # the last attempt leads to the dormant check, 7 days later
        (
            2,
            utc(2026, 3, 9, 14),
            NY,
            Cadence(),
            Step(
                "dormant",
                None,
                utc(2026, 3, 16, 14),
                "Dormant check: attempt 2 sent Mon 9 Mar + 7 days = Mon 16 Mar, no reply",
            ),
        ),
        # dormant check across spring forward: Thu 10:00 EST -> Thu 10:00 EDT
        (
            2,
            utc(2026, 3, 5, 15),
            NY,
            SKIP,
            Step(
                "dormant",
                None,
                utc(2026, 3, 12, 14),
                "Dormant check: attempt 2 sent Thu 5 Mar + 7 days = Thu 12 Mar, no reply",
            ),
        ),
        # dormant check on a Saturday, weekends skipped, across fall back
        (
            2,
            utc(2026, 10, 30, 14),
            NY,
            Cadence(dormant_after_days=1, skip_weekends=True),
            Step(
                "dormant",
                None,
                utc(2026, 11, 2, 15),
                "Dormant check: attempt 2 sent Fri 30 Oct + 1 day = Sat 31 Oct, "
                "moved to Mon 2 Nov (weekends skipped), no reply",
            ),
        ),
        # attempts past the end of a (since shortened) cadence also go dormant
        (
            5,
            utc(2026, 3, 9, 14),
            NY,
            Cadence(),
            Step(
                "dormant",
                None,
                utc(2026, 3, 16, 14),
                "Dormant check: attempt 5 sent Mon 9 Mar + 7 days = Mon 16 Mar, no reply",
            ),
        ),
        (
            3,
            utc(2026, 3, 9, 14),
            NY,
            Cadence((3,)),
            Step(
                "dormant",
                None,
                utc(2026, 3, 16, 14),
                "Dormant check: attempt 3 sent Mon 9 Mar + 7 days = Mon 16 Mar, no reply",
            ),
        ),
        # Berlin across fall back: Thu 09:00 CEST + 3 = Sun 09:00 CET -> Mon 09:00 CET
        (
            1,
            utc(2026, 10, 22, 7),
            BERLIN,
            SKIP,
            Step(
                "attempt",
                2,
                utc(2026, 10, 26, 8),
                "Attempt 2: attempt 1 sent Thu 22 Oct + 3 days = Sun 25 Oct, "
                "moved to Mon 26 Oct (weekends skipped)",
            ),
        ),
        # Kolkata just after local midnight
        (
            2,
            utc(2026, 3, 4, 18, 35),
            KOLKATA,
            Cadence(),
            Step(
                "dormant",
                None,
                utc(2026, 3, 11, 18, 35),
                "Dormant check: attempt 2 sent Thu 5 Mar + 7 days = Thu 12 Mar, no reply",
            ),
        ),
    ],
)
def test_after_sent(attempt_no, sent, tz, cadence, expected: Step) -> None:
    assert cad.after_sent(attempt_no, sent, tz, cadence) == expected


def test_after_sent_uses_the_default_cadence() -> None:
    step = cad.after_sent(1, utc(2026, 3, 5, 15), NY)
    assert (step.kind, step.attempt_no, step.due_at) == ("attempt", 2, utc(2026, 3, 8, 14))
    dormant = cad.after_sent(2, utc(2026, 3, 5, 15), NY)
    assert (dormant.kind, dormant.attempt_no, dormant.due_at) == (
        "dormant",
        None,
        utc(2026, 3, 12, 14),
    )


def _walk(outreach: datetime, tz, cadence: Cadence) -> list[Step]:
    """Send every step the moment it falls due, until the dormant check."""
    steps = [cad.first_attempt(outreach, tz, cadence)]
    while steps[-1].kind == "attempt":
        steps.append(cad.after_sent(steps[-1].attempt_no, steps[-1].due_at, tz, cadence))
        assert len(steps) <= 12, "cadence never reached the dormant check"
    return steps


@pytest.mark.parametrize(
    ("cadence", "expected"),
    [
        # Mon 2 Mar 09:00 EST outreach; delays 2, 4, 7 then dormant 10
        (
            Cadence((2, 4, 7), dormant_after_days=10),
            [
                (
                    "attempt",
                    1,
                    utc(2026, 3, 4, 14),
                    "Attempt 1: outreach sent Mon 2 Mar + 2 days = Wed 4 Mar",
                ),
                (
                    "attempt",
                    2,
                    utc(2026, 3, 8, 13),  # Sun 09:00 EDT
                    "Attempt 2: attempt 1 sent Wed 4 Mar + 4 days = Sun 8 Mar",
                ),
                (
                    "attempt",
                    3,
                    utc(2026, 3, 15, 13),
                    "Attempt 3: attempt 2 sent Sun 8 Mar + 7 days = Sun 15 Mar",
                ),
                (
                    "dormant",
                    None,
                    utc(2026, 3, 25, 13),
                    "Dormant check: attempt 3 sent Sun 15 Mar + 10 days = Wed 25 Mar, no reply",
                ),
            ],
        ),
        (
            Cadence((2, 4, 7), dormant_after_days=10, skip_weekends=True),
            [
                (
                    "attempt",
                    1,
                    utc(2026, 3, 4, 14),
                    "Attempt 1: outreach sent Mon 2 Mar + 2 days = Wed 4 Mar",
                ),
                (
                    "attempt",
                    2,
                    utc(2026, 3, 9, 13),
                    "Attempt 2: attempt 1 sent Wed 4 Mar + 4 days = Sun 8 Mar, "
                    "moved to Mon 9 Mar (weekends skipped)",
                ),
                (
                    "attempt",
                    3,
                    utc(2026, 3, 16, 13),
                    "Attempt 3: attempt 2 sent Mon 9 Mar + 7 days = Mon 16 Mar",
                ),
                (
                    "dormant",
                    None,
                    utc(2026, 3, 26, 13),
                    "Dormant check: attempt 3 sent Mon 16 Mar + 10 days = Thu 26 Mar, no reply",
                ),
            ],
        ),
        # the default: two attempts then dormant
        (
            Cadence(),
            [
                (
                    "attempt",
                    1,
                    utc(2026, 3, 5, 14),
                    "Attempt 1: outreach sent Mon 2 Mar + 3 days = Thu 5 Mar",
                ),
                (
                    "attempt",
                    2,
                    utc(2026, 3, 8, 13),
                    "Attempt 2: attempt 1 sent Thu 5 Mar + 3 days = Sun 8 Mar",
                ),
                (
                    "dormant",
                    None,
                    utc(2026, 3, 15, 13),
                    "Dormant check: attempt 2 sent Sun 8 Mar + 7 days = Sun 15 Mar, no reply",
                ),
            ],
        ),
    ],
)
def test_whole_sequence_in_new_york(cadence: Cadence, expected) -> None:
    outreach = utc(2026, 3, 2, 14)  # Mon 2 Mar 09:00 EST
    steps = _walk(outreach, NY, cadence)
    assert [(s.kind, s.attempt_no, s.due_at, s.why) for s in steps] == expected


@pytest.mark.parametrize("n_delays", [1, 2, 3, 5, 10])
def test_more_delays_make_more_attempts(n_delays: int) -> None:
    cadence = Cadence((1,) * n_delays)
    steps = _walk(utc(2026, 3, 2, 14), NY, cadence)
    assert [s.attempt_no for s in steps] == [*range(1, n_delays + 1), None]
    assert [s.kind for s in steps] == ["attempt"] * n_delays + ["dormant"]
    assert cadence.attempts == n_delays


# --------------------------------------------------------------------------- texts


@pytest.mark.parametrize(
    ("instant", "tz", "label"),
    [
        (utc(2026, 3, 7, 18, 35), KOLKATA, "Sun 8 Mar"),  # Sat 7 Mar in UTC
        (utc(2026, 3, 7, 18, 29), KOLKATA, "Sat 7 Mar"),
        (utc(2025, 12, 31, 10), KIRITIMATI, "Thu 1 Jan"),  # Wed 31 Dec in UTC
        (utc(2027, 1, 1, 5), PAGO, "Thu 31 Dec"),  # Fri 1 Jan in UTC
        (utc(2026, 11, 1, 6, 30), NY, "Sun 1 Nov"),
        (utc(2026, 11, 2, 4, 59), NY, "Sun 1 Nov"),
        (utc(2026, 10, 25, 23), BERLIN, "Mon 26 Oct"),
    ],
)
def test_day_label_is_the_local_day_without_leading_zero(instant, tz, label: str) -> None:
    assert clock.instant_day_label(instant, tz) == label


@pytest.mark.parametrize(
    ("due", "tz", "attempt_no", "why"),
    [
        (utc(2026, 3, 9, 14), NY, 1, "Attempt 1: due Mon 9 Mar, set by you"),
        (utc(2026, 3, 9, 14), NY, 2, "Attempt 2: due Mon 9 Mar, set by you"),
        # Sun 8 Mar 18:35 UTC is Mon 9 Mar 00:05 in Kolkata
        (utc(2026, 3, 8, 18, 35), KOLKATA, 1, "Attempt 1: due Mon 9 Mar, set by you"),
    ],
)
def test_manual_why(due, tz, attempt_no: int, why: str) -> None:
    assert cad.manual_why(due, tz, attempt_no) == why


def test_manual_why_defaults_to_attempt_one() -> None:
    assert cad.manual_why(utc(2026, 3, 9, 14), NY) == "Attempt 1: due Mon 9 Mar, set by you"


@pytest.mark.parametrize(
    "call",
    [
        lambda t: cad.first_attempt(t, NY),
        lambda t: cad.after_sent(1, t, NY),
        lambda t: cad.after_sent(2, t, NY),
        lambda t: clock.instant_day_label(t, NY),
        lambda t: cad.manual_why(t, NY),
    ],
    ids=["first_attempt", "after_sent-attempt", "after_sent-dormant", "day_label", "manual_why"],
)
def test_naive_instants_are_rejected(call) -> None:
    with pytest.raises(ValueError):
        call(datetime(2026, 3, 5, 10))


# --------------------------------------------------------------------------- properties

ZONES = [
    "UTC",
    "America/New_York",
    "Europe/Berlin",
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
    "Asia/Kolkata",
    "Australia/Lord_Howe",
    "America/Santiago",
]

zones = st.sampled_from(ZONES).map(clock.zone)
instants = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2100, 12, 31, 23, 59, 59),
    timezones=st.just(UTC),
)
cadences = st.builds(
    Cadence,
    followup_delays_days=st.lists(st.integers(1, 365), min_size=1, max_size=10).map(tuple),
    dormant_after_days=st.integers(1, 365),
    skip_weekends=st.booleans(),
)


@settings(max_examples=150, deadline=None)
@given(tz=zones, sent=instants, cadence=cadences, attempt_no=st.integers(1, 12))
def test_property_due_dates_follow_the_cadence(tz, sent, cadence: Cadence, attempt_no) -> None:
    step = cad.after_sent(attempt_no, sent, tz, cadence)
    if attempt_no < cadence.attempts:
        assert (step.kind, step.attempt_no) == ("attempt", attempt_no + 1)
        days = cadence.followup_delays_days[attempt_no]
        assert step.why.startswith(f"Attempt {attempt_no + 1}: attempt {attempt_no} sent ")
    else:
        assert (step.kind, step.attempt_no) == ("dormant", None)
        days = cadence.dormant_after_days
        assert step.why.endswith(", no reply")
    sent_day = clock.local_date(sent, tz)
    due_local = clock.to_local(step.due_at, tz)
    shift = (due_local.date() - sent_day).days - days
    assert step.due_at > sent
    if cadence.skip_weekends:
        assert due_local.weekday() < 5
        assert 0 <= shift <= 2
        assert ("weekends skipped" in step.why) == (shift > 0)
    else:
        assert shift == 0
        assert "moved" not in step.why
    assert f"+ {days} day" in step.why


@pytest.mark.parametrize("bad", [(1.5,), (True,), ("3",)])
def test_delays_must_be_whole_numbers(bad):
    with pytest.raises(ValueError):
        Cadence(followup_delays_days=bad)


def test_attempt_numbers_start_at_one():
    with pytest.raises(ValueError):
        cad.after_sent(0, datetime(2026, 3, 5, tzinfo=UTC), clock.zone("UTC"))
