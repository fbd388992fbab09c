"""Importing a JSON export (export.py) for a user: every record with its state and history.

This restores records as they were, so it checks shape rather than use-case rules:
each value against its column (type, length, no NUL, known enum value, instants with
an offset) and every reference against the records of the file. All problems are
reported as `<section>[N].<field>: message` and nothing is written.

Ids are kept, so export -> import into a fresh database -> export is the same
document. Idempotent: a record whose id the user already has is skipped. An id that
belongs to another user of this database (a user importing somebody's export next to
them) is replaced by a fixed function of (user, id), so re-importing stays idempotent.
"""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime
from typing import TextIO

from pydantic.alias_generators import to_camel
from sqlalchemy import Date, Integer, String, Text, Uuid, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.types import JSON, Boolean

from followups import notification_kinds as kinds
from followups.chains.service import rezone_open
from followups.db import UTCDateTime
from followups.input_limits import day_in_range, instant_in_range
from followups.models import (
    Channel,
    FollowupType,
    Outcome,
    Stage,
    User,
)
from followups.owned import cross_user
from followups.transfer.csv_import import CHUNK, ImportRejected, RowError
from followups.transfer.export import FORMAT, SECTIONS, VERSION, record_columns

ENUMS: dict[tuple[str, str], tuple[str, ...]] = {
    ("jobs", "stage"): tuple(Stage),
    ("outreach", "channel"): tuple(Channel),
    ("outreach", "outcome"): tuple(Outcome),
    ("followups", "type"): tuple(FollowupType),
    ("notifications", "kind"): kinds.NAMES,
}
# Reference column -> the section its ids come from.
REFS = {
    "job_id": "jobs",
    "contact_id": "contacts",
    "outreach_id": "outreach",
    "followup_id": "followups",
}
MAX_ERRORS = 1000


def looks_like_export(head: str) -> bool:
    return head.lstrip().startswith("{")


def _value(col, raw):
    """A JSON value as the column's Python value; ValueError with the reason."""
    if raw is None:
        if not col.nullable:
            raise ValueError("is required")
        return None
    kind = col.type
    if isinstance(kind, Uuid):
        if not isinstance(raw, str):
            raise ValueError("must be an id string")
        return uuid.UUID(raw)
    if isinstance(kind, UTCDateTime):
        if not isinstance(raw, str):
            raise ValueError("must be an ISO 8601 instant string")
        return instant_in_range(datetime.fromisoformat(raw))
    if isinstance(kind, Date):
        if not isinstance(raw, str):
            raise ValueError("must be an ISO 8601 date string")
        return day_in_range(date.fromisoformat(raw))
    if isinstance(kind, Boolean):
        if not isinstance(raw, bool):
            raise ValueError("must be true or false")
        return raw
    if isinstance(kind, Integer):
        if not isinstance(raw, int) or isinstance(raw, bool) or not -(2**31) <= raw < 2**31:
            raise ValueError("must be a whole number")
        return raw
    if isinstance(kind, String | Text):
        if not isinstance(raw, str):
            raise ValueError("must be a string")
        if "\x00" in raw:
            raise ValueError("contains a NUL character")
        if getattr(kind, "length", None) and len(raw) > kind.length:
            raise ValueError(f"is longer than {kind.length} characters")
        return raw
    if isinstance(kind, JSON):
        if "\x00" in json.dumps(raw):
            raise ValueError("contains a NUL character")
        return raw
    raise ValueError(f"has an unsupported type {kind!r}")  # pragma: no cover - a new column type


