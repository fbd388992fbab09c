"""Sending queued deliveries: claim with a lease, send outside the transaction, record.

A claim pushes next_attempt_at ahead by the lease and counts the attempt, and is
committed before anything is sent; a worker killed mid-send leaves the delivery to come
back after the lease (at-least-once; receivers dedupe on the delivery id, which the
webhook header and the email Message-ID carry). A failure is retried with exponential
backoff; after `delivery_max_attempts` tries, or at once for a permanent failure, the
delivery is dead.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, select, update
from sqlalchemy.orm import Session

from followups import outbound
from followups.api.shapes import notification_event
from followups.config import Settings
from followups.delivery.email import render_digest, send_email
from followups.delivery.errors import DeliveryError
from followups.delivery.webhook import post_webhook
from followups.models import Delivery, DeliveryChannel, Notification, User
from followups.notifications.claim import claim

LEASE = timedelta(minutes=2)
FIRST_RETRY = timedelta(seconds=30)
MAX_RETRY = timedelta(hours=6)

PENDING = and_(Delivery.delivered_at.is_(None), Delivery.dead_at.is_(None))


@dataclass(frozen=True)
class Outgoing:
    delivery_id: uuid.UUID
    channel: str
    attempts: int
    notification: dict
    webhook_url: str | None
    webhook_secret: str | None
    email: str
    payload: dict | None


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, ... capped at 6 h."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), MAX_RETRY)


def claim_deliveries(session: Session, *, now: datetime, batch: int) -> list[Outgoing]:
    candidates = (
        select(Delivery.id)
        .where(PENDING, Delivery.next_attempt_at <= now)
        .order_by(Delivery.next_attempt_at)
        .limit(batch)
    )
    claimed = claim(
        session,
        Delivery,
        candidates,
        and_(PENDING, Delivery.next_attempt_at <= now),
        {"next_attempt_at": now + LEASE, "attempts": Delivery.attempts + 1},
        (Delivery.id,),
    )
    if not claimed:
        return []
    rows = session.execute(
        select(Delivery, Notification, User.webhook_url, User.webhook_secret, User.email)
        .join(Notification, and_(Notification.id == Delivery.notification_id,
                                 Notification.user_id == Delivery.user_id))
        .join(User, User.id == Delivery.user_id)
        .where(Delivery.id.in_([r.id for r in claimed]))
    ).all()
    return [
        Outgoing(
            delivery_id=d.id,
            channel=d.channel,
            attempts=d.attempts,
            notification=notification_event(n),
            webhook_url=url,
            webhook_secret=secret,
            email=email,
            payload=n.payload,
        )
        for d, n, url, secret, email in rows
    ]


def send(job: Outgoing, settings: Settings, *, now: datetime) -> None:
    """One network send; raises DeliveryError."""
    if job.channel == DeliveryChannel.WEBHOOK.value:
        if not job.webhook_url:
            raise DeliveryError("the webhook was removed", permanent=True)
        post_webhook(
            job.webhook_url, job.webhook_secret or "", job.notification,
            delivery_id=str(job.delivery_id), now=now, timeout_s=settings.webhook_timeout_s,
            policy=outbound.policy(settings),
        )
    elif job.channel == DeliveryChannel.EMAIL.value:
        if not settings.smtp_enabled:
            raise DeliveryError("SMTP is not configured", permanent=True)
        subject, text, html = render_digest(job.payload or {})
        send_email(settings, to=job.email, subject=subject, text=text, html=html,
                   message_id=str(job.delivery_id))
    else:
        raise DeliveryError(f"unknown channel {job.channel!r}", permanent=True)


def record(session: Session, job: Outgoing, error: DeliveryError | None, *, now: datetime, max_attempts: int) -> None:
    still = and_(Delivery.id == job.delivery_id, PENDING)
    if error is None:
        values = {"delivered_at": now, "last_error": None}
    elif error.permanent or job.attempts >= max_attempts:
        values = {"dead_at": now, "last_error": str(error)[:500]}
    else:
        values = {"next_attempt_at": now + backoff(job.attempts), "last_error": str(error)[:500]}
    session.execute(update(Delivery).where(still).values(**values),
                    execution_options={"synchronize_session": False})
