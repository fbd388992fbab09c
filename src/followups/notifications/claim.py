"""Claiming due rows for one worker: the pattern every sweep uses.

`UPDATE t SET <mark> WHERE id IN (SELECT id ... LIMIT n FOR UPDATE SKIP LOCKED)
AND <the same state filter> RETURNING ...`: on PostgreSQL concurrent workers skip each
other's locked rows, and the repeated filter stops a row that another worker changed
meanwhile from being claimed twice; on SQLite (no FOR UPDATE) the write transaction
(BEGIN IMMEDIATE) serialises workers. A unique key behind each insert is the backstop.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def claim(session: Session, model, candidates: Select, still: ColumnElement[bool], values: dict, returning):
    """Mark the candidate rows (a SELECT of model.id) and return `returning` columns of those marked."""
    locked = candidates.with_for_update(of=model, skip_locked=True).scalar_subquery()
    stmt = update(model).where(model.id.in_(locked), still).values(**values).returning(*returning)
    return session.execute(stmt, execution_options={"synchronize_session": False}).all()


def insert_ignoring_duplicates(session: Session, model, rows: list[dict], keys: list[str]) -> None:
    """Insert rows; a row whose unique key exists already is skipped, not an error."""
    if not rows:
        return
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(model).on_conflict_do_nothing(index_elements=keys)
    session.execute(stmt, rows)