def load(source: TextIO) -> dict[str, list[dict]]:
    """The records of an export, checked; ImportRejected lists every problem."""
    try:
        doc = json.load(source)
    except json.JSONDecodeError as exc:
        raise ImportRejected([RowError(exc.lineno, "json", exc.msg)]) from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ImportRejected(
            [RowError(1, "format", f'this is not a followups export (no "format": "{FORMAT}")')]
        )
    if doc.get("version") != VERSION:
        raise ImportRejected(
            [RowError(1, "version", f"version {doc.get('version')!r} is not {VERSION}")]
        )
    errors: list[RowError] = []
    records: dict[str, list[dict]] = {}
    ids: dict[str, set[uuid.UUID]] = {}
    for section, model in SECTIONS.items():
        raw_rows = doc.get(section, [])
        if not isinstance(raw_rows, list):
            errors.append(RowError(1, section, "must be a list"))
            continue
        cols = record_columns(model)
        rows = []
        for n, raw in enumerate(raw_rows):
            where = f"{section}[{n}]"
            if not isinstance(raw, dict):
                errors.append(_err(where, "record", "must be an object"))
                continue
            row, ok = {}, True
            for col in cols:
                name = to_camel(col.name)
                try:
                    row[col.name] = _value(col, raw.get(name))
                    allowed = ENUMS.get((section, col.name))
                    if allowed is not None and row[col.name] not in allowed:
                        raise ValueError(f"{row[col.name]!r} is not one of {', '.join(allowed)}")
                except ValueError as exc:
                    errors.append(_err(where, name, str(exc)))
                    ok = False
            if ok:
                rows.append(row)
            if len(errors) >= MAX_ERRORS:
                raise ImportRejected(errors)
        records[section] = rows
        ids[section] = {r["id"] for r in rows}
    for section, rows in records.items():
        for n, row in enumerate(rows):
            for col, target in REFS.items():
                if row.get(col) is not None and row[col] not in ids.get(target, ()):
                    errors.append(
                        _err(f"{section}[{n}]", to_camel(col), f"refers to a record not in {target}")
                    )
    if errors:
        raise ImportRejected(errors[:MAX_ERRORS])
    return records


def _err(where: str, field: str, message: str) -> RowError:
    # JSON records have no line numbers: "line" 0, and the record's place in the text.
    return RowError(0, f"{where}.{field}", message)


def _owned(
    session: Session, ids: list[uuid.UUID], user_id: uuid.UUID | None
) -> dict[uuid.UUID, uuid.UUID]:
    """Of these ids, those already in the database (of user_id, or of anybody): id -> owner.
    Of anybody is a question across users by its nature (ids stay unique across users, which
    the ORM's identity by id relies on): a read without a lock, marked as such."""
    found: dict[uuid.UUID, uuid.UUID] = {}
    for model in SECTIONS.values():
        for start in range(0, len(ids), 500):
            stmt = select(model.id, model.user_id).where(model.id.in_(ids[start : start + 500]))
            stmt = cross_user(stmt) if user_id is None else stmt.where(model.user_id == user_id)
            found.update((row_id, owner) for row_id, owner in session.execute(stmt))
    return found


def write(session: Session, user: User, records: dict[str, list[dict]]) -> dict[str, int]:
    """Insert the records the user does not have yet; returns the number added per section."""
    ids = [r["id"] for rows in records.values() for r in rows]
    remap = {
        i: uuid.uuid5(user.id, str(i))
        for i, owner in _owned(session, ids, None).items()
        if owner != user.id
    }

    def mapped(value):
        return remap.get(value, value) if isinstance(value, uuid.UUID) else value

    have = _owned(session, [mapped(i) for i in ids], user.id)
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    added: dict[str, int] = {}
    for section, model in SECTIONS.items():
        fresh = []
        for row in records[section]:
            row = {k: mapped(v) for k, v in row.items()}
            if row["id"] in have:
                continue  # imported before
            if section == "notifications":
                row["dedupe_key"] = _remap_key(row["dedupe_key"], remap)
            fresh.append({**row, "user_id": user.id})
        for start in range(0, len(fresh), CHUNK):
            # A unique key met otherwise (e.g. a digest of the same day) skips the record.
            session.execute(
                dialect.insert(model.__table__).on_conflict_do_nothing(),
                fresh[start : start + CHUNK],
            )
        added[section] = len(fresh)
    # Each follow-up falls due at the start of its local day in *this* user's zone.
    rezone_open(session, user)
    return added


def _remap_key(key: str, remap: dict[uuid.UUID, uuid.UUID]) -> str:
    """Dedupe keys may embed an id ("<followup id>:<revision>" or a chain id)."""
    parts = key.split(":")
    try:
        old = uuid.UUID(parts[0])
    except ValueError:
        return key
    if old in remap:
        new = remap[old]
        parts[0] = str(new) if "-" in parts[0] else new.hex
    return ":".join(parts)
