"""Data in and out: import, export, demo, backup, restore."""

from __future__ import annotations

import secrets
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, TextIO

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

from followups.commands.common import (
    JsonOption,
    UserOption,
    database,
    err,
    error_line,
    fail,
    handled,
    pick_user,
    print_json,
    say,
)
from followups.config import Settings
from followups.db import Database, roll_back
from followups.migrate import is_at_head, upgrade
from followups.transfer import backup as backups
from followups.transfer import csv_import, demo, export, json_import
from followups.transfer.csv_import import ImportRejected
from followups.users import service as users

# Files at least this big show a progress bar (when stderr is a terminal).
PROGRESS_BYTES = 256 * 1024
DEMO_EMAIL = "demo@example.com"


def register(app: typer.Typer) -> None:
    app.command("import")(import_file)
    app.command("export")(export_data)
    app.command("demo")(fill_demo)
    app.command("backup")(backup_database)
    app.command("restore")(restore_database)


def _progress(size: int) -> Progress | None:
    if size < PROGRESS_BYTES or not err().is_terminal:
        return None
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeRemainingColumn(),
        console=err(),
        transient=True,
    )


def _counted(fh: TextIO, progress: Progress | None) -> Iterator[str]:
    """The file's lines, advancing a bar by characters read (close enough to bytes)."""
    if progress is None:
        yield from fh
        return
    task = progress.add_task("checking rows", total=Path(fh.name).stat().st_size)
    pending = 0
    for n, line in enumerate(fh):
        pending += len(line)
        if n % 2000 == 0:
            progress.advance(task, pending)
            pending = 0
        yield line
    progress.advance(task, pending)


def _report_rejected(path: Path, exc: ImportRejected) -> None:
    def text(problem) -> str:
        return str(problem) if problem.line else f"{problem.field}: {problem.message}"

    if len(exc.errors) == 1:
        error_line(f"{path.name}: {text(exc.errors[0])}; nothing was imported")
        return
    error_line(f"{path.name}: {len(exc.errors)} problems; nothing was imported")
    for problem in exc.errors:
        err().print(escape(text(problem)), soft_wrap=True)


class _DryRun(Exception):
    def __init__(self, summary: dict) -> None:
        super().__init__("dry run")
        self.summary = summary


@handled
def import_file(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="A .csv file (or a JSON export).")],
    user: UserOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check and count, write nothing.")
    ] = False,
    day_first: Annotated[
        bool, typer.Option("--day-first", help="Read 5/3/2026 as 5 March (default: May 3).")
    ] = False,
    encoding: Annotated[
        str, typer.Option(help="The file's text encoding, e.g. cp1252 for old Excel.")
    ] = "utf-8-sig",
    as_json: JsonOption = False,
) -> None:
    """Import jobs, contacts and past outreach from a CSV (or a JSON export); idempotent.

    Every row is checked first: a file with a bad row imports nothing. Re-importing a
    file adds nothing new."""
    if not file.is_file():
        fail(f"{file} is not a file")
    now = datetime.now(UTC)
    progress = _progress(file.stat().st_size)
    try:
        with (
            database() as db,
            progress or nullcontext(),
            file.open(encoding=encoding, newline="") as fh,
        ):
            first = fh.read(1)
            fh.seek(0)
            if file.suffix.lower() == ".json" or json_import.looks_like_export(first):
                with db.transaction() as session:
                    me = pick_user(session, user)
                    who = me.email
                    added = json_import.write(session, me, json_import.load(fh))
                    summary = {"format": "json", "added": added}
                    if dry_run:
                        raise _DryRun(summary)  # leaves the transaction by rolling it back
            else:
                with db.transaction(write=False) as session:
                    me = pick_user(session, user)
                    who = me.email
                parsed = csv_import.parse_csv(_counted(fh, progress), tz=me.zone, now=now, day_first=day_first)
                if parsed.errors:
                    raise ImportRejected(parsed.errors)
                summary = _import_csv(db, who, parsed, now=now, dry_run=dry_run, progress=progress)
    except _DryRun as done:
        summary = done.summary
    except ImportRejected as exc:
        _report_rejected(file, exc)
        raise typer.Exit(1) from None
    except UnicodeDecodeError as exc:
        fail(
            f"{file.name} is not {encoding} text (byte {exc.start}); "
            "try --encoding cp1252 or save it as UTF-8"
        )
    summary["dryRun"] = dry_run
    if as_json:
        print_json(summary)
        return
    _print_summary(file, summary, who)


