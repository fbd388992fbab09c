"""Claiming due rows for one worker: the pattern every sweep uses.

No statement locks rows of users on several shards (a PostgreSQL sharded by user, Citus,
refuses a `FOR UPDATE` that spans shards, and sends a statement whose users all live on
one shard to that shard alone):

1. `due_by_shard`: the owners of the candidates, read across users WITHOUT a lock
   (`cross_user`: a read served by a small cross-user index), grouped by the shard that
   holds them. A database that is not sharded is one shard: one group, so a batch costs
   what it did (one more filter, and one query asking whether the database is sharded).
2. per group, `claim`: `WITH c AS MATERIALIZED (<the candidates> AND user_id = ANY(<the
   group's users>) ... LIMIT n FOR UPDATE SKIP LOCKED) UPDATE t SET <mark> FROM c WHERE
   t.user_id = ANY(...) AND t.user_id = c.user_id AND t.id = c.id AND <the same state
   filter> RETURNING ...`. On PostgreSQL concurrent workers skip each other's locked rows,
   and the repeated filter stops a row another worker changed meanwhile from being
   claimed twice; on SQLite (no FOR UPDATE) the write transaction (BEGIN IMMEDIATE)
   serialises workers. A unique key behind each insert is the backstop.

The candidates of the claim are a materialised CTE, not `WHERE id IN (subquery)`:
PostgreSQL may plan the IN as a semi-join that rescans the LIMIT ... SKIP LOCKED subquery
once per outer row, which claimed far more than the batch (seen: 9,950 rows for LIMIT 50).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy import ColumnElement, Select, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from followups import replica
from followups.owned import cross_user, one_of, one_shard

# Citus: the shard of each user (app_user is distributed by id; every owned table is
# co-located with it, so a user's rows of every table are on that shard's node).
_SHARDS_OF = text(
    "SELECT u, get_shard_id_for_distribution_column('app_user', u) FROM unnest(CAST(:users AS uuid[])) AS u"
)
_DISTRIBUTED = text(
    "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')"
)
_APP_USER_DISTRIBUTED = text(
    "SELECT EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = 'app_user'::regclass)"
)


# At most this many users per claim: on SQLite each is a bind parameter (it takes 32,766 per
# statement), and worker_batch goes up to 100,000.
GROUP_USERS = 10_000


def _sharded(session: Session) -> bool:
    """Whether app_user is distributed (Citus); asked per batch, so a worker started before
    `followups db distribute` follows it."""
    if session.get_bind().dialect.name != "postgresql" or not session.scalar(_DISTRIBUTED):
        return False
    return bool(session.scalar(_APP_USER_DISTRIBUTED))


def shard_groups(session: Session, user_ids: list[uuid.UUID]) -> list[list[uuid.UUID]]:
    """`user_ids` (in id order) grouped for claims in the lock order of every worker:
    unsharded, one group; sharded, one user a group, in shard order, then id order."""
    if not user_ids:
        return []
    if not _sharded(session):
        return [user_ids]
    groups: dict[int, list[uuid.UUID]] = {}
    for user_id, shard in session.execute(_SHARDS_OF, {"users": user_ids}):
        groups.setdefault(shard, []).append(user_id)
    # Citus 13 refuses a FOR UPDATE whose user filter is `= ANY(<array>)`, even of one
    # shard's users, and routes one with `= <user>`: there a claim takes one user at a time
    # (one_of writes a single user as an equality), still in the shards' lock order.
    return [[user_id] for shard in sorted(groups) for user_id in sorted(groups[shard])]


def due_by_shard(session: Session, candidates: Select) -> list[list[uuid.UUID]]:
    """The owners of the candidates (a SELECT of the owner's id, then the row's id), read
    without a lock across users, grouped by shard (`shard_groups`)."""
    pending = candidates.subquery()
    users = sorted(session.scalars(cross_user(select(pending.c.user_id).distinct())))
    return [
        group[start : start + GROUP_USERS]
        for group in shard_groups(session, users)
        for start in range(0, len(group), GROUP_USERS)
    ]


def claim(session: Session, model, candidates: Select, users: list[uuid.UUID], still: ColumnElement[bool],
          values: dict, returning) -> list:
    """Mark the candidate rows of `users` (the candidates as given to `due_by_shard`) and
    return their `returning` columns: one statement on the users of one shard, which skips
    rows another worker holds."""
    locked = (
        candidates.where(one_of(session, model.user_id, users, filter_only=True))
        .with_for_update(of=model, skip_locked=True)
        .cte("claimed")
        .prefix_with("MATERIALIZED")
    )
    stmt = one_shard(
        update(model)
        .where(one_of(session, model.user_id, users), model.user_id == locked.c.user_id,
               model.id == locked.c.id, still)
        .values(**values)
        .returning(*returning)
    )
    return session.execute(stmt, execution_options={"synchronize_session": False}).all()


def claim_each(session: Session, groups: list[list[uuid.UUID]], claim_one: Callable[[list[uuid.UUID]], list],
               *, seen_by_owner: bool = False) -> list:
    """`claim_one(users)` for each group of `due_by_shard`, in that order; what they
    claimed, all together.

    `seen_by_owner`: the mark is a write the owners see (a reminder, a cancelled
    notification). The users' app_user rows are then taken first, before any row of theirs
    is locked (followups.replica.take_writers: write_seq bumped, the lock order of every
    write of a user), and only the rows of those who still exist are claimed."""
    claimed: list = []
    for users in groups:
        if seen_by_owner:
            taken = replica.take_writers(session, users)
            if not taken:
                continue
            users = [u for u in users if u in taken]
        claimed += claim_one(users)
    return claimed


def insert_ignoring_duplicates(session: Session, model, rows: list[dict], keys: list[str]) -> None:
    """Insert rows; a row whose unique key exists already is skipped, not an error. (Each
    row names its owner: a sharded cluster sends each to its user's shard.)"""
    if not rows:
        return
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(model).on_conflict_do_nothing(index_elements=keys)
    session.execute(stmt, rows)
