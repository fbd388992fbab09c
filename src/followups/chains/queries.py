"""The due buckets, written once: the API, the pages, the counts and the worker use these."""

from __future__ import annotations

import uuid
from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Integer, Select, String, Uuid, and_, bindparam, func, select, type_coerce
from sqlalchemy.orm import contains_eager
from sqlalchemy.types import TypeDecorator

from followups.chains import buckets
from followups.models import Contact, FollowUp, Job


def is_open() -> ColumnElement[bool]:
    return and_(FollowUp.sent_at.is_(None), FollowUp.cancelled_at.is_(None))


def bucket_filter(column, bucket: str, now: datetime, tz: ZoneInfo) -> ColumnElement[bool]:
    """The bucket's local days in the owner's zone (followups.chains.buckets)."""
    return in_bucket(column, bucket, *buckets.bounds(bucket, now, tz))


def in_bucket(column, bucket: str, lower, upper) -> ColumnElement[bool]:
    """column in [lower, upper), where the bucket has those bounds: instants, or bind
    parameters (an unbounded side is left out, whatever is given for it)."""
    b = buckets.BY_NAME[bucket]
    where = []
    if b.first_day is not None:
        where.append(column >= lower)
    if b.end_day is not None:
        where.append(column < upper)
    return and_(*where)


def with_job_and_contact(stmt: Select) -> Select:
    # Joins carry user_id too: co-located on a PostgreSQL sharded by user (Citus).
    return stmt.outerjoin(Job, and_(Job.id == FollowUp.job_id, Job.user_id == FollowUp.user_id)).outerjoin(
        Contact, and_(Contact.id == FollowUp.contact_id, Contact.user_id == FollowUp.user_id)
    )


def _visible_open(stmt: Select, user_id: uuid.UUID) -> Select:
    """Open follow-ups of a user whose job and contact are not archived.

    The outer joins give NULL archived_at where a follow-up has no job or contact, so
    one filter covers "no job", "job not archived" and the same for contacts; it runs
    in SQL, served by the partial index on (user_id, due_at, id) of open rows.
    """
    return with_job_and_contact(stmt).where(
        FollowUp.user_id == user_id,
        is_open(),
        Job.archived_at.is_(None),
        Contact.archived_at.is_(None),
    )


def embedded(stmt: Select) -> Select:
    """Fill follow_up.job and .contact from the joined rows (no query per row)."""
    return stmt.options(contains_eager(FollowUp.job), contains_eager(FollowUp.contact))


def visible_open(user_id: uuid.UUID) -> Select:
    return embedded(_visible_open(select(FollowUp), user_id))


def due_bucket(
    user_id: uuid.UUID, bucket: str, now: datetime, tz: ZoneInfo, limit: int | None = None
) -> Select:
    stmt = (
        visible_open(user_id)
        .where(bucket_filter(FollowUp.due_at, bucket, now, tz))
        .order_by(FollowUp.due_at, FollowUp.id)
    )
    return stmt.limit(limit) if limit is not None else stmt


# A listed follow-up as plain columns: its own, then its job's, then its contact's.
FOLLOWUP_COLUMNS = (
    FollowUp.id, FollowUp.job_id, FollowUp.contact_id, FollowUp.outreach_id, FollowUp.attempt_no,
    FollowUp.type, FollowUp.due_at, FollowUp.sent_at, FollowUp.cancelled_at,
    FollowUp.cancel_reason, FollowUp.note, FollowUp.why,
)
JOB_COLUMNS = (Job.id, Job.company, Job.role, Job.url, Job.stage, Job.archived_at, Job.created_at)
CONTACT_COLUMNS = (
    Contact.id, Contact.name, Contact.email, Contact.company, Contact.linkedin_url,
    Contact.archived_at, Contact.created_at,
)


def _dashed(hex_: str | None) -> str | None:
    if hex_ is None:
        return None
    return f"{hex_[:8]}-{hex_[8:12]}-{hex_[12:16]}-{hex_[16:20]}-{hex_[20:]}"


class _UuidText(TypeDecorator[str]):
    """A UUID column read as its text form (8-4-4-4-12 hex digits) without a uuid.UUID made
    per value (the largest share of the list's row processing on SQLite, bench/RESULTS.md):
    psycopg reads PostgreSQL's uuid as a uuid.UUID already (passed through); SQLite's 32 hex
    digits are dashed by slicing (in SQL, substr() cost 1.4 us an id). Either is what the
    answer's serialiser writes as it is (followups.api.wire)."""

    impl = String
    cache_ok = True

    def result_processor(self, dialect, coltype):
        return _dashed if dialect.name == "sqlite" else None


def _id_as_text(column):
    if isinstance(column.type, Uuid):
        return type_coerce(column, _UuidText()).label(column.key)
    return column


@cache
def due_bucket_rows(bucket: str) -> Select:
    """`due_bucket` as plain columns, for the list endpoint: built once per bucket with bind
    parameters (user_id, lower, upper: the bucket's bounds, limit), so a request neither
    builds a statement nor makes ORM objects. Same filter, same order."""
    columns = (*FOLLOWUP_COLUMNS, *JOB_COLUMNS, *CONTACT_COLUMNS)
    return (
        _visible_open(select(*map(_id_as_text, columns)), bindparam("user_id"))
        .where(in_bucket(FollowUp.due_at, bucket, bindparam("lower"), bindparam("upper")))
        .order_by(FollowUp.due_at, FollowUp.id)
        .limit(bindparam("limit", type_=Integer))
    )


def answer_columns(own=lambda column: column) -> tuple:
    """The list's plain columns, then the chain: what mark-sent answers and plans from.
    `own` says where a follow_up column is read (the table, or an UPDATE's RETURNING)."""
    return (*map(own, FOLLOWUP_COLUMNS), *JOB_COLUMNS, *CONTACT_COLUMNS, own(FollowUp.chain_id))


@cache
def one_followup_row() -> Select:
    """One follow-up of a user (bind fid, uid) in any state, as `answer_columns`."""
    return with_job_and_contact(select(*answer_columns())).where(
        FollowUp.id == bindparam("fid"), FollowUp.user_id == bindparam("uid")
    )


def bucket_counts(user_id: uuid.UUID, now: datetime, tz: ZoneInfo) -> Select:
    """One row: the number of visible open follow-ups in each bucket."""
    counts = select(
        *(func.count().filter(bucket_filter(FollowUp.due_at, b, now, tz)).label(b) for b in buckets.NAMES)
    ).select_from(FollowUp)
    return _visible_open(counts, user_id)
