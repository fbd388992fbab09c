"""How records look in the terminal (local times) and in --json (the API's shapes)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from followups import clock
from followups.cadence import relative_day
from followups.models import Contact, FollowUp, Job, Outreach
from followups.transfer.export import iso

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


def job_json(job: Job) -> dict:
    return {
        "id": str(job.id),
        "company": job.company,
        "role": job.role,
        "url": job.url,
        "stage": job.stage,
        "archived": job.archived,
        "archivedAt": iso(job.archived_at),
        "createdAt": iso(job.created_at),
    }


def contact_json(contact: Contact) -> dict:
    return {
        "id": str(contact.id),
        "name": contact.name,
        "email": contact.email,
        "company": contact.company,
        "linkedinUrl": contact.linkedin_url,
        "archived": contact.archived,
        "archivedAt": iso(contact.archived_at),
        "createdAt": iso(contact.created_at),
    }


def outreach_json(outreach: Outreach) -> dict:
    return {
        "id": str(outreach.id),
        "jobId": str(outreach.job_id) if outreach.job_id else None,
        "contactId": str(outreach.contact_id) if outreach.contact_id else None,
        "channel": outreach.channel,
        "sentAt": iso(outreach.sent_at),
        "note": outreach.note,
        "outcome": outreach.outcome,
        "createdAt": iso(outreach.created_at),
    }


def followup_json(f: FollowUp) -> dict:
    """As GET /followups answers, with the embedded job and contact."""
    return {
        "id": str(f.id),
        "jobId": str(f.job_id) if f.job_id else None,
        "contactId": str(f.contact_id) if f.contact_id else None,
        "outreachId": str(f.outreach_id) if f.outreach_id else None,
        "attemptNo": f.attempt_no,
        "type": f.type,
        "dueAt": iso(f.due_at),
        "sentAt": iso(f.sent_at),
        "cancelledAt": iso(f.cancelled_at),
        "cancelReason": f.cancel_reason,
        "note": f.note,
        "why": f.why,
        "job": job_json(f.job) if f.job is not None else None,
        "contact": contact_json(f.contact) if f.contact is not None else None,
    }
