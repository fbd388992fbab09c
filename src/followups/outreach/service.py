"""Outreach: a message sent. Recording one starts a follow-up chain; a reply ends it;
"not now" (LATER) pauses it until the day they named."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.orm import Session

from followups import cadence as cad
from followups import clock, phrases
from followups import notification_kinds as kinds
from followups.chains.planner import Planner
from followups.chains.service import cancel_open, new_chain, push_after_touch
from followups.contacts.service import create_contact, get_contact
from followups.errors import Invalid, NotFound
from followups.jobs.service import STAGE_STOPS, create_job, get_job
from followups.models import (
    ANSWERS,
    CLOSED_STAGES,
    REPLIES,
    Channel,
    Contact,
    FollowUp,
    FollowupType,
    Job,
    Notification,
    Outcome,
    Outreach,
    Stage,
    User,
)
from followups.owned import get_owned, require_job_or_contact


def _resume_on(phrase: str | None, outcome: Outcome, user: User, now: datetime) -> date | None:
    """The day a LATER ("not now") reply names; required with LATER, refused without it."""
    if outcome != Outcome.LATER:
        if phrase is not None:
            raise Invalid.field("resumeOn", "is only taken with outcome LATER")
        return None
    if phrase is None:
        raise Invalid.field("resumeOn", "is required with outcome LATER: when to follow up again")
    try:
        return phrases.resume_date(phrase, clock.local_date(now, user.zone))
    except ValueError as exc:
        raise Invalid.field("resumeOn", str(exc)) from None


def _cadence_stopped(user: User, job: Job | None, contact: Contact | None) -> bool:
    """No cadence towards a closed or archived job or contact; with the stage-aware rule,
    none while the job is at an interview stage or has an offer either."""
    if contact is not None and contact.archived:
        return True
    if job is None:
        return False
    stage = Stage(job.stage)
    return (
        job.archived
        or stage in CLOSED_STAGES
        or (user.rule_set.stage_aware and stage in STAGE_STOPS)
    )


@dataclass(frozen=True)
class NewJob:
    """A job named by its company and role: the user's job with that name, or a new one."""

    company: str
    role: str
    url: str | None = None  # for a new job


@dataclass(frozen=True)
class NewContact:
    """A person named by email (when given) or by name: the user's contact, or a new one."""

    name: str
    email: str | None = None
    company: str | None = None  # for a new contact


@dataclass(frozen=True)
class Recorded:
    """What recording an outreach did: the outreach, the follow-up it scheduled (None:
    a reply, a stop, or none asked for), its job and contact and whether each is new."""

    outreach: Outreach
    followup: FollowUp | None
    job: Job | None
    contact: Contact | None
    job_created: bool = False
    contact_created: bool = False
    # Open follow-ups of an earlier outreach to this person for this job that it replaced.
    superseded: int = 0


def fold(text: str) -> str:
    """How names are compared when a job or contact is found by name (the CSV import's
    matching too): without case, also beyond ASCII."""
    return text.casefold()


def find_job(session: Session, user: User, company: str, role: str) -> Job | None:
    """The user's first job with this company and role, compared with `fold`."""
    key = (fold(company), fold(role))
    rows = session.execute(
        select(Job.id, Job.company, Job.role).where(Job.user_id == user.id).order_by(Job.created_at, Job.id)
    )
    found = next((jid for jid, c, r in rows if (fold(c), fold(r)) == key), None)
    return get_owned(session, Job, user.id, found, "Job") if found else None


def find_contact(session: Session, user: User, name: str | None, email: str | None) -> Contact | None:
    """The user's first contact with this email when one is given, else with this name."""
    rows = session.execute(
        select(Contact.id, Contact.name, Contact.email)
        .where(Contact.user_id == user.id)
        .order_by(Contact.created_at, Contact.id)
    )
    if email:
        found = next((cid for cid, _n, e in rows if fold(e or "") == fold(email)), None)
    else:
        found = next((cid for cid, n, _e in rows if fold(n) == fold(name or "")), None)
    return get_owned(session, Contact, user.id, found, "Contact") if found else None


def _job(session: Session, user: User, job: str | uuid.UUID | NewJob | None, now: datetime):
    if job is None:
        return None, False
    if not isinstance(job, NewJob):
        return get_job(session, user, job), False
    found = find_job(session, user, job.company, job.role)
    if found is not None:
        return found, False
    made = create_job(
        session, user, company=job.company, role=job.role, url=job.url, stage=Stage.APPLIED, now=now
    )
    return made, True


def _contact(session: Session, user: User, contact: str | uuid.UUID | NewContact | None, now: datetime):
    if contact is None:
        return None, False
    if not isinstance(contact, NewContact):
        return get_contact(session, user, contact), False
    found = find_contact(session, user, contact.name, contact.email)
    if found is not None:
        return found, False
    fields = {"name": contact.name, "email": contact.email, "company": contact.company}
    return create_contact(session, user, fields=fields, now=now), True


