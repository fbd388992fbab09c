"""The daily digest: one per user per local day, at the user's hour."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from followups import clock, replica
from followups.chains import buckets
from followups.chains.queries import due_bucket
from followups.models import FollowUp, Notification, User
from followups.notification_kinds import DIGEST
from followups.notifications.claim import insert_ignoring_duplicates
from followups.owned import cross_user


def _item(fu: FollowUp, user: User, today) -> dict:
    local = clock.to_local(fu.due_at, user.zone)
    return {
        "id": str(fu.id),
        "dueAt": fu.due_at.isoformat().replace("+00:00", "Z"),
        "dueLabel": clock.instant_label(fu.due_at, user.zone, today),
        "company": fu.job.company if fu.job else None,
        "role": fu.job.role if fu.job else None,
        "contact": fu.contact.name if fu.contact else None,
        "attemptNo": fu.attempt_no,
        "overdueDays": max((today - local.date()).days, 0),
        "why": fu.why,
    }


def digest_payload(session: Session, user: User, *, now: datetime) -> dict:
    """Overdue, today and the next DIGEST_HORIZON_DAYS local days, from the bucket statements."""
    tz = user.zone
    today = clock.local_date(now, tz)
    horizon = buckets.horizon(now, tz, buckets.DIGEST_HORIZON_DAYS)
    sections = {}
    for bucket in buckets.PARTITION:
        stmt = due_bucket(user.id, bucket, now, tz)
        if bucket == "upcoming":
            stmt = stmt.where(FollowUp.due_at < horizon)
        sections[bucket] = [_item(fu, user, today) for fu in session.scalars(stmt)]
    return {
        "date": today.isoformat(),
        "dateLabel": clock.day_label(today),
        "timezone": user.timezone,
        **sections,
    }


def digest_summary(payload: dict) -> str:
    counts = ", ".join(
        f"{len(payload[b])} {label}"
        for b, label in (
            ("overdue", "overdue"), ("today", "today"), ("upcoming", f"in the next {buckets.DIGEST_HORIZON_DAYS} days")
        )
    )
    return f"Follow-ups for {payload['dateLabel']}: {counts}"


def make_digests(session: Session, *, now: datetime, batch: int) -> int:
    """Digests for the users whose digest hour has come; each user's next one is set ahead."""
    due = cross_user(select(User.id).where(User.next_digest_at <= now).order_by(User.next_digest_at).limit(batch))
    users = []
    # One user at a time, in id order, each locked by a statement of their own (skipped if
    # another worker holds them): their digest is a write they see, so their write_seq
    # moves on (followups.replica), before anything else of theirs is touched.
    for user_id in sorted(session.scalars(due)):
        user = session.scalar(
            select(User).where(User.id == user_id, User.next_digest_at <= now).with_for_update(skip_locked=True)
        )
        if user is not None and replica.take_writer(session, user_id):
            users.append(user)
    rows = []
    for user in users:
        # The day the digest belongs to: the one it was due on, even if the worker is late.
        day = clock.local_date(user.next_digest_at, user.zone)
        if clock.local_date(now, user.zone) == day:
            payload = digest_payload(session, user, now=now)
            rows.append(
                {
                    "id": uuid.uuid4(),
                    "user_id": user.id,
                    "kind": DIGEST.name,
                    "dedupe_key": day.isoformat(),
                    "message": digest_summary(payload),
                    "payload": payload,
                    "due_at": now,
                    "created_at": now,
                }
            )
        # A digest missed by a day or more (the worker was down) is not sent late.
        user.next_digest_at = clock.next_local_time(now, user.digest_hour, user.zone)
    insert_ignoring_duplicates(session, Notification, rows, ["user_id", "kind", "dedupe_key"])
    session.flush()
    return len(users)
