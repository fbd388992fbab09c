"""The command line itself: --version, usage mistakes, --help, `cancel`, and days in words."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import typer

from cli_helpers import FOLLOWUPS
from followups import __version__, clock
from followups.cli import app
from test_cli_verbs import Cli


@pytest.fixture
def cli(db) -> Cli:
    return Cli(db.settings.database_url)


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([FOLLOWUPS, *args], capture_output=True, text=True, timeout=60)


def test_version():
    done = run("--version")
    assert done.returncode == 0 and done.stdout.strip() == f"followups {__version__}"


def test_a_usage_mistake_is_one_line_and_exit_1():
    for args, said in [
        (("send",), "Missing argument 'ID'"),
        (("due", "--bogus"), "No such option: --bogus"),
        (("nonsense",), "No such command 'nonsense'"),
        (("due", "--limit", "many"), "Invalid value for '--limit'"),
    ]:
        done = run(*args)
        assert done.returncode == 1, (args, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and said in lines[0], done.stderr
        assert "--help`" in lines[0]  # where to look


def _commands(command, path=()):
    yield path
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, (*path, name))


def test_no_help_shows_a_value_for_a_flag(cli):
    paths = list(_commands(typer.main.get_command(app)))
    assert ("cancel",) in paths and ("user", "add") in paths
    for path in paths:
        shown = cli(*path, "--help").stdout
        assert "--help" in shown and "<bool>" not in shown, (path, shown)
    assert "--note          <str>" in cli("send", "--help").stdout  # an option with a value shows its type


def test_cancel_keeps_the_followup_as_history(cli):
    cli.add_user("ada@example.com", "Europe/Berlin")
    made = cli.json("outreach", "add", "--company", "Acme", "--role", "Dev", "--sent", "yesterday")
    fid = made["followup"]["id"]
    said = cli("cancel", fid[:8]).stdout
    assert said.startswith(f"Cancelled {fid[:8]} (Acme — Dev), attempt 1")
    assert cli.json("due", "upcoming") == []
    again = cli.json("cancel", fid)
    assert again["cancelReason"] == "Cancelled by user" and again["cancelledAt"]
    assert "already cancelled" in cli("cancel", fid).stdout
    assert "not found" in cli.fails("cancel", "ffffffff")


def test_days_in_words_wherever_a_date_is_taken(cli):
    cli.add_user("ada@example.com", "Europe/Berlin")
    tz = ZoneInfo("Europe/Berlin")
    today = clock.local_date(datetime.now(UTC), tz)
    made = cli.json("outreach", "add", "--company", "Acme", "--role", "Dev", "--sent", "yesterday")
    sent = datetime.fromisoformat(made["sentAt"]).astimezone(tz)
    assert (sent.date(), sent.hour) == (today - timedelta(days=1), 9)
    three = cli.json("outreach", "add", "--contact", "Grace", "--sent", "3 days ago")
    assert datetime.fromisoformat(three["sentAt"]).astimezone(tz).date() == today - timedelta(days=3)
    assert "--sent: outreach cannot be sent in the future" in cli.fails(
        "outreach", "add", "--contact", "Bob", "--sent", "tomorrow")
    moved = cli.json("snooze", made["followup"]["id"], "--to", "in 5 days")
    assert datetime.fromisoformat(moved["dueAt"]).astimezone(tz).date() == today + timedelta(days=5)
    cli("holidays", "add", "in 10 days")
    assert cli.json("holidays", "list") == [(today + timedelta(days=10)).isoformat()]
