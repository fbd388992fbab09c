"""The terminal keeps the same date rules as the API (one rule, in the services): no
snooze into the past, no outreach or imported row dated in the future; and a second
outreach to the same person for the same job replaces the earlier chain."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from test_cli_verbs import Cli


@pytest.fixture
def cli(db) -> Cli:
    return Cli(db.settings.database_url)


def test_cli_snooze_into_the_past_is_refused(cli):
    cli.add_user()
    fid = cli.json("outreach", "add", "--company", "Acme", "--role", "Dev")["followup"]["id"]
    before = cli.json("due", "upcoming")[0]["dueAt"]
    assert "--to: Tue 1 Jan 2019 09:00 has passed" in cli.fails("snooze", fid, "--to", "2019-01-01")
    an_hour_ago = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    assert "has passed; a follow-up moves only to a time still ahead" in cli.fails("snooze", fid, "--to", an_hour_ago)
    assert cli.json("due", "upcoming")[0]["dueAt"] == before  # not moved


def test_cli_snooze_tomorrow_keeps_to_the_quiet_days_as_the_page_does(cli):
    cli.add_user()  # in UTC
    fid = cli.json("outreach", "add", "--company", "Acme", "--role", "Dev")["followup"]["id"]
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    cli("holidays", "add", tomorrow.isoformat())
    moved = cli.json("snooze", fid, "--to", "tomorrow")
    assert moved["dueAt"] == f"{tomorrow + timedelta(days=1)}T09:00:00Z"  # the holiday skipped


def test_cli_outreach_a_few_minutes_ahead_is_taken_later_is_refused(cli):
    cli.add_user()
    soon = (datetime.now(UTC) + timedelta(minutes=2)).isoformat()
    cli("outreach", "add", "--contact", "Grace", "--sent", soon)
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert "future" in cli.fails("outreach", "add", "--contact", "Grace", "--sent", later)


def test_cli_import_refuses_a_row_dated_in_the_future_with_its_line(cli, tmp_path):
    cli.add_user()
    path = tmp_path / "tracker.csv"
    path.write_text("Company,Role,Date applied\nAcme,Dev,2026-01-05\nBeta,Dev,2999-01-05\n")
    result = cli("import", str(path), ok=False)
    assert result.stderr.strip() == (
        "error: tracker.csv: line 3: date applied: is in the future: an outreach is recorded"
        " once sent; nothing was imported"
    )


def test_cli_second_outreach_replaces_the_earlier_chain_unless_kept(cli):
    cli.add_user()
    who = ("--company", "Acme", "--role", "Dev", "--contact", "Grace")
    first = cli.json("outreach", "add", *who, "--sent", "2026-01-05")["followup"]["id"]
    said = cli("outreach", "add", *who).stdout
    assert "It replaces the open follow-up of the earlier outreach." in said
    open_now = cli.json("due", "upcoming") + cli.json("due", "overdue") + cli.json("due", "today")
    assert first not in [f["id"] for f in open_now] and len(open_now) == 1
    kept = cli.json("outreach", "add", *who, "--keep-earlier")
    assert kept["superseded"] == 0
    both = cli.json("due", "upcoming") + cli.json("due", "overdue") + cli.json("due", "today")
    assert len(both) == 2
