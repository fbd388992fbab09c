"""Reading the date of a "not now" reply from what the other side said.

A small grammar, in English, for what people actually write back: "next week",
"after the 15th", "in 2 weeks", "on Monday", "Jan 10", "end of the month", or an ISO
date. The answer is a local calendar day after today (the caller adds the time).
"""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta

MAX_AHEAD_DAYS = 366
HINT = "try a date like 2026-12-15, or 'next week', 'in 10 days', 'after the 15th', 'on Monday'"

_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
}
_WEEKDAYS = {name.lower(): i for i, name in enumerate(calendar.day_name)}
_WEEKDAYS.update({name.lower(): i for i, name in enumerate(calendar.day_abbr)})
_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
_MONTHS["sept"] = 9

_NUMBER = r"(\d{1,3}|" + "|".join(_NUMBERS) + r")"
_ORDINAL = r"(\d{1,2})(?:st|nd|rd|th)?"
_MONTH = "(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"


def _add_months(day: date, months: int) -> date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _next_day_of_month(today: date, n: int) -> date | None:
    """The next date on or after today whose day of the month is n."""
    if not 1 <= n <= 31:
        return None
    month_start = today.replace(day=1)
    for months in range(13):
        first = _add_months(month_start, months)
        if n <= calendar.monthrange(first.year, first.month)[1]:
            candidate = first.replace(day=n)
            if candidate >= today:
                return candidate
    return None


def _month_day(today: date, month: int, n: int, year: int | None) -> date | None:
    try:
        candidate = date(year or today.year, month, n)
    except ValueError:
        return None
    if year is None and candidate < today:
        try:
            candidate = date(today.year + 1, month, n)
        except ValueError:
            return None
    return candidate


def _next_weekday(today: date, weekday: int) -> date:
    return today + timedelta(days=(weekday - today.weekday() - 1) % 7 + 1)


def _named_day(text: str, today: date) -> date | None:
    """A single point in time, without "after"."""
    if text in ("tomorrow", "tmrw"):
        return today + timedelta(days=1)
    if text == "next week":
        return today + timedelta(days=7 - today.weekday())
    if text == "next month":
        return _add_months(today.replace(day=1), 1)
    if text in ("end of the month", "end of month", "the end of the month"):
        return today.replace(day=calendar.monthrange(today.year, today.month)[1])
    if text in ("end of the week", "end of week", "the end of the week"):
        return today + timedelta(days=(4 - today.weekday()) % 7)
    if m := re.fullmatch(rf"in {_NUMBER} (day|week|month)s?", text):
        count = int(m[1]) if m[1].isdigit() else _NUMBERS[m[1]]
        unit = m[2]
        if unit == "month":
            return _add_months(today, count)
        return today + timedelta(days=count * (7 if unit == "week" else 1))
    if (m := re.fullmatch(r"(?:next |this |on )?(\w+)", text)) and m[1] in _WEEKDAYS:
        return _next_weekday(today, _WEEKDAYS[m[1]])
    if m := re.fullmatch(rf"(?:on )?(?:the )?{_ORDINAL}", text):
        return _next_day_of_month(today, int(m[1]))
    if m := re.fullmatch(rf"(?:on )?{_MONTH} (?:the )?{_ORDINAL}(?:,? (\d{{4}}))?", text):
        return _month_day(today, _MONTHS[m[1]], int(m[2]), int(m[3]) if m[3] else None)
    if m := re.fullmatch(rf"(?:on )?(?:the )?{_ORDINAL}(?: of)? {_MONTH}(?:,? (\d{{4}}))?", text):
        return _month_day(today, _MONTHS[m[2]], int(m[1]), int(m[3]) if m[3] else None)
    return None


def resume_date(phrase: str, today: date) -> date:
    """The day to follow up on. ValueError with a sentence when it can't be read, is not
    after today, or is more than a year ahead."""
    text = " ".join(phrase.strip().lower().replace(",", ", ").split()).rstrip(".!")
    text = text.replace(" ,", ",")
    if not text:
        raise ValueError(f"is empty; {HINT}")
    try:
        day: date | None = date.fromisoformat(text)
    except ValueError:
        after = text.startswith("after ")
        day = _named_day(text.removeprefix("after ").strip(), today)
        if day is not None and after:
            day += timedelta(days=1)
    if day is None:
        raise ValueError(f"could not read {phrase.strip()!r} as a date; {HINT}")
    if day <= today:
        raise ValueError(f"{day.isoformat()} is not after today ({today.isoformat()})")
    if (day - today).days > MAX_AHEAD_DAYS:
        raise ValueError(f"{day.isoformat()} is more than a year ahead")
    return day
