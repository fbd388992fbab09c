"""The SQL of the follow-ups, in one place: the due buckets (the API, the pages, the counts
and the worker use these), the list's and mark-sent's answer, and the statements of the
follow-up service (followups.chains.service), built once where a request runs them.

One statement shape per question: the due list is `due_list` (its filter, joins and order;
the API's plain rows and the pages' ORM objects select from it), one follow-up with its job
and contact is `with_records`, mark-sent's answer is `sent_answer_columns`.
"""

from __future__ import annotations

import uuid
from collections import namedtuple
from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    Update,
    Uuid,
    and_,
    bindparam,
    func,
    literal_column,
    select,
    type_coerce,
    update,
)
from sqlalchemy.orm import contains_eager
from sqlalchemy.types import TypeDecorator

from followups import notification_kinds as kinds
from followups.chains import buckets
from followups.models import Contact, FollowUp, Job, Notification


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


def with_records() -> Select:
    """Follow-ups as ORM objects with their job and contact filled in (any state, archived
    or not): add the WHERE and the order."""
    return embedded(with_job_and_contact(select(FollowUp)))


def visible_open(user_id: uuid.UUID) -> Select:
    return embedded(_visible_open(select(FollowUp), user_id))


def due_list(stmt: Select, user_id, bucket: str, lower, upper, until=None) -> Select:
    """The due list, the one shape of it: `stmt`'s selection (the ORM object, or the list's
    plain columns) of the user's visible open follow-ups in `bucket` between the
    bucket's bounds `lower` and `upper` (instants or bind parameters), due before `until` if
    given, in due order. Add the limit."""
    stmt = _visible_open(stmt, user_id).where(in_bucket(FollowUp.due_at, bucket, lower, upper))
    if until is not None:
        stmt = stmt.where(FollowUp.due_at < until)
    return stmt.order_by(FollowUp.due_at, FollowUp.id)


def due_bucket(
    user_id: uuid.UUID,
    bucket: str,
    now: datetime,
    tz: ZoneInfo,
    limit: int | None = None,
    *,
    until: datetime | None = None,
) -> Select:
    """`due_list` as ORM objects with their job and contact, for `now` in zone `tz`."""
    lower, upper = buckets.bounds(bucket, now, tz)
    stmt = due_list(embedded(select(FollowUp)), user_id, bucket, lower, upper, until)
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
# The list's answer (followups.api.routes.followups): the three above, in that order.
LIST_COLUMNS = (*FOLLOWUP_COLUMNS, *JOB_COLUMNS, *CONTACT_COLUMNS)


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
    """`due_list` as plain columns (`LIST_COLUMNS`), for the list endpoint: built once per
    bucket with bind parameters (user_id, lower, upper: the bucket's bounds, limit), so a
    request neither builds a statement nor makes ORM objects."""
    selected = select(*map(_id_as_text, LIST_COLUMNS))
    return due_list(
        selected, bindparam("user_id"), bucket, bindparam("lower"), bindparam("upper")
    ).limit(bindparam("limit", type_=Integer))


def bucket_counts(user_id: uuid.UUID, now: datetime, tz: ZoneInfo) -> Select:
    """One row: the number of visible open follow-ups in each bucket."""
    counts = select(
        *(func.count().filter(bucket_filter(FollowUp.due_at, b, now, tz)).label(b) for b in buckets.NAMES)
    ).select_from(FollowUp)
    return _visible_open(counts, user_id)


# The follow-up service's statements. Built once (`@cache`, bind parameters) where a
# request runs them: a statement made per call has its cache key computed on each execution.


@cache
def followup_by_id() -> Select:
    """get_followup's statement (bind fid, user_id): a follow-up with its job and contact."""
    return (
        with_records()
        .where(FollowUp.id == bindparam("fid"), FollowUp.user_id == bindparam("user_id"))
        .execution_options(populate_existing=True)
    )


def open_followup(user_id, fid) -> Update:
    """An UPDATE of one open follow-up of the user (add the values)."""
    return update(FollowUp).where(FollowUp.id == fid, FollowUp.user_id == user_id, is_open())


def sent_answer_columns(own=lambda column: column) -> tuple:
    """Mark-sent's answer, as named columns: the list's (`LIST_COLUMNS`), then what the
    service plans from, `chain_id` and `reminded_at`. `own` says where a follow_up column
    is read: the table, or the RETURNING of the send (`send_and_answer`)."""
    return (
        *map(own, FOLLOWUP_COLUMNS), *JOB_COLUMNS, *CONTACT_COLUMNS,
        own(FollowUp.chain_id).label("chain_id"), own(FollowUp.reminded_at).label("reminded_at"),
    )


