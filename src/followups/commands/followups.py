"""The follow-up verbs: `due` lists them, `send` marks one sent, `snooze` moves one."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text
from sqlalchemy.orm import Session

from followups import cadence, clock
from followups.api import shapes
from followups.chains import buckets, queries
from followups.chains import service as followups
from followups.commands import labels
from followups.commands.common import JsonOption, UserOption, database, fail, handled, out, pick_user, print_json, say
from followups.commands.inputs import checked, resolve_id
from followups.commands.when import snooze_target
from followups.models import FollowUp, FollowupType, User
from followups.transfer import values
from followups.transfer.export import iso

# The "#" column of `due`: the attempt number, or what the follow-up is instead.
TYPE_MARKS = {FollowupType.APPOINTMENT.value: "appt", FollowupType.THANK_YOU.value: "thanks"}


@handled
def due(
    bucket: Annotated[str, typer.Argument(help=f"{buckets.OFFERED_TEXT}.")] = buckets.DEFAULT,
    why: Annotated[bool, typer.Option("--why", help="Show how each due date came about.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=500, help="Show at most this many.")] = 200,
    user: UserOption = None,
    as_json: JsonOption = False,
) -> None:
    """Follow-ups due today, overdue or upcoming, in your time zone."""
    name = bucket.strip().lower()
    name = next((n for n in buckets.NAMES if n.lower() == name), name)
    if name not in buckets.BY_NAME:
        fail(f"unknown bucket {bucket!r}: use {buckets.OFFERED_TEXT}")
    now = datetime.now(UTC)
    with database() as db, db.transaction(write=False) as session:
        me = pick_user(session, user)
        rows = followups.list_due(session, me, name, now=now, limit=limit)  # type: ignore[arg-type]
        if as_json:
            print_json([shapes.followup_json(f) for f in rows])
            return
        counts = session.execute(queries.bucket_counts(me.id, now, me.zone)).one()._asdict()
    tz = me.zone
    if not rows:
        empty = f"Nothing {name}." if name in ("overdue", "upcoming") else buckets.BY_NAME[name].empty
        out().print(empty)
    else:
        today = clock.full_day_label(clock.local_date(now, tz))
        table = Table(title=f"{buckets.BY_NAME[name].label} · {today} · {me.timezone}", title_justify="left")
        table.add_column("id", style="dim", no_wrap=True)
        table.add_column("due", no_wrap=True)
        table.add_column("when", style="dim", no_wrap=True)
        table.add_column("#", justify="right", no_wrap=True)
        table.add_column("job · contact")
        notes = any(f.note for f in rows)
        if notes:
            table.add_column("note")
        if why:
            table.add_column("why")
        for f in rows:
            cells = [
                labels.short_id(f.id),
                labels.local_label(f.due_at, tz),
                labels.relative(f.due_at, now, tz),
                TYPE_MARKS.get(f.type, str(f.attempt_no)),
                labels.subject(f.job, f.contact),
                *([f.note or ""] if notes else []),
                *([f.why or ""] if why else []),
            ]
            table.add_row(*(Text(c) for c in cells))
        out().print(table)
        if counts[name] > len(rows):
            out().print(f"[dim]showing {len(rows)} of {counts[name]} (--limit)[/]")
    out().print(
        "[dim]" + " · ".join(f"{counts[b]} {b}" for b in buckets.PARTITION) + "[/]"
    )


def resolve_followup(session: Session, user: User, raw: str) -> uuid.UUID:
    return resolve_id(session, user, FollowUp, raw, "follow-up")


@handled
def send(
    followup_id: Annotated[
        str, typer.Argument(metavar="ID", help="The follow-up (id or its first characters).")
    ],
    note: Annotated[str | None, typer.Option(help="What you sent (replaces the note).")] = None,
    user: UserOption = None,
    as_json: JsonOption = False,
) -> None:
    """Mark a follow-up sent; the cadence schedules what comes next."""
    note = checked("--note", note, values.NOTE_MAX, multiline=True)
    now = datetime.now(UTC)
    with database() as db, db.transaction() as session:
        me = pick_user(session, user)
        sent = followups.mark_sent(
            session, me, resolve_followup(session, me, followup_id), note=note, now=now
        )
        done, following, dormant = sent.followup, sent.next_attempt, sent.dormant_check
        if as_json:
            print_json(
                {
                    **shapes.followup_json(done),
                    "next": shapes.followup_json(following) if following else None,
                    "dormantCheckAt": iso(dormant.due_at) if dormant else None,
                }
            )
            return
        tz = me.zone
        message = f"Sent attempt {done.attempt_no} ({labels.subject(done.job, done.contact)})."
        if following is not None:
            message += (
                f" Next: attempt {following.attempt_no} due"
                f" {labels.due_label(following.due_at, now, tz)},"
                f" id {labels.short_id(following.id)}."
            )
        elif dormant is not None:
            message += (
                f" That was the last attempt: if nothing comes back, a dormant check falls due "
                f"{labels.local_label(dormant.due_at, tz)}."
            )
        say(message)


@handled
def snooze(
    followup_id: Annotated[
        str, typer.Argument(metavar="ID", help="The follow-up (id or its first characters).")
    ],
    to: Annotated[
        str,
        typer.Option(
            "--to",
            metavar="WHEN",
            help=f"tomorrow, monday (any weekday), in 3 days, YYYY-MM-DD ({clock.DAY_TIME_TEXT} local)"
            " or an ISO instant.",
        ),
    ],
    user: UserOption = None,
    as_json: JsonOption = False,
) -> None:
    """Move a follow-up to another day."""
    now = datetime.now(UTC)
    with database() as db, db.transaction() as session:
        me = pick_user(session, user)
        try:
            # The page's one-click words keep to the user's quiet days here too.
            presets = cadence.snooze_presets(now, me.zone, me.cadence)
            word = to.strip().lower()
            due_at = presets[word] if word in presets else snooze_target(to, now, me.zone)
        except ValueError as exc:
            fail(f"--to: {exc}")
        if not clock.is_ahead(due_at, now):  # update_followup refuses it too; said in --to's words
            fail(f"--to: {clock.instant_label(due_at, me.zone, clock.local_date(now, me.zone))} has passed;"
                 " a follow-up moves only to a time still ahead")
        moved = followups.update_followup(
            session,
            me,
            resolve_followup(session, me, followup_id),
            changes={"due_at": due_at},
            now=now,
        )
        if as_json:
            print_json(shapes.followup_json(moved))
            return
        say(
            f"Snoozed {labels.short_id(moved.id)} ({labels.subject(moved.job, moved.contact)})"
            f" to {labels.due_label(moved.due_at, now, me.zone)}."
        )
