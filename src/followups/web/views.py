"""What the templates show: dates in the owner's zone, items and timelines as plain data."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from followups import clock
from followups import notification_kinds as kinds
from followups.cadence import relative_day
from followups.mailbox.drafts import Draft
from followups.models import (
    Contact,
    FollowUp,
    FollowupType,
    Job,
    Notification,
    Outreach,
    User,
)

CHANNELS = {"EMAIL": "Email", "LINKEDIN": "LinkedIn", "PHONE": "Phone", "OTHER": "Other"}
STAGES = {
    "APPLIED": "Applied",
    "HR": "HR interview",
    "TECH": "Tech interview",
    "OFFER": "Offer",
    "REJECTED": "Rejected",
    "DORMANT": "Dormant",
}
OUTCOMES = {
    "NONE": "",
    "POSITIVE": "Replied (positive)",
    "NEGATIVE": "Replied (negative)",
    "REPLIED": "Replied (not classified yet)",
    "NO_RESPONSE": "No response",
    "LATER": "Not now",
}
# What the outcome menus offer, in the order a reply comes to mind.
OUTCOME_CHOICES = {
    "NONE": "No answer yet",
    "LATER": "Not now: follow up on a day they named",
    "POSITIVE": "Replied (positive)",
    "NEGATIVE": "Replied (negative)",
    "REPLIED": "Replied (not classified yet)",
    "NO_RESPONSE": "No response",
}
RESUME_EXAMPLES = "e.g. next week, after the 15th, in 10 days, 2026-12-15"


def when(instant: datetime, tz: ZoneInfo, today: date | None = None) -> str:
    local = clock.to_local(instant, tz)
    return f"{clock.day_label(local.date(), today)}, {local:%H:%M}"


def attempt_label(fu: FollowUp, user: User) -> str:
    if fu.type == FollowupType.APPOINTMENT.value:
        return "Appointment"
    if fu.type == FollowupType.THANK_YOU.value:
        return "Thank-you note"
    # A cadence shortened since the chain began still counts this attempt.
    return f"Attempt {fu.attempt_no} of {max(fu.attempt_no, user.cadence.attempts)}"


def subject(job: Job | None, contact: Contact | None) -> str:
    if job is not None:
        return f"{job.company} – {job.role}"
    if contact is not None:
        return contact.name + (f" ({contact.company})" if contact.company else "")
    return "(no job or contact)"


@dataclass
class Item:
    """One open follow-up on the Today page."""

    id: str
    company: str | None
    role: str | None
    contact: str | None
    job_id: str | None
    contact_id: str | None
    attempt: str
    channel: str | None
    outreach_note: str | None
    note: str | None
    why: str | None
    due: str
    due_time: str
    day: date
    overdue: str | None
    # The drafted email (followups.mailbox.drafts), for a follow-up of an email outreach.
    draft: Draft | None = None


def item(fu: FollowUp, user: User, today: date, outreach: dict) -> Item:
    tz = user.zone
    local = clock.to_local(fu.due_at, tz)
    sent_with = outreach.get(fu.outreach_id)
    late = (today - local.date()).days
    return Item(
        id=str(fu.id),
        company=fu.job.company if fu.job else None,
        role=fu.job.role if fu.job else None,
        contact=fu.contact.name if fu.contact else None,
        job_id=str(fu.job_id) if fu.job_id else None,
        contact_id=str(fu.contact_id) if fu.contact_id else None,
        attempt=attempt_label(fu, user),
        channel=CHANNELS.get(sent_with.channel) if sent_with else None,
        outreach_note=sent_with.note if sent_with else None,
        note=fu.note,
        why=fu.why,
        due=when(fu.due_at, tz, today),
        due_time=f"{local:%H:%M}",
        day=local.date(),
        overdue=(f"{late} day{'s' if late != 1 else ''} overdue") if late > 0 else None,
    )


@dataclass
class DayGroup:
    label: str
    items: list[Item] = field(default_factory=list)


def by_day(items: Iterable[Item], today: date) -> list[DayGroup]:
    groups: dict[date, DayGroup] = {}
    for it in items:
        if it.day not in groups:
            groups[it.day] = DayGroup(f"{clock.day_label(it.day, today)} ({relative_day(it.day, today)})")
        groups[it.day].items.append(it)
    return list(groups.values())


@dataclass
class OutreachRow:
    """One outreach in a job's or contact's list, with its answer."""

    id: str
    when: str
    channel: str
    other: str | None
    outcome: str
    answer: str | None
    resumes: str | None


def outreach_rows(
    user: User, now: datetime, outreach: Sequence[Outreach], others: dict
) -> list[OutreachRow]:
    """`others`: the name of the other side of each outreach (its contact on a job's page,
    its job on a contact's), by that record's id."""
    tz = user.zone
    today = clock.local_date(now, tz)
    rows = []
    for o in outreach:
        if o.deleted_at is not None:
            continue
        other = others.get(o.contact_id) or others.get(o.job_id)
        rows.append(
            OutreachRow(
                id=str(o.id),
                when=when(o.sent_at, tz, today),
                channel=CHANNELS.get(o.channel, o.channel),
                other=other,
                outcome=o.outcome,
                answer=OUTCOMES.get(o.outcome) or None,
                resumes=clock.day_label(o.resume_on, today) if o.resume_on else None,
            )
        )
    return rows


@dataclass
class Event:
    """One line of a job's or contact's timeline."""

    at: datetime
    when: str
    kind: str  # outreach | sent | cancelled | open | notification
    title: str
    detail: str | None = None
    badge: str | None = None


def timeline(
    user: User,
    now: datetime,
    outreach: Sequence[Outreach],
    followups: Sequence[FollowUp],
    notifications: Sequence[Notification],
    *,
    about_job: bool,
) -> list[Event]:
    tz = user.zone
    today = clock.local_date(now, tz)
    events: list[Event] = []
    for o in outreach:
        detail = o.note
        badge = OUTCOMES.get(o.outcome) or None
        if o.resume_on is not None:
            badge = f"not now, resumes {clock.day_label(o.resume_on, today)}"
        if o.deleted_at is not None:
            badge = "deleted"
        events.append(
            Event(
                o.sent_at,
                when(o.sent_at, tz, today),
                "outreach",
                f"Outreach via {CHANNELS.get(o.channel, o.channel)}",
                detail,
                badge,
            )
        )
    for fu in followups:
        label = attempt_label(fu, user)
        # On a job's page, name the contact; on a contact's, the job.
        other = (
            (fu.contact.name if fu.contact else None)
            if about_job
            else (f"{fu.job.company} – {fu.job.role}" if fu.job else None)
        )
        suffix = f" ({other})" if other else ""
        if fu.sent_at is not None:
            events.append(
                Event(
                    fu.sent_at,
                    when(fu.sent_at, tz, today),
                    "sent",
                    f"{label} sent{suffix}",
                    fu.note,
                    f"was due {when(fu.due_at, tz, today)}",
                )
            )
        elif fu.cancelled_at is not None:
            events.append(
                Event(
                    fu.cancelled_at,
                    when(fu.cancelled_at, tz, today),
                    "cancelled",
                    f"{label}{suffix}",
                    fu.cancel_reason,
                    "cancelled",
                )
            )
        else:
            events.append(
                Event(
                    fu.due_at,
                    when(fu.due_at, tz, today),
                    "open",
                    f"{label} due{suffix}",
                    fu.why,
                    "open",
                )
            )
    for n in notifications:
        if n.cancelled_at is not None:
            badge = "resolved"
        elif n.sent_at is not None:
            badge = "seen"
        elif n.due_at > now:
            badge = "scheduled"
        else:
            badge = "unseen"
        events.append(
            Event(
                n.due_at,
                when(n.due_at, tz, today),
                "notification",
                kinds.of(n.kind).label,
                n.message,
                badge,
            )
        )
    events.sort(key=lambda e: e.at)
    return events
