"""Importing jobs, contacts and past outreach from a CSV file.

Two passes. `parse_csv` (transfer/csv_parse.py) reads and checks every row (no
database): any bad row makes the whole file rejected. Then `plan_import` matches the
rows against what the user has, and `write_part` inserts only what is new, in bulk, one
of the plan's `parts` per transaction of the caller.

Idempotent by natural keys, without extra columns: a job is its (company, role),
case-insensitively; a contact its email, or its name when the row has no email (as
`record_outreach` finds them: outreach.service.fold); an
outreach its (job, contact, sent at). Re-importing a file creates nothing new, and
existing records are left as they are.

Outreach with no reply gets attempt 1 by the same rules as `record_outreach` (the
planner's rule code, run in bulk: chains.planner.BulkPlanner), as if
the rows had been recorded one by one in the order they were sent: the user's cadence
(adaptive delays, weekends, holidays), none after a reply or towards a closed or archived
job or an archived contact, and the user's job-search rules: the stage-aware stop, one
reply settling the job (also the job's open follow-ups already there, for outreach sent
before the reply), the minimum gap after the last touch with the person (pending
follow-ups already there move back, as a new touch moves them) and the company spread.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import and_, insert, select
from sqlalchemy.orm import Session

from followups import cadence as cad
from followups import clock
from followups.chains import queries
from followups.chains.planner import BulkPlanner, Planner
from followups.chains.service import cancel_open, push_after_touch
from followups.jobs.service import STAGE_STOPS
from followups.models import (
    CLOSED_STAGES,
    REPLIES,
    Contact,
    FollowUp,
    FollowupType,
    Job,
    Outcome,
    Outreach,
    Stage,
    User,
)
from followups.outreach.service import fold
from followups.transfer.csv_parse import ImportRejected, Parsed, Row, RowError, parse_csv

# What the import's callers read from here; the parsing is csv_parse's.
__all__ = [
    "CHUNK", "ImportRejected", "Parsed", "Plan", "Row", "RowError",
    "parse_csv", "parts", "plan_import", "settle_existing", "write_part",
]
CHUNK = 5000
# On SQLite a writer holds the database's one write lock: the import writes parts of
# SQLITE_PART records for up to SQLITE_HOLD_S, commits, then waits SQLITE_PAUSE_S, longer
# than SQLite's longest busy-wait step (100 ms), so a writer waiting for the lock (an API
# request, the worker) takes it in between instead of timing out. Bounded by time, not
# rows: on a loaded machine the lock is held no longer. PostgreSQL writes in one go.
SQLITE_PART = 500
SQLITE_HOLD_S = 0.5
SQLITE_PAUSE_S = 0.11


# --- matching and writing -------------------------------------------------------------


@dataclass
class Plan:
    jobs: list[dict] = field(default_factory=list)
    contacts: list[dict] = field(default_factory=list)
    outreach: list[dict] = field(default_factory=list)
    followups: list[dict] = field(default_factory=list)
    # What the rows do to records already there (`settle_existing`): the latest reply per
    # job that settles it (one reply settles the job), the latest touch per person (the
    # minimum gap).
    settles: dict[uuid.UUID, tuple[datetime, Outcome]] = field(default_factory=dict)
    touches: dict[uuid.UUID, datetime] = field(default_factory=dict)
    followups_cancelled: int = 0
    followups_moved: int = 0
    jobs_existing: int = 0
    contacts_existing: int = 0
    outreach_existing: int = 0
    duplicates: int = 0

    @property
    def size(self) -> int:
        return len(self.jobs) + len(self.contacts) + len(self.outreach) + len(self.followups)


@dataclass(slots=True)
class _Known:
    id: uuid.UUID
    open: bool  # may still get follow-ups: not archived, not a closed (or stopped) job
    new: bool
    name: str = ""  # a contact's
    company: str | None = None  # a job's; an existing contact's


@dataclass(slots=True)
class _Wanted:
    """A row's outreach that gets attempt 1 unless a later reply settles its job."""

    sent_at: datetime
    job: _Known | None
    contact: _Known | None
    key: tuple
    outreach_id: uuid.UUID


