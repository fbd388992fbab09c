"""Exporting everything a user owns, streamed: rows are fetched in batches (a server-side
cursor on PostgreSQL) and written as they come, so memory stays flat however big.

CSV: one row per outreach, then one per job and per contact without outreach, in the
columns the importer reads (so an export re-imports as the same content). Ordered by
content, not by ids or creation times, so export -> import -> export is identical.

JSON: one document `{"format": "followups-export", "version": 1, "user": ..., "jobs":
[...], "contacts": [...], "outreach": [...], "followups": [...], "notifications": [...]}`,
every column of every record (camelCase, instants in UTC with `Z`), written record by
record. `followups import` reads it back (json_import.py).
"""

from __future__ import annotations

import csv
import json
import uuid
from collections.abc import Iterator
from datetime import date, datetime
from typing import TextIO

from pydantic.alias_generators import to_camel
from sqlalchemy import Select, and_, exists, select
from sqlalchemy.orm import Session

from followups.clock import UTC
from followups.models import Contact, FollowUp, Job, Notification, Outreach, User
from followups.transfer.columns import EXPORT_HEADER

BATCH = 2000
FORMAT = "followups-export"
VERSION = 1
# JSON section -> model, parents before children (the order json_import inserts in).
SECTIONS = {
    "jobs": Job,
    "contacts": Contact,
    "outreach": Outreach,
    "followups": FollowUp,
    "notifications": Notification,
}


def iso(instant: datetime | None) -> str | None:
    if instant is None:
        return None
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def snapshot(session: Session) -> None:
    """Make the export's several statements see one state of the database. SQLite's
    read transaction already does; PostgreSQL needs REPEATABLE READ for it, set before
    the session's first statement (call this first)."""
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def _stream(session: Session, stmt: Select) -> Iterator:
    yield from session.execute(stmt.execution_options(yield_per=BATCH))


def csv_rows(session: Session, user: User) -> Iterator[list[str]]:
    """The export's rows (header first), as lists of cells."""
    yield list(EXPORT_HEADER)
    live = (Outreach.user_id == user.id, Outreach.deleted_at.is_(None))
    outreach = (
        select(
            Job.company,
            Job.role,
            Job.url,
            Job.stage,
            Outreach.sent_at,
            Contact.name,
            Contact.email,
            Contact.company,
            Outreach.note,
            Outreach.channel,
            Outreach.outcome,
            Outreach.resume_on,
        )
        .select_from(Outreach)
        # Joined on the owner too: co-located on a PostgreSQL sharded by user (Citus).
        .outerjoin(Job, and_(Job.user_id == Outreach.user_id, Job.id == Outreach.job_id))
        .outerjoin(Contact, and_(Contact.user_id == Outreach.user_id, Contact.id == Outreach.contact_id))
        .where(*live)
        .order_by(
            Outreach.sent_at,
            Job.company,
            Job.role,
            Contact.name,
            Contact.email,
            Outreach.channel,
            Outreach.outcome,
            Outreach.note,
            Outreach.id,
        )
    )
    for (
        company,
        role,
        url,
        stage,
        sent_at,
        name,
        email,
        contact_company,
        note,
        channel,
        outcome,
        resume_on,
    ) in _stream(session, outreach):
        # Without a job the company cell names the contact's company (no role: a contact row).
        yield [
            company if role is not None else contact_company or "",
            role or "",
            url or "",
            stage or "",
            iso(sent_at),
            name or "",
            email or "",
            note or "",
            channel,
            outcome,
            resume_on.isoformat() if resume_on else "",
        ]
    jobs = (
        select(Job.company, Job.role, Job.url, Job.stage)
        .where(
            Job.user_id == user.id,
            ~exists().where(Outreach.user_id == Job.user_id, Outreach.job_id == Job.id, *live),
        )
        .order_by(Job.company, Job.role, Job.url, Job.stage, Job.id)
    )
    for company, role, url, stage in _stream(session, jobs):
        yield [company, role, url or "", stage, "", "", "", "", "", "", ""]
    contacts = (
        select(Contact.company, Contact.name, Contact.email)
        .where(
            Contact.user_id == user.id,
            ~exists().where(Outreach.user_id == Contact.user_id, Outreach.contact_id == Contact.id, *live),
        )
        .order_by(Contact.name, Contact.email, Contact.company, Contact.id)
    )
    for company, name, email in _stream(session, contacts):
        yield [company or "", "", "", "", "", name, email or "", "", "", "", ""]


def write_csv(session: Session, user: User, out: TextIO) -> int:
    """Write the CSV export; returns the number of data rows."""
    writer = csv.writer(out, lineterminator="\n")
    count = -1
    for count, row in enumerate(csv_rows(session, user)):  # noqa: B007
        writer.writerow(row)
    return count


def _json_value(value):
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def user_header(user: User) -> dict:
    return {
        "email": user.email,
        "timezone": user.timezone,
        "cadence": {
            "followupDelaysDays": list(user.followup_delays_days),
            "dormantAfterDays": user.dormant_after_days,
            "skipWeekends": user.skip_weekends,
            "adaptive": user.cadence_adaptive,
        },
        "rules": user.rule_set.to_wire(),
        "digestHour": user.digest_hour,
        "digestEmail": user.digest_email,
    }


def record_columns(model) -> list:
    return [c for c in model.__table__.columns if c.name != "user_id"]


def write_json(session: Session, user: User, out: TextIO, *, now: datetime) -> dict[str, int]:
    """Write the JSON export record by record; returns the count per section."""
    head = {"format": FORMAT, "version": VERSION, "exportedAt": iso(now), "user": user_header(user)}
    out.write(json.dumps(head, ensure_ascii=False)[:-1])
    counts: dict[str, int] = {}
    for section, model in SECTIONS.items():
        cols = record_columns(model)
        names = [to_camel(c.name) for c in cols]
        stmt = select(*cols).where(model.user_id == user.id).order_by(model.created_at, model.id)
        out.write(f', "{section}": [')
        n = 0
        for row in _stream(session, stmt):
            record = {name: _json_value(v) for name, v in zip(names, row, strict=True)}
            out.write(("\n" if n == 0 else ",\n") + json.dumps(record, ensure_ascii=False))
            n += 1
        out.write("\n]" if n else "]")
        counts[section] = n
    out.write("}\n")
    return counts
