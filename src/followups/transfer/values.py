"""Checking one cell: text limits and characters, emails, dates. Pure functions.

The limits are the API's (followups.input_limits): names, URLs, emails and notes; no
control characters (notes may hold tabs and newlines).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from email_validator import EmailNotValidError, validate_email

from followups import clock
from followups.input_limits import EMAIL_MAX as EMAIL_MAX
from followups.input_limits import NAME_MAX as NAME_MAX
from followups.input_limits import NOTE_MAX as NOTE_MAX
from followups.input_limits import URL_MAX as URL_MAX
from followups.input_limits import day_in_range, instant_in_range

# A date without a time means this local time of day (as snoozing does).


# Unicode category Cc is exactly U+0000-U+001F and U+007F-U+009F.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_BUT_WHITESPACE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def text(raw: str, limit: int, *, multiline: bool = False) -> str | None:
    """The stripped value (None when blank); ValueError for bad characters or length."""
    value = raw.strip()
    if not value:
        return None
    if (_CONTROL_BUT_WHITESPACE if multiline else _CONTROL).search(value):
        raise ValueError(
            "contains a NUL character" if "\x00" in value else "contains a control character"
        )
    if len(value) > limit:
        raise ValueError(f"is {len(value)} characters long, at most {limit} are allowed")
    return value


_emails: dict[str, str] = {}


def email(raw: str) -> str:
    """The normalised address (syntax only, as the API checks it)."""
    known = _emails.get(raw)
    if known is not None:
        return known
    try:
        value = validate_email(
            raw, check_deliverability=False, globally_deliverable=False, test_environment=True
        ).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"{raw!r} is not a valid email address ({exc})") from None
    if len(_emails) < 100_000:
        _emails[raw] = value
    return value


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}$")
_NUMERIC = re.compile(r"(\d{1,4})([/.])(\d{1,2})\2(\d{1,4})$")
_WORDY = ("%d %b %Y", "%d %B %Y", "%b %d, %Y", "%B %d, %Y", "%b %d %Y", "%B %d %Y", "%d-%b-%Y")


def _day(raw: str, day_first: bool) -> date | None:
    if _ISO_DATE.match(raw):
        return date.fromisoformat(raw)
    m = _NUMERIC.match(raw)
    if m:
        a, sep, b, c = m.groups()
        if len(a) == 4:
            y, mo, d = a, b, c
        elif len(c) == 4:
            # 05.03.2026 is day-first everywhere; 3/5/2026 is month-first unless told otherwise.
            d, mo, y = (a, b, c) if sep == "." or day_first else (b, a, c)
        else:
            raise ValueError(f"{raw!r} has no four-digit year")
        return date(int(y), int(mo), int(d))
    for fmt in _WORDY:
        try:
            return datetime.strptime(raw, fmt).date()
        except ValueError:
            continue
    return None


def when(raw: str, tz: ZoneInfo, *, day_first: bool = False) -> datetime:
    """A cell as a UTC instant: an ISO 8601 instant (with an offset; without one it is a
    local time in tz), or a date (09:00 local that day): 2026-03-05, 3/5/2026 (5/3/2026
    with day_first), 05.03.2026, 5 Mar 2026, Mar 5, 2026."""
    value = raw.strip()
    try:
        day = _day(value, day_first)
    except ValueError as exc:
        raise ValueError(
            str(exc) if "year" in str(exc) else f"{raw!r} is not a valid date ({exc})"
        ) from None
    if day is not None:
        return instant_in_range(clock.at_day_time(day_in_range(day), tz))
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"{raw!r} is not a date (use YYYY-MM-DD"
            " or an ISO 8601 instant like 2026-03-05T14:30:00+01:00)"
        ) from None
    if instant.tzinfo is None or instant.utcoffset() is None:
        instant = clock.in_zone(instant, tz)
    return instant_in_range(instant)
