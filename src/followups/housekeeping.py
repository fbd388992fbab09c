"""The worker's housekeeping: old digests, dead tokens and login failures no limit counts
any more pruned, the SQLite WAL kept small.

Each is a step of `Worker.tick`: cheap when there is nothing to do (an indexed look-up, a
file's size), and done in batches of its own transactions when there is.
"""

from __future__ import annotations

import logging
import sqlite3
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import ColumnElement, and_, delete, or_, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from followups.api.limits import LoginLimiter
from followups.config import Settings
from followups.db import Database
from followups.models import ApiToken, Delivery, Notification
from followups.notifications.claim import shard_groups
from followups.owned import cross_user, one_of, one_shard

log = logging.getLogger("followups.worker")

DIGEST = "digest"
# How long a checkpoint waits for readers to move on before it gives up until the next
# tick: while it waits, writers wait too (SQLite's FULL checkpoint blocks new writers).
CHECKPOINT_WAIT_S = 1.0


def prune(db: Database, settings: Settings, *, now: datetime) -> int:
    """Deletes digests whose day is `retention_days` past, with their deliveries, and
    tokens expired or revoked that long ago, and failed sign-ins that no limit counts any more
    (LoginLimiter.prune); a batch of `worker_batch` per transaction. The number of rows
    deleted (as this worker found them)."""
    cutoff = now - timedelta(days=settings.retention_days)
    old_digest = and_(Notification.kind == DIGEST, Notification.due_at < cutoff)
    dead_token = or_(ApiToken.expires_at < cutoff, ApiToken.revoked_at < cutoff)
    batch = settings.worker_batch
    total = 0
    while True:
        with db.transaction() as session:
            digests = _prune(session, Notification, old_digest, batch, deliveries=True)
            tokens = _prune(session, ApiToken, dead_token, batch)
        total += digests + tokens
        if digests < batch and tokens < batch:
            break
    # Transactions of their own: login_failure is not owned (on Citus, the coordinator's).
    limiter = LoginLimiter.from_settings(settings)
    while True:
        with db.transaction() as session:
            failures = limiter.prune(session, now=now, batch=batch)
        total += failures
        if failures < batch:
            break
    if total:
        log.info("pruned: %d", total)
    return total


def _prune(session: Session, model, old: ColumnElement[bool], batch: int, *, deliveries: bool = False) -> int:
    """Up to `batch` rows of `model` that are `old`: found across users without a lock, then
    deleted per group of users (claim.shard_groups: one shard's), still `old`; with
    `deliveries`, the deliveries of those notifications first. A row another worker
    deleted meanwhile is simply not there."""
    rows = session.execute(cross_user(select(model.user_id, model.id).where(old).limit(batch))).all()
    ids_of: dict = defaultdict(list)
    for user_id, row_id in rows:
        ids_of[user_id].append(row_id)
    for users in shard_groups(session, sorted(ids_of)):
        ids = [row_id for user_id in users for row_id in ids_of[user_id]]
        if deliveries:
            session.execute(one_shard(delete(Delivery).where(
                one_of(session, Delivery.user_id, users), one_of(session, Delivery.notification_id, ids))))
        session.execute(one_shard(delete(model).where(
            one_of(session, model.user_id, users), one_of(session, model.id, ids), old)))
    return len(rows)


def checkpoint_wal(db: Database, settings: Settings) -> int:
    """On SQLite, when the WAL file is past `sqlite_wal_max_mb`: a TRUNCATE checkpoint, which
    copies it into the database and empties it. 1 when it did, else 0 (PostgreSQL, a small
    WAL, or readers that kept it busy past CHECKPOINT_WAIT_S: the next tick tries again)."""
    if not settings.is_sqlite:
        return 0
    path = make_url(settings.database_url).database
    if not path or path == ":memory:":
        return 0
    wal = Path(f"{path}-wal")
    try:
        size = wal.stat().st_size
    except FileNotFoundError:
        return 0
    if size <= settings.sqlite_wal_max_mb * 1024 * 1024:
        return 0
    # A connection of its own, with a short wait: the pooled ones wait up to the busy timeout.
    conn = sqlite3.connect(path, timeout=CHECKPOINT_WAIT_S, isolation_level=None)
    try:
        busy, _frames, _done = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    except sqlite3.OperationalError as exc:
        log.info("WAL checkpoint put off: %s", exc)
        return 0
    finally:
        conn.close()
    if busy:
        log.info("WAL checkpoint put off: readers still at an older snapshot")
        return 0
    log.info("WAL checkpointed: %d MB to %d", size // (1024 * 1024), wal.stat().st_size if wal.exists() else 0)
    return 1
