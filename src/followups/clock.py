"""Time in the user's zone: pure functions, no "now" of their own.

Every instant that goes in or comes out is timezone-aware; results are UTC.
Local wall-clock arithmetic follows PEP 495 with fold=0, which is exactly the
contract's rule: a local time that does not exist (inside a spring-forward gap)
lands after the gap, moved forward by its length (02:30 -> 03:30), and an
ambiguous one (inside a fall-back overlap) takes its first occurrence.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

UTC = UTC
SATURDAY = 5
# A date given without a time of day (a "not now" date, a thank-you note, a snooze or revive
# preset, an imported or typed date) falls due at this local time.
DAY_TIME = time(9, 0)
DAY_TIME_TEXT = f"{DAY_TIME:%H:%M}"
# An outreach is recorded once sent: its sentAt may run ahead of the server's clock by this
# much (the sender's clock, a phone's), no more. Every edge checks it through `sent_by`.
SENT_AT_SKEW = timedelta(minutes=5)


# Names the tz database ships that are not places: "localtime" would follow the server.
_NOT_ZONES = frozenset({"localtime", "Factory", "posixrules", "posix/Factory", "right/Factory"})


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones()) - _NOT_ZONES


def zone_names() -> list[str]:
    """Every name `zone` takes, sorted."""
    return sorted(_zone_names())


def is_valid_timezone(name: str) -> bool:
    return name in _zone_names()


@lru_cache(maxsize=1024)
def zone(name: str) -> ZoneInfo:
    """The ZoneInfo for an IANA name; raises ValueError for an unknown one."""
    if not is_valid_timezone(name):
        raise ValueError(f"unknown time zone {name!r}")
    return ZoneInfo(name)


def require_aware(instant: datetime) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("instant has no UTC offset")
    return instant


def in_zone(local: datetime, tz: ZoneInfo) -> datetime:
    """A naive local wall-clock time in tz, aware (a gap reads forward, an overlap first)."""
    return local.replace(tzinfo=tz, fold=0)


def to_utc(local: datetime, tz: ZoneInfo) -> datetime:
    """A naive local wall-clock time in tz as a UTC instant (gap forward, overlap first)."""
    return in_zone(local, tz).astimezone(UTC)


def to_local(instant: datetime, tz: ZoneInfo) -> datetime:
    return require_aware(instant).astimezone(tz)


def local_date(instant: datetime, tz: ZoneInfo) -> date:
    return to_local(instant, tz).date()


def day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of a local calendar day, in UTC. 23 or 25 hours on DST days."""
    start = to_utc(datetime.combine(day, time()), tz)
    end = to_utc(datetime.combine(day + timedelta(days=1), time()), tz)
    return start, end


def shift_day_start(day: date, days: int, tz: ZoneInfo) -> datetime:
    """The start, in UTC, of the local day `days` after `day` (before it when negative)."""
    return to_utc(datetime.combine(day + timedelta(days=days), time()), tz)


def today_bounds(now: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    return day_bounds(local_date(now, tz), tz)


def start_of_local_day(instant: datetime, tz: ZoneInfo) -> datetime:
    return day_bounds(local_date(instant, tz), tz)[0]


def add_days(instant: datetime, days: int, tz: ZoneInfo) -> datetime:
    """N calendar days later in tz, keeping the local time of day across DST."""
    local = to_local(instant, tz).replace(tzinfo=None, fold=0)
    return to_utc(local + timedelta(days=days), tz)


def is_weekend(instant: datetime, tz: ZoneInfo) -> bool:
    return to_local(instant, tz).weekday() >= SATURDAY


def skip_weekend(instant: datetime, tz: ZoneInfo) -> datetime:
    """Saturday or Sunday (local) moves to the following Monday, same local time."""
    weekday = to_local(instant, tz).weekday()
    if weekday < SATURDAY:
        return require_aware(instant).astimezone(UTC)
    return add_days(instant, 7 - weekday, tz)


def next_local_time(now: datetime, hour: int, tz: ZoneInfo) -> datetime:
    """The first instant after `now` at hour:00 local (today's if still ahead)."""
    today = local_date(now, tz)
    candidate = at_local_time(today, hour, 0, tz)
    if candidate <= now:
        candidate = at_local_time(today + timedelta(days=1), hour, 0, tz)
    return candidate


def at_local_time(day: date, hour: int, minute: int, tz: ZoneInfo) -> datetime:
    """A wall-clock time on a local day, as a UTC instant."""
    return to_utc(datetime.combine(day, time(hour, minute)), tz)


def at_day_time(day: date, tz: ZoneInfo) -> datetime:
    """A local day at DAY_TIME (09:00), as a UTC instant."""
    return to_utc(datetime.combine(day, DAY_TIME), tz)


def day_label(day: date, today: date | None = None) -> str:
    """ "Thu 5 Mar"; with the year when it is not `today`'s ("Thu 5 Mar 2025"). Without a
    `today` to compare with, no year."""
    text = f"{day:%a} {day.day} {day:%b}"
    return text if today is None or day.year == today.year else f"{text} {day.year}"


def full_day_label(day: date) -> str:
    """ "Thu 5 Mar 2026": always with the year, for lists of dates (holidays)."""
    return f"{day_label(day)} {day.year}"


def instant_day_label(instant: datetime, tz: ZoneInfo, today: date | None = None) -> str:
    """The local day of an instant, as `day_label`."""
    return day_label(local_date(instant, tz), today)


def instant_label(instant: datetime, tz: ZoneInfo, today: date | None = None) -> str:
    """ "Thu 5 Mar 15:00": the local day (as `day_label`) and the local time."""
    local = to_local(instant, tz)
    return f"{day_label(local.date(), today)} {local:%H:%M}"
def sent_by(sent_at: datetime, now: datetime) -> bool:
    """An outreach dated `sent_at` can have been sent by `now` (allowing SENT_AT_SKEW)."""
    return require_aware(sent_at) <= now + SENT_AT_SKEW


def is_ahead(instant: datetime, now: datetime) -> bool:
    """Strictly after `now`: where a snooze or a reschedule may move a follow-up."""
    return require_aware(instant) > now
