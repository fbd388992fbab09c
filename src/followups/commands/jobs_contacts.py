"""`followups jobs` and `followups contacts`: one listing of both, the columns as data."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.table import Table
from rich.text import Text

from followups import clock
from followups.api import shapes
from followups.commands import labels
from followups.commands.common import JsonOption, UserOption, database, handled, out, pick_user, print_json
from followups.contacts import service as contacts
from followups.jobs import service as jobs


@dataclass(frozen=True)
class Column:
    name: str
    cell: Callable[[Any, ZoneInfo], str]
    no_wrap: bool = False


@dataclass(frozen=True)
class Listing:
    """What `followups jobs` or `followups contacts` shows of each record."""

    title: str
    rows: Callable[..., Sequence[Any]]
    as_json: Callable[[Any], dict]
    columns: tuple[Column, ...]
    empty: str
    empty_archived: str


ID = Column("id", lambda r, _tz: labels.short_id(r.id), no_wrap=True)
ADDED = Column("added", lambda r, tz: f"{clock.local_date(r.created_at, tz):%Y-%m-%d}", no_wrap=True)

JOBS = Listing(
    title="Jobs",
    rows=jobs.list_jobs,
    as_json=shapes.job_json,
    columns=(
        ID,
        Column("company", lambda j, _tz: j.company),
        Column("role", lambda j, _tz: j.role),
        Column("stage", lambda j, _tz: j.stage, no_wrap=True),
        ADDED,
        Column("url", lambda j, _tz: j.url or ""),
    ),
    empty="No jobs yet: `followups outreach add` or `followups import`.",
    empty_archived="No archived jobs.",
)
CONTACTS = Listing(
    title="Contacts",
    rows=contacts.list_contacts,
    as_json=shapes.contact_json,
    columns=(
        ID,
        Column("name", lambda c, _tz: c.name),
        Column("email", lambda c, _tz: c.email or ""),
        Column("company", lambda c, _tz: c.company or ""),
        ADDED,
    ),
    empty="No contacts yet.",
    empty_archived="No archived contacts.",
)


def register(app: typer.Typer) -> None:
    app.command("jobs")(list_jobs)
    app.command("contacts")(list_contacts)


def show(listing: Listing, *, archived: bool, user: str | None, as_json: bool) -> None:
    with database() as db, db.transaction(write=False) as session:
        me = pick_user(session, user)
        rows = listing.rows(session, me, archived=archived)
    if as_json:
        print_json([listing.as_json(r) for r in rows])
        return
    if not rows:
        out().print(listing.empty_archived if archived else listing.empty)
        return
    table = Table(title=f"{listing.title} ({len(rows)})", title_justify="left")
    for column in listing.columns:
        table.add_column(column.name, no_wrap=column.no_wrap, style="dim" if column is ID else None)
    for r in rows:
        table.add_row(*(Text(column.cell(r, me.zone)) for column in listing.columns))
    out().print(table)


ArchivedOption = Annotated[bool, typer.Option("--archived", help="List the archived ones instead.")]


@handled
def list_jobs(archived: ArchivedOption = False, user: UserOption = None, as_json: JsonOption = False) -> None:
    """Your jobs (oldest first)."""
    show(JOBS, archived=archived, user=user, as_json=as_json)


@handled
def list_contacts(archived: ArchivedOption = False, user: UserOption = None, as_json: JsonOption = False) -> None:
    """Your contacts (oldest first)."""
    show(CONTACTS, archived=archived, user=user, as_json=as_json)
