"""Days typed on the command line, in the user's zone: `--sent`, `--to`, holidays. Pure.

Words for days near today work wherever a date is taken: `today`, `yesterday`,
`tomorrow`, a weekday (`monday`, `mon`; the nearest one in the verb's direction, never
today), `last friday`, `next monday`, `3 days ago`, `2 weeks ago`, `in 3 days`,
`in 2 weeks`; else `YYYY-MM-DD` (09:00 local) or an ISO 8601 instant.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from followups import clock
from followups.input_limits import day_in_range, instant_in_range
from followups.transfer.values import when as written_when

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAY = {**{w: i for i, w in enumerate(WEEKDAYS)}, **{w[:3]: i for i, w in enumerate(WEEKDAYS)}}
_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7}
_COUNT = r"(\d{1,3}|" + "|".join(_NUMBERS) + r")\s+(day|week)s?"
_AGO = re.compile(_COUNT + r"\s+ago")
_IN = re.compile(r"in\s+" + _COUNT)
_WEEKDAY_WORDS = re.compile(r"(?:(last|next|this|on)\s+)?([a-z]+)")
WORDS = "today, yesterday, tomorrow, monday (any weekday), last friday, next monday, 3 days ago, in 2 weeks"


def _count(number: str, unit: str) -> int:
    n = int(number) if number.isdigit() else _NUMBERS[number]
    return n * (7 if unit == "week" else 1)


def relative_day(text: str, today: date, *, past: bool) -> date | None:
    """The day a word for a day near today names, or None if it is not one. `past`: the
    direction of a bare weekday (`monday` is the last Monday for when something was sent,
    the next one for when something is due)."""
    value = " ".join(text.strip().lower().split())
    fixed = {"today": 0, "yesterday": -1, "tomorrow": 1}
    if value in fixed:
        return today + timedelta(days=fixed[value])
    if match := _AGO.fullmatch(value):
        return today - timedelta(days=_count(*match.groups()))
    if match := _IN.fullmatch(value):
        return today + timedelta(days=_count(*match.groups()))
    match = _WEEKDAY_WORDS.fullmatch(value)
    if match is None or match.group(2) not in _WEEKDAY:
        return None
    which, weekday = match.group(1), _WEEKDAY[match.group(2)]
    backwards = which == "last" or (past and which not in ("next", "this"))
    if backwards:
        return today - timedelta(days=(today.weekday() - weekday - 1) % 7 + 1)
    return today + timedelta(days=(weekday - today.weekday() - 1) % 7 + 1)


def calendar_day(text: str, today: date, *, past: bool = False) -> date:
    """A whole day (a holiday): a word for a day near today, or YYYY-MM-DD."""
    day = relative_day(text, today, past=past)
    if day is None:
        try:
            day = date.fromisoformat(text.strip())
        except ValueError:
            raise ValueError(f"{text.strip()!r} is not a date: give YYYY-MM-DD or {WORDS}") from None
    return day_in_range(day)


def sent_at(text: str, now: datetime, tz: ZoneInfo) -> datetime:
    """When something was sent: `today` is now, another word for a day 09:00 local that day
    (a bare weekday: the last one); else what the importer reads (YYYY-MM-DD at 09:00 local,
    3/5/2026, 5 Mar 2026, an ISO instant)."""
    today = clock.local_date(now, tz)
    day = relative_day(text, today, past=True)
    if day == today:
        return now
    if day is not None:
        return instant_in_range(clock.at_day_time(day_in_range(day), tz))
    try:
        return written_when(text, tz)
    except ValueError as exc:
        raise ValueError(f"{exc}; or a word: {WORDS}") from None


def snooze_target(text: str, now: datetime, tz: ZoneInfo) -> datetime:
    """A word for a day near today (a bare weekday: the next one, never today), `YYYY-MM-DD`
    (all at 09:00 local), or an ISO 8601 instant (without an offset: local time)."""
    today = clock.local_date(now, tz)
    day = relative_day(text, today, past=False)
    if day is not None:
        return instant_in_range(clock.at_day_time(day_in_range(day), tz))
    value = text.strip()
    try:
        if len(value) == 10:
            parsed = datetime.combine(date.fromisoformat(value), clock.DAY_TIME)
        else:
            parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"{value!r} is not a date: use {WORDS}, YYYY-MM-DD, or an ISO instant like 2026-03-09T14:00+01:00"
        ) from None
    naive = parsed.tzinfo is None or parsed.utcoffset() is None
    return instant_in_range(clock.in_zone(parsed, tz) if naive else parsed)
