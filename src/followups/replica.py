"""Read-your-writes on a streaming replica.

Every write request of a signed-in user bumps `app_user.write_seq` on the primary, in the
request's own transaction (`record_write`). A list read may go to the replica only when the
replica's copy of that row already has the primary's value (`reads_from_replica`): a commit
becomes visible on a standby all at once, so the replica then shows every write the user
made, and a user never sees their own write disappear. Otherwise, or when the replica does
not answer, the read stays on the primary.

Why a counter and not a WAL position: `pg_current_wal_insert_lsn()` taken inside the write
transaction comes before that transaction's commit record, so a replica that has replayed
up to it may still not show the write; the counter is visible exactly when the commit is.
"""

from __future__ import annotations

import logging
import time

from sqlalchemy import Engine, func, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from followups.db import READ_FROM
from followups.models import User

log = logging.getLogger("followups.replica")

# Session.info key: the user a request's transaction acts for (set on sign-in).
ACTING_USER = "followups_acting_user"
# After a replica fails to answer, reads stay on the primary this long before trying again.
BACKOFF_S = 5.0
_down_until: dict[int, float] = {}


def acting_for(session: Session, user: User) -> None:
    session.info[ACTING_USER] = user.id


def record_write(session: Session) -> None:
    """At the end of a write request's transaction: the user's writes moved on by one, if the
    transaction wrote anything (PostgreSQL gives it a transaction id on its first write, so a
    refused or empty request changes nothing and takes no lock on the user's row)."""
    user_id = session.info.get(ACTING_USER)
    if user_id is None or session.get_bind().dialect.name != "postgresql":
        return  # SQLite has no replicas
    session.execute(  # flushes the ORM's pending changes first
        update(User)
        .where(User.id == user_id, func.pg_current_xact_id_if_assigned().is_not(None))
        .values(write_seq=User.write_seq + 1),
        execution_options={"synchronize_session": False},
    )


def caught_up(replica: Engine, user: User) -> bool:
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


def reads_from_replica(session: Session, replica: Engine | None, user: User) -> bool:
    """Send the rest of this session's reads to the replica if it has caught up with the user."""
    if replica is None or not caught_up(replica, user):
        return False
    session.info[READ_FROM] = replica
    return True
