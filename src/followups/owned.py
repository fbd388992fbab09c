"""Rows a user owns: fetched by id for their owner (a stranger's id answers like a
missing one), and the records kept in lists (jobs, contacts): listed active or archived,
edited field by field, archived and unarchived."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Protocol, TypeVar

from sqlalchemy import ColumnElement, Select, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import UnaryExpression
from sqlalchemy.sql.operators import custom_op
from sqlalchemy.sql.selectable import HasPrefixes

from followups.errors import Invalid, NotFound

T = TypeVar("T")


class Archivable(Protocol):
    """A record the user keeps in a list and may archive: a job or a contact."""

    archived_at: datetime | None
    updated_at: datetime


A = TypeVar("A", bound=Archivable)
S = TypeVar("S", bound=HasPrefixes)

# Marks the few reads that span users on purpose (the worker's due work, an administrator's
# list of users): read-only, never locking. Every other statement pins one user (or one
# directory key), which a database sharded by user sends to one shard (tests/test_tenancy.py).
CROSS_USER = "/* cross-user */"


def cross_user(stmt: Select) -> Select:
    """`stmt` marked as a read across users (`CROSS_USER`); it must take no lock."""
    return stmt.prefix_with(CROSS_USER)


# Marks the worker's statements on the users of one shard at once (their owners pinned by
# `user_id IN (...)`, followups.notifications.claim.shard_groups): a database sharded by
# user sends each to that one shard; an unsharded database is one shard.
ONE_SHARD = "/* one shard */"


def one_shard(stmt: S) -> S:
    """`stmt` marked as a statement on the users of one shard (`ONE_SHARD`)."""
    return stmt.prefix_with(ONE_SHARD)


def one_of(session: Session, column, values, *, filter_only: bool = False) -> ColumnElement[bool]:
    """`column IN values`: on PostgreSQL `= ANY(<one array parameter>)`, which a batch of
    thousands binds and plans much faster than as many parameters (and has no limit on
    their number). `filter_only`: SQLite must not pick an index for it (`+column`): with
    a thousand users it walked each user's rows instead of the query's own index."""
    values = list(values)
    if len(values) == 1:  # an equality: what a sharded cluster routes (and locks) on one shard
        return (UnaryExpression(column, operator=custom_op("+"), type_=column.type)
                if filter_only and session.get_bind().dialect.name == "sqlite" else column) == values[0]
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
    if filter_only:
        column = UnaryExpression(column, operator=custom_op("+"), type_=column.type)
    return column.in_(values)


def is_id(raw: str | uuid.UUID) -> bool:
    """Whether `parse_id` takes `raw` for an id."""
    try:
        parse_id(raw, "")
    except NotFound:
        return False
    return True


def parse_id(raw: str | uuid.UUID, label: str) -> uuid.UUID:
    """Ids are opaque strings; one that is not ours in form is simply not found."""
    if isinstance(raw, uuid.UUID):
        return raw
    try:
        return uuid.UUID(raw)
    except (ValueError, AttributeError, TypeError):
        raise NotFound(f"{label} {raw!r} was not found.") from None


def get_owned(
    session: Session, model: type[T], user_id: uuid.UUID, raw_id, label: str, *, for_update: bool = False
) -> T:
    """A row of the user's, or NotFound. `for_update` locks it (PostgreSQL; SQLite's
    writers are serialised by BEGIN IMMEDIATE) for a read-decide-write use case."""
    row_id = parse_id(raw_id, label)
    stmt = select(model).where(model.id == row_id, model.user_id == user_id)  # type: ignore[attr-defined]
    if for_update:
        stmt = stmt.with_for_update()
    row = session.scalar(stmt)
    if row is None:
        raise NotFound(f"{label} {raw_id!s} was not found.")
    return row


def require_job_or_contact(job_id, contact_id) -> None:
    if job_id is None and contact_id is None:
        raise Invalid.field("jobId", "jobId or contactId is required")


def add_owned(session: Session, model: type[A], user_id: uuid.UUID, fields: dict, *, now: datetime) -> A:
    row = model(user_id=user_id, created_at=now, updated_at=now, **fields)
    session.add(row)
    session.flush()
    return row


def list_owned(session: Session, model: type[A], user_id: uuid.UUID, *, archived: bool) -> Sequence[A]:
    """The user's active (or archived) records of a kind, oldest first."""
    column = model.archived_at  # type: ignore[attr-defined]
    return session.scalars(
        select(model)
        .where(model.user_id == user_id, column.is_not(None) if archived else column.is_(None))  # type: ignore[attr-defined]
        .order_by(model.created_at, model.id)  # type: ignore[attr-defined]
    ).all()


def edit_owned(row: Archivable, changes: dict, editable: Iterable[str], *, now: datetime) -> None:
    """Set the `editable` fields present in `changes`, and `archived` (archiving an archived
    record keeps its first instant). Stamps `updated_at`; the caller flushes."""
    for name in editable:
        if name in changes:
            setattr(row, name, changes[name])
    if "archived" in changes:
        if not changes["archived"]:
            row.archived_at = None
        elif row.archived_at is None:
            row.archived_at = now
    row.updated_at = now


def ids_with_prefix(session: Session, model: type, user_id: uuid.UUID, prefix: str) -> list[uuid.UUID]:
    """The ids of the user's rows of `model` whose hex starts with `prefix` (the terminal's
    short ids): read whole and matched here, since a UUID column has no text prefix on SQLite."""
    return [rid for rid in session.scalars(select(model.id).where(model.user_id == user_id))
            if rid.hex.startswith(prefix)]
