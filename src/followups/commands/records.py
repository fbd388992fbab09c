"""The day-to-day verbs, registered in the order `--help` lists them: due, outreach,
send, snooze (commands/followups.py, commands/outreach.py), jobs, contacts."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from followups import clock
from followups.commands import followups as followup_verbs
from followups.commands import outreach as outreach_verbs
from followups.commands import present
from followups.commands.common import JsonOption, UserOption, database, handled, out, pick_user, print_json
from followups.contacts import service as contacts
from followups.jobs import service as jobs


def register(app: typer.Typer) -> None:
    app.command("due")(followup_verbs.due)
    app.add_typer(outreach_verbs.outreach_app, name="outreach")
    app.command("send")(followup_verbs.send)
    app.command("snooze")(followup_verbs.snooze)
    app.command("jobs")(list_jobs)
    app.command("contacts")(list_contacts)


ArchivedOption = Annotated[bool, typer.Option("--archived", help="List the archived ones instead.")]


@handled
def list_jobs(
    archived: ArchivedOption = False, user: UserOption = None, as_json: JsonOption = False
) -> None:
    """Your jobs (oldest first)."""
    with database() as db, db.transaction(write=False) as session:
        me = pick_user(session, user)
        rows = jobs.list_jobs(session, me, archived=archived)
    if as_json:
        print_json([present.job_json(j) for j in rows])
        return
    if not rows:
        out().print(
            "No archived jobs."
            if archived
            else "No jobs yet: `followups outreach add` or `followups import`."
        )
        return
    table = Table(title=f"Jobs ({len(rows)})", title_justify="left")
    for name in ("id", "company", "role", "stage", "added", "url"):
        table.add_column(
            name, no_wrap=name in {"id", "stage", "added"}, style="dim" if name == "id" else None
        )
    for j in rows:
        cells = (
            present.short_id(j.id),
            j.company,
            j.role,
            j.stage,
            f"{clock.local_date(j.created_at, me.zone):%Y-%m-%d}",
            j.url or "",
        )
        table.add_row(*(Text(c) for c in cells))
    out().print(table)


@handled
def list_contacts(
    archived: ArchivedOption = False, user: UserOption = None, as_json: JsonOption = False
) -> None:
    """Your contacts (oldest first)."""
    with database() as db, db.transaction(write=False) as session:
        me = pick_user(session, user)
        rows = contacts.list_contacts(session, me, archived=archived)
    if as_json:
        print_json([present.contact_json(c) for c in rows])
        return
    if not rows:
        out().print("No archived contacts." if archived else "No contacts yet.")
        return
    table = Table(title=f"Contacts ({len(rows)})", title_justify="left")
    for name in ("id", "name", "email", "company", "added"):
        table.add_column(
            name, no_wrap=name in {"id", "added"}, style="dim" if name == "id" else None
        )
    for c in rows:
        cells = (
            present.short_id(c.id),
            c.name,
            c.email or "",
            c.company or "",
            f"{clock.local_date(c.created_at, me.zone):%Y-%m-%d}",
        )
        table.add_row(*(Text(c) for c in cells))
    out().print(table)
