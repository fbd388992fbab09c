"""The limits of what a user may type, once: the API's schemas, the pages' forms and their
`maxlength`, the CLI's options and the CSV and JSON imports check against these."""

from __future__ import annotations

from datetime import UTC, date, datetime

NAME_MAX = 200  # a company, a role, a contact's name, any short text
URL_MAX = 2000
EMAIL_MAX = 320
NOTE_MAX = 2000
RESUME_MAX = 100  # a "not now" phrase: "next week", "after the 15th", a date
PASSWORD_MIN, PASSWORD_MAX = 8, 1024
SECRET_MIN, SECRET_MAX = 16, 200  # a webhook's shared secret
ZONE_MAX = 64  # an IANA time zone name
ID_MAX = 64  # an id given in a request
MIN_YEAR, MAX_YEAR = 1970, 2999  # instants and dates outside are refused (422)


def day_in_range(day: date) -> date:
    """A day typed or imported: ValueError outside the years."""
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise ValueError(f"must be between the years {MIN_YEAR} and {MAX_YEAR}")
    return day


def instant_in_range(value: datetime) -> datetime:
    """An instant (with an offset) in UTC; ValueError unless its UTC instant lies within the
    years: an offset carries `2999-12-31T23:59:59-12:00` into 3000 and
    `1970-01-01T00:00:00+00:01` into 1969. Every edge checks instants here, and instants it
    made from a typed day (09:00 local can be the day before in UTC)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("must have a UTC offset")
    try:
        utc = value.astimezone(UTC)
    except OverflowError:  # before year 1 or after 9999 in UTC
        utc = None
    if utc is None or not MIN_YEAR <= utc.year <= MAX_YEAR:
        raise ValueError(f"must be between the years {MIN_YEAR} and {MAX_YEAR} in UTC")
    return utc