def plan_import(session: Session, user: User, rows: list[Row], *, now: datetime) -> Plan:
    """What the rows add to what the user has: new records as dicts ready to insert."""
    tz, rules = user.zone, user.rule_set
    stops = CLOSED_STAGES | STAGE_STOPS if rules.stage_aware else CLOSED_STAGES
    plan = Plan()
    jobs: dict[tuple[str, str], _Known] = {}
    for jid, company, role, stage, archived_at in session.execute(
        select(Job.id, Job.company, Job.role, Job.stage, Job.archived_at)
        .where(Job.user_id == user.id)
        .order_by(Job.created_at, Job.id)
    ):
        jobs.setdefault(
            (fold(company), fold(role)),
            _Known(jid, archived_at is None and Stage(stage) not in stops, False, company=company),
        )
    by_email: dict[str, _Known] = {}
    by_name: dict[str, _Known] = {}
    for cid, name, email, company, archived_at in session.execute(
        select(Contact.id, Contact.name, Contact.email, Contact.company, Contact.archived_at)
        .where(Contact.user_id == user.id)
        .order_by(Contact.created_at, Contact.id)
    ):
        known = _Known(cid, archived_at is None, False, name=name, company=company)
        if email:
            by_email.setdefault(fold(email), known)
        by_name.setdefault(fold(name), known)
    sent: set[tuple] = {
        tuple(r)
        for r in session.execute(
            select(Outreach.job_id, Outreach.contact_id, Outreach.sent_at).where(
                Outreach.user_id == user.id, Outreach.deleted_at.is_(None)
            )
        )
    }
    new_sent: set[tuple] = set()
    seen_jobs: set[uuid.UUID] = set()
    seen_contacts: set[uuid.UUID] = set()
    new_contacts: dict[uuid.UUID, dict] = {}
    explicit_company: set[uuid.UUID] = set()
    wanted: list[_Wanted] = []
    replies: dict[uuid.UUID, tuple[datetime, Outcome]] = {}  # the latest per job
    base = {"user_id": user.id, "created_at": now, "updated_at": now}

    for row in rows:
        job = None
        if row.role:
            key = (fold(row.company), fold(row.role))
            job = jobs.get(key)
            if job is None:
                stage = row.stage or Stage.APPLIED
                job = jobs[key] = _Known(uuid.uuid4(), stage not in stops, True, company=row.company)
                plan.jobs.append(
                    {
                        **base,
                        "id": job.id,
                        "company": row.company,
                        "role": row.role,
                        "url": row.url,
                        "stage": stage.value,
                        "archived_at": None,
                    }
                )
            elif not job.new and job.id not in seen_jobs:
                plan.jobs_existing += 1
            seen_jobs.add(job.id)
        contact = None
        if row.contact:
            contact = (
                by_email.get(fold(row.email)) if row.email else by_name.get(fold(row.contact))
            )
            if contact is None:
                contact = _Known(uuid.uuid4(), True, True, name=row.contact)
                if row.email:
                    by_email[fold(row.email)] = contact
                by_name.setdefault(fold(row.contact), contact)
                new_contacts[contact.id] = {
                    **base,
                    "id": contact.id,
                    "name": row.contact,
                    "email": row.email,
                    "company": row.company,
                    "linkedin_url": None,
                    "archived_at": None,
                }
                plan.contacts.append(new_contacts[contact.id])
            elif not contact.new and contact.id not in seen_contacts:
                plan.contacts_existing += 1
            seen_contacts.add(contact.id)
            # A row without a role names the contact's own company (blank: none); it wins
            # over the company of a job row the contact was first seen on.
            if contact.new and not row.role and contact.id not in explicit_company:
                new_contacts[contact.id]["company"] = row.company
                explicit_company.add(contact.id)
        if row.sent_at is None:
            continue
        key3 = (job.id if job else None, contact.id if contact else None, row.sent_at)
        if key3 in sent:
            plan.outreach_existing += 1
            continue
        if key3 in new_sent:
            plan.duplicates += 1
            continue
        new_sent.add(key3)
        oid = uuid.uuid4()
        plan.outreach.append(
            {
                **base,
                "id": oid,
                "job_id": key3[0],
                "contact_id": key3[1],
                "channel": row.channel.value,
                "sent_at": row.sent_at,
                "note": row.note,
                "outcome": row.outcome.value,
                "resume_on": row.resume_on,
                "deleted_at": None,
            }
        )
        if contact is not None:
            plan.touches[contact.id] = max(row.sent_at, plan.touches.get(contact.id, row.sent_at))
        if row.outcome in REPLIES:
            if job is not None:
                _latest(replies, job.id, row.sent_at, row.outcome)
                if not job.new:
                    _latest(plan.settles, job.id, row.sent_at, row.outcome)
            continue
        if (job and not job.open) or (contact and not contact.open):
            continue
        if row.outcome == Outcome.LATER:
            # Not now: one follow-up on the day they named (none when the sheet has no day).
            if row.resume_on is not None:
                step = cad.resume_step(row.resume_on, row.resume_on.isoformat(), tz)
                plan.followups.append(_first_followup(base, step, tz, key3, oid, set_by_user=True))
            continue
        wanted.append(_Wanted(row.sent_at, job, contact, key3, oid))
    _place(session, user, plan, wanted, replies, new_contacts, base)
    return plan


