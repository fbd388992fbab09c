"""What every verb shares: the database, the user it acts for, and one-line errors.

A verb never shows a traceback: domain errors, bad input and database trouble become
one red line on stderr and exit code 1 (FOLLOWUPS_DEBUG=1 re-raises the unexpected).
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, NoReturn, TypeVar

import click
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError, SQLAlchemyError
from sqlalchemy.orm import Session

from followups import replica
from followups.commands.remembered import default_user
from followups.config import Settings
from followups.db import Database
from followups.errors import DomainError
from followups.migrate import is_at_head, upgrade
from followups.models import User
from followups.users import service as users


def out() -> Console:
    """stdout, made when printing: sys.stdout, its width and colours are those of now."""
    return Console(highlight=False)


def err() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


UserOption = Annotated[
    str | None,
    typer.Option(
        "--user",
        "-u",
        envvar="FOLLOWUPS_USER",
        show_envvar=True,
        metavar="EMAIL",
        help="The user to act for (default: the only user).",
    ),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print JSON (for scripts) instead of a table.")
]


class CliError(Exception):
    """Bad input or a state the verb cannot work with: one line for the user."""


def fail(message: str) -> NoReturn:
    raise CliError(message)


def say(message: str) -> None:
    """A confirmation for the user (no markup: it may quote what they typed)."""
    out().print(message, markup=False)


def print_json(data) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def error_line(message: str) -> None:
    err().print(f"[bold red]error:[/] {escape(' '.join(str(message).split()))}")


def _database_message(exc: SQLAlchemyError) -> str:
    orig = getattr(exc, "orig", None)
    lines = str(orig if orig is not None else exc).strip().splitlines()
    text = lines[0] if lines else type(exc).__name__
    lowered = text.lower()
    if "no such table" in lowered or ("relation" in lowered and "does not exist" in lowered):
        return "the database has no followups tables yet: run `followups db upgrade` first"
    if "database is locked" in lowered:
        return "the database is busy (another process is writing); try again"
    if isinstance(exc, OperationalError):
        return f"cannot use the database: {text}"
    return f"database error: {text}"


F = TypeVar("F", bound=Callable)


def handled(fn: F) -> F:
    """Turn every expected failure of a verb into one line and exit code 1."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort, click.exceptions.ClickException):
            raise
        except (CliError, DomainError) as exc:
            error_line(getattr(exc, "detail", None) or str(exc))
        except (OperationalError, ProgrammingError, DBAPIError) as exc:
            error_line(_database_message(exc))
        except ValidationError as exc:
            first = exc.errors()[0]
            name = "FOLLOWUPS_" + "_".join(str(p) for p in first["loc"]).upper()
            error_line(f"bad setting {name}: {first['msg']}")
        except BrokenPipeError:
            # `followups export | head`: the reader left; say nothing, and keep Python
            # from complaining about stdout at exit.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise typer.Exit(1) from None
        except OSError as exc:
            error_line(f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc))
        except KeyboardInterrupt:
            error_line("interrupted; nothing was written")
        except Exception as exc:
            if os.environ.get("FOLLOWUPS_DEBUG"):
                raise
            error_line(
                f"unexpected {type(exc).__name__}: {exc} (FOLLOWUPS_DEBUG=1 shows the traceback)"
            )
        raise typer.Exit(1)

    return wrapper  # type: ignore[return-value]


@contextmanager
def database(*, migrate: bool = True) -> Iterator[Database]:
    """The configured database; the embedded SQLite default migrates itself, as `serve` does."""
    settings = Settings()
    db = Database(settings)
    try:
        if migrate and settings.is_sqlite and not is_at_head(db.engine):
            upgrade(db.engine)
        yield db
    finally:
        db.dispose()


def pick_user(session: Session, email: str | None) -> User:
    """The user named by --user / FOLLOWUPS_USER, else the default one of `followups user
    use`, else the only one. The verb then acts for that user: its writes bump the user's
    write_seq first, as an API request's do (followups.replica), so an API read on a
    lagging replica never misses them."""
    user = _named_or_only(session, email)
    replica.acting_for(session, user)
    return user


def _named_or_only(session: Session, email: str | None) -> User:
    if email:
        return find_user(session, email)
    remembered = default_user(database_key(session))
    if remembered:
        user = users.find_user(session, remembered)
        if user is None:
            fail(f"the default user {remembered!r} is gone: pick another with `followups user use EMAIL`")
        return user
    found = users.list_users(session, limit=2)
    if not found:
        fail(
            "there is no user yet: add one with `followups user add EMAIL`"
            " (or try `followups demo`)"
        )
    if len(found) > 1:
        fail(
            "there are several users: pick one with --user EMAIL (or FOLLOWUPS_USER),"
            " or make one the default with `followups user use EMAIL`"
        )
    return found[0]


def database_key(session: Session) -> str:
    """The database's address without its password: what a remembered default user is kept under."""
    return session.get_bind().url.render_as_string(hide_password=True)


def find_user(session: Session, email: str) -> User:
    user = users.find_user(session, email)
    if user is None:
        fail(f"there is no user {email.strip()!r} (`followups user list` shows them)")
    return user
