"""Notifications the user sees: due reminders, dormant checks, digests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from followups.chains.queries import bucket_filter
from followups.chains.service import cancel_open, create_followup
from followups.errors import Invalid
from followups.jobs.service import update_job
from followups.models import FollowUp, FollowupType, Notification, Stage, User
from followups.owned import get_owned

DORMANT_REASON = "Marked dormant"


def list_notifications(
    session: Session, user: User, *, scope: str, seen: bool, now: datetime
) -> Sequence[Notification]:
    seen_filter = Notification.sent_at.is_not(None) if seen else Notification.sent_at.is_(None)
    return session.scalars(
        select(Notification)
        .where(
            Notification.user_id == user.id,
            Notification.cancelled_at.is_(None),
            seen_filter,
            bucket_filter(Notification.due_at, scope, now, user.zone),
        )
        .order_by(Notification.due_at, Notification.id)
    ).all()


def mark_seen(session: Session, user: User, notification_id, *, now: datetime) -> Notification:
    notification = get_owned(session, Notification, user.id, notification_id, "Notification")
    mine = (Notification.user_id == user.id, Notification.id == notification.id)
    session.execute(
        update(Notification).where(*mine, Notification.sent_at.is_(None)).values(sent_at=now),
        execution_options={"synchronize_session": False},
    )
    return session.scalars(select(Notification).where(*mine).execution_options(populate_existing=True)).one()


def get_notification(session: Session, user: User, notification_id) -> Notification:
    return get_owned(session, Notification, user.id, notification_id, "Notification")


def mark_dormant(session: Session, user: User, notification_id, *, now: datetime) -> Notification:
    """The lead went quiet (a dormant check's answer): the job becomes DORMANT, which
    cancels its open follow-ups; a check about a contact alone cancels that contact's
    open follow-ups. The notification is seen."""
    notification = get_notification(session, user, notification_id)
    # Seen first: closing the job would otherwise settle the check as "resolved".
    seen = mark_seen(session, user, notification.id, now=now)
    if seen.job_id is not None:
        update_job(session, user, seen.job_id, changes={"stage": Stage.DORMANT}, now=now)
    elif seen.contact_id is not None:
        cancel_open(session, user.id, FollowUp.contact_id == seen.contact_id, reason=DORMANT_REASON, now=now)
    return seen


def revive(
    session: Session, user: User, notification_id, *, due_at: datetime, note: str | None, now: datetime
) -> FollowUp:
    """Not dormant after all: a new follow-up chain on the notification's job and contact,
    due when the user says; the notification is seen."""
    notification = get_notification(session, user, notification_id)
    if notification.job_id is None and notification.contact_id is None:
        raise Invalid("This notification has no job or contact.")
    created = create_followup(
        session,
        user,
        job_id=notification.job_id and str(notification.job_id),
        contact_id=notification.contact_id and str(notification.contact_id),
        due_at=due_at,
        note=note,
        type=FollowupType.STANDARD,
        now=now,
    )
    mark_seen(session, user, notification.id, now=now)
    return created
