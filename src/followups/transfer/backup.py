"""Backup and restore of the embedded SQLite database, with SQLite's online backup API.

The backup API copies a consistent snapshot while the server and workers keep running
(WAL: readers and writers do not block it). A backup is written to a temporary file
next to the target, switched to a plain rollback journal (one self-contained file),
then renamed into place, so a half-written backup never carries the target's name.

Restoring runs the backup API the other way, into the live database: the copy is one
write transaction on it, so every other connection sees either the old or the new
database, never a mix, and SQLite's own WAL and locking stay consistent (replacing the
file under a running server would not be). The previous database is kept next to it.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

from followups.config import Settings
from followups.errors import Conflict, Invalid, NotFound
from followups.migrate import MIGRATIONS

SQLITE_MAGIC = b"SQLite format 3\x00"


def database_path(settings: Settings) -> Path:
    if not settings.is_sqlite:
        raise Invalid(
            "backup and restore work on the embedded SQLite database; "
            "on PostgreSQL use pg_dump and pg_restore"
        )
    name = make_url(settings.database_url).database
    if not name or name == ":memory:" or name.startswith("file:"):
        raise Invalid(f"the database {settings.database_url!r} is not a file")
    return Path(name).expanduser()


def _read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True)


def revision_of(path: Path) -> str:
    """The migration revision of a followups database file; Invalid if it is not one."""
    if not path.is_file():
        raise NotFound(f"{path} does not exist")
    with path.open("rb") as fh:
        if fh.read(16) != SQLITE_MAGIC:
            raise Invalid(f"{path} is not an SQLite database")
    try:
        with closing(_read_only(path)) as conn:
            check = conn.execute("PRAGMA quick_check").fetchone()
            if not check or check[0] != "ok":
                raise Invalid(
                    f"{path} is damaged (quick_check: {check[0] if check else 'no answer'})"
                )
            has_table = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
            ).fetchone()
            if not has_table:
                raise Invalid(
                    f"{path} is not a followups database (it has no alembic_version table)"
                )
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError as exc:
        raise Invalid(f"{path} cannot be read as a database: {exc}") from None
    if row is None:
        raise Invalid(f"{path} is not a followups database (no migration recorded)")
    return row[0]


def known_revision(revision: str) -> bool:
    scripts = ScriptDirectory(str(MIGRATIONS))
    try:
        return scripts.get_revision(revision) is not None
    except Exception:  # alembic raises several kinds for an unknown id
        return False


def backup(settings: Settings, dest: Path, *, overwrite: bool = False) -> Path:
    """Copy the live database to dest; returns the source path."""
    source = database_path(settings)
    revision_of(source)
    dest = dest.expanduser()
    if dest.exists() and not overwrite:
        raise Conflict(f"{dest} exists already (pass --force to replace it)")
    if dest.resolve() == source.resolve():
        raise Invalid("the backup file cannot be the database itself")
    if not dest.parent.is_dir():
        raise NotFound(f"the directory {dest.parent} does not exist")
    _copy(source, dest, settings.sqlite_busy_timeout_ms / 1000, without_credentials=True)
    return source


def _copy(source: Path, dest: Path, timeout: float, *, without_credentials: bool = False) -> None:
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    try:
        with (
            closing(sqlite3.connect(source, timeout=timeout)) as src,
            closing(sqlite3.connect(tmp)) as out,
        ):
            src.backup(out)
            out.execute("PRAGMA journal_mode=DELETE")
            if without_credentials:
                _drop_credentials(out)
        os.replace(tmp, dest)
    except sqlite3.DatabaseError as exc:
        raise Invalid(f"copying {source} failed: {exc}") from None
    finally:
        tmp.unlink(missing_ok=True)


def _drop_credentials(copy: sqlite3.Connection) -> None:
    """A backup carries no mailbox credentials (encrypted or not): the connected mailboxes
    are left out, overwritten on disk (secure_delete) and the file compacted. After a
    restore each user connects their mailbox again; what its sync recorded is kept."""
    if copy.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'mailbox'").fetchone():
        copy.execute("PRAGMA secure_delete=ON")
        copy.execute("DELETE FROM mailbox")
        copy.commit()
        copy.execute("VACUUM")


def restore(settings: Settings, source: Path, *, now: datetime) -> tuple[Path, Path | None, str]:
    """Replace the live database's content with a backup's.

    Returns (database, the previous database's copy or None, the backup's revision).
    """
    source = source.expanduser()
    target = database_path(settings)
    revision = revision_of(source)
    if not known_revision(revision):
        raise Invalid(
            f"{source} comes from a newer followups (migration {revision}); upgrade followups first"
        )
    if target.exists() and source.resolve() == target.resolve():
        raise Invalid("the backup file is the database itself")
    target.parent.mkdir(parents=True, exist_ok=True)
    previous = None
    if target.exists() and target.stat().st_size:
        previous = target.with_name(f"{target.name}.{now:%Y%m%dT%H%M%SZ}.before-restore")
    timeout = settings.sqlite_busy_timeout_ms / 1000
    if previous is not None:
        _copy(target, previous, timeout)
    try:
        with (
            closing(_read_only(source)) as src,
            closing(sqlite3.connect(target, timeout=timeout)) as live,
        ):
            src.backup(live)
    except sqlite3.DatabaseError as exc:
        raise Invalid(f"restoring into {target} failed, nothing changed: {exc}") from None
    return target, previous, revision
