"""`--to` for snoozing: words and dates in the user's zone. Pure."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from followups import clock
from followups.transfer.values import MAX_YEAR, MIN_YEAR

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAY = {**{w: i for i, w in enumerate(WEEKDAYS)}, **{w[:3]: i for i, w in enumerate(WEEKDAYS)}}


def snooze_target(text: str, now: datetime, tz: ZoneInfo) -> datetime:
    """`tomorrow`, a weekday (`monday`: the next Monday, never today), `YYYY-MM-DD`
    (all at 09:00 local), or an ISO 8601 instant (without an offset: local time)."""
    value = text.strip().lower()
    today = clock.local_date(now, tz)
    day: date | None = None
    if value == "today":
        day = today
    elif value == "tomorrow":
        day = today + timedelta(days=1)
    elif value in _WEEKDAY:
        day = today + timedelta(days=(_WEEKDAY[value] - today.weekday() - 1) % 7 + 1)
    if day is not None:
        return clock.at_day_time(day, tz)
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            instant = clock.at_day_time(day, tz)
        else:
            parsed = datetime.fromisoformat(text.strip())
            naive = parsed.tzinfo is None or parsed.utcoffset() is None
            instant = clock.to_utc(parsed, tz) if naive else parsed.astimezone(clock.UTC)
            day = parsed.date()
    except ValueError:
        raise ValueError(
            f"{text.strip()!r} is not a date: use tomorrow, monday (or another weekday), "
            "YYYY-MM-DD, or an ISO instant like 2026-03-09T14:00+01:00"
        ) from None
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise ValueError(f"the year must be between {MIN_YEAR} and {MAX_YEAR}")
    return instant
