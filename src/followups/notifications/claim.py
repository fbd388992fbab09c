"""Claiming due rows for one worker: the pattern every sweep uses.

`WITH c AS MATERIALIZED (SELECT id ... LIMIT n FOR UPDATE SKIP LOCKED) UPDATE t SET
<mark> FROM c WHERE t.id = c.id AND <the same state filter> RETURNING ...`: on
PostgreSQL concurrent workers skip each other's locked rows, and the repeated filter
stops a row that another worker changed meanwhile from being claimed twice; on SQLite
(no FOR UPDATE) the write transaction (BEGIN IMMEDIATE) serialises workers. A unique key
behind each insert is the backstop.

The candidates are a materialised CTE, not `WHERE id IN (subquery)`: PostgreSQL may
plan the IN as a semi-join that rescans the LIMIT ... SKIP LOCKED subquery once per
outer row, which claimed far more than the batch (seen: 9,950 rows for LIMIT 50).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from followups import replica


def claim(session: Session, model, candidates: Select, still: ColumnElement[bool], values: dict, returning,
          *, seen_by_owner: bool = False):
    """Mark the candidate rows (a SELECT of model.id) and return `returning` columns of those marked.

    `seen_by_owner`: the mark is a write the owners see (a reminder, a cancelled
    notification). Their app_user rows are then taken first, before any row of theirs is
    locked (followups.replica.take_writers: write_seq bumped, the lock order of every
    write of a user), and only their rows claimed. Must be the transaction's first lock."""
    if seen_by_owner and session.get_bind().dialect.name == "postgresql":
        pending = candidates.add_columns(model.user_id).subquery()
        owners = replica.take_writers(session, session.scalars(select(pending.c.user_id).distinct()))
        if not owners:
            return []
        candidates = candidates.where(model.user_id.in_(owners))
    locked = (
        candidates.with_for_update(of=model, skip_locked=True)
        .cte("claimed")
        .prefix_with("MATERIALIZED")
    )
    stmt = update(model).where(model.id == locked.c.id, still).values(**values).returning(*returning)
    return session.execute(stmt, execution_options={"synchronize_session": False}).all()


def insert_ignoring_duplicates(session: Session, model, rows: list[dict], keys: list[str]) -> None:
    """Insert rows; a row whose unique key exists already is skipped, not an error."""
    if not rows:
        return
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(model).on_conflict_do_nothing(index_elements=keys)
    session.execute(stmt, rows)
