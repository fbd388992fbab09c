"""The secret-URL calendar feed: a user's open, visible follow-ups as iCalendar.

Built from the same query as the due buckets (`queries.visible_open`), so what the
feed shows is exactly overdue + today + upcoming: sent, cancelled and archived
follow-ups are simply absent. One query for the whole feed (job and contact come
embedded in it). Each follow-up is one VEVENT whose UID never changes and whose
SEQUENCE is the follow-up's revision, so a calendar app moves a rescheduled event
instead of adding a second one.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from icalendar import Alarm, Calendar, Event, vDuration
from sqlalchemy.orm import Session

from followups.chains import queries
from followups.models import FollowUp, FollowupType, User

PRODID = "-//followups//calendar feed//EN"
CALENDAR_NAME = "followups"
DURATION = timedelta(minutes=15)
ALARM_BEFORE = timedelta(minutes=15)
# How often a subscribed client should fetch the feed again.
REFRESH = timedelta(minutes=15)
UID_DOMAIN = "followups"


def uid(follow_up: FollowUp) -> str:
    return f"{follow_up.id}@{UID_DOMAIN}"


def open_followups(session: Session, user: User) -> list[FollowUp]:
    """The feed's rows: one query, due order (due_at, then id, like the buckets)."""
    stmt = queries.visible_open(user.id).order_by(FollowUp.due_at, FollowUp.id)
    return list(session.scalars(stmt).all())


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def summary(follow_up: FollowUp) -> str:
    verb = "Appointment" if follow_up.type == FollowupType.APPOINTMENT.value else "Follow up"
    job, contact = follow_up.job, follow_up.contact
    if job is not None:
        subject = f"{job.company} – {job.role}"
    elif contact is not None:
        subject = f"{contact.name} ({contact.company})" if contact.company else contact.name
    else:  # not reachable: a follow-up has a job or a contact
        subject = "(no job or contact)"
    return f"{verb}: {subject} (attempt {follow_up.attempt_no})"


def description(follow_up: FollowUp) -> str:
    lines: list[str] = []
    if follow_up.why:
        lines.append(follow_up.why)
    if follow_up.note:
        lines.append(f"Note: {follow_up.note}")
    contact = follow_up.contact
    if contact is not None and follow_up.job is not None:
        lines.append(f"Contact: {contact.name}" + (f" <{contact.email}>" if contact.email else ""))
    elif contact is not None and contact.email:
        lines.append(f"Email: {contact.email}")
    if follow_up.job is not None and follow_up.job.url:
        lines.append(f"Job: {follow_up.job.url}")
    return "\n".join(lines)


def event(follow_up: FollowUp) -> Event:
    ev = Event()
    ev.add("uid", uid(follow_up))
    # Without METHOD semantics of a scheduling message, DTSTAMP is when the event's
    # information last changed in the store: stable between fetches.
    ev.add("dtstamp", _utc(follow_up.updated_at))
    ev.add("created", _utc(follow_up.created_at))
    ev.add("last-modified", _utc(follow_up.updated_at))
    ev.add("sequence", follow_up.revision)
    ev.add("dtstart", _utc(follow_up.due_at))
    ev.add("duration", DURATION)
    ev.add("summary", summary(follow_up))
    text = description(follow_up)
    if text:
        ev.add("description", text)
    ev.add("status", "CONFIRMED")
    ev.add("transp", "TRANSPARENT")  # a reminder, not busy time

    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", summary(follow_up))
    alarm.add("trigger", -ALARM_BEFORE)
    ev.add_component(alarm)
    return ev


def calendar(user: User, follow_ups: Iterable[FollowUp]) -> Calendar:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("name", CALENDAR_NAME)
    cal.add("x-wr-calname", CALENDAR_NAME)
    cal.add("x-wr-timezone", user.timezone)
    cal.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", vDuration(REFRESH))
    for follow_up in follow_ups:
        cal.add_component(event(follow_up))
    return cal


def build_feed(session: Session, user: User) -> bytes:
    """The user's feed as iCalendar bytes (UTF-8, CRLF line endings, folded)."""
    return calendar(user, open_followups(session, user)).to_ical()