def _latest(
    replies: dict[uuid.UUID, tuple[datetime, Outcome]], job_id: uuid.UUID, at: datetime, outcome: Outcome
) -> None:
    if job_id not in replies or replies[job_id][0] < at:
        replies[job_id] = (at, outcome)


def _place(
    session: Session,
    user: User,
    plan: Plan,
    wanted: list[_Wanted],
    replies: dict[uuid.UUID, tuple[datetime, Outcome]],
    new_contacts: dict[uuid.UUID, dict],
    base: dict,
) -> None:
    """Attempt 1 for each wanted row, in the order they were sent, by the planner's rules
    in bulk: what a rule needs from the database is read once for the whole file, and
    only when the rule is on."""
    contacts = {w.contact.id: w.contact for w in wanted if w.contact is not None}
    planner = BulkPlanner(
        session,
        user,
        touches=plan.touches,
        replies={jid: at for jid, (at, _) in replies.items()},
        names={cid: c.name for cid, c in contacts.items()},
        job_companies={w.job.id: w.job.company for w in wanted if w.job is not None},
        contact_companies={
            cid: new_contacts[cid]["company"] if c.new else c.company for cid, c in contacts.items()
        },
    )
    for w in sorted(wanted, key=lambda w: w.sent_at):
        job_id, contact_id = w.key[0], w.key[1]
        if planner.settled(job_id, w.sent_at):
            continue  # a reply sent after it settled the job
        step = planner.first_attempt(w.sent_at, job_id=job_id, contact_id=contact_id)
        plan.followups.append(_first_followup(base, step, user.zone, w.key, w.outreach_id))
        planner.placed(step.due_at, job_id=job_id, contact_id=contact_id)


