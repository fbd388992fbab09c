"""The terminal verbs, driven through the real Typer app against real databases.

Each verb opens its own Database from FOLLOWUPS_DATABASE_URL, as a user's shell would;
time is the real clock, so expectations are computed from `datetime.now(UTC)`.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import Result
from sqlalchemy import text
from typer.testing import CliRunner

from cli_helpers import FOLLOWUPS
from conftest import pg_url
from followups import clock
from followups.cli import app
from followups.config import Settings
from followups.db import Database

PASSWORD = "a long password"


@dataclass
class Cli:
    """`followups ...` against one database, as a user would type it."""

    url: str

    def __call__(
        self, *args: str, input: str | None = None, env: dict | None = None, ok: bool = True
    ) -> Result:
        result = CliRunner().invoke(
            app,
            list(args),
            input=input,
            catch_exceptions=False,
            env={
                "FOLLOWUPS_DATABASE_URL": self.url,
                "FOLLOWUPS_USER": None,
                "COLUMNS": "220",
                **(env or {}),
            },
        )
        if ok:
            assert result.exit_code == 0, f"followups {' '.join(args)}: {result.output}"
        return result

    def json(self, *args: str, **kw):
        return json.loads(self(*args, "--json", **kw).stdout)

    def add_user(self, email: str = "ada@example.com", timezone: str = "UTC") -> None:
        self(
            "user", "add", email, "--timezone", timezone, "--password-stdin", input=f"{PASSWORD}\n"
        )

    def fails(self, *args: str, **kw) -> str:
        """The one error line of a failing verb."""
        result = self(*args, ok=False, **kw)
        assert result.exit_code == 1, result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
        assert "Traceback" not in result.output
        return lines[0]


@pytest.fixture
def cli(db) -> Cli:
    return Cli(db.settings.database_url)


def ago(**delta) -> str:
    return (datetime.now(UTC) - timedelta(**delta)).isoformat()


# --- users ---------------------------------------------------------------------------


def test_cli_user_add_with_stdin_or_prompt_and_picking_a_user(cli):
    assert "no user yet" in cli.fails("due")
    cli.add_user("ada@example.com", "Europe/Berlin")
    assert cli.json("user", "list") == [
        {**cli.json("user", "list")[0], "email": "ada@example.com", "timezone": "Europe/Berlin"}
    ]
    assert cli("due").exit_code == 0  # the only user is picked
    # Prompted, hidden and confirmed.
    out = cli("user", "add", "bob@example.com", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert "Added bob@example.com" in out.stdout and PASSWORD not in out.output
    assert "several users" in cli.fails("due")
    assert cli("due", "--user", "BOB@example.com").exit_code == 0
    assert cli("due", env={"FOLLOWUPS_USER": "bob@example.com"}).exit_code == 0
    assert "no user 'carol@example.com'" in cli.fails("jobs", "--user", "carol@example.com")
    assert "already exists" in cli.fails(
        "user", "add", "Ada@example.com", "--password-stdin", input=f"{PASSWORD}\n"
    )
    assert "at least 8" in cli.fails(
        "user", "add", "c@example.com", "--password-stdin", input="short\n"
    )
    assert "time zone" in cli.fails(
        "user",
        "add",
        "c@example.com",
        "--timezone",
        "Mars/Olympus",
        "--password-stdin",
        input=f"{PASSWORD}\n",
    )
    assert "not a valid email" in cli.fails(
        "user", "add", "nobody", "--password-stdin", input=f"{PASSWORD}\n"
    )


# --- outreach, due, send, snooze -------------------------------------------------------


def test_cli_outreach_add_schedules_attempt_one_and_due_shows_it(cli):
    cli.add_user("ada@example.com", "America/New_York")
    made = cli.json(
        "outreach",
        "add",
        "--company",
        "Acme",
        "--role",
        "Backend engineer",
        "--contact",
        "Grace Hopper",
        "--email",
        "grace@acme.example",
        "--channel",
        "linkedin",
        "--note",
        "Hello",
        "--sent",
        ago(days=3),
    )
    assert made["channel"] == "LINKEDIN" and made["note"] == "Hello"
    due_at = datetime.fromisoformat(made["followup"]["dueAt"])
    tz = clock.zone("America/New_York")
    assert due_at == clock.add_days(datetime.fromisoformat(made["sentAt"]), 3, tz)
    bucket = (
        "today"
        if clock.local_date(due_at, tz) == clock.local_date(datetime.now(UTC), tz)
        else "overdue"
    )
    listed = cli.json("due", bucket)
    assert [f["id"] for f in listed] == [made["followup"]["id"]]
    assert (
        listed[0]["job"]["company"] == "Acme"
        and listed[0]["contact"]["email"] == "grace@acme.example"
    )
    table = cli("due", bucket, "--why").stdout
    assert "Acme — Backend engineer · Grace Hopper" in table and "Attempt 1: outreach sent" in table
    assert made["followup"]["id"][:8] in table
    assert "Attempt 1: outreach sent" not in cli("due", bucket).stdout  # why only on demand
    # The same job and contact are found again (case-insensitively), not duplicated.
    again = cli.json(
        "outreach",
        "add",
        "--company",
        "ACME",
        "--role",
        "backend engineer",
        "--email",
        "Grace@acme.example",
        "--no-followup",
    )
    assert (
        again["followup"] is None
        and again["jobId"] == made["jobId"]
        and again["contactId"] == made["contactId"]
    )
    assert len(cli.json("jobs")) == 1 and len(cli.json("contacts")) == 1
    assert "Acme" in cli("jobs").stdout and "Grace Hopper" in cli("contacts").stdout
    # A contact-only outreach; a reply-less outreach now is upcoming.
    solo = cli.json("outreach", "add", "--contact", "Solo Person")
    assert solo["jobId"] is None and solo["followup"]["id"] in [
        f["id"] for f in cli.json("due", "upcoming")
    ]


def test_cli_send_moves_the_chain_on_once(cli):
    cli.add_user()
    made = cli.json("outreach", "add", "--company", "Acme", "--role", "Dev", "--sent", ago(days=4))
    first = made["followup"]["id"]
    out = cli("send", first[:8], "--note", "Nudged")
    assert "Sent attempt 1" in out.stdout and "Next: attempt 2 due" in out.stdout
    assert "already sent" in cli.fails("send", first)
    nxt = [f for f in cli.json("due", "upcoming") if f["attemptNo"] == 2]
    assert len(nxt) == 1
    last = cli.json("send", nxt[0]["id"])
    assert last["sentAt"] and last["next"] is None and last["dormantCheckAt"]
    assert "was not found" in cli.fails("send", "00000000-0000-0000-0000-000000000000")
    assert "was not found" in cli.fails("send", "zz")


def test_cli_snooze_to_words_dates_and_instants_in_the_users_zone(cli):
    cli.add_user("ada@example.com", "Europe/Berlin")
    tz = clock.zone("Europe/Berlin")
    fid = cli.json("outreach", "add", "--company", "Acme", "--role", "Dev")["followup"]["id"]
    today = clock.local_date(datetime.now(UTC), tz)

    def moved(to: str) -> datetime:
        return datetime.fromisoformat(cli.json("snooze", fid[:10], "--to", to)["dueAt"])

    assert moved("tomorrow") == clock.at_local_time(today + timedelta(days=1), 9, 0, tz)
    monday = moved("monday")
    assert clock.to_local(monday, tz).weekday() == 0 and clock.to_local(monday, tz).hour == 9
    assert 1 <= (clock.local_date(monday, tz) - today).days <= 7
    assert moved("2030-01-15") == datetime(2030, 1, 15, 8, 0, tzinfo=UTC)  # 09:00 in Berlin
    assert moved("2030-01-15T14:30:00+00:00") == datetime(2030, 1, 15, 14, 30, tzinfo=UTC)
    assert moved("2030-07-01T10:00") == datetime(2030, 7, 1, 8, 0, tzinfo=UTC)  # local, summer time
    snoozed = cli.json("due", "upcoming")[0]
    assert snoozed["why"] == "Rescheduled by you to Mon 1 Jul 2030"  # another year: named
    assert "Snoozed" in cli("snooze", fid, "--to", "friday").stdout
    assert "is not a date" in cli.fails("snooze", fid, "--to", "someday")
    assert "year" in cli.fails("snooze", fid, "--to", "0999-01-01")
    cli("send", fid)
    assert "already sent" in cli.fails("snooze", fid, "--to", "tomorrow")


def test_cli_errors_are_one_clear_line(cli):
    cli.add_user()
    assert "unknown bucket" in cli.fails("due", "someday")
    assert "--company and --role" in cli.fails("outreach", "add", "--company", "Acme")
    assert "say who it went to" in cli.fails("outreach", "add")
    assert "--channel" in cli.fails("outreach", "add", "--contact", "X", "--channel", "pigeon")
    assert "NUL" in cli.fails("outreach", "add", "--contact", "X\x00Y")
    assert "future" in cli.fails("outreach", "add", "--contact", "X", "--sent", "2999-01-01")
    assert "not a file" in cli.fails("import", "/nonexistent/file.csv")
    assert "csv or json" in cli.fails("export", "--format", "xml")


def test_cli_listings_have_json_for_scripts(cli):
    cli.add_user()
    assert cli.json("jobs") == [] and cli.json("contacts") == [] and cli.json("due") == []
    cli("outreach", "add", "--company", "Acme", "--role", "Dev", "--contact", "Grace")
    (job,) = cli.json("jobs")
    assert job["company"] == "Acme" and job["stage"] == "APPLIED" and job["createdAt"].endswith("Z")
    assert cli.json("jobs", "--archived") == []
    (person,) = cli.json("contacts")
    assert person["name"] == "Grace" and person["company"] == "Acme"
    (upcoming,) = cli.json("due", "upcoming")
    assert upcoming["attemptNo"] == 1 and upcoming["why"].startswith("Attempt 1")


# --- a real process ----------------------------------------------------------------------


def test_cli_process_error_is_one_line_without_traceback(tmp_path):
    env = {**os.environ, "FOLLOWUPS_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}"}
    env.pop("FOLLOWUPS_USER", None)
    out = subprocess.run(
        [FOLLOWUPS, "send", "abcdef12"], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 1
    assert out.stderr.strip().splitlines() == [
        "error: there is no user yet: add one with `followups user add EMAIL`"
        " (or try `followups demo`)"
    ]
    assert (tmp_path / "fresh.db").exists()  # the embedded default migrated itself
    out = subprocess.run(
        [FOLLOWUPS, "snooze", "x", "--to", "tomorrow"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (
        out.returncode == 1
        and "Traceback" not in out.stderr
        and len(out.stderr.strip().splitlines()) == 1
    )


def test_cli_missing_tables_on_postgresql_say_to_upgrade():
    url = pg_url()
    if not url:
        pytest.skip("PostgreSQL half skipped: FOLLOWUPS_TEST_POSTGRES_URL is not set")
    database = Database(Settings(database_url=url))
    schema = "cli_verbs_empty"
    with database.engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in url else "?"
    try:
        line = Cli(f"{url}{sep}options=-csearch_path%3D{schema}").fails("jobs")
        assert "followups db upgrade" in line
    finally:
        with database.engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        database.dispose()
