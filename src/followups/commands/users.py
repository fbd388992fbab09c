"""Accounts from the terminal: `followups user add`, `list` and `use`."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from followups import clock
from followups.commands import remembered
from followups.commands.common import (
    JsonOption,
    database,
    database_key,
    fail,
    find_user,
    handled,
    out,
    print_json,
    say,
)
from followups.transfer import values
from followups.transfer.export import iso
from followups.users import service as users

user_app = typer.Typer(no_args_is_help=True, help="Accounts on this database.")
PASSWORD_MIN, PASSWORD_MAX = 8, 1024


def register(app: typer.Typer) -> None:
    app.add_typer(user_app, name="user")


def check_password(password: str) -> str:
    if len(password) < PASSWORD_MIN:
        fail(f"the password needs at least {PASSWORD_MIN} characters")
    if len(password) > PASSWORD_MAX:
        fail(f"the password may have at most {PASSWORD_MAX} characters")
    try:
        values.text(password, PASSWORD_MAX, multiline=True)
    except ValueError as exc:
        fail(f"the password {exc}")
    return password


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            fail("--password-stdin: nothing on standard input")
        return check_password(line.rstrip("\r\n"))
    return check_password(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@user_app.command("add")
@handled
def add(
    email: Annotated[str, typer.Argument(help="The login email.")],
    timezone: Annotated[str, typer.Option(help="IANA time zone, e.g. Europe/Berlin.")] = "UTC",
    password_stdin: Annotated[
        bool,
        typer.Option("--password-stdin", help="Read the password from the first line of stdin."),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Add a user (asks for the password twice, hidden)."""
    try:
        address = values.email(values.text(email, values.EMAIL_MAX) or "")
    except ValueError as exc:
        fail(f"email: {exc}")
    if not clock.is_valid_timezone(timezone):
        fail(f"--timezone: {timezone!r} is not a known IANA time zone name (e.g. Europe/Berlin)")
    password = read_password(password_stdin)
    with database() as db, db.transaction() as session:
        made = users.register(
            session, email=address, password=password, timezone=timezone, now=datetime.now(UTC)
        )
        if as_json:
            print_json({"id": str(made.id), "email": made.email, "timezone": made.timezone})
            return
    say(
        f"Added {made.email} ({made.timezone})."
        " Sign in to the web pages or the API with this email."
    )


@user_app.command("list")
@handled
def list_users(as_json: JsonOption = False) -> None:
    """The users of this database."""
    with database() as db, db.transaction(write=False) as session:
        rows = users.list_users(session)
        chosen = users.email_key(remembered.default_user(database_key(session)) or "")
    if as_json:
        print_json(
            [
                {
                    "id": str(u.id),
                    "email": u.email,
                    "timezone": u.timezone,
                    "createdAt": iso(u.created_at),
                    "default": u.email_key == chosen,
                }
                for u in rows
            ]
        )
        return
    if not rows:
        out().print("No users yet: `followups user add EMAIL`.")
        return
    table = Table(title=f"Users ({len(rows)})", title_justify="left")
    for name in ("email", "timezone", "added", "default"):
        table.add_column(name)
    for u in rows:
        table.add_row(Text(u.email), u.timezone, f"{u.created_at:%Y-%m-%d}", "yes" if u.email_key == chosen else "")
    out().print(table)


@user_app.command("use")
@handled
def use(
    email: Annotated[str | None, typer.Argument(help="The user the verbs act for without --user.")] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Forget the default user of this database.")] = False,
) -> None:
    """Make EMAIL the user every verb acts for on this database (--user and FOLLOWUPS_USER
    still win); kept in your config folder, per database."""
    if bool(email) == clear:
        fail("give an EMAIL, or --clear")
    with database() as db, db.transaction(write=False) as session:
        key = database_key(session)
        user = find_user(session, email) if email else None
    remembered.remember(key, user.email if user else None)
    say(f"Verbs now act for {user.email} on this database." if user else "No default user on this database now.")
