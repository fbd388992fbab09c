"""Jobs: the roles a user pursues. Closing a job (REJECTED, DORMANT) ends its cadence."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from followups.followups.service import cancel_open
from followups.models import FollowUp, Job, Stage, User
from followups.owned import get_owned

CLOSE_REASONS = {Stage.REJECTED: "Job rejected", Stage.DORMANT: "Marked dormant"}


def create_job(
    session: Session, user: User, *, company: str, role: str, url: str | None, stage: Stage, now: datetime
) -> Job:
    job = Job(
        user_id=user.id, company=company, role=role, url=url, stage=stage.value,
        created_at=now, updated_at=now,
    )
    session.add(job)
    session.flush()
    return job


def list_jobs(session: Session, user: User, *, archived: bool) -> Sequence[Job]:
    archived_filter = Job.archived_at.is_not(None) if archived else Job.archived_at.is_(None)
    return session.scalars(
        select(Job).where(Job.user_id == user.id, archived_filter).order_by(Job.created_at, Job.id)
    ).all()


def get_job(session: Session, user: User, job_id) -> Job:
    return get_owned(session, Job, user.id, job_id, "Job")


def update_job(session: Session, user: User, job_id, *, changes: dict, now: datetime) -> Job:
    job = get_job(session, user, job_id)
    for name in ("company", "role", "url"):
        if name in changes:
            setattr(job, name, changes[name])
    if "archived" in changes:
        if changes["archived"] and job.archived_at is None:
            job.archived_at = now
        elif not changes["archived"]:
            job.archived_at = None
    if "stage" in changes and changes["stage"].value != job.stage:
        job.stage = changes["stage"].value
        reason = CLOSE_REASONS.get(changes["stage"])
        if reason:
            cancel_open(session, user.id, FollowUp.job_id == job.id, reason=reason, now=now)
    job.updated_at = now
    session.flush()
    return job
