"""Outreach: a message sent. Recording one starts a follow-up chain; a reply ends it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from followups import cadence as cad
from followups.contacts.service import get_contact
from followups.errors import NotFound
from followups.followups.service import cancel_open, new_chain
from followups.jobs.service import get_job
from followups.models import (
    ANSWERS,
    CLOSED_STAGES,
    REPLIES,
    Channel,
    FollowUp,
    Outcome,
    Outreach,
    Stage,
    User,
)
from followups.owned import get_owned, require_job_or_contact


def create_outreach(
    session: Session,
    user: User,
    *,
    job_id: str | None,
    contact_id: str | None,
    channel: Channel,
    sent_at: datetime | None,
    note: str | None,
    outcome: Outcome,
    create_followup: bool,
    now: datetime,
) -> tuple[Outreach, FollowUp | None]:
    require_job_or_contact(job_id, contact_id)
    job = get_job(session, user, job_id) if job_id is not None else None
    contact = get_contact(session, user, contact_id) if contact_id is not None else None
    outreach = Outreach(
        user_id=user.id,
        job_id=job.id if job else None,
        contact_id=contact.id if contact else None,
        channel=channel.value,
        sent_at=sent_at or now,
        note=note,
        outcome=outcome.value,
        created_at=now,
        updated_at=now,
    )
    session.add(outreach)
    session.flush()
    # No cadence after a reply, nor towards a closed or archived job or contact.
    schedule = (
        create_followup
        and outcome not in REPLIES
        and not (job and (job.archived or Stage(job.stage) in CLOSED_STAGES))
        and not (contact and contact.archived)
    )
    followup = None
    if schedule:
        step = cad.first_attempt(outreach.sent_at, user.zone, user.cadence)
        followup = new_chain(
            session,
            user,
            due_at=step.due_at,
            why=step.why,
            now=now,
            job_id=outreach.job_id,
            contact_id=outreach.contact_id,
            outreach_id=outreach.id,
        )
    return outreach, followup


def list_outreach(
    session: Session, user: User, *, job_id: str | None, contact_id: str | None
) -> Sequence[Outreach]:
    stmt = select(Outreach).where(Outreach.user_id == user.id, Outreach.deleted_at.is_(None))
    if job_id is not None:
        stmt = stmt.where(Outreach.job_id == get_job(session, user, job_id).id)
    if contact_id is not None:
        stmt = stmt.where(Outreach.contact_id == get_contact(session, user, contact_id).id)
    return session.scalars(stmt.order_by(Outreach.sent_at, Outreach.id)).all()


def get_outreach(session: Session, user: User, outreach_id) -> Outreach:
    outreach = get_owned(session, Outreach, user.id, outreach_id, "Outreach")
    if outreach.deleted_at is not None:  # deleted answers like missing
        raise NotFound(f"Outreach {outreach_id} was not found.")
    return outreach


def update_outreach(session: Session, user: User, outreach_id, *, changes: dict, now: datetime) -> Outreach:
    outreach = get_outreach(session, user, outreach_id)
    if "note" in changes:
        outreach.note = changes["note"]
    if "outcome" in changes:
        outcome: Outcome = changes["outcome"]
        if outcome in ANSWERS and outreach.outcome not in ANSWERS:
            outreach.replied_at = now
        elif outcome not in ANSWERS:
            outreach.replied_at = None
        outreach.outcome = outcome.value
        if outcome in REPLIES:
            cancel_open(
                session, user.id, FollowUp.outreach_id == outreach.id,
                reason=f"Reply received ({outcome.value})", now=now,
            )
    outreach.updated_at = now
    session.flush()
    return outreach


def delete_outreach(session: Session, user: User, outreach_id, *, now: datetime) -> None:
    outreach = get_outreach(session, user, outreach_id)
    outreach.deleted_at = now
    outreach.updated_at = now
    cancel_open(session, user.id, FollowUp.outreach_id == outreach.id, reason="Outreach deleted", now=now)
    session.flush()
