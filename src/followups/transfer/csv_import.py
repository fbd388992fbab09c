"""Importing jobs, contacts and past outreach from a CSV file.

Two passes. `parse_csv` reads and checks every row (no database): any bad row makes
the whole file rejected, each problem reported as `line N: field: message`. Then
`plan_import` matches the rows against what the user has, and `write_plan` inserts
only what is new, in bulk, inside the caller's one transaction.

Idempotent by natural keys, without extra columns: a job is its (company, role),
case-insensitively; a contact its email, or its name when the row has no email; an
outreach its (job, contact, sent at). Re-importing a file creates nothing new, and
existing records are left as they are.

Outreach with no reply gets attempt 1 by the same rules as `create_outreach`: the
cadence's `first_attempt`, none after a reply or towards a closed or archived job or
an archived contact.
"""

from __future__ import annotations

import csv
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from followups import cadence as cad
from followups import clock
from followups.models import (
    CLOSED_STAGES,
    REPLIES,
    Channel,
    Contact,
    FollowUp,
    FollowupType,
    Job,
    Outcome,
    Outreach,
    Stage,
    User,
)
from followups.transfer import columns, values

CHUNK = 5000


@dataclass(slots=True)
class Row:
    line: int
    company: str | None
    role: str | None
    url: str | None
    stage: Stage | None
    sent_at: datetime | None
    contact: str | None
    email: str | None
    note: str | None
    channel: Channel
    outcome: Outcome
    resume_on: date | None


@dataclass(frozen=True)
class RowError:
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.field}: {self.message}"


@dataclass
class Parsed:
    rows: list[Row] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    ignored_columns: tuple[str, ...] = ()


class ImportRejected(Exception):
    """The file has bad rows: nothing was written."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(f"{len(errors)} problem(s)")
        self.errors = errors


def _delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def parse_csv(lines: Iterable[str], *, tz: ZoneInfo, day_first: bool = False) -> Parsed:
    """Read and check every row. Blank rows are skipped; line numbers are the file's."""
    it = iter(lines)
    parsed = Parsed()
    first = next(it, None)
    if first is None:
        parsed.errors.append(RowError(1, "header", "the file is empty"))
        return parsed

    def chained() -> Iterator[str]:
        yield first
        yield from it

    reader = csv.reader(chained(), delimiter=_delimiter(first))
    try:
        header = next(reader)
        mapping = columns.map_header(header)
        parsed.ignored_columns = mapping.ignored
        idx = mapping.index
        if not ({"company", "role"} <= idx.keys() or idx.keys() & {"contact", "email"}):
            parsed.errors.append(RowError(1, "header", _no_columns_message(header)))
            return parsed
        dropped = 0
        while True:
            start = reader.line_num + 1
            cells = next(reader, None)
            if cells is None:
                break
            if not any(c.strip() for c in cells):
                continue
            if len(cells) > len(header) and any(c.strip() for c in cells[len(header) :]):
                parsed.errors.append(
                    RowError(
                        start,
                        "row",
                        f"has {len(cells)} cells but the header has {len(header)}"
                        " (a comma in an unquoted value?)",
                    )
                )
                continue
            row = _row(start, cells, idx, tz, day_first, parsed.errors)
            if row is None:
                continue
            if row.sent_at is None and (
                row.note
                or _cell(cells, idx, "channel").strip()
                or _cell(cells, idx, "outcome").strip()
            ):
                dropped += 1
                if dropped <= 5:
                    parsed.warnings.append(
                        f"line {start}: no date applied, so notes, channel and outcome"
                        " are not recorded "
                        "(they belong to an outreach)"
                    )
            parsed.rows.append(row)
        if dropped > 5:
            parsed.warnings.append(f"... and {dropped - 5} more rows without a date applied")
    except csv.Error as exc:
        parsed.errors.append(RowError(reader.line_num, "row", f"unreadable CSV: {exc}"))
    return parsed


def _no_columns_message(header: list[str]) -> str:
    seen = ", ".join(repr(h) for h in header) or "nothing"
    return (
        f"found {seen}; need Company and Role columns (or a Contact / Email column). "
        f"Known headers: {', '.join(columns.EXPORT_HEADER)} and their usual aliases"
    )


def _cell(cells: list[str], idx: dict[str, int], name: str) -> str:
    col = idx.get(name)
    return cells[col] if col is not None and col < len(cells) else ""


