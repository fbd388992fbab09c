"""Presenting notifications as they fall due: resolve the stale ones, queue deliveries.

Each kind says (followups.notification_kinds) when it is resolved silently: a reminder
whose follow-up was sent, cancelled or archived meanwhile; a dormant check when a reply
arrived on the job or contact since the check was made. The rest are presented: one
delivery per channel the user has and the kind goes to (webhook; email for a digest with
something in it, when SMTP is configured).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.orm import Session

from followups import notification_kinds as kinds
from followups.chains.queries import is_open, with_job_and_contact
from followups.config import Settings
from followups.models import (
    REPLIES,
    Contact,
    Delivery,
    FollowUp,
    Job,
    Notification,
    Outreach,
    User,
)
from followups.notification_kinds import Stale
from followups.notifications.claim import claim, claim_each, due_by_shard, insert_ignoring_duplicates
from followups.owned import one_of, one_shard

PENDING = and_(Notification.presented_at.is_(None), Notification.cancelled_at.is_(None))


def _followup_closed(session: Session, users: list[uuid.UUID], rows) -> set[uuid.UUID]:
    ids = {r.followup_id for r in rows}
    if not ids:
        return set()
    live = set(
        session.scalars(
            one_shard(with_job_and_contact(select(FollowUp.id)).where(
                one_of(session, FollowUp.user_id, users, filter_only=True), one_of(session, FollowUp.id, ids),
                is_open(), Job.archived_at.is_(None),
                Contact.archived_at.is_(None),
            ))
        )
    )
    return {r.id for r in rows if r.followup_id not in live}


def _replied(session: Session, row) -> bool:
    """A reply (POSITIVE/NEGATIVE) recorded on the job's or contact's outreach since the check."""
    subject = []
    if row.job_id is not None:
        subject.append(Outreach.job_id == row.job_id)
    if row.contact_id is not None:
        subject.append(Outreach.contact_id == row.contact_id)
    if not subject:
        return False
    return bool(
        session.scalar(
            select(
                exists().where(
                    Outreach.user_id == row.user_id,
                    or_(*subject),
                    Outreach.outcome.in_([o.value for o in REPLIES]),
                    Outreach.updated_at >= row.created_at,
                )
            )
        )
    )


def _replied_since(session: Session, _users: list[uuid.UUID], rows) -> set[uuid.UUID]:
    return {r.id for r in rows if _replied(session, r)}


_STALE_CHECKS = {Stale.FOLLOWUP_CLOSED: _followup_closed, Stale.REPLIED_SINCE: _replied_since}


def _stale(session: Session, users: list[uuid.UUID], claimed) -> set[uuid.UUID]:
    """The claimed notifications (of `users`) their kind's rule resolves silently."""
    by_rule: dict[Stale, list] = {}
    for r in claimed:
        rule = kinds.of(r.kind).stale
        if rule is not None:
            by_rule.setdefault(rule, []).append(r)
    stale: set[uuid.UUID] = set()
    for rule, rows in by_rule.items():
        stale |= _STALE_CHECKS[rule](session, users, rows)
    return stale


_CLAIMED = (
    Notification.id, Notification.user_id, Notification.kind, Notification.followup_id,
    Notification.job_id, Notification.contact_id, Notification.created_at, Notification.payload,
)
def present_due(session: Session, settings: Settings, *, now: datetime, batch: int) -> int:
    candidates = (
        select(Notification.user_id, Notification.id)
        .where(PENDING, Notification.due_at <= now)
        .order_by(Notification.due_at)
        .limit(batch)
    )
    deliveries: list[dict] = []

    def present(users: list) -> list:
        claimed = claim(session, Notification, candidates, users, PENDING, {"presented_at": now}, _CLAIMED)
        if not claimed:
            return claimed
        stale = _stale(session, users, claimed)
        if stale:
            session.execute(
                one_shard(update(Notification).where(one_of(session, Notification.user_id, users, filter_only=True),
                                                     one_of(session, Notification.id, stale)))
                .values(cancelled_at=now),
                execution_options={"synchronize_session": False},
            )
        live = [r for r in claimed if r.id not in stale]
        if live:
            users = {u.id: u for u in session.execute(one_shard(
                select(User.id, User.webhook_url, User.digest_email)
                .where(one_of(session, User.id, {r.user_id for r in live}))
            ))}
            deliveries.extend(_deliveries(settings, users, live, now))
        return claimed

    # seen_by_owner: stale ones are cancelled, they leave the user's list.
    claimed = claim_each(session, due_by_shard(session, candidates), present, seen_by_owner=True)
    insert_ignoring_duplicates(session, Delivery, deliveries, ["user_id", "notification_id", "channel"])
    return len(claimed)


def _deliveries(settings: Settings, users: dict, live, now: datetime) -> list[dict]:
    """One delivery per channel its user has and each notification's kind goes to."""
    rows = []
    for r in live:
        user = users[r.user_id]
        channels = kinds.of(r.kind).channels(
            webhook=bool(user.webhook_url),
            email=settings.smtp_enabled and bool(user.digest_email),
            payload=r.payload,
        )
        rows += [
            {
                "id": uuid.uuid4(),
                "user_id": r.user_id,
                "notification_id": r.id,
                "channel": channel.value,
                "next_attempt_at": now,
                "attempts": 0,
                "created_at": now,
            }
            for channel in channels
        ]
    return rows
