"""A user's job-search rules and quiet days: changing them, and reading holidays from .ics."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import icalendar
from sqlalchemy.orm import Session

from followups import clock
from followups.errors import Invalid
from followups.models import User
from followups.rules import MAX_HOLIDAYS, Rules

# Imported holidays: from today on, at most this far ahead; an event longer than a
# month is not a holiday (a term, a season) and is left out.
HOLIDAYS_AHEAD_DAYS = 2 * 366
LONGEST_HOLIDAY_DAYS = 31


def set_rules(session: Session, user: User, changes: dict) -> Rules:
    """Change some rules; the others stay."""
    try:
        rules = user.rule_set.merged(**changes)
    except ValueError as exc:
        raise Invalid.field("rules", str(exc)) from None
    user.rules = rules.to_json()
    session.flush()
    return rules


def set_adaptive(session: Session, user: User, adaptive: bool) -> None:
    user.cadence_adaptive = adaptive
    session.flush()


def _event_days(event, tz) -> list[date]:
    start = event.decoded("DTSTART", None)
    if start is None:
        return []
    end = event.decoded("DTEND", None)
    if isinstance(start, datetime):
        # A timed event marks its local day (in the user's zone), floating times as local.
        first = clock.local_date(start, tz) if start.tzinfo else start.date()
        last = first
        if isinstance(end, datetime):
            last = clock.local_date(end - timedelta(microseconds=1), tz) if end.tzinfo else end.date()
    else:
        # All-day: DTEND is exclusive; without one it is that single day.
        first = start
        last = (end - timedelta(days=1)) if isinstance(end, date) and end > start else start
    if (last - first).days >= LONGEST_HOLIDAY_DAYS:
        return []
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def import_holidays(session: Session, user: User, ics: bytes, *, now: datetime) -> tuple[int, int]:
    """Add the days of every event in an iCalendar file to the user's holidays.
    Returns (added, ignored): ignored are past days, days too far ahead, and days
    already in the list. Recurring events count by their first occurrence only."""
    try:
        calendar = icalendar.Calendar.from_ical(ics.decode("utf-8-sig"))
        events = list(calendar.walk("VEVENT"))
        days = [day for event in events for day in _event_days(event, user.zone)]
    except (ValueError, UnicodeDecodeError, KeyError, TypeError) as exc:
        raise Invalid.field("body", f"is not a readable iCalendar (.ics) file: {exc}") from None
    today = clock.local_date(now, user.zone)
    horizon = today + timedelta(days=HOLIDAYS_AHEAD_DAYS)
    current = set(user.rule_set.holidays)
    fresh = {d for d in days if today <= d <= horizon} - current
    if len(current) + len(fresh) > MAX_HOLIDAYS:
        raise Invalid.field("body", f"would make more than {MAX_HOLIDAYS} holidays")
    set_rules(session, user, {"holidays": current | fresh})
    return len(fresh), len(days) - len(fresh)
