"""Jobs: the roles a user pursues. Closing a job (REJECTED, DORMANT) ends its cadence;
with the stage-aware rule an interview stage (HR, TECH) ends the outreach cadence with
one thank-you note, and an offer ends everything."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from followups import cadence as cad
from followups.chains.service import cancel_open, new_chain
from followups.models import FollowUp, FollowupType, Job, Outreach, Stage, User
from followups.owned import add_owned, edit_owned, get_owned, list_owned

CLOSE_REASONS = {Stage.REJECTED: "Job rejected", Stage.DORMANT: "Marked dormant"}
INTERVIEW_STAGES = frozenset({Stage.HR, Stage.TECH})
# Stages at which the stage-aware rule makes no outreach cadence.
STAGE_STOPS = INTERVIEW_STAGES | {Stage.OFFER}
EDITABLE = ("company", "role", "url")


def create_job(
    session: Session, user: User, *, company: str, role: str, url: str | None, stage: Stage, now: datetime
) -> Job:
    fields = {"company": company, "role": role, "url": url, "stage": stage.value}
    return add_owned(session, Job, user.id, fields, now=now)


def list_jobs(session: Session, user: User, *, archived: bool) -> Sequence[Job]:
    return list_owned(session, Job, user.id, archived=archived)


def get_job(session: Session, user: User, job_id, *, for_update: bool = False) -> Job:
    return get_owned(session, Job, user.id, job_id, "Job", for_update=for_update)


def update_job(session: Session, user: User, job_id, *, changes: dict, now: datetime) -> Job:
    # Locked: two racing stage changes must not both make a thank-you note.
    job = get_job(session, user, job_id, for_update="stage" in changes)
    edit_owned(job, changes, EDITABLE, now=now)
    # The stage is what a job has and a contact has not: it can end the job's cadence.
    if "stage" in changes and changes["stage"].value != job.stage:
        job.stage = changes["stage"].value
        reason = CLOSE_REASONS.get(changes["stage"])
        if reason:
            cancel_open(session, user.id, FollowUp.job_id == job.id, reason=reason, now=now)
        elif user.rule_set.stage_aware:
            _stage_moved(session, user, job, changes["stage"], now)
    session.flush()
    return job


def _stage_moved(session: Session, user: User, job: Job, stage: Stage, now: datetime) -> None:
    """Stage-aware rule: an interview stage stops the outreach cadence and makes one
    thank-you note, the next local day at 09:00; an offer stops everything."""
    if stage == Stage.OFFER:
        cancel_open(session, user.id, FollowUp.job_id == job.id, reason="Offer: everything stops", now=now)
        return
    if stage not in INTERVIEW_STAGES:
        return
    cancel_open(
        session, user.id,
        (FollowUp.job_id == job.id) & (FollowUp.type != FollowupType.APPOINTMENT.value),
        reason=f"Job moved to {stage.value}: the outreach cadence stops", now=now,
    )
    # Thank the person most recently reached about this job, if any.
    contact_id = session.scalar(
        select(Outreach.contact_id)
        .where(
            Outreach.user_id == user.id,
            Outreach.job_id == job.id,
            Outreach.deleted_at.is_(None),
            Outreach.contact_id.is_not(None),
        )
        .order_by(Outreach.sent_at.desc(), Outreach.id.desc())
        .limit(1)
    )
    step = cad.thank_you_step(stage.value, now, user.zone, user.cadence)
    new_chain(
        session, user, due_at=step.due_at, why=step.why, now=now, job_id=job.id,
        contact_id=contact_id, type=FollowupType.THANK_YOU,
    )
