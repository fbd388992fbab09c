"""The plans PostgreSQL keeps for the hot writes. psycopg prepares a statement on its fifth
use, and PostgreSQL then settles on a generic plan, made without the parameters' values: a
condition that a partial index needs must be written into the statement, not bound. Bound,
`kind = $1` kept the send from the partial index of pending reminders, and each send read
all of its user's unseen notifications: a send grew slower with every notification the user
had (bench/RESULTS.md, sixth session)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import pytest

from conftest import _truncate
from followups.chains import queries

NOW = datetime(2026, 3, 5, 15, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def truncated(db):
    """Tables of no pages, as a fresh database has them: the `db` fixture empties them with
    DELETE, which leaves the pages of earlier tests' rows, and pages weigh in a plan's costs."""
    _truncate(db)


def _generic_plan(db, statement, params: dict) -> str:
    """EXPLAIN of `statement` as prepared by psycopg, its generic plan forced."""
    with db.engine.connect() as conn:
        for _ in range(6):  # prepared on the fifth use
            conn.execute(statement, params).all() if statement.is_select else conn.execute(statement, params)
        raw = conn.connection.driver_connection
        # This statement's, as psycopg sent it (%(name)s -> $n in order of first use): the
        # connection, from the pool, may hold other prepared statements on notification.
        order: dict[str, str] = {}
        sent = re.sub(r"%\((\w+)\)s", lambda m: order.setdefault(m[1], f"${len(order) + 1}"),
                      str(statement.compile(dialect=conn.dialect)))
        [name] = [n for (n, text) in raw.execute("SELECT name, statement FROM pg_prepared_statements")
                  if text == sent]
        raw.execute("SET plan_cache_mode = force_generic_plan")
        args = ", ".join(["NULL"] * raw.execute(
            "SELECT cardinality(parameter_types) FROM pg_prepared_statements WHERE name = %s", (name,)
        ).fetchone()[0])
        plan = "\n".join(r[0] for r in raw.execute(f"EXPLAIN (COSTS OFF) EXECUTE {name}({args})"))
        conn.rollback()
    return plan


@pytest.mark.parametrize("backend", ["postgresql"])
def test_dropping_a_reminder_probes_the_pending_reminders_by_follow_up(db):
    """What a send (of a reminded follow-up), a move and a cancel do."""
    plan = _generic_plan(db, queries.drop_reminder(), {"fid": uuid.uuid4(), "uid": uuid.uuid4(), "now": NOW})
    assert "Index Scan using ix_notification_pending_reminder on notification" in plan, plan
    assert "Index Cond: ((user_id = $" in plan and "AND (followup_id = $" in plan, plan