# Mark-sent's answer read by name from a plain tuple (psycopg's, followups.api.hot): the
# names `sent_answer_columns` gives SQLAlchemy's rows (later repeats renamed: the job's and the
# contact's own columns are read by place, routes.followups.ANSWER).
SentRow = namedtuple("SentRow", [column.key for column in sent_answer_columns()], rename=True)


@cache
def send() -> Update:
    """Mark-sent's gate (bind fid, uid, now, new_note: None keeps the note): the open row
    of the user becomes sent. Of concurrent sends exactly one matches the open row."""
    # (No parameter named like a column: Core would add it to the SET clause.)
    return open_followup(bindparam("uid"), bindparam("fid")).values(
        sent_at=bindparam("now"),
        updated_at=bindparam("now"),
        note=func.coalesce(bindparam("new_note", type_=String), FollowUp.note),
    )


@cache
def sent_answer() -> Select:
    """Mark-sent's answer after its gate (bind fid, uid): `sent_answer_columns`."""
    return with_job_and_contact(select(*sent_answer_columns())).where(
        FollowUp.id == bindparam("fid"), FollowUp.user_id == bindparam("uid")
    )


@cache
def send_and_answer() -> Select:
    """PostgreSQL: `send` and `sent_answer` in one statement, one round trip fewer on the
    hottest write: the UPDATE's RETURNING row feeds the read (SQLite has no UPDATE in a
    WITH clause, so there the two run one after the other; same gate, same columns). No
    row: the gate refused (not ours, or not open) and nothing changed.

    The drop of a reminded follow-up's reminder stays a statement of its own, after this
    one: the worker that makes reminders locks the user's row first (take_writers), and a
    statement that waited for that lock would still read notifications as of its start,
    without the reminder the worker made meanwhile."""
    sent = send().returning(*FOLLOWUP_COLUMNS, FollowUp.chain_id, FollowUp.reminded_at, FollowUp.user_id)
    sent = sent.cte("sent")
    # The job and contact pinned to the user by the parameter, not only through the CTE's
    # column: a PostgreSQL sharded by user (Citus) then sends the whole statement to the
    # user's shard (through the CTE alone it pulled both tables to the coordinator).
    uid = bindparam("uid")
    answer = (
        sent.outerjoin(Job, and_(Job.user_id == uid, Job.id == sent.c.job_id, Job.user_id == sent.c.user_id))
        .outerjoin(Contact, and_(Contact.user_id == uid, Contact.id == sent.c.contact_id,
                                 Contact.user_id == sent.c.user_id))
    )
    return select(*sent_answer_columns(lambda column: sent.c[column.key])).select_from(answer)


# The kind written into the SQL, not bound: a prepared statement's generic plan (psycopg
# prepares a statement on its fifth use) can use the partial index on kind = 'followup_due'
# only if the statement says so itself. With `kind = $1` PostgreSQL scanned all the user's
# unseen notifications instead, and each send grew slower with the user's history
# (bench/RESULTS.md).
_A_REMINDER = Notification.kind == literal_column(f"'{kinds.FOLLOWUP_DUE.name}'")


def cancel_pending_reminders(user_id, followups: ColumnElement[bool]) -> Update:
    """The unseen reminders of the user's follow-ups matched by `followups` (a condition on
    Notification.followup_id) become obsolete: cancelled at the bind parameter `now`. What
    the partial index ix_notification_pending_reminder serves."""
    return (
        update(Notification)
        .where(
            Notification.user_id == user_id,
            followups,
            _A_REMINDER,
            Notification.sent_at.is_(None),
            Notification.cancelled_at.is_(None),
        )
        .values(cancelled_at=bindparam("now"))
    )


@cache
def drop_reminder() -> Update:
    """One follow-up's unseen reminder is obsolete (bind fid, uid, now)."""
    return cancel_pending_reminders(bindparam("uid"), Notification.followup_id == bindparam("fid"))


def cancel_dormant_checks(user_id: uuid.UUID, where: ColumnElement[bool], now: datetime) -> Update:
    """The pending dormant checks of the chains of the user's follow-ups matched by `where`
    are cancelled (a reply or a closed job settles them)."""
    chains = select(FollowUp.chain_id).where(FollowUp.user_id == user_id, where)
    return (
        update(Notification)
        .where(
            Notification.user_id == user_id,
            Notification.kind == kinds.DORMANT_CANDIDATE.name,
            Notification.sent_at.is_(None),
            Notification.cancelled_at.is_(None),
            Notification.chain_id.in_(chains),
        )
        .values(cancelled_at=now)
    )
