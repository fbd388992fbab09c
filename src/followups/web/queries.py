"""What the pages ask that the services do not: counts, timelines and look-ups.

Built on the bucket statements of followups.chains.queries (a tab's list is its
`due_list`), so a tab's count and its list can never disagree with the API's buckets.
Every statement filters on the owner.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from followups import clock
from followups.chains import buckets, queries
from followups.models import Contact, FollowUp, Job, Notification, Outreach, User


@dataclass(frozen=True)
class TabCounts:
    shown: dict[str, int]  # per bucket, within its page horizon (buckets.Bucket)
    later: dict[str, int]  # per bucket, after its page horizon


def tab_counts(session: Session, user: User, now: datetime) -> TabCounts:
    """Each bucket's count (one statement); past a bucket's page horizon, counted apart."""
    stmt = queries.bucket_counts(user.id, now, user.zone)
    cut = {}
    for b in buckets.BUCKETS:
        if b.page_horizon_days is not None:
            cut[b.name] = buckets.horizon(now, user.zone, b.page_horizon_days)
            stmt = stmt.add_columns(
                func.count()
                .filter(
                    queries.bucket_filter(FollowUp.due_at, b.name, now, user.zone),
                    FollowUp.due_at >= cut[b.name],
                )
                .label(f"later_{b.name}")
            )
    row = session.execute(stmt).one()._asdict()
    later = {name: row[f"later_{name}"] for name in cut}
    return TabCounts({n: row[n] - later.get(n, 0) for n in buckets.NAMES}, later)


def tab_items(session: Session, user: User, bucket: str, now: datetime, limit: int) -> Sequence[FollowUp]:
    days = buckets.BY_NAME[bucket].page_horizon_days
    until = buckets.horizon(now, user.zone, days) if days is not None else None
    return session.scalars(queries.due_bucket(user.id, bucket, now, user.zone, limit, until=until)).all()


def outreach_by_id(session: Session, user: User, ids: Iterable[uuid.UUID | None]) -> dict:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.execute(
        select(Outreach.id, Outreach.channel, Outreach.note).where(
            Outreach.user_id == user.id, Outreach.id.in_(wanted)
        )
    )
    return {r.id: r for r in rows}


def unseen_filter(user: User, now: datetime):
    """Unseen, unresolved notifications due by the end of the owner's local day."""
    end = clock.today_bounds(now, user.zone)[1]
    return (
        Notification.user_id == user.id,
        Notification.sent_at.is_(None),
        Notification.cancelled_at.is_(None),
        Notification.due_at < end,
    )


def unseen_count(session: Session, user: User, now: datetime) -> int:
    return session.scalar(
        select(func.count()).select_from(Notification).where(*unseen_filter(user, now))
    )


def unseen(session: Session, user: User, now: datetime) -> Sequence[Notification]:
    return session.scalars(
        select(Notification)
        .where(*unseen_filter(user, now))
        .order_by(Notification.due_at, Notification.id)
    ).all()


def recently_seen(session: Session, user: User, limit: int = 20) -> Sequence[Notification]:
    return session.scalars(
        select(Notification)
        .where(Notification.user_id == user.id, Notification.sent_at.is_not(None))
        .order_by(Notification.sent_at.desc(), Notification.id)
        .limit(limit)
    ).all()


def names(
    session: Session, user: User, job_ids: Iterable, contact_ids: Iterable
) -> tuple[dict, dict]:
    """Jobs and contacts by id, for labelling notifications (one query each)."""
    jobs = {j for j in job_ids if j is not None}
    contacts = {c for c in contact_ids if c is not None}
    job_rows = (
        session.scalars(select(Job).where(Job.user_id == user.id, Job.id.in_(jobs))) if jobs else []
    )
    contact_rows = (
        session.scalars(select(Contact).where(Contact.user_id == user.id, Contact.id.in_(contacts)))
        if contacts
        else []
    )
    return {j.id: j for j in job_rows}, {c.id: c for c in contact_rows}


def history(
    session: Session, user: User, *, job: Job | None = None, contact: Contact | None = None
):
    """A job's or a contact's follow-ups in every state, and its notifications."""
    if job is not None:
        fu_where, n_where, o_where = (
            FollowUp.job_id == job.id,
            Notification.job_id == job.id,
            Outreach.job_id == job.id,
        )
    else:
        assert contact is not None
        fu_where = FollowUp.contact_id == contact.id
        n_where = Notification.contact_id == contact.id
        o_where = Outreach.contact_id == contact.id
    followups = session.scalars(
        queries.with_records()
        .where(FollowUp.user_id == user.id, fu_where)
        .order_by(FollowUp.created_at, FollowUp.attempt_no, FollowUp.id)
    ).all()
    notifications = session.scalars(
        select(Notification)
        .where(Notification.user_id == user.id, n_where)
        .order_by(Notification.due_at, Notification.id)
    ).all()
    outreach = session.scalars(
        select(Outreach)
        .where(Outreach.user_id == user.id, o_where)
        .order_by(Outreach.sent_at, Outreach.id)
    ).all()
    return outreach, followups, notifications


def next_due_by(session: Session, user: User, key) -> dict[uuid.UUID, tuple[datetime, int]]:
    """For the jobs or contacts list (`key` is FollowUp.job_id or FollowUp.contact_id): each
    record's earliest open follow-up and how many are open."""
    rows = session.execute(
        select(key, func.min(FollowUp.due_at), func.count())
        .where(FollowUp.user_id == user.id, queries.is_open(), key.is_not(None))
        .group_by(key)
    )
    return {record_id: (due, count) for record_id, due, count in rows}


def local_today(now: datetime, user: User) -> date:
    return clock.local_date(now, user.zone)
