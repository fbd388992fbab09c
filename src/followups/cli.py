"""The `followups` command: serve, worker, db, and the terminal user's verbs (commands/)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console
from typer.core import TyperGroup

from followups import __version__, commands, stopping
from followups.commands.common import error_line
from followups.config import Settings
from followups.db import Database
from followups.distribute import distribute
from followups.errors import DomainError
from followups.migrate import current_revision, head_revision, upgrade

# click's exceptions, from the click Typer uses (its own copy since Typer 0.26).
UsageError = typer.BadParameter.__bases__[0]
ClickException = UsageError.__bases__[0]


class Followups(TyperGroup):
    """The command line as the README promises: a usage mistake is one line on stderr and
    exit code 1 (not click's box and 2), and a flag's help shows no `<bool>` value."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        _plain_flags(self)
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except UsageError as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # the help was shown: nothing more
                sys.exit(exc.exit_code)
            hint = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx is not None else ""
            error_line(f"{exc.format_message()}{hint}")
            sys.exit(1)
        except ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except typer.Abort:
            error_line("aborted; nothing was written")
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


def _plain_flags(command) -> None:
    """Typer >= 0.26 shows every option's type in --help, flags too (`--json <bool>`,
    `--help <bool>`); an empty metavar leaves a flag's type column empty."""
    context = typer.Context(command)
    help_option = command.get_help_option(context)  # made once and kept by the command
    for param in [*command.params, *([help_option] if help_option is not None else [])]:
        if getattr(param, "is_flag", False) and not getattr(param, "count", False) and param.metavar is None:
            param.metavar = ""
    for sub in getattr(command, "commands", {}).values():
        _plain_flags(sub)


app = typer.Typer(
    cls=Followups, no_args_is_help=True, add_completion=False, help="A follow-up engine for job-search outreach."
)
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
app.add_typer(db_app, name="db")
console = Console(stderr=True)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"followups {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    version: Annotated[
        bool, typer.Option("--version", is_eager=True, callback=_show_version, help="Show the version and exit.")
    ] = False,
) -> None:
    if ctx.invoked_subcommand == "worker":  # it watches the signals caught at start-up
        stopping.started()
    else:
        stopping.release()


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    workers: int = typer.Option(
        1, min=1, help="Server processes on the port (one per core), each accepting on its own socket."),
    graceful_timeout: float = typer.Option(
        30.0, min=0, help="On SIGTERM, seconds the requests in flight get to finish."),
    with_worker: bool | None = typer.Option(
        None, "--with-worker/--without-worker", show_default=False,
        help="Also run the worker's sweeps (reminders, digests, deliveries) in this command "
             "[default: with on SQLite, without on PostgreSQL, where `followups worker` runs]."),
) -> None:
    """Serve the API and the pages (OpenAPI at /docs). The embedded SQLite default migrates
    itself first and runs the worker's sweeps in this process too.
    SIGTERM stops taking connections, lets the requests in flight finish, then exits 0."""
    import signal

    import uvicorn  # the server is only needed by this command

    from followups import serving
    from followups.app import create_app
    from followups.observability import configure_logging
    from followups.worker import BackgroundWorker

    configure_logging()
    settings = Settings()
    sweeps = settings.is_sqlite if with_worker is None else with_worker
    console.print(f"followups on http://{host}:{port} (database: {_safe_url(settings)}, "
                  f"{workers} process{'es' if workers > 1 else ''}"
                  f"{', with the worker' if sweeps else ''})", soft_wrap=True)
    # Our JSON logger (with its own access line) replaces uvicorn's logging set-up.
    # proxy_headers off: uvicorn would believe X-Forwarded-For from 127.0.0.1 by default; the
    # app believes it from FOLLOWUPS_TRUSTED_PROXIES only (followups.app).
    options = {"host": host, "port": port, "log_config": None, "access_log": False,
               "timeout_graceful_shutdown": graceful_timeout or None, "proxy_headers": False}
    if workers == 1:
        # uvicorn re-raises a SIGTERM after its graceful shutdown (and dies of it); the shutdown
        # is done by then, so this process exits 0 like the supervisor of `--workers N` does.
        signal.signal(signal.SIGTERM, lambda *_: None)
        served = create_app(settings)
        # The sweeps run in a thread of their own, off the event loop, until the server stops.
        with BackgroundWorker(settings, enabled=sweeps):
            uvicorn.run(served, **options)
        return
    if settings.is_sqlite:  # once, here, before the processes start (not once in each)
        database = Database(settings)
        try:
            upgrade(database.engine)
        finally:
            database.dispose()
    # One listening socket per process (SO_REUSEPORT), so connections spread evenly; the
    # sweeps run once, in this supervising process, not in each server process.
    with BackgroundWorker(settings, enabled=sweeps):
        serving.run("followups.app:create_served_app", factory=True, workers=workers, **options)


@app.command()
def worker(once: bool = typer.Option(False, "--once", help="Run one sweep and exit.")) -> None:
    """Reminders, dormant checks, digests and deliveries (separate from the web server)."""
    from followups.observability import configure_logging
    from followups.worker import Worker

    configure_logging()
    settings = Settings()
    database = Database(settings)
    try:
        if settings.is_sqlite and not stopping.requested.is_set():  # the embedded default sets itself up
            upgrade(database.engine)
        # A SIGTERM since the command started (followups.stopping) stops it at once.
        Worker(database, settings, stopping=stopping.requested).run(once=once)
    finally:
        database.dispose()
    stopping.leave()


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    settings = Settings()
    database = Database(settings)
    try:
        upgrade(database.engine, revision)
        console.print(f"database at {current_revision(database.engine)} ({_safe_url(settings)})")
    finally:
        database.dispose()


@db_app.command("distribute")
def db_distribute() -> None:
    """On a Citus coordinator, spread the migrated schema over the workers: app_user by id,
    the users' own rows by user_id beside it, the directories by their keys. A second run
    changes nothing. After a later `db upgrade`, run it again for the tables it added."""
    database = Database(Settings())
    try:
        distribute(database.engine, typer.echo)
    except DomainError as exc:
        error_line(exc.detail)
        raise typer.Exit(1) from None
    finally:
        database.dispose()


@db_app.command("current")
def db_current() -> None:
    """Show the applied and the newest revision."""
    database = Database(Settings())
    try:
        typer.echo(f"current: {current_revision(database.engine)}  head: {head_revision(database.engine)}")
    finally:
        database.dispose()


@db_app.command("revision")
def db_revision(message: str = typer.Option(..., "-m", "--message", help="What the change does.")) -> None:
    """Write a new migration from the difference between the models and the database
    (developers: run against a database at head)."""
    from alembic import command

    from followups.migrate import alembic_config

    database = Database(Settings())
    try:
        command.revision(alembic_config(database.engine), message=message, autogenerate=True)
    finally:
        database.dispose()


# The terminal user's verbs (due, outreach, send, snooze, jobs, contacts, user, import,
# export, demo, backup, restore) live in followups/commands/.
commands.register(app)


def _safe_url(settings: Settings) -> str:
    from sqlalchemy.engine import make_url

    return make_url(settings.database_url).render_as_string(hide_password=True)


def main() -> None:
    app()
