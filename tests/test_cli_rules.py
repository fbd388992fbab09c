"""`followups rules`, `followups holidays`, and "not now" answers from the terminal.

Each verb opens its own Database from FOLLOWUPS_DATABASE_URL, as a user's shell would;
time is the real clock, so expected days are computed from `datetime.now(UTC)`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from followups import phrases
from followups.rules import MAX_GAP_DAYS
from test_cli_verbs import Cli

OFF = {"threadByJob": False, "spreadByCompany": False, "minGapDays": 0, "stageAware": False, "adaptive": False}


@pytest.fixture
def cli(db) -> Cli:
    return Cli(db.settings.database_url)


def today() -> date:
    return datetime.now(UTC).date()


def ics(*days: date) -> bytes:
    events = "".join(
        f"BEGIN:VEVENT\r\nUID:{d.isoformat()}@test\r\nDTSTART;VALUE=DATE:{d:%Y%m%d}\r\nSUMMARY:Off\r\nEND:VEVENT\r\n"
        for d in days
    )
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n{events}END:VCALENDAR\r\n".encode()


def test_rules_show_and_set(cli: Cli):
    cli.add_user()
    assert cli.json("rules", "show") == {**OFF, "holidays": []}
    shown = cli("rules", "show").stdout
    assert "One reply settles the job (a reply cancels the job's other follow-ups): off" in shown
    assert "Minimum gap per person after any message: off" in shown

    said = cli("rules", "set", "--thread-by-job", "--min-gap-days", "3", "--adaptive").stdout
    assert "Rules saved" in said and "Minimum gap per person after any message: 3 days" in said
    assert cli.json("rules", "show") == {
        **OFF, "threadByJob": True, "minGapDays": 3, "adaptive": True, "holidays": []
    }  # fmt: skip

    # --recommended turns the four rules on; options given with it win; adaptive is its own.
    cli("rules", "set", "--recommended", "--no-spread-by-company", "--no-adaptive")
    assert cli.json("rules", "show") == {
        "threadByJob": True, "spreadByCompany": False, "minGapDays": 2, "stageAware": True,
        "adaptive": False, "holidays": [],
    }  # fmt: skip
    cli("rules", "set", "--no-thread-by-job", "--no-stage-aware", "--min-gap-days", "0")
    assert cli.json("rules", "show")["threadByJob"] is False


def test_rules_set_refuses_bad_input_in_one_line(cli: Cli):
    cli.add_user()
    assert cli.fails("rules", "set", "--min-gap-days", str(MAX_GAP_DAYS + 1)) == (
        f"error: --min-gap-days: give 0 (off) to {MAX_GAP_DAYS} days, not {MAX_GAP_DAYS + 1}"
    )
    assert "nothing to change" in cli.fails("rules", "set")
    assert cli.json("rules", "show") == {**OFF, "holidays": []}


def test_holidays_add_list_remove_and_import(cli: Cli, tmp_path):
    cli.add_user()
    first, second = today() + timedelta(days=30), today() + timedelta(days=60)
    assert "No holidays yet" in cli("holidays", "list").stdout
    assert "Added" in cli("holidays", "add", second.isoformat()).stdout
    assert "already a holiday" in cli("holidays", "add", second.isoformat()).stdout
    cli("holidays", "add", first.isoformat())
    assert cli.json("holidays", "list") == [first.isoformat(), second.isoformat()]
    assert cli("holidays", "list").stdout.splitlines()[0].startswith(first.isoformat())

    assert cli.fails("holidays", "add", "25/12").startswith("error: '25/12' is not a date: give YYYY-MM-DD or")
    missing = (today() + timedelta(days=90)).isoformat()
    assert f"{missing} is not one of your holidays" in cli.fails("holidays", "remove", missing)
    cli("holidays", "remove", first.isoformat())
    assert cli.json("holidays", "list") == [second.isoformat()]

    path = tmp_path / "days.ics"
    path.write_bytes(ics(today() - timedelta(days=3), first, second))
    said = cli("holidays", "import", str(path)).stdout
    assert "Added 1 holiday from days.ics; left out 2" in said
    assert cli.json("holidays", "list") == [first.isoformat(), second.isoformat()]

    bad = tmp_path / "bad.ics"
    bad.write_text("not a calendar")
    assert "not a readable iCalendar (.ics) file" in cli.fails("holidays", "import", str(bad))
    assert "No such file" in cli.fails("holidays", "import", str(tmp_path / "none.ics"))
    assert cli.json("rules", "show")["holidays"] == [first.isoformat(), second.isoformat()]


def test_not_now_when_recording_and_answering_outreach(cli: Cli):
    cli.add_user()
    resume = phrases.resume_date("next week", today())
    made = cli.json(
        "outreach", "add", "--company", "Acme", "--role", "Dev", "--contact", "Grace",
        "--outcome", "later", "--resume", "next week",
    )  # fmt: skip
    assert made["outcome"] == "LATER"
    due = datetime.fromisoformat(made["followup"]["dueAt"])
    assert due == datetime.combine(resume, time(9), UTC)
    assert made["followup"]["why"].startswith('Not now ("next week"): the thread pauses until')

    said = cli("outreach", "add", "--company", "Beta", "--role", "Dev", "--contact", "Ida").stdout
    short = said.split("(id ")[1].split(")")[0]
    later = phrases.resume_date("in 10 days", today())
    said = cli("outreach", "answer", short, "--outcome", "LATER", "--resume", "in 10 days").stdout
    assert "Not now: the thread pauses; a follow-up is due" in said
    upcoming = cli.json("due", "upcoming")
    beta = [f for f in upcoming if f["job"]["company"] == "Beta"]
    assert [datetime.fromisoformat(f["dueAt"]) for f in beta] == [datetime.combine(later, time(9), UTC)]

    assert "Reply saved" in cli("outreach", "answer", short, "--outcome", "positive").stdout
    assert not [f for f in cli.json("due", "upcoming") if f["job"]["company"] == "Beta"]


def test_not_now_errors_are_one_line(cli: Cli):
    cli.add_user()
    add = ("outreach", "add", "--company", "Acme", "--role", "Dev")
    assert "needs --resume WHEN" in cli.fails(*add, "--outcome", "LATER")
    assert "--resume goes with --outcome LATER" in cli.fails(*add, "--resume", "next week")
    assert "--outcome: 'SOON' is not one of" in cli.fails(*add, "--outcome", "SOON")
    line = cli.fails(*add, "--outcome", "LATER", "--resume", "whenever")
    assert line.startswith("error: --resume: could not read 'whenever' as a date; try a date like")
    yesterday = (today() - timedelta(days=1)).isoformat()
    assert "is not after today" in cli.fails(*add, "--outcome", "LATER", "--resume", yesterday)
    assert cli.json("jobs") == []  # nothing half-written
    assert "outreach 'beef' was not found" in cli.fails("outreach", "answer", "beef", "--outcome", "POSITIVE")