def _import_csv(
    db: Database, who: str, parsed: csv_import.Parsed, *, now: datetime, dry_run: bool, progress: Progress | None
) -> dict:
    """Plan on a snapshot, write the plan in parts (a transaction each: on SQLite others
    write in between), then settle the records already there. A file cut short leaves
    whole records, and importing it again adds the rest."""
    with db.transaction(write=False) as session:
        plan = csv_import.plan_import(session, pick_user(session, who), parsed.rows, now=now)
    if not dry_run:
        task = progress.add_task("writing", total=plan.size) if progress else None
        sqlite = db.settings.is_sqlite
        pending = csv_import.parts(plan, csv_import.SQLITE_PART if sqlite else None)
        finished = False
        while not finished:
            with db.transaction() as session:
                pick_user(session, who)
                until = time.monotonic() + csv_import.SQLITE_HOLD_S
                written = 0
                for part in pending:
                    written += csv_import.write_part(session, part)
                    if sqlite and time.monotonic() >= until:
                        break
                else:
                    finished = True
            if progress:
                progress.advance(task, written)
            if not finished:
                time.sleep(csv_import.SQLITE_PAUSE_S)
    with db.transaction() as session:
        csv_import.settle_existing(session, pick_user(session, who), plan, now=now)
        if dry_run:
            roll_back(session)
    return {
        "format": "csv",
        "rows": len(parsed.rows),
        "jobs": {"added": len(plan.jobs), "existing": plan.jobs_existing},
        "contacts": {"added": len(plan.contacts), "existing": plan.contacts_existing},
        "outreach": {
            "added": len(plan.outreach),
            "existing": plan.outreach_existing,
            "duplicateRows": plan.duplicates,
        },
        "followupsScheduled": len(plan.followups),
        "followupsCancelled": plan.followups_cancelled,
        "followupsMoved": plan.followups_moved,
        "ignoredColumns": list(parsed.ignored_columns),
        "warnings": parsed.warnings,
    }


def _print_summary(file: Path, s: dict, who: str) -> None:
    verb = "Would import" if s["dryRun"] else "Imported"
    if s["format"] == "json":
        parts = ", ".join(f"{n} {section}" for section, n in s["added"].items())
        say(f"{verb} {file.name} for {who}: {parts} new.")
        return
    say(
        f"{verb} {file.name} for {who}: {s['rows']} rows -> "
        f"{s['jobs']['added']} new jobs ({s['jobs']['existing']} already there), "
        f"{s['contacts']['added']} new contacts ({s['contacts']['existing']} already there), "
        f"{s['outreach']['added']} new outreach ({s['outreach']['existing']} already there), "
        f"{s['followupsScheduled']} follow-ups scheduled."
    )
    changed = []
    if s["followupsCancelled"]:
        changed.append(f"{s['followupsCancelled']} cancelled (one reply settles the job)")
    if s["followupsMoved"]:
        changed.append(f"{s['followupsMoved']} moved back (the minimum gap after a touch)")
    if changed:
        say(f"Follow-ups already there: {', '.join(changed)}.")
    if s["outreach"]["duplicateRows"]:
        say(
            f"{s['outreach']['duplicateRows']} rows repeated an earlier row's outreach "
            "and were merged."
        )
    if s["ignoredColumns"]:
        say(f"Ignored columns: {', '.join(s['ignoredColumns'])}.")
    for warning in s["warnings"]:
        say(f"note: {warning}")


