"""How records read in the terminal: short ids, local times, subjects. (Their --json is the
API's shapes: followups.api.shapes.)"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from followups import clock
from followups.cadence import relative_day
from followups.models import Contact, Job

SHORT_ID = 8


def short_id(value) -> str:
    return value.hex[:SHORT_ID]


def local_label(instant: datetime | None, tz: ZoneInfo, today: date | None = None) -> str:
    return clock.instant_label(instant, tz, today) if instant is not None else ""



def relative(instant: datetime, now: datetime, tz: ZoneInfo) -> str:
    """By local calendar day: today, tomorrow, in 3 days, yesterday, 3 days ago."""
    return relative_day(clock.local_date(instant, tz), clock.local_date(now, tz))


def due_label(instant: datetime, now: datetime, tz: ZoneInfo) -> str:
    """ "Fri 27 Nov 12:28 (in 3 days)"."""
    return f"{local_label(instant, tz)} ({relative(instant, now, tz)})"


def subject(job: Job | None, contact: Contact | None) -> str:
    parts = []
    if job is not None:
        parts.append(f"{job.company} — {job.role}")
    if contact is not None:
        parts.append(contact.name)
    return " · ".join(parts) or "—"