def _row(
    line: int,
    cells: list[str],
    idx: dict[str, int],
    tz: ZoneInfo,
    day_first: bool,
    errors: list[RowError],
) -> Row | None:
    before = len(errors)

    def check(name: str, fn: Callable[[str], object]):
        raw = _cell(cells, idx, name)
        try:
            return fn(raw)
        except ValueError as exc:
            errors.append(RowError(line, columns.LABELS[name], str(exc)))
            return None

    company = check("company", lambda r: values.text(r, values.NAME_MAX))
    role = check("role", lambda r: values.text(r, values.NAME_MAX))
    url = check("url", lambda r: values.text(r, values.URL_MAX))
    contact = check("contact", lambda r: values.text(r, values.NAME_MAX))
    email = check(
        "email", lambda r: values.email(v) if (v := values.text(r, values.EMAIL_MAX)) else None
    )
    note = check("notes", lambda r: values.text(r, values.NOTE_MAX, multiline=True))
    stage = check("status", lambda r: _lookup(columns.STATUS, r, "status", Stage.APPLIED))
    channel = check(
        "channel", lambda r: _lookup(columns.CHANNEL, r, "channel", Channel.OTHER)
    )
    outcome = check(
        "outcome", lambda r: _lookup(columns.OUTCOME, r, "outcome", Outcome.NONE)
    )
    sent_at = check(
        "date", lambda r: values.when(r, tz, day_first=day_first) if r.strip() else None
    )
    resume_on = check(
        "resume",
        lambda r: clock.local_date(values.when(r, tz, day_first=day_first), tz) if r.strip() else None,
    )
    if len(errors) > before:
        return None
    if resume_on is not None and outcome != Outcome.LATER:
        errors.append(RowError(line, "resume on", "is only taken with outcome LATER"))
        return None
    if role and not company:
        errors.append(RowError(line, "company", "is required with a role"))
        return None
    if company and not role and not (contact or email):
        errors.append(
            RowError(line, "role", "is required (a row is a job, company and role, or a contact)")
        )
        return None
    if not (company or contact or email):
        errors.append(RowError(line, "row", "has neither company and role nor a contact"))
        return None
    # A contact known only by email is named after it.
    return Row(
        line, company, role, url, stage, sent_at, contact or email, email, note, channel, outcome,
        resume_on,
    )


def _lookup(table: dict, raw: str, what: str, default):
    if not raw.strip():
        return default
    value = columns.lookup(table, raw)
    if value is None:
        names = ", ".join(dict.fromkeys(m.value for m in table.values()))
        raise ValueError(
            f"{raw.strip()!r} is not a known {what} (use one of {names} or a usual synonym)"
        )
    return value


# --- matching and writing -------------------------------------------------------------


@dataclass
class Plan:
    jobs: list[dict] = field(default_factory=list)
    contacts: list[dict] = field(default_factory=list)
    outreach: list[dict] = field(default_factory=list)
    followups: list[dict] = field(default_factory=list)
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
    open: bool  # may still get follow-ups: not archived, not a closed job
    new: bool


def _fold(value: str) -> str:
    return value.casefold()


def plan_import(session: Session, user: User, rows: list[Row], *, now: datetime) -> Plan:
    """What the rows add to what the user has: new records as dicts ready to insert."""
    tz, cadence = user.zone, user.cadence
    plan = Plan()
    jobs: dict[tuple[str, str], _Known] = {}
    for jid, company, role, stage, archived_at in session.execute(
        select(Job.id, Job.company, Job.role, Job.stage, Job.archived_at)
        .where(Job.user_id == user.id)
        .order_by(Job.created_at, Job.id)
    ):
        jobs.setdefault(
            (_fold(company), _fold(role)),
            _Known(jid, archived_at is None and Stage(stage) not in CLOSED_STAGES, False),
        )
    by_email: dict[str, _Known] = {}
    by_name: dict[str, _Known] = {}
    for cid, name, email, archived_at in session.execute(
        select(Contact.id, Contact.name, Contact.email, Contact.archived_at)
        .where(Contact.user_id == user.id)
        .order_by(Contact.created_at, Contact.id)
    ):
        known = _Known(cid, archived_at is None, False)
        if email:
            by_email.setdefault(_fold(email), known)
        by_name.setdefault(_fold(name), known)
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
    base = {"user_id": user.id, "created_at": now, "updated_at": now}

    for row in rows:
        job = None
        if row.role:
            key = (_fold(row.company), _fold(row.role))
            job = jobs.get(key)
            if job is None:
                stage = row.stage or Stage.APPLIED
                job = jobs[key] = _Known(uuid.uuid4(), stage not in CLOSED_STAGES, True)
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
                by_email.get(_fold(row.email)) if row.email else by_name.get(_fold(row.contact))
            )
            if contact is None:
                contact = _Known(uuid.uuid4(), True, True)
                if row.email:
                    by_email[_fold(row.email)] = contact
                by_name.setdefault(_fold(row.contact), contact)
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
        if row.outcome in REPLIES or (job and not job.open) or (contact and not contact.open):
            continue
        if row.outcome == Outcome.LATER:
            # Not now: one follow-up on the day they named (none when the sheet has no day).
            if row.resume_on is not None:
                step = cad.resume_step(row.resume_on, row.resume_on.isoformat(), tz)
                plan.followups.append(_first_followup(base, step, tz, key3, oid, set_by_user=True))
            continue
        step = cad.first_attempt(row.sent_at, tz, cadence)
        plan.followups.append(_first_followup(base, step, tz, key3, oid))
    return plan


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


def write_plan(
    session: Session, plan: Plan, on_written: Callable[[int], None] | None = None
) -> None:
    """Bulk inserts, parents first; executemany in chunks, not one ORM flush per row."""
    for model, rows in (
        (Job, plan.jobs),
        (Contact, plan.contacts),
        (Outreach, plan.outreach),
        (FollowUp, plan.followups),
    ):
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start : start + CHUNK]
            session.execute(insert(model.__table__), chunk)
            if on_written:
                on_written(len(chunk))
