"""Unit tests for followups.clock: local calendar days in the user's IANA zone.

Every expected UTC instant below is worked out by hand from the zone's offsets:
  America/New_York  EST -05:00, EDT -04:00; 2026-03-08 02:00 EST -> 03:00 EDT (07:00 UTC),
                    2026-11-01 02:00 EDT -> 01:00 EST (06:00 UTC)
  Europe/Berlin     CET +01:00, CEST +02:00; 2026-03-29 02:00 CET -> 03:00 CEST (01:00 UTC),
                    2026-10-25 03:00 CEST -> 02:00 CET (01:00 UTC)
  Pacific/Kiritimati +14:00, Pacific/Pago_Pago -11:00, Asia/Kolkata +05:30 (no DST).
2026-03-05 is a Thursday, 2026-03-07 a Saturday, 2026-03-08 and 2026-11-01 Sundays.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone, tzinfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from followups import clock

NY = clock.zone("America/New_York")
BERLIN = clock.zone("Europe/Berlin")
KIRITIMATI = clock.zone("Pacific/Kiritimati")
PAGO = clock.zone("Pacific/Pago_Pago")
KOLKATA = clock.zone("Asia/Kolkata")
UTC_ZONE = clock.zone("UTC")

HOUR = timedelta(hours=1)


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=UTC)


def naive(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi)


# --------------------------------------------------------------------------- zone names


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("UTC", True),
        ("Europe/Berlin", True),
        ("America/New_York", True),
        ("Pacific/Kiritimati", True),
        ("Asia/Kolkata", True),
        ("Mars/Base", False),
        ("", False),
        ("../etc/passwd", False),
        ("/usr/share/zoneinfo/UTC", False),
        ("Europe/Berlin ", False),
        ("Europe/", False),
        ("EST5EDT/../UTC", False),
    ],
)
def test_is_valid_timezone(name: str, valid: bool) -> None:
    assert clock.is_valid_timezone(name) is valid


@pytest.mark.parametrize("name", ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"])
def test_zone_returns_the_named_zone(name: str) -> None:
    tz = clock.zone(name)
    assert tz.key == name
    assert clock.zone(name) is tz  # cached: one object per name


@pytest.mark.parametrize("name", ["Mars/Base", "", "../etc/passwd", "Europe/Berlin "])
def test_zone_rejects_unknown_names_with_value_error(name: str) -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        clock.zone(name)


# --------------------------------------------------------------------------- awareness


class _NoOffset(tzinfo):
    """A tzinfo that does not know its offset: such an instant is still naive."""

    def utcoffset(self, dt: datetime | None) -> None:
        return None

    def dst(self, dt: datetime | None) -> None:
        return None

    def tzname(self, dt: datetime | None) -> None:
        return None


def test_require_aware_returns_an_aware_instant_unchanged() -> None:
    instant = utc(2026, 3, 8, 12)
    assert clock.require_aware(instant) is instant
    ny_instant = datetime(2026, 3, 8, 9, tzinfo=NY)
    assert clock.require_aware(ny_instant) is ny_instant


@pytest.mark.parametrize(
    "instant",
    [naive(2026, 3, 8, 12), datetime(2026, 3, 8, 12, tzinfo=_NoOffset())],
    ids=["no-tzinfo", "tzinfo-without-offset"],
)
def test_require_aware_rejects_naive(instant: datetime) -> None:
    with pytest.raises(ValueError, match="no UTC offset"):
        clock.require_aware(instant)


@pytest.mark.parametrize(
    "call",
    [
        lambda t: clock.to_local(t, NY),
        lambda t: clock.local_date(t, NY),
        lambda t: clock.today_bounds(t, NY),
        lambda t: clock.add_days(t, 1, NY),
        lambda t: clock.is_weekend(t, NY),
        lambda t: clock.skip_weekend(t, NY),
    ],
    ids=["to_local", "local_date", "today_bounds", "add_days", "is_weekend", "skip_weekend"],
)
def test_functions_taking_instants_reject_naive_datetimes(call) -> None:
    with pytest.raises(ValueError):
        call(naive(2026, 3, 7, 10))


# --------------------------------------------------------------------------- local -> UTC


@pytest.mark.parametrize(
    ("local", "tz", "expected"),
    [
        # New York, ordinary days
        (naive(2026, 3, 7, 9), NY, utc(2026, 3, 7, 14)),
        (naive(2026, 3, 9, 9), NY, utc(2026, 3, 9, 13)),
        # spring forward: 02:00-03:00 does not exist on 2026-03-08
        (naive(2026, 3, 8, 1, 59), NY, utc(2026, 3, 8, 6, 59)),
        (naive(2026, 3, 8, 2, 0), NY, utc(2026, 3, 8, 7, 0)),  # -> 03:00 EDT
        (naive(2026, 3, 8, 2, 30), NY, utc(2026, 3, 8, 7, 30)),  # -> 03:30 EDT
        (naive(2026, 3, 8, 3, 0), NY, utc(2026, 3, 8, 7, 0)),
        (naive(2026, 3, 8, 3, 30), NY, utc(2026, 3, 8, 7, 30)),
        # fall back: 01:00-02:00 happens twice on 2026-11-01; first (EDT) wins
        (naive(2026, 11, 1, 0, 59), NY, utc(2026, 11, 1, 4, 59)),
        (naive(2026, 11, 1, 1, 0), NY, utc(2026, 11, 1, 5, 0)),
        (naive(2026, 11, 1, 1, 30), NY, utc(2026, 11, 1, 5, 30)),
        (naive(2026, 11, 1, 2, 0), NY, utc(2026, 11, 1, 7, 0)),
        # Berlin: gap 02:00-03:00 on 03-29, overlap 02:00-03:00 on 10-25
        (naive(2026, 3, 29, 1, 59), BERLIN, utc(2026, 3, 29, 0, 59)),
        (naive(2026, 3, 29, 2, 30), BERLIN, utc(2026, 3, 29, 1, 30)),  # -> 03:30 CEST
        (naive(2026, 3, 29, 3, 30), BERLIN, utc(2026, 3, 29, 1, 30)),
        (naive(2026, 10, 25, 1, 30), BERLIN, utc(2026, 10, 24, 23, 30)),
        (naive(2026, 10, 25, 2, 30), BERLIN, utc(2026, 10, 25, 0, 30)),  # first: CEST
        (naive(2026, 10, 25, 3, 0), BERLIN, utc(2026, 10, 25, 2, 0)),
        # far ahead / far behind UTC, and a half-hour offset
        (naive(2026, 1, 1, 0, 0), KIRITIMATI, utc(2025, 12, 31, 10, 0)),
        (naive(2026, 12, 31, 23, 0), PAGO, utc(2027, 1, 1, 10, 0)),
        (naive(2026, 3, 8, 0, 5), KOLKATA, utc(2026, 3, 7, 18, 35)),
        (naive(2026, 3, 8, 0, 5), UTC_ZONE, utc(2026, 3, 8, 0, 5)),
    ],
)
def test_to_utc(local: datetime, tz, expected: datetime) -> None:
    result = clock.to_utc(local, tz)
    assert result == expected
    assert result.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("day", "hour", "minute", "tz", "expected", "local_wall"),
    [
        (date(2026, 3, 9), 9, 0, NY, utc(2026, 3, 9, 13), (9, 0)),
        (date(2026, 3, 8), 2, 30, NY, utc(2026, 3, 8, 7, 30), (3, 30)),  # gap -> 03:30
        (date(2026, 11, 1), 1, 30, NY, utc(2026, 11, 1, 5, 30), (1, 30)),  # first 01:30
        (date(2026, 3, 29), 2, 30, BERLIN, utc(2026, 3, 29, 1, 30), (3, 30)),
        (date(2026, 10, 25), 2, 30, BERLIN, utc(2026, 10, 25, 0, 30), (2, 30)),
        (date(2026, 3, 8), 9, 0, KIRITIMATI, utc(2026, 3, 7, 19, 0), (9, 0)),
        (date(2026, 3, 8), 9, 0, PAGO, utc(2026, 3, 8, 20, 0), (9, 0)),
        (date(2026, 3, 8), 9, 0, KOLKATA, utc(2026, 3, 8, 3, 30), (9, 0)),
    ],
)
def test_at_local_time(day, hour, minute, tz, expected, local_wall) -> None:
    result = clock.at_local_time(day, hour, minute, tz)
    assert result == expected
    local = result.astimezone(tz)
    assert (local.date(), local.hour, local.minute) == (day, *local_wall)


def test_gap_time_is_moved_forward_by_the_gap_and_reads_as_0330() -> None:
    result = clock.to_utc(naive(2026, 3, 8, 2, 30), NY)
    local = clock.to_local(result, NY)
    assert (local.hour, local.minute) == (3, 30)
    assert local.utcoffset() == timedelta(hours=-4)


def test_ambiguous_time_takes_the_first_occurrence() -> None:
    first = clock.to_utc(naive(2026, 11, 1, 1, 30), NY)
    assert first == utc(2026, 11, 1, 5, 30)
    # the second 01:30 (EST) is an hour later and is NOT what we get
    second = datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=NY).astimezone(UTC)
    assert second == utc(2026, 11, 1, 6, 30)
    assert first == second - HOUR
    assert clock.to_local(first, NY).utcoffset() == timedelta(hours=-4)


# --------------------------------------------------------------------------- UTC -> local


@pytest.mark.parametrize(
    ("instant", "tz", "expected_date"),
    [
        # 00:05 in Kolkata is still the previous day in UTC
        (utc(2026, 3, 7, 18, 35), KOLKATA, date(2026, 3, 8)),
        (utc(2026, 3, 7, 18, 29, 59), KOLKATA, date(2026, 3, 7)),
        (utc(2026, 3, 7, 18, 30), KOLKATA, date(2026, 3, 8)),
        # Kiritimati is a day ahead for 14 hours of every UTC day
        (utc(2026, 3, 7, 10, 0), KIRITIMATI, date(2026, 3, 8)),
        (utc(2026, 3, 7, 9, 59), KIRITIMATI, date(2026, 3, 7)),
        # Pago Pago is a day behind for 11 hours of every UTC day
        (utc(2026, 3, 9, 10, 59), PAGO, date(2026, 3, 8)),
        (utc(2026, 3, 9, 11, 0), PAGO, date(2026, 3, 9)),
        (utc(2027, 1, 1, 5, 0), PAGO, date(2026, 12, 31)),
        # New York around both transitions
        (utc(2026, 3, 8, 4, 59), NY, date(2026, 3, 7)),
        (utc(2026, 3, 8, 5, 0), NY, date(2026, 3, 8)),
        (utc(2026, 3, 9, 3, 59), NY, date(2026, 3, 8)),
        (utc(2026, 3, 9, 4, 0), NY, date(2026, 3, 9)),
        (utc(2026, 11, 2, 4, 59), NY, date(2026, 11, 1)),  # 23:59 EST
        (utc(2026, 11, 2, 5, 0), NY, date(2026, 11, 2)),
        # Berlin
        (utc(2026, 3, 28, 23, 0), BERLIN, date(2026, 3, 29)),
        (utc(2026, 3, 29, 22, 0), BERLIN, date(2026, 3, 30)),
        (utc(2026, 10, 25, 22, 59), BERLIN, date(2026, 10, 25)),
        (utc(2026, 10, 25, 23, 0), BERLIN, date(2026, 10, 26)),
    ],
)
def test_local_date(instant: datetime, tz, expected_date: date) -> None:
    assert clock.local_date(instant, tz) == expected_date


def test_to_local_accepts_any_aware_input_and_returns_it_in_the_zone() -> None:
    ist = timezone(timedelta(hours=5, minutes=30))
    instant = datetime(2026, 3, 8, 0, 5, tzinfo=ist)  # == 2026-03-07 18:35 UTC
    local = clock.to_local(instant, NY)
    assert local.tzinfo is NY
    assert local.replace(tzinfo=None) == naive(2026, 3, 7, 13, 35)  # 13:35 EST
    assert local == instant


@pytest.mark.parametrize(
    ("instant", "wall", "offset_hours"),
    [
        (utc(2026, 11, 1, 5, 30), naive(2026, 11, 1, 1, 30), -4),  # first 01:30, EDT
        (utc(2026, 11, 1, 6, 30), naive(2026, 11, 1, 1, 30), -5),  # second 01:30, EST
    ],
)
def test_to_local_in_the_overlap_keeps_the_right_offset(instant, wall, offset_hours) -> None:
    local = clock.to_local(instant, NY)
    assert local.replace(tzinfo=None, fold=0) == wall
    assert local.utcoffset() == timedelta(hours=offset_hours)


# --------------------------------------------------------------------------- day bounds


@pytest.mark.parametrize(
    ("day", "tz", "start", "end", "hours"),
    [
        # New York
        (date(2026, 3, 7), NY, utc(2026, 3, 7, 5), utc(2026, 3, 8, 5), 24),
        (date(2026, 3, 8), NY, utc(2026, 3, 8, 5), utc(2026, 3, 9, 4), 23),
        (date(2026, 3, 9), NY, utc(2026, 3, 9, 4), utc(2026, 3, 10, 4), 24),
        (date(2026, 10, 31), NY, utc(2026, 10, 31, 4), utc(2026, 11, 1, 4), 24),
        (date(2026, 11, 1), NY, utc(2026, 11, 1, 4), utc(2026, 11, 2, 5), 25),
        (date(2026, 11, 2), NY, utc(2026, 11, 2, 5), utc(2026, 11, 3, 5), 24),
        # Berlin
        (date(2026, 3, 28), BERLIN, utc(2026, 3, 27, 23), utc(2026, 3, 28, 23), 24),
        (date(2026, 3, 29), BERLIN, utc(2026, 3, 28, 23), utc(2026, 3, 29, 22), 23),
        (date(2026, 10, 25), BERLIN, utc(2026, 10, 24, 22), utc(2026, 10, 25, 23), 25),
        (date(2026, 10, 26), BERLIN, utc(2026, 10, 25, 23), utc(2026, 10, 26, 23), 24),
        # no DST: +14, -11, +5:30, UTC
        (date(2026, 3, 8), KIRITIMATI, utc(2026, 3, 7, 10), utc(2026, 3, 8, 10), 24),
        (date(2026, 1, 1), KIRITIMATI, utc(2025, 12, 31, 10), utc(2026, 1, 1, 10), 24),
        (date(2026, 3, 8), PAGO, utc(2026, 3, 8, 11), utc(2026, 3, 9, 11), 24),
        (date(2026, 12, 31), PAGO, utc(2026, 12, 31, 11), utc(2027, 1, 1, 11), 24),
        (date(2026, 3, 8), KOLKATA, utc(2026, 3, 7, 18, 30), utc(2026, 3, 8, 18, 30), 24),
        (date(2026, 3, 8), UTC_ZONE, utc(2026, 3, 8), utc(2026, 3, 9), 24),
    ],
)
def test_day_bounds(day: date, tz, start: datetime, end: datetime, hours: int) -> None:
    got_start, got_end = clock.day_bounds(day, tz)
    assert (got_start, got_end) == (start, end)
    assert got_end - got_start == timedelta(hours=hours)
    assert got_start.utcoffset() == timedelta(0) and got_end.utcoffset() == timedelta(0)


def test_consecutive_days_tile_without_gap_or_overlap() -> None:
    days = [date(2026, 10, 30) + timedelta(days=i) for i in range(5)]
    for tz in (NY, BERLIN, KOLKATA, KIRITIMATI, PAGO):
        bounds = [clock.day_bounds(d, tz) for d in days]
        for (_, end), (next_start, _) in zip(bounds, bounds[1:], strict=False):
            assert end == next_start


@pytest.mark.parametrize(
    ("now", "tz", "start", "end"),
    [
        # Kolkata 00:05 on 8 Mar = 18:35 UTC on 7 Mar: today is the LOCAL 8 Mar
        (utc(2026, 3, 7, 18, 35), KOLKATA, utc(2026, 3, 7, 18, 30), utc(2026, 3, 8, 18, 30)),
        # one second before local midnight: still 7 Mar
        (utc(2026, 3, 7, 18, 29, 59), KOLKATA, utc(2026, 3, 6, 18, 30), utc(2026, 3, 7, 18, 30)),
        # the start instant belongs to the day, the end instant to the next
        (utc(2026, 3, 7, 18, 30), KOLKATA, utc(2026, 3, 7, 18, 30), utc(2026, 3, 8, 18, 30)),
        # Kiritimati: 10:00 UTC on 7 Mar is 00:00 on 8 Mar
        (utc(2026, 3, 7, 10), KIRITIMATI, utc(2026, 3, 7, 10), utc(2026, 3, 8, 10)),
        (utc(2026, 3, 7, 9, 59), KIRITIMATI, utc(2026, 3, 6, 10), utc(2026, 3, 7, 10)),
        # Pago Pago: 05:00 UTC on 9 Mar is 18:00 on 8 Mar
        (utc(2026, 3, 9, 5), PAGO, utc(2026, 3, 8, 11), utc(2026, 3, 9, 11)),
        (utc(2026, 3, 9, 11), PAGO, utc(2026, 3, 9, 11), utc(2026, 3, 10, 11)),
        # New York spring-forward day (23 h) and the evening before it
        (utc(2026, 3, 8, 7), NY, utc(2026, 3, 8, 5), utc(2026, 3, 9, 4)),
        (utc(2026, 3, 9, 3, 59), NY, utc(2026, 3, 8, 5), utc(2026, 3, 9, 4)),
        (utc(2026, 3, 8, 4, 59), NY, utc(2026, 3, 7, 5), utc(2026, 3, 8, 5)),
        # New York fall-back day (25 h): both 01:30s are on 1 Nov
        (utc(2026, 11, 1, 5, 30), NY, utc(2026, 11, 1, 4), utc(2026, 11, 2, 5)),
        (utc(2026, 11, 1, 6, 30), NY, utc(2026, 11, 1, 4), utc(2026, 11, 2, 5)),
        # Berlin DST days
        (utc(2026, 3, 29, 12), BERLIN, utc(2026, 3, 28, 23), utc(2026, 3, 29, 22)),
        (utc(2026, 10, 25, 1, 30), BERLIN, utc(2026, 10, 24, 22), utc(2026, 10, 25, 23)),
    ],
)
def test_today_bounds_is_the_local_day(now: datetime, tz, start: datetime, end: datetime) -> None:
    assert clock.today_bounds(now, tz) == (start, end)
    assert start <= now < end


def test_today_bounds_accepts_now_in_another_zone() -> None:
    now = datetime(2026, 3, 8, 0, 5, tzinfo=KOLKATA)
    assert clock.today_bounds(now, KOLKATA) == (utc(2026, 3, 7, 18, 30), utc(2026, 3, 8, 18, 30))
    # the same instant is 7 Mar 13:35 in New York
    assert clock.today_bounds(now, NY) == (utc(2026, 3, 7, 5), utc(2026, 3, 8, 5))


# --------------------------------------------------------------------------- add_days


@pytest.mark.parametrize(
    ("instant", "days", "tz", "expected"),
    [
        # 09:00 stays 09:00 across spring forward (only 23 h elapse)
        (utc(2026, 3, 7, 14), 1, NY, utc(2026, 3, 8, 13)),
        # 02:30 EST + 1 day = 02:30 that does not exist -> 03:30 EDT
        (utc(2026, 3, 7, 7, 30), 1, NY, utc(2026, 3, 8, 7, 30)),
        # 09:00 stays 09:00 across fall back (25 h elapse)
        (utc(2026, 10, 31, 13), 1, NY, utc(2026, 11, 1, 14)),
        # 01:30 EDT + 1 day = ambiguous 01:30 -> first occurrence (EDT)
        (utc(2026, 10, 31, 5, 30), 1, NY, utc(2026, 11, 1, 5, 30)),
        # the second 01:30 (EST) + 1 day = 01:30 EST on 2 Nov
        (utc(2026, 11, 1, 6, 30), 1, NY, utc(2026, 11, 2, 6, 30)),
        # Thursday 10:00 EST + 3 days = Sunday 10:00 EDT
        (utc(2026, 3, 5, 15), 3, NY, utc(2026, 3, 8, 14)),
        # backwards across spring forward
        (utc(2026, 3, 9, 13), -2, NY, utc(2026, 3, 7, 14)),
        # Berlin
        (utc(2026, 3, 28, 8), 1, BERLIN, utc(2026, 3, 29, 7)),
        (utc(2026, 3, 28, 1, 30), 1, BERLIN, utc(2026, 3, 29, 1, 30)),  # 02:30 -> 03:30
        (utc(2026, 10, 24, 7), 1, BERLIN, utc(2026, 10, 25, 8)),
        (utc(2026, 10, 24, 0, 30), 1, BERLIN, utc(2026, 10, 25, 0, 30)),  # first 02:30
        # no-DST zones: whole multiples of 24 h, local date from the local day
        (utc(2026, 3, 7, 10), 3, KIRITIMATI, utc(2026, 3, 10, 10)),
        (utc(2026, 3, 7, 18, 35), 1, KOLKATA, utc(2026, 3, 8, 18, 35)),
        (utc(2026, 3, 9, 10, 30), 1, PAGO, utc(2026, 3, 10, 10, 30)),
        (utc(2026, 12, 31, 12), 1, UTC_ZONE, utc(2027, 1, 1, 12)),
        # a year: 2026-03-05 10:00 EST -> 2027-03-05 10:00 EST
        (utc(2026, 3, 5, 15), 365, NY, utc(2027, 3, 5, 15)),
    ],
)
def test_add_days(instant: datetime, days: int, tz, expected: datetime) -> None:
    result = clock.add_days(instant, days, tz)
    assert result == expected
    assert result.utcoffset() == timedelta(0)


def test_add_days_keeps_local_time_of_day_across_dst() -> None:
    start = datetime(2026, 3, 7, 9, 0, tzinfo=NY)
    for days in range(0, 10):
        local = clock.to_local(clock.add_days(start, days, NY), NY)
        assert (local.date(), local.hour, local.minute) == (date(2026, 3, 7 + days), 9, 0)


# --------------------------------------------------------------------------- weekends


@pytest.mark.parametrize(
    ("instant", "tz", "weekend"),
    [
        (utc(2026, 3, 7, 4, 30), NY, False),  # Fri 23:30 EST, already Sat in UTC
        (utc(2026, 3, 7, 5, 0), NY, True),  # Sat 00:00 EST
        (utc(2026, 3, 9, 3, 59), NY, True),  # Sun 23:59 EDT, Mon in UTC
        (utc(2026, 3, 9, 4, 0), NY, False),  # Mon 00:00 EDT
        (utc(2026, 3, 6, 18, 35), KOLKATA, True),  # Sat 00:05 IST, Fri in UTC
        (utc(2026, 3, 8, 18, 35), KOLKATA, False),  # Mon 00:05 IST, Sun in UTC
        (utc(2026, 3, 8, 11), KIRITIMATI, False),  # Mon 01:00, Sun in UTC
        (utc(2026, 3, 6, 10), KIRITIMATI, True),  # Sat 00:00, Fri in UTC
        (utc(2026, 3, 9, 5), PAGO, True),  # Sun 18:00, Mon in UTC
        (utc(2026, 3, 7, 5), PAGO, False),  # Fri 18:00, Sat in UTC
    ],
)
def test_is_weekend_uses_the_local_day(instant: datetime, tz, weekend: bool) -> None:
    assert clock.is_weekend(instant, tz) is weekend


@pytest.mark.parametrize(
    ("instant", "tz", "expected"),
    [
        # Sat 10:00 EST -> Mon 10:00 EDT (across spring forward)
        (utc(2026, 3, 7, 15), NY, utc(2026, 3, 9, 14)),
        # Sun 10:00 EDT -> Mon 10:00 EDT
        (utc(2026, 3, 8, 14), NY, utc(2026, 3, 9, 14)),
        # Sat 10:00 EDT -> Mon 10:00 EST (across fall back)
        (utc(2026, 10, 31, 14), NY, utc(2026, 11, 2, 15)),
        # Sun 01:30 EDT (first) and Sun 01:30 EST (second) -> Mon 01:30 EST
        (utc(2026, 11, 1, 5, 30), NY, utc(2026, 11, 2, 6, 30)),
        (utc(2026, 11, 1, 6, 30), NY, utc(2026, 11, 2, 6, 30)),
        # Fri 23:30 EST (Sat in UTC) is a weekday: unchanged
        (utc(2026, 3, 7, 4, 30), NY, utc(2026, 3, 7, 4, 30)),
        # Berlin: Sat 02:30 CET -> Mon 02:30 CEST; Sun 10:00 CEST -> Mon 10:00 CEST
        (utc(2026, 3, 28, 1, 30), BERLIN, utc(2026, 3, 30, 0, 30)),
        (utc(2026, 3, 29, 8), BERLIN, utc(2026, 3, 30, 8)),
        # Berlin: Sat 10:00 CEST -> Mon 10:00 CET
        (utc(2026, 10, 24, 8), BERLIN, utc(2026, 10, 26, 9)),
        # Kolkata: Sat 00:05 IST (Fri in UTC) -> Mon 00:05 IST
        (utc(2026, 3, 6, 18, 35), KOLKATA, utc(2026, 3, 8, 18, 35)),
        # Kiritimati: Sat 00:00 (Fri in UTC) -> Mon 00:00; Mon 01:00 (Sun in UTC) unchanged
        (utc(2026, 3, 6, 10), KIRITIMATI, utc(2026, 3, 8, 10)),
        (utc(2026, 3, 8, 11), KIRITIMATI, utc(2026, 3, 8, 11)),
        # Pago Pago: Sun 18:00 (Mon in UTC) -> Mon 18:00; Fri 18:00 (Sat in UTC) unchanged
        (utc(2026, 3, 9, 5), PAGO, utc(2026, 3, 10, 5)),
        (utc(2026, 3, 7, 5), PAGO, utc(2026, 3, 7, 5)),
        # plain UTC weekday
        (utc(2026, 3, 4, 12), UTC_ZONE, utc(2026, 3, 4, 12)),
    ],
)
def test_skip_weekend(instant: datetime, tz, expected: datetime) -> None:
    result = clock.skip_weekend(instant, tz)
    assert result == expected
    assert result.utcoffset() == timedelta(0)


def test_skip_weekend_returns_weekdays_as_the_same_instant_in_utc() -> None:
    wednesday = datetime(2026, 3, 4, 9, 0, tzinfo=NY)
    result = clock.skip_weekend(wednesday, NY)
    assert result == wednesday
    assert result.tzinfo is UTC


# --------------------------------------------------------------------------- properties

ZONES = [
    "UTC",
    "America/New_York",
    "Europe/Berlin",
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
    "Asia/Kolkata",
    "Australia/Lord_Howe",  # 30-minute DST
    "America/Santiago",  # DST change at local midnight
]

zones = st.sampled_from(ZONES).map(clock.zone)
instants = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2100, 12, 31, 23, 59, 59),
    timezones=st.just(UTC),
)


@settings(max_examples=150, deadline=None)
@given(tz=zones, now=instants)
def test_property_today_bounds_contains_now_and_is_23_to_25_hours(tz, now) -> None:
    start, end = clock.today_bounds(now, tz)
    assert start <= now < end
    assert timedelta(hours=23) <= end - start <= timedelta(hours=25)
    assert clock.local_date(start, tz) == clock.local_date(now, tz)
    assert clock.local_date(end, tz) == clock.local_date(now, tz) + timedelta(days=1)


@settings(max_examples=150, deadline=None)
@given(tz=zones, instant=instants, days=st.integers(min_value=-400, max_value=400))
def test_property_add_days_lands_exactly_n_local_days_later(tz, instant, days) -> None:
    result = clock.add_days(instant, days, tz)
    before = instant.astimezone(tz)
    after = result.astimezone(tz)
    assert after.date() == before.date() + timedelta(days=days)
    # the local time of day is kept, unless it does not exist on that day, in which
    # case it is moved forward by the gap (at most an hour)
    wanted = before.replace(tzinfo=None) + timedelta(days=days)
    got = after.replace(tzinfo=None)
    assert wanted <= got <= wanted + HOUR


@settings(max_examples=150, deadline=None)
@given(tz=zones, instant=instants)
def test_property_skip_weekend_never_lands_on_a_weekend(tz, instant) -> None:
    result = clock.skip_weekend(instant, tz)
    before = instant.astimezone(tz)
    after = result.astimezone(tz)
    assert after.weekday() < 5
    assert 0 <= (after.date() - before.date()).days <= 2
    assert instant <= result <= instant + timedelta(days=2, hours=1)
    if before.weekday() < 5:
        assert result == instant
    else:
        assert after.weekday() == 0


@pytest.mark.parametrize("name", ["localtime", "Factory"])
def test_names_that_are_not_places_are_refused(name):
    assert not clock.is_valid_timezone(name)


@pytest.mark.parametrize(
    ("day", "today", "label"),
    [
        (date(2026, 3, 5), date(2026, 3, 5), "Thu 5 Mar"),
        (date(2026, 12, 31), date(2026, 3, 5), "Thu 31 Dec"),
        (date(2025, 12, 30), date(2026, 3, 5), "Tue 30 Dec 2025"),
        (date(2027, 1, 1), date(2026, 12, 30), "Fri 1 Jan 2027"),
        (date(2025, 12, 30), None, "Tue 30 Dec"),
    ],
)
def test_a_day_shows_its_year_only_when_it_is_not_the_current_one(day, today, label):
    assert clock.day_label(day, today) == label


def test_labels_of_instants_are_local_and_holiday_lists_always_show_the_year():
    ny = clock.zone("America/New_York")
    # 02:30Z on 1 Jan 2027 is still 31 Dec 2026 in New York.
    instant = datetime(2027, 1, 1, 2, 30, tzinfo=UTC)
    assert clock.instant_label(instant, ny, date(2026, 12, 31)) == "Thu 31 Dec 21:30"
    assert clock.instant_label(instant, ny, date(2027, 1, 2)) == "Thu 31 Dec 2026 21:30"
    assert clock.full_day_label(date(2026, 12, 25)) == "Fri 25 Dec 2026"


def test_a_date_without_a_time_falls_due_at_nine_local():
    berlin = clock.zone("Europe/Berlin")
    assert clock.DAY_TIME_TEXT == "09:00"
    assert clock.at_day_time(date(2026, 3, 5), berlin) == datetime(2026, 3, 5, 8, 0, tzinfo=UTC)
