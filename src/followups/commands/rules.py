"""`followups rules` and `followups holidays`: the job-search rules and quiet days."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from followups import clock
from followups.commands import when
from followups.commands.common import (
    JsonOption,
    UserOption,
    database,
    fail,
    handled,
    out,
    pick_user,
    print_json,
    say,
)
from followups.errors import Invalid
from followups.models import User
from followups.rules import MAX_GAP_DAYS, RECOMMENDED, SUGGESTED_GAP_DAYS
from followups.users import preferences

rules_app = typer.Typer(no_args_is_help=True, help="Job-search rules that shape the follow-up dates.")
holidays_app = typer.Typer(no_args_is_help=True, help="Days no cadence follow-up falls on.")
# What each rule does, as `rules show` says it.
EXPLAINED = {
    "thread_by_job": "One reply settles the job (a reply cancels the job's other follow-ups)",
    "spread_by_company": "Spread per company (never two follow-ups for one company on a day)",
    "min_gap_days": "Minimum gap per person after any message",
    "stage_aware": "Stage-aware (HR/TECH: one thank-you note; OFFER stops everything)",
    "adaptive": "Adaptive delays (your median days to reply, 2 to 10)",
}


def register(app: typer.Typer) -> None:
    app.add_typer(rules_app, name="rules")
    app.add_typer(holidays_app, name="holidays")


def _rules_json(user: User) -> dict:
    """The API's `rules` (GET /me), with the cadence's `adaptive` beside them."""
    return {**user.rule_set.to_wire(), "adaptive": user.cadence_adaptive}


def _print_rules(user: User) -> None:
    rules = user.rule_set
    console = out()
    on = {**asdict(rules), "adaptive": user.cadence_adaptive}
    for name, text in EXPLAINED.items():
        value = on[name]
        if name == "min_gap_days":
            shown = f"{value} day{'s' if value != 1 else ''}" if value else "off"
        else:
            shown = "on" if value else "off"
        console.print(f"{text}: {shown}", markup=False)
    count = len(rules.holidays)
    console.print(f"Holidays: {count} (`followups holidays list`)" if count else "Holidays: none", markup=False)


@rules_app.command("show")
@handled
def show(user: UserOption = None, as_json: JsonOption = False) -> None:
    """The rules in force."""
    with database() as db, db.transaction(write=False) as session:
        me = pick_user(session, user)
        if as_json:
            print_json(_rules_json(me))
            return
        _print_rules(me)


def _flag(name: str, help: str):
    dashed = name.replace("_", "-")
    return typer.Option(f"--{dashed}/--no-{dashed}", help=help, show_default=False)


@rules_app.command("set")
@handled
def set_rules(
    thread_by_job: Annotated[bool | None, _flag("thread_by_job", "A reply settles all of a job's follow-ups.")] = None,
    spread_by_company: Annotated[
        bool | None, _flag("spread_by_company", "No two follow-ups for one company on a day.")
    ] = None,
    min_gap_days: Annotated[
        int | None,
        typer.Option(
            "--min-gap-days",
            metavar="N",
            help=f"Days between any message to a person and a follow-up (0 off, {SUGGESTED_GAP_DAYS} suggested).",
        ),
    ] = None,
    stage_aware: Annotated[
        bool | None, _flag("stage_aware", "Interview stages stop the cadence; thank-you note.")
    ] = None,
    adaptive: Annotated[bool | None, _flag("adaptive", "Delays follow your median days to reply.")] = None,
    recommended: Annotated[
        bool, typer.Option("--recommended", help="Turn on the recommended rules (other options apply on top).")
    ] = False,
    user: UserOption = None,
    as_json: JsonOption = False,
) -> None:
    """Change some rules; the others stay as they are."""
    if min_gap_days is not None and not 0 <= min_gap_days <= MAX_GAP_DAYS:
        fail(f"--min-gap-days: give 0 (off) to {MAX_GAP_DAYS} days, not {min_gap_days}")
    changes: dict = dict(RECOMMENDED) if recommended else {}
    given = {
        "thread_by_job": thread_by_job,
        "spread_by_company": spread_by_company,
        "min_gap_days": min_gap_days,
        "stage_aware": stage_aware,
    }
    changes.update({k: v for k, v in given.items() if v is not None})
    if not changes and adaptive is None:
        fail("nothing to change: give --recommended or a rule option (see `followups rules set --help`)")
    with database() as db, db.transaction() as session:
        me = pick_user(session, user)
        if changes:
            preferences.set_rules(session, me, changes)
        if adaptive is not None:
            preferences.set_adaptive(session, me, adaptive)
        if as_json:
            print_json(_rules_json(me))
            return
        say("Rules saved; they shape follow-ups scheduled from now on.")
        _print_rules(me)


def _change_holiday(raw: str, email: str | None, *, add: bool) -> str:
    """Add or remove one day; what to tell the user."""
    with database() as db, db.transaction() as session:
        me = pick_user(session, email)
        try:
            day = when.calendar_day(raw, clock.local_date(datetime.now(UTC), me.zone))
        except ValueError as exc:
            fail(str(exc))
        current = set(me.rule_set.holidays)
        if add and day in current:
            return f"{clock.full_day_label(day)} is already a holiday."
        if not add and day not in current:
            fail(f"{day.isoformat()} is not one of your holidays (`followups holidays list`)")
        try:
            preferences.set_rules(session, me, {"holidays": current | {day} if add else current - {day}})
        except Invalid as exc:
            fail(exc.fields[0].message if exc.fields else exc.detail)
    return f"{'Added' if add else 'Removed'} {clock.full_day_label(day)} {'to' if add else 'from'} your holidays."


@holidays_app.command("list")
@handled
def list_holidays(user: UserOption = None, as_json: JsonOption = False) -> None:
    """Your holidays, in date order."""
    with database() as db, db.transaction(write=False) as session:
        days = pick_user(session, user).rule_set.holidays
    if as_json:
        print_json([d.isoformat() for d in days])
        return
    if not days:
        out().print("No holidays yet: `followups holidays add YYYY-MM-DD` or `followups holidays import FILE.ics`.")
        return
    for d in days:
        out().print(f"{d.isoformat()}  {clock.full_day_label(d)}", markup=False)


DateArgument = Annotated[str, typer.Argument(metavar="DATE", help="YYYY-MM-DD, or tomorrow, friday, in 3 days ...")]


@holidays_app.command("add")
@handled
def add_holiday(day: DateArgument, user: UserOption = None) -> None:
    """Add a holiday: no cadence follow-up falls on it."""
    say(_change_holiday(day, user, add=True))


@holidays_app.command("remove")
@handled
def remove_holiday(day: DateArgument, user: UserOption = None) -> None:
    """Remove a holiday."""
    say(_change_holiday(day, user, add=False))


@holidays_app.command("import")
@handled
def import_holidays(
    file: Annotated[Path, typer.Argument(metavar="FILE.ics", help="An iCalendar file.")],
    user: UserOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add the days of every event in an .ics file (today to two years ahead)."""
    content = file.read_bytes()
    with database() as db, db.transaction() as session:
        me = pick_user(session, user)
        try:
            added, ignored = preferences.import_holidays(session, me, content, now=datetime.now(UTC))
        except Invalid as exc:
            fail(f"{file}: " + (exc.fields[0].message if exc.fields else exc.detail).removeprefix("is "))
        if as_json:
            print_json({"added": added, "ignored": ignored, "holidays": [d.isoformat() for d in me.rule_set.holidays]})
            return
    say(
        f"Added {added} holiday{'s' if added != 1 else ''} from {file.name}"
        + (f"; left out {ignored} (past, too far ahead or already listed)." if ignored else ".")
    )
