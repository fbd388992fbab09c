"""Fetching a row by id for its owner: a stranger's id answers like a missing one."""

from __future__ import annotations

import uuid
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from followups.errors import Invalid, NotFound

T = TypeVar("T")


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