def record_outreach(
    session: Session,
    user: User,
    *,
    job: str | uuid.UUID | NewJob | None,
    contact: str | uuid.UUID | NewContact | None,
    channel: Channel,
    sent_at: datetime | None,
    note: str | None,
    outcome: Outcome,
    now: datetime,
    resume_on: str | None = None,
    create_followup: bool = True,
    keep_earlier_chain: bool = False,
) -> Recorded:
    """Record an outreach to a job and/or a contact, each given by id or found by name
    (and made when missing), and start its follow-up chain under the user's rules: the one
    use case behind the API, the pages, the terminal and the mailbox. A new chain replaces
    the open one of an earlier outreach to the same person for the same job, unless
    `keep_earlier_chain`."""
    require_job_or_contact(job, contact)
    if sent_at is not None and not clock.sent_by(sent_at, now):
        minutes = int(clock.SENT_AT_SKEW.total_seconds() // 60)
        raise Invalid.field(
            "sentAt", f"is in the future: an outreach is recorded once sent (at most {minutes} minutes ahead)"
        )
    the_job, job_created = _job(session, user, job, now)
    person, contact_created = _contact(session, user, contact, now)
    resume_day = _resume_on(resume_on, outcome, user, now)
    outreach = Outreach(
        user_id=user.id,
        job_id=the_job.id if the_job else None,
        contact_id=person.id if person else None,
        channel=channel.value,
        sent_at=sent_at or now,
        note=note,
        outcome=outcome.value,
        resume_on=resume_day,
        created_at=now,
        updated_at=now,
    )
    session.add(outreach)
    session.flush()
    planner = Planner(session, user)
    if outcome in REPLIES:
        _settle_thread(session, user, outreach, person, outcome, now)
    followup, superseded = None, 0
    if create_followup and outcome not in REPLIES and not _cadence_stopped(user, the_job, person):
        if not keep_earlier_chain:
            superseded = _supersede(session, user, outreach, now)
        if resume_day is not None:
            followup = _resume(session, user, outreach, resume_day, resume_on, now)
        else:
            step = planner.first_attempt(
                outreach.sent_at, job_id=outreach.job_id, contact_id=outreach.contact_id
            )
            followup = _start_chain(session, user, outreach, step, now)
    push_after_touch(
        session, planner, outreach.contact_id, outreach.sent_at,
        keep_chain=followup.chain_id if followup else None, now=now,
    )
    return Recorded(outreach, followup, the_job, person, job_created, contact_created, superseded)


def _supersede(session: Session, user: User, outreach: Outreach, now: datetime) -> int:
    """Cancel the open outreach chains of the same contact and the same job (both needed:
    an outreach to a job alone or a person alone replaces nothing). Appointments stay."""
    if outreach.job_id is None or outreach.contact_id is None:
        return 0
    same = and_(
        FollowUp.job_id == outreach.job_id,
        FollowUp.contact_id == outreach.contact_id,
        FollowUp.outreach_id.is_not(None),
        FollowUp.outreach_id != outreach.id,
        FollowUp.type == FollowupType.STANDARD.value,
    )
    day = clock.instant_day_label(outreach.sent_at, user.zone, clock.local_date(now, user.zone))
    return cancel_open(session, user.id, same, reason=f"Superseded by the outreach of {day}", now=now)


def _thread(user: User, outreach: Outreach) -> ColumnElement[bool]:
    """The follow-ups a reply to this outreach settles: its own; with the one-thread rule,
    every outreach follow-up of its job (appointments stay)."""
    own = FollowUp.outreach_id == outreach.id
    if not (user.rule_set.thread_by_job and outreach.job_id is not None):
        return own
    return or_(own, and_(FollowUp.job_id == outreach.job_id, FollowUp.type != FollowupType.APPOINTMENT.value))


def _settle_thread(
    session: Session, user: User, outreach: Outreach, contact: Contact | None, outcome: Outcome, now: datetime
) -> None:
    cancel_open(
        session, user.id, FollowUp.outreach_id == outreach.id,
        reason=f"Reply received ({outcome.value})", now=now,
    )
    if user.rule_set.thread_by_job and outreach.job_id is not None:
        who = f" from {contact.name}" if contact is not None else ""
        cancel_open(
            session, user.id, _thread(user, outreach),
            reason=f"Reply received ({outcome.value}){who}: one reply settles the job", now=now,
        )


def _resume(
    session: Session, user: User, outreach: Outreach, day: date, phrase: str | None, now: datetime
) -> FollowUp:
    """Not now: the thread pauses, and one follow-up falls due on the day they named."""
    today = clock.local_date(now, user.zone)
    step = cad.resume_step(day, phrase or day.isoformat(), user.zone, today)
    cancel_open(
        session, user.id, _thread(user, outreach),
        reason=f"Paused: not now, until {clock.instant_day_label(step.due_at, user.zone, today)}", now=now,
    )
    return _start_chain(session, user, outreach, step, now, set_by_user=True)


def _start_chain(
    session: Session, user: User, outreach: Outreach, step: cad.Step, now: datetime, *, set_by_user: bool = False
) -> FollowUp:
    return new_chain(
        session,
        user,
        due_at=step.due_at,
        why=step.why,
        now=now,
        job_id=outreach.job_id,
        contact_id=outreach.contact_id,
        outreach_id=outreach.id,
        set_by_user=set_by_user,
    )


def list_outreach(
    session: Session, user: User, *, job_id: str | None, contact_id: str | None
) -> Sequence[Outreach]:
    stmt = select(Outreach).where(Outreach.user_id == user.id, Outreach.deleted_at.is_(None))
    if job_id is not None:
        stmt = stmt.where(Outreach.job_id == get_job(session, user, job_id).id)
    if contact_id is not None:
        stmt = stmt.where(Outreach.contact_id == get_contact(session, user, contact_id).id)
    return session.scalars(stmt.order_by(Outreach.sent_at, Outreach.id)).all()


def get_outreach(session: Session, user: User, outreach_id, *, for_update: bool = False) -> Outreach:
    outreach = get_owned(session, Outreach, user.id, outreach_id, "Outreach", for_update=for_update)
    if outreach.deleted_at is not None:  # deleted answers like missing
        raise NotFound(f"Outreach {outreach_id} was not found.")
    return outreach


def update_outreach(session: Session, user: User, outreach_id, *, changes: dict, now: datetime) -> Outreach:
    # Locked: two racing "not now" answers must not both schedule a follow-up.
    outreach = get_outreach(session, user, outreach_id, for_update=True)
    if "note" in changes:
        outreach.note = changes["note"]
    outcome: Outcome = changes.get("outcome", Outcome(outreach.outcome))
    resume_day = _resume_on(changes.get("resume_on"), outcome, user, now) if "outcome" in changes else None
    if changes.get("resume_on") is not None and "outcome" not in changes:
        raise Invalid.field("resumeOn", "is only taken with outcome LATER")
    if "outcome" in changes:
        previous = Outcome(outreach.outcome)
        repeated = outcome == previous and resume_day == outreach.resume_on
        if outcome not in ANSWERS:
            outreach.replied_at = None
        elif previous not in ANSWERS:  # the first answer is when they replied
            outreach.replied_at = now
        outreach.outcome = outcome.value
        outreach.resume_on = resume_day
        if previous == Outcome.REPLIED and outcome != Outcome.REPLIED:
            _reply_answered(session, user, outreach, now)
        if outcome in REPLIES:
            contact = (
                get_contact(session, user, outreach.contact_id) if outreach.contact_id else None
            )
            _settle_thread(session, user, outreach, contact, outcome, now)
        elif resume_day is not None and not repeated:
            job = get_job(session, user, outreach.job_id) if outreach.job_id else None
            contact = get_contact(session, user, outreach.contact_id) if outreach.contact_id else None
            if not _cadence_stopped(user, job, contact):
                _resume(session, user, outreach, resume_day, changes.get("resume_on"), now)
    outreach.updated_at = now
    session.flush()
    return outreach


def _reply_answered(session: Session, user: User, outreach: Outreach, now: datetime) -> None:
    """The user classified a reply the mailbox found: its "Dana replied: ...?" notification
    (followups.mailbox.record) is answered, so it is seen."""
    session.execute(
        update(Notification)
        .where(
            Notification.user_id == user.id,
            Notification.kind == kinds.REPLY.name,
            Notification.sent_at.is_(None),
            Notification.contact_id.is_not_distinct_from(outreach.contact_id),
            Notification.job_id.is_not_distinct_from(outreach.job_id),
        )
        .values(sent_at=now),
        execution_options={"synchronize_session": False},
    )


def delete_outreach(session: Session, user: User, outreach_id, *, now: datetime) -> None:
    outreach = get_outreach(session, user, outreach_id)
    outreach.deleted_at = now
    outreach.updated_at = now
    cancel_open(session, user.id, FollowUp.outreach_id == outreach.id, reason="Outreach deleted", now=now)
    session.flush()


def resumed_followup(session: Session, user: User, outreach: Outreach) -> FollowUp | None:
    """The open follow-up a "not now" answer scheduled for `outreach`, if it still waits."""
    latest = session.scalar(
        select(FollowUp)
        .where(FollowUp.user_id == user.id, FollowUp.outreach_id == outreach.id)
        .order_by(FollowUp.created_at.desc(), FollowUp.id.desc())
        .limit(1)
    )
    if latest is None or latest.sent_at is not None or latest.cancelled_at is not None:
        return None
    return latest