def settle_existing(session: Session, user: User, plan: Plan, *, now: datetime) -> None:
    """What the imported outreach does to the user's records already there, as recording
    it would: with one reply settling the job, a reply cancels the job's open follow-ups
    of outreach sent up to it (appointments stay); with the minimum gap, a person's
    pending follow-ups that fall too soon after an imported touch move back. Counted in
    the plan. Run after the parts are written (or alone, for a dry run that is rolled back)."""
    rules = user.rule_set
    if rules.thread_by_job and plan.settles:
        for jid in _with_open(session, user, FollowUp.job_id, plan.settles):
            at, outcome = plan.settles[jid]
            before = select(Outreach.id).where(
                Outreach.user_id == user.id, Outreach.job_id == jid, Outreach.sent_at <= at
            )
            plan.followups_cancelled += cancel_open(
                session,
                user.id,
                and_(
                    FollowUp.job_id == jid,
                    FollowUp.type != FollowupType.APPOINTMENT.value,
                    FollowUp.outreach_id.in_(before),
                ),
                reason=f"Reply received ({outcome.value}), imported: one reply settles the job",
                now=now,
            )
    if rules.min_gap_days and plan.touches:
        planner = Planner(session, user)
        new = {c["id"] for c in plan.contacts}
        touched = {cid: at for cid, at in plan.touches.items() if cid not in new}
        for cid in _with_open(session, user, FollowUp.contact_id, touched):
            plan.followups_moved += push_after_touch(
                session, planner, cid, touched[cid], keep_chain=None, now=now
            )


def _with_open(session: Session, user: User, column, ids: dict) -> list[uuid.UUID]:
    """Of these jobs or contacts (the keys of `ids`), those with an open follow-up, read in
    one query: a file that touches many records changes only the few that have one."""
    found = session.scalars(
        select(column).distinct().where(FollowUp.user_id == user.id, queries.is_open(), column.is_not(None))
    )
    return sorted((i for i in found if i in ids), key=str)


def _first_followup(
    base: dict, step: cad.Step, tz: ZoneInfo, key: tuple, outreach_id: uuid.UUID, *, set_by_user: bool = False
) -> dict:
    fid = uuid.uuid4()
    return {
        **base,
        "id": fid,
        "chain_id": fid,
        "attempt_no": 1,
        "type": FollowupType.STANDARD.value,
        "job_id": key[0],
        "contact_id": key[1],
        "outreach_id": outreach_id,
        "due_at": step.due_at,
        "remind_at": clock.start_of_local_day(step.due_at, tz),
        "sent_at": None,
        "cancelled_at": None,
        "cancel_reason": None,
        "note": None,
        "why": step.why,
        "due_set_by_user": set_by_user,
        "revision": 0,
        "reminded_at": None,
    }


# A part of the import: the rows of each table, parents first.
Part = list[tuple[type, list[dict]]]


def parts(plan: Plan, size: int | None = None) -> Iterator[Part]:
    """The plan's inserts in parts of about `size` records (None: one part), each to be
    committed on its own. Jobs and contacts come first, then each outreach with its
    follow-up in the same part: whatever prefix of the parts was committed, importing
    the file again adds exactly what is missing (an outreach already there is skipped,
    and it never lacks the follow-up it was planned with)."""
    if size is None:
        yield [(Job, plan.jobs), (Contact, plan.contacts), (Outreach, plan.outreach), (FollowUp, plan.followups)]
        return
    for model, rows in ((Job, plan.jobs), (Contact, plan.contacts)):
        for start in range(0, len(rows), size):
            yield [(model, rows[start : start + size])]
    followups: dict[uuid.UUID, list[dict]] = {}
    for row in plan.followups:
        followups.setdefault(row["outreach_id"], []).append(row)
    for start in range(0, len(plan.outreach), size):
        outreach = plan.outreach[start : start + size]
        yield [(Outreach, outreach), (FollowUp, [f for o in outreach for f in followups.get(o["id"], ())])]


def write_part(session: Session, part: Part) -> int:
    """Bulk inserts, parents first; executemany in chunks, not one ORM flush per row.
    The number of records written."""
    written = 0
    for model, rows in part:
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start : start + CHUNK]
            if chunk:
                session.execute(insert(model.__table__), chunk)
            written += len(chunk)
    return written
