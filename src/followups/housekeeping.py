"""The worker's housekeeping: old digests and dead tokens pruned, the SQLite WAL kept small.

Each is a step of `Worker.tick`: cheap when there is nothing to do (an indexed look-up, a
file's size), and done in batches of its own transactions when there is.
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, or_, select, tuple_
from sqlalchemy.engine import make_url

from followups.config import Settings
from followups.db import Database
from followups.models import ApiToken, Delivery, Notification

log = logging.getLogger("followups.worker")

DIGEST = "digest"
# How long a checkpoint waits for readers to move on before it gives up until the next
# tick: while it waits, writers wait too (SQLite's FULL checkpoint blocks new writers).
CHECKPOINT_WAIT_S = 1.0


def prune(db: Database, settings: Settings, *, now: datetime) -> int:
    """Deletes digests whose day is `retention_days` past, with their deliveries, and
    tokens expired or revoked that long ago; a batch of `worker_batch` per transaction.
    The number of rows deleted."""
    cutoff = now - timedelta(days=settings.retention_days)
    batch = settings.worker_batch
    total = 0
    while True:
        with db.transaction() as session:
            digests = session.execute(
                select(Notification.user_id, Notification.id)
                .where(Notification.kind == DIGEST, Notification.due_at < cutoff)
                .limit(batch)
                .with_for_update(skip_locked=True)
            ).all()
            if digests:
                keys = [tuple(key) for key in digests]
                session.execute(
                    delete(Delivery).where(tuple_(Delivery.user_id, Delivery.notification_id).in_(keys))
                )
                session.execute(delete(Notification).where(tuple_(Notification.user_id, Notification.id).in_(keys)))
            tokens = session.scalars(
                select(ApiToken.id)
                .where(or_(ApiToken.expires_at < cutoff, ApiToken.revoked_at < cutoff))
                .limit(batch)
                .with_for_update(skip_locked=True)
            ).all()
            if tokens:
                session.execute(delete(ApiToken).where(ApiToken.id.in_(tokens)))
        total += len(digests) + len(tokens)
        if len(digests) < batch and len(tokens) < batch:
            break
    if total:
        log.info("pruned: %d", total)
    return total


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
