"""Read-your-writes on a streaming replica, and the lock order of a user's writes.

Every transaction that writes for a user bumps `app_user.write_seq` on the primary, in that
same transaction. A list read may go to the replica only when the replica's copy of that
row already has the primary's value (`reads_from_replica`): a commit becomes visible on a
standby all at once, so the replica then shows every write the user made, and a user never
sees their own write disappear. Otherwise, or when the replica does not answer, the read
stays on the primary.

One mechanism for every writer:
- A session acting for one user (an API or page request after sign-in, a CLI verb after
  `pick_user`) is marked with `acting_for`; the first write on its connection (an INSERT,
  UPDATE or DELETE, a SELECT ... FOR UPDATE: ORM flush, ORM or Core statement alike) bumps
  the user's row first (`_before_execute`, an engine event: services that write on
  `session.connection()` directly are covered too).
- A writer acting for many users (the worker's claims, the digests) takes its users with
  `take_writers` (or `take_writer`) before it touches their rows.

The bump comes FIRST, before any other row of the user is locked: every write of a user
locks app_user, then the user's other rows, so two writes of one user take turns on the
user's row and can never hold each other's rows (a time-zone change that rewrites open
follow-ups racing a mark-sent deadlocked when the bump came last). A refused or read-only
request writes nothing and takes no lock.

Why a counter and not a WAL position: `pg_current_wal_insert_lsn()` taken inside the write
transaction comes before that transaction's commit record, so a replica that has replayed
up to it may still not show the write; the counter is visible exactly when the commit is.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from sqlalchemy import Connection, Engine, TextClause, bindparam, event, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import UpdateBase

from followups.db import READ_FROM, RoutingSession
from followups.models import AnyUser, User
from followups.owned import one_of, one_shard

log = logging.getLogger("followups.replica")

# Session.info key: the user a session acts for (set on sign-in). Connection execution
# options: the same, on the session's connection, and whether that connection's
# transaction has bumped the user's row already.
ACTING_USER = "followups_acting_user"
_BUMPED = "followups_write_seq_bumped"
# After a replica fails to answer, reads stay on the primary this long before trying again.
BACKOFF_S = 5.0
_down_until: dict[int, float] = {}
# Textual SQL that writes or locks rows (Core and ORM statements are told by their type).
_WRITING_SQL = re.compile(r"^\s*(insert|update|delete|merge)\b|\bfor\s+(no\s+key\s+)?update\b", re.I)


def acting_for(session: Session, user: AnyUser, *, bumped: bool = False) -> None:
    """`bumped`: this transaction has bumped the user's row already (a sign-in that wrote)."""
    session.info[ACTING_USER] = user.id
    if on_postgresql(session):  # SQLite has no replicas
        _mark(session.connection(), user.id, bumped)


def _mark(conn: Connection, user_id: uuid.UUID, bumped: bool = False) -> None:
    # In place (SQLAlchemy 2): the options live as long as this Connection, which is the
    # session's for one transaction; a later transaction's connection is marked on begin.
    conn.execution_options(**{ACTING_USER: user_id, _BUMPED: bumped})


@event.listens_for(RoutingSession, "after_begin")
def _began(session: Session, _transaction, conn: Connection) -> None:
    user_id = session.info.get(ACTING_USER)
    if user_id is not None and conn.dialect.name == "postgresql":
        _mark(conn, user_id)


def on_postgresql(session: Session) -> bool:
    bind = session.bind
    return bind is not None and bind.dialect.name == "postgresql"


def _writes(statement) -> bool:
    if isinstance(statement, UpdateBase):
        return True
    if isinstance(statement, TextClause):
        return _WRITING_SQL.search(statement.text) is not None
    return getattr(statement, "_for_update_arg", None) is not None


# Built once (a write's hot path); the parameter is not named like a column (Core would
# add it to the SET clause).
_BUMP = (
    update(User.__table__).where(User.id == bindparam("acting_user_id"))
    .values(write_seq=User.write_seq + 1)
)


@event.listens_for(Engine, "before_execute")
def _before_execute(conn: Connection, statement, _multiparams, _params, _options) -> None:
    options = conn.get_execution_options()
    user_id = options.get(ACTING_USER)
    if user_id is None or options.get(_BUMPED, True) or not _writes(statement):
        return
    conn.execution_options(**{_BUMPED: True})  # before executing: the bump is a write too
    conn.execute(_BUMP, {"acting_user_id": user_id})


def take_writers(session: Session, user_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """For a writer acting for many users (the worker): bump and lock the rows of
    `user_ids` (the users of one shard: followups.notifications.claim.shard_groups), in id
    order, and return those that exist; touch only their rows after. Call it before the
    transaction locks anything else of theirs: it may wait for a user's own write to
    finish, which never waits on the worker (that write holds no row the worker has, since
    the worker takes a user's row before any of the user's other rows), and two workers
    lock users in the same order (shard, then id). SQLite (one writer at a time, no
    replicas): all of them, unchanged."""
    wanted = set(user_ids)
    if not wanted or not on_postgresql(session):
        return wanted
    ordered = (
        select(User.id).where(one_of(session, User.id, wanted)).order_by(User.id)
        .with_for_update(key_share=True)  # FOR NO KEY UPDATE, as an UPDATE takes
        .cte("writers").prefix_with("MATERIALIZED")
    )
    stmt = one_shard(
        update(User.__table__).where(one_of(session, User.id, wanted), User.id == ordered.c.id)
        .values(write_seq=User.write_seq + 1).returning(User.id)
    )
    return set(session.scalars(stmt))


# Built once; the parameter is not named like a column.
_TAKE_WRITER = (
    update(User.__table__).where(User.id == bindparam("writer_id"))
    .values(write_seq=User.write_seq + 1).returning(User.id)
)


def take_writer(session: Session, user_id: uuid.UUID) -> bool:
    """`take_writers` for one user, in a statement pinned to them (the digests, which are
    made one user at a time)."""
    if not on_postgresql(session):
        return True
    return session.execute(_TAKE_WRITER, {"writer_id": user_id}).first() is not None


def caught_up(replica: Engine, user: AnyUser) -> bool:
    """True when the replica has replayed every write `user` (as read on the primary) made."""
    key = id(replica)
    if _down_until.get(key, 0.0) > time.monotonic():
        return False
    try:
        with replica.connect() as conn:
            seen = conn.scalar(select(User.write_seq).where(User.id == user.id))
    except SQLAlchemyError as exc:
        _down_until[key] = time.monotonic() + BACKOFF_S
        log.warning("replica unavailable, reading from the primary for %.0f s: %s", BACKOFF_S,
                    type(exc).__name__)
        return False
    return seen is not None and seen >= user.write_seq


def reads_from_replica(session: Session, replica: Engine | None, user: AnyUser) -> bool:
    """Send the rest of this session's reads to the replica if it has caught up with the user."""
    if replica is None or not caught_up(replica, user):
        return False
    session.info[READ_FROM] = replica
    return True
