"""Sending queued deliveries: claim with a lease, send outside the transaction, record.

A claim pushes next_attempt_at ahead by the lease and counts the attempt, and is
committed before anything is sent. An attempt is cut off at `delivery_deadline_s` and the
lease is that plus a margin, so no second worker takes a delivery whose attempt is still
alive; a worker killed mid-send leaves the delivery to come back after the lease
(at-least-once; receivers dedupe on the delivery id, which the webhook header and the
email Message-ID carry). A failure is retried with exponential backoff; after
`delivery_max_attempts` tries, or at once for a permanent failure, the delivery is dead.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import and_, select, update
from sqlalchemy.orm import Session

from followups import outbound
from followups.api.shapes import notification_event
from followups.config import Settings
from followups.delivery.email import render_digest, send_email
from followups.delivery.errors import DeliveryError
from followups.delivery.webhook import post_webhook
from followups.models import Delivery, DeliveryChannel, Notification, User
from followups.notifications.claim import claim, claim_each, due_by_shard
from followups.owned import one_of, one_shard

# Beyond the deadline: recording the outcome, and clocks of workers a little apart.
LEASE_MARGIN = timedelta(seconds=10)
FIRST_RETRY = timedelta(seconds=30)
MAX_RETRY = timedelta(hours=6)

PENDING = and_(Delivery.delivered_at.is_(None), Delivery.dead_at.is_(None))


@dataclass(frozen=True)
class Outgoing:
    delivery_id: uuid.UUID
    user_id: uuid.UUID
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


def lease(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.delivery_deadline_s) + LEASE_MARGIN


def claim_deliveries(session: Session, settings: Settings, *, now: datetime, batch: int,
                     skip_users: Collection[uuid.UUID] = (), skip_email: bool = False) -> list[Outgoing]:
    """Up to `batch` due deliveries, leased to this worker; none of `skip_users` (their
    receiver is busy) and, with `skip_email`, no email (the SMTP server is)."""
    still = and_(PENDING, Delivery.next_attempt_at <= now)
    candidates = select(Delivery.user_id, Delivery.id).where(still).order_by(Delivery.next_attempt_at).limit(batch)
    if skip_users:
        candidates = candidates.where(Delivery.user_id.not_in(list(skip_users)))
    if skip_email:
        candidates = candidates.where(Delivery.channel != DeliveryChannel.EMAIL.value)
    leased = {"next_attempt_at": now + lease(settings), "attempts": Delivery.attempts + 1}

    def take(users: list) -> list[Outgoing]:
        claimed = claim(session, Delivery, candidates, users, still, leased, (Delivery.id,))
        if not claimed:
            return []
        rows = session.execute(one_shard(
            select(Delivery, Notification, User.webhook_url, User.webhook_secret, User.email)
            .join(Notification, and_(Notification.user_id == Delivery.user_id,
                                     Notification.id == Delivery.notification_id))
            .join(User, User.id == Delivery.user_id)
            .where(one_of(session, Delivery.user_id, users, filter_only=True),
                   one_of(session, Notification.user_id, users, filter_only=True),
                   one_of(session, User.id, users), one_of(session, Delivery.id, [r.id for r in claimed]))
        )).all()
        return [
            Outgoing(
                delivery_id=d.id,
                user_id=d.user_id,
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

    return claim_each(session, due_by_shard(session, candidates), take)


def receiver(job: Outgoing, settings: Settings) -> str:
    """Who an attempt talks to: the webhook's scheme, host and port, or the SMTP server.
    The worker bounds the attempts at once per receiver."""
    if job.channel == DeliveryChannel.EMAIL.value:
        return receiver_of_email(settings)
    try:
        url = httpx.URL(job.webhook_url or "")
        return f"{url.scheme}://{url.host}:{url.port or (443 if url.scheme == 'https' else 80)}"
    except httpx.InvalidURL:
        return "invalid"


def receiver_of_email(settings: Settings) -> str:
    return f"smtp://{settings.smtp_host}:{settings.smtp_port}"


async def attempt(job: Outgoing, settings: Settings, *, now: datetime, via: httpx.AsyncClient) -> None:
    """One network send, whole within `delivery_deadline_s`; raises DeliveryError."""
    deadline_s = settings.delivery_deadline_s
    if job.channel == DeliveryChannel.WEBHOOK.value:
        if not job.webhook_url:
            raise DeliveryError("the webhook was removed", permanent=True)
        await post_webhook(
            job.webhook_url, job.webhook_secret or "", job.notification, delivery_id=str(job.delivery_id),
            now=now, timeout_s=settings.webhook_timeout_s, deadline_s=deadline_s, via=via,
            policy=outbound.policy(settings),
        )
    elif job.channel == DeliveryChannel.EMAIL.value:
        if not settings.smtp_enabled:
            raise DeliveryError("SMTP is not configured", permanent=True)
        await asyncio.to_thread(_send_digest, job, settings, deadline_s)  # smtplib blocks; its cutoff ends it
    else:
        raise DeliveryError(f"unknown channel {job.channel!r}", permanent=True)


def _send_digest(job: Outgoing, settings: Settings, deadline_s: float) -> None:
    subject, text, html = render_digest(job.payload or {})
    send_email(settings, to=job.email, subject=subject, text=text, html=html,
               message_id=str(job.delivery_id), deadline_s=deadline_s)


def release(session: Session, job: Outgoing, *, now: datetime) -> None:
    """Give a claimed delivery back unsent (its receiver was busy): due again, its attempt
    not counted. Unless another worker has it meanwhile."""
    session.execute(
        update(Delivery).where(Delivery.user_id == job.user_id, Delivery.id == job.delivery_id, PENDING,
                               Delivery.attempts == job.attempts)
        .values(next_attempt_at=now, attempts=Delivery.attempts - 1),
        execution_options={"synchronize_session": False},
    )


def record(session: Session, job: Outgoing, error: DeliveryError | None, *, now: datetime, max_attempts: int) -> None:
    still = and_(Delivery.user_id == job.user_id, Delivery.id == job.delivery_id, PENDING)
    if error is None:
        values = {"delivered_at": now, "last_error": None}
    else:
        # A failure is this attempt's to record only while no later attempt was claimed.
        still = and_(still, Delivery.attempts == job.attempts)
        if error.permanent or job.attempts >= max_attempts:
            values = {"dead_at": now, "last_error": str(error)[:500]}
        else:
            values = {"next_attempt_at": now + backoff(job.attempts), "last_error": str(error)[:500]}
    session.execute(update(Delivery).where(still).values(**values),
                    execution_options={"synchronize_session": False})