@handled
def export_data(
    format: Annotated[
        str, typer.Option("--format", "-f", help="csv (re-importable) or json (everything).")
    ] = "csv",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file (default: stdout).")
    ] = None,
    user: UserOption = None,
) -> None:
    """Export everything you own, streamed: CSV (the importer's columns) or a JSON document."""
    kind = format.strip().lower()
    if kind not in {"csv", "json"}:
        fail(f"--format: {format!r} is not csv or json")
    now = datetime.now(UTC)
    with database() as db, db.transaction(write=False) as session, _target(output) as fh:
        export.snapshot(session)
        me = pick_user(session, user)
        if kind == "csv":
            count = export.write_csv(session, me, fh)
            what = f"{count} rows"
        else:
            counts = export.write_json(session, me, fh, now=now)
            what = ", ".join(f"{n} {section}" for section, n in counts.items())
    if output is not None:
        err().print(f"Exported {what} for {escape(me.email)} to {escape(str(output))}.")


@contextmanager
def _target(output: Path | None) -> Iterator[TextIO]:
    """stdout, or a file written beside its name and renamed once complete."""
    if output is None:
        yield sys.stdout
        sys.stdout.flush()
        return
    tmp = output.with_name(f".{output.name}.partial")
    try:
        with tmp.open("w", encoding="utf-8", newline="") as fh:
            yield fh
        tmp.replace(output)
    finally:
        tmp.unlink(missing_ok=True)


@handled
def fill_demo(
    user: UserOption = None,
    force: Annotated[
        bool, typer.Option("--force", help="Add the sample even if the user has data.")
    ] = False,
    timezone: Annotated[str, typer.Option(help="Time zone of a new demo user.")] = "UTC",
) -> None:
    """Fill the database with a realistic sample (a demo user is made if there is none)."""
    now = datetime.now(UTC)
    password = None
    with database() as db, db.transaction() as session:
        if not user and not users.any_user(session):
            password = secrets.token_urlsafe(12)
            me = users.register(
                session, email=DEMO_EMAIL, password=password, timezone=timezone, now=now
            )
        else:
            me = pick_user(session, user)
        if demo.has_data(session, me) and not force:
            fail(f"{me.email} has data already; `followups demo --force` adds the sample anyway")
        summary = demo.fill(session, me, now=now)
    if password:
        say(f"Made the user {DEMO_EMAIL} with the password {password}")
    c = summary.counts
    say(
        f"Added {summary.jobs} jobs, {summary.contacts} contacts and {summary.outreach} outreach"
        f" for {me.email}: {c['overdue']} follow-ups overdue, {c['today']} due today,"
        f" {c['upcoming']} upcoming."
    )
    say("Try: followups due overdue --why")


@handled
def backup_database(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="Where to write the backup.")],
    force: Annotated[bool, typer.Option("--force", help="Replace FILE if it exists.")] = False,
) -> None:
    """Back up the embedded SQLite database (safe while the server runs)."""
    source = backups.backup(Settings(), file, overwrite=force)
    say(f"Backed up {source} to {file} ({file.stat().st_size // 1024 or 1} KiB).")


@handled
def restore_database(
    file: Annotated[
        Path, typer.Argument(metavar="FILE", help="A backup made by `followups backup`.")
    ],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Replace the embedded SQLite database with a backup (the current one is kept beside it)."""
    settings = Settings()
    target = backups.database_path(settings)
    backups.revision_of(file)  # refuse a bad file before asking
    if not yes:
        typer.confirm(f"Replace the database at {target} with {file}?", abort=True)
    target, previous, _revision = backups.restore(settings, file, now=datetime.now(UTC))
    with database(migrate=False) as db:
        if not is_at_head(db.engine):  # an older backup: bring it up to this version
            upgrade(db.engine)
    kept = f" The previous database is kept at {previous}." if previous else ""
    say(f"Restored {file} into {target}.{kept}")
