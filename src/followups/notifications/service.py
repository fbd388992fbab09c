"""Notifications the user sees: due reminders, dormant checks, digests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from followups.chains.queries import bucket_filter
from followups.models import Notification, User
from followups.owned import get_owned


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
    session.execute(
        update(Notification)
        .where(Notification.id == notification.id, Notification.sent_at.is_(None))
        .values(sent_at=now),
        execution_options={"synchronize_session": False},
    )
    return session.get(Notification, notification.id, populate_existing=True)
