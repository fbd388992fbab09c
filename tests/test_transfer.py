"""Import, export, demo, backup and restore through the real CLI on real databases."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import time
from datetime import UTC, datetime

import pytest

from conftest import pg_url
from followups import cadence, clock
from followups.transfer import values
from test_cli_verbs import Cli


@pytest.fixture
def cli(db) -> Cli:
    return Cli(db.settings.database_url)


@pytest.fixture
def fresh(tmp_path) -> Cli:
    """A brand-new embedded database (it migrates itself on first use)."""
    return Cli(f"sqlite:///{tmp_path / 'fresh' / 'followups.db'}")


def write(tmp_path, name: str, content: str, encoding: str = "utf-8"):
    path = tmp_path / name
    path.write_bytes(content.encode(encoding))
    return path


TRACKER = """\
Organization,Position,Link,Stage,Applied On,Recruiter,Email,Comments,Source
Acme,Backend engineer,https://acme.example/1,Applied,2026-03-02,Grace Hopper,grace@acme.example,\
"Sent CV, ""short"" note",LinkedIn
Acme,Backend engineer,,Applied,2026-03-09,Grace Hopper,grace@acme.example,Second nudge,
Beta,Platform engineer,,Interviewing,03/04/2026,,,,
Gamma,Data engineer,,Rejected,2026-03-01,,,,
Delta,SRE,,Ghosted,2026-02-20,Ann Lee,,,
Epsilon,QA,,,,,,,
,,,,2026-03-03,Solo Person,solo@example.com,Coffee chat,
"""


def test_transfer_import_maps_tracker_headers_statuses_and_schedules_by_cadence(cli, tmp_path):
    cli.add_user("ada@example.com", "Europe/Berlin")
    summary = cli.json("import", str(write(tmp_path, "tracker.csv", TRACKER)))
    assert summary["rows"] == 7
    assert summary["jobs"] == {"added": 5, "existing": 0}
    assert summary["contacts"] == {"added": 3, "existing": 0}
    assert summary["outreach"]["added"] == 6
    # No follow-up towards a rejected or ghosted (dormant) job.
    assert summary["followupsScheduled"] == 4
    assert summary["ignoredColumns"] == ["Source"]
    stages = {j["company"]: j["stage"] for j in cli.json("jobs")}
    assert stages == {
        "Acme": "APPLIED",
        "Beta": "HR",
        "Gamma": "REJECTED",
        "Delta": "DORMANT",
        "Epsilon": "APPLIED",
    }
    contacts = {c["name"]: c for c in cli.json("contacts")}
    assert (
        contacts["Grace Hopper"]["company"] == "Acme" and contacts["Solo Person"]["company"] is None
    )
    assert contacts["Ann Lee"]["email"] is None

    doc = json.loads(cli("export", "--format", "json").stdout)
    tz = clock.zone("Europe/Berlin")
    first = next(o for o in doc["outreach"] if o["sentAt"].startswith("2026-03-02"))
    assert first["sentAt"] == "2026-03-02T08:00:00Z"  # a date means 09:00 local
    assert first["note"] == 'Sent CV, "short" note' and first["channel"] == "OTHER"
    followup = next(f for f in doc["followups"] if f["outreachId"] == first["id"])
    step = cadence.first_attempt(datetime(2026, 3, 2, 8, tzinfo=UTC), tz)
    assert (
        followup["dueAt"]
        == "2026-03-05T08:00:00Z"
        == step.due_at.isoformat().replace("+00:00", "Z")
    )
    assert followup["why"] == step.why == "Attempt 1: outreach sent Mon 2 Mar + 3 days = Thu 5 Mar"
    assert followup["remindAt"] == "2026-03-04T23:00:00Z"  # start of the local day
    beta = next(o for o in doc["outreach"] if o["sentAt"].startswith("2026-03-04"))  # month first
    assert beta["jobId"] == next(j["id"] for j in doc["jobs"] if j["company"] == "Beta")
    # They are past, so the follow-ups are due now: they show up in the buckets.
    assert len(cli.json("due", "overdue")) == 4


def test_transfer_bad_rows_are_all_reported_and_nothing_is_written(cli, tmp_path):
    cli.add_user()
    bad = write(
        tmp_path,
        "bad.csv",
        (
            "Company,Role,Status,Date Applied,Contact Name,Contact Email,Notes\n"
            "Acme,Dev,Applied,2026-03-01,,,\n"  # good
            "Beta,Dev,Applied,2026-13-01,,,\n"  # line 3: month 13
            "Gamma,Dev,Maybe,,,,\n"  # line 4: status
            "Delta,Dev,,,Ann,not-an-email,\n"  # line 5: email
            'Eps,Dev,,2026-03-01,,,"a\x00b"\n'  # line 6: NUL
            f"{'X' * 201},Dev,,,,,\n"  # line 7: too long
            "Zeta,,,,,,\n"  # line 8: no role
            "\n"
            "Eta,Dev,,1/2/26,,,\n"  # line 10: two-digit year
            '"Theta\n(multi-line)",Dev,,,,,\n'  # lines 11-12: control character
            "Iota,Dev,,,,,,extra\n"  # line 13: too many cells
        ),
    )
    result = cli("import", str(bad), ok=False)
    assert result.exit_code == 1 and "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert lines[0] == "error: bad.csv: 9 problems; nothing was imported"
    assert lines[1:] == [
        "line 3: date applied: '2026-13-01' is not a valid date (month must be in 1..12)",
        "line 4: status: 'Maybe' is not a known status (use one of APPLIED, HR, TECH, OFFER, "
        "REJECTED, DORMANT or a usual synonym)",
        "line 5: contact email: 'not-an-email' is not a valid email address (An email address "
        "must have an @-sign.)",
        "line 6: notes: contains a NUL character",
        "line 7: company: is 201 characters long, at most 200 are allowed",
        "line 8: role: is required (a row is a job, company and role, or a contact)",
        "line 10: date applied: '1/2/26' has no four-digit year",
        "line 11: company: contains a control character",
        "line 13: row: has 8 cells but the header has 7 (a comma in an unquoted value?)",
    ]
    assert cli.json("jobs") == []  # not even the good row
    assert "need Company and Role" in cli.fails(
        "import", str(write(tmp_path, "x.csv", "Foo,Bar\n1,2\n"))
    )
    assert "empty" in cli.fails("import", str(write(tmp_path, "empty.csv", "")))


def test_transfer_reimport_creates_nothing_new_and_dry_run_writes_nothing(cli, tmp_path):
    cli.add_user()
    path = write(tmp_path, "tracker.csv", TRACKER)
    dry = cli.json("import", str(path), "--dry-run")
    assert dry["dryRun"] and dry["jobs"]["added"] == 5
    assert cli.json("jobs") == []
    first = cli.json("import", str(path))
    before = json.loads(cli("export", "--format", "json").stdout)
    again = cli.json("import", str(path))
    assert again["jobs"] == {"added": 0, "existing": first["jobs"]["added"]}
    assert again["contacts"] == {"added": 0, "existing": first["contacts"]["added"]}
    assert (
        again["outreach"]["added"] == 0
        and again["outreach"]["existing"] == first["outreach"]["added"]
    )
    assert again["followupsScheduled"] == 0
    after = json.loads(cli("export", "--format", "json").stdout)
    for section in ("jobs", "contacts", "outreach", "followups", "notifications"):
        assert after[section] == before[section]
    assert "0 new jobs (5 already there)" in " ".join(cli("import", str(path)).stdout.split())


def test_transfer_semicolons_bom_and_other_encodings(cli, tmp_path):
    cli.add_user()
    content = "Company;Title;Date;Notes\nCafé Müller;Barista;5.3.2026;Grüße\nAcme;Dev;3/5/2026;\n"
    utf8 = write(tmp_path, "excel.csv", "\ufeff" + content)
    assert cli.json("import", str(utf8))["outreach"]["added"] == 2
    sent = sorted(
        o["sentAt"] for o in json.loads(cli("export", "--format", "json").stdout)["outreach"]
    )
    assert sent == [
        "2026-03-05T09:00:00Z",
        "2026-03-05T09:00:00Z",
    ]  # 5.3. day first, 3/5 month first
    latin = write(tmp_path, "latin.csv", content.replace("Café", "Chez"), encoding="cp1252")
    assert "--encoding cp1252" in cli.fails("import", str(latin))
    assert cli.json("import", str(latin), "--encoding", "cp1252")["jobs"]["added"] == 1
    day_first = write(tmp_path, "dayfirst.csv", "Company,Role,Date\nBeta,Dev,3/5/2026\n")
    cli("import", str(day_first), "--day-first")
    beta = next(
        j
        for j in json.loads(cli("export", "--format", "json").stdout)["outreach"]
        if j["sentAt"].startswith("2026-05-03")
    )
    assert beta


def _rich_sample(cli: Cli, tmp_path) -> None:
    """The demo plus the awkward cases: quotes, commas, newlines, unicode, contact-only
    outreach, a job and a contact without outreach, a contact without a company that is
    seen on a job row first."""
    cli("demo")
    outreach = [
        [
            "--company",
            "Ünïcode, Inc.",
            "--role",
            'Dev "lead"',
            "--contact",
            "Zoë O'Neil",
            "--note",
            'line one\nline two, with "quotes"',
            "--sent",
            "2026-01-15T10:00:00+01:00",
        ],
        ["--contact", "Lone Wolf", "--email", "lone@wolf.example", "--channel", "phone"],
        ["--company", "Quiet Co", "--role", "Dev", "--no-followup"],
        ["--contact", "No Company", "--email", "noco@example.com", "--sent", "2026-02-02"],
        [
            "--company",
            "Acme",
            "--role",
            "Ops",
            "--email",
            "noco@example.com",
            "--sent",
            "2026-02-01",
        ],
    ]
    for args in outreach:
        cli("outreach", "add", *args)
    extra = (
        "Company,Role,Contact Name,Contact Email\n"
        "Job Only,Dev,,\n"
        "Widgets,,Only Contact,oc@example.com\n"
    )
    cli("import", str(write(tmp_path, "extra.csv", extra)))


def _csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_transfer_csv_round_trip_into_a_fresh_database(cli, fresh, tmp_path):
    _rich_sample(cli, tmp_path)
    exported = cli("export").stdout
    rows = _csv_rows(exported)
    assert rows[0] == [
        "Company",
        "Role",
        "URL",
        "Status",
        "Date Applied",
        "Contact Name",
        "Contact Email",
        "Notes",
        "Channel",
        "Outcome",
        "Resume On",
    ]
    assert any(r[7] == 'line one\nline two, with "quotes"' for r in rows)
    assert any(r[9] == "POSITIVE" for r in rows) and any(r[3] == "REJECTED" for r in rows)
    [later] = [r for r in rows if r[9] == "LATER"]
    assert later[10] and all(not r[10] for r in rows[1:] if r is not later)
    path = write(tmp_path, "export.csv", exported)

    fresh.add_user("new@example.com", "Asia/Tokyo")
    summary = fresh.json("import", str(path))
    assert summary["rows"] == len(rows) - 1
    assert fresh("export").stdout == exported
    # The file carries the cadence's input, so the same follow-ups fall due.
    assert len(fresh.json("due", "overdue")) + len(fresh.json("due", "today")) > 0
    # Into the same database for a second user, too (both backends' import path).
    cli.add_user("second@example.com")
    cli("import", str(path), "--user", "second@example.com")
    assert cli("export", "--user", "second@example.com").stdout == exported
    assert cli.json("import", str(path), "--user", "second@example.com")["outreach"]["added"] == 0


def test_transfer_json_export_has_everything_and_round_trips(cli, fresh, tmp_path):
    _rich_sample(cli, tmp_path)
    out = tmp_path / "all.json"
    result = cli("export", "--format", "json", "--output", str(out))
    assert "Exported" in result.stderr and result.stdout == ""
    doc = json.loads(out.read_text())
    assert doc["format"] == "followups-export" and doc["user"]["email"] == "demo@example.com"
    assert {
        k: bool(doc[k]) for k in ("jobs", "contacts", "outreach", "followups", "notifications")
    } == dict.fromkeys(("jobs", "contacts", "outreach", "followups", "notifications"), True)
    assert any(f["sentAt"] for f in doc["followups"]) and any(
        f["cancelReason"] for f in doc["followups"]
    )
    assert all("userId" not in r and "passwordHash" not in r for r in doc["jobs"])
    # The demo's "not now" answer travels with its date.
    assert [o["outcome"] for o in doc["outreach"] if o["resumeOn"]] == ["LATER"]
    assert doc["user"]["rules"]["minGapDays"] == 0

    fresh.add_user("new@example.com")
    added = fresh.json("import", str(out))["added"]
    assert added == {k: len(doc[k]) for k in added}
    again = json.loads(fresh("export", "--format", "json").stdout)
    for section in ("jobs", "contacts", "outreach", "followups", "notifications"):
        assert again[section] == doc[section], section
    assert set(fresh.json("import", str(out))["added"].values()) == {0}
    # Next to its owner: the ids are taken, so they are replaced, consistently.
    cli.add_user("twin@example.com")
    cli("import", str(out), "--user", "twin@example.com")
    twin = json.loads(cli("export", "--format", "json", "--user", "twin@example.com").stdout)
    assert len(twin["followups"]) == len(doc["followups"])
    assert len(cli.json("due", "overdue", "--user", "twin@example.com")) == len(
        cli.json("due", "overdue", "--user", "demo@example.com")
    )
    assert set(cli.json("import", str(out), "--user", "twin@example.com")["added"].values()) == {0}
    broken = write(
        tmp_path, "broken.json", json.dumps({**doc, "jobs": [{**doc["jobs"][0], "stage": "NOPE"}]})
    )
    result = cli("import", str(broken), "--user", "twin@example.com", ok=False)
    assert result.exit_code == 1 and "jobs[0].stage: 'NOPE' is not one of" in result.stderr


def test_transfer_demo_populates_every_bucket_once(fresh):
    out = fresh("demo").stdout
    assert "Made the user demo@example.com with the password" in out
    for bucket in ("overdue", "today", "upcoming"):
        assert fresh.json("due", bucket), bucket
    assert len(fresh.json("jobs")) >= 24 and len(fresh.json("contacts")) >= 12
    assert "has data already" in fresh.fails("demo")
    fresh("demo", "--force")
    assert len(fresh.json("jobs")) >= 48


def test_transfer_import_of_a_few_thousand_rows_is_quick(cli, tmp_path):
    cli.add_user()
    lines = ["Company,Role,Status,Date Applied,Contact Name,Contact Email,Notes"]
    lines += [
        f"Co {i // 2},Role {i % 2},Applied,2026-02-{1 + i % 28:02d},P {i},p{i}@x.example,n {i}"
        for i in range(3000)
    ]
    path = write(tmp_path, "big.csv", "\n".join(lines) + "\n")
    started = time.perf_counter()
    summary = cli.json("import", str(path))
    took = time.perf_counter() - started
    assert summary["jobs"]["added"] == 3000 and summary["followupsScheduled"] == 3000
    assert took < 10, f"3,000 rows took {took:.1f} s"
    assert len(_csv_rows(cli("export").stdout)) == 3001


def test_transfer_backup_and_restore_on_sqlite(tmp_path):
    db_file = tmp_path / "live" / "followups.db"
    cli = Cli(f"sqlite:///{db_file}")
    cli("demo")
    jobs_before = len(cli.json("jobs"))
    # A writer holds an open transaction: the online backup neither waits nor copies it.
    writer = sqlite3.connect(db_file, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE job SET company = 'uncommitted'")
    try:
        assert "Backed up" in cli("backup", str(tmp_path / "b.db")).stdout
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert "exists already" in cli.fails("backup", str(tmp_path / "b.db"))
    cli("backup", str(tmp_path / "b.db"), "--force")
    cli("outreach", "add", "--company", "After", "--role", "Backup")
    assert len(cli.json("jobs")) == jobs_before + 1

    out = cli("restore", str(tmp_path / "b.db"), "--yes").stdout
    assert "Restored" in out and "previous database is kept" in out
    jobs = cli.json("jobs")
    assert len(jobs) == jobs_before and not any(j["company"] == "uncommitted" for j in jobs)
    kept = list(db_file.parent.glob("followups.db.*.before-restore"))
    assert len(kept) == 1
    assert "not an SQLite database" in cli.fails(
        "restore", str(write(tmp_path, "x.csv", "a,b\n")), "--yes"
    )
    plain = tmp_path / "other.db"
    sqlite3.connect(plain).execute("CREATE TABLE t (x)").connection.close()
    assert "not a followups database" in cli.fails("restore", str(plain), "--yes")
    assert "does not exist" in cli.fails("restore", str(tmp_path / "nope.db"), "--yes")
    # Asked first, and "no" changes nothing.
    result = cli("restore", str(kept[0]), input="n\n", ok=False)
    assert result.exit_code == 1 and len(cli.json("jobs")) == jobs_before


def test_transfer_backup_is_refused_on_postgresql(tmp_path):
    url = pg_url()
    if not url:
        pytest.skip("PostgreSQL half skipped: FOLLOWUPS_TEST_POSTGRES_URL is not set")
    assert "pg_dump" in Cli(url).fails("backup", str(tmp_path / "never-written.db"))
    assert "pg_dump" in Cli(url).fails("restore", str(tmp_path / "never-read.db"), "--yes")
    assert not (tmp_path / "never-written.db").exists()


def test_transfer_dates_and_values_unit():
    tz = clock.zone("America/New_York")
    assert values.when("2026-03-08", tz) == datetime(2026, 3, 8, 13, tzinfo=UTC)  # 09:00 EDT
    assert (
        values.when("Mar 5, 2026", tz)
        == values.when("5 March 2026", tz)
        == values.when("2026/03/05", tz)
    )
    assert values.when("2026-03-05T10:00:00Z", tz) == datetime(2026, 3, 5, 10, tzinfo=UTC)
    with pytest.raises(ValueError, match="year"):
        values.when("1969-12-31", tz)
    with pytest.raises(ValueError, match="control"):
        values.text("a\x1bb", 10)
    assert values.text("a\nb", 10, multiline=True) == "a\nb"


def test_transfer_import_of_a_not_now_row_schedules_the_named_day(cli, tmp_path):
    cli.add_user(timezone="Europe/Berlin")
    sheet = (
        "Company,Role,Date Applied,Contact Name,Outcome,Resume On\n"
        "Acme,Backend engineer,2026-03-02,Grace Hopper,Later,2026-04-15\n"
        "Beta,QA,2026-03-02,,later,\n"
    )
    cli("import", str(write(tmp_path, "later.csv", sheet)))
    everything = [f for b in ("overdue", "today", "upcoming") for f in cli.json("due", b)]
    assert [(f["dueAt"], f["why"]) for f in everything] == [
        ("2026-04-15T07:00:00Z", "Not now: the thread pauses until Wed 15 Apr")
    ]
    bad = "Company,Role,Date Applied,Outcome,Resume On\nAcme,Dev,2026-03-02,POSITIVE,2026-04-15\n"
    assert "line 2: resume on: is only taken with outcome LATER" in cli.fails(
        "import", str(write(tmp_path, "bad.csv", bad))
    )


def _open_followups(cli: Cli, email: str) -> list[tuple]:
    found = [f for b in ("overdue", "today", "upcoming") for f in cli.json("due", b, "--user", email)]
    return sorted(
        (f["dueAt"], (f.get("job") or {}).get("company"), (f.get("job") or {}).get("role"),
         (f.get("contact") or {}).get("name"))
        for f in found
    )  # fmt: skip


def test_transfer_import_follows_the_users_rules_as_recording_would(cli, tmp_path):
    """With the job-search rules on, an import places and settles follow-ups as recording
    the same outreach one by one in the order it was sent does: company spread, minimum
    gap (moving a follow-up already there), one reply settling the job (cancelling one
    already there), and the stage-aware stop."""
    a, b = "a@example.com", "b@example.com"
    for email in (a, b):
        cli.add_user(email, "Europe/Berlin")
        cli("rules", "set", "--recommended", "--user", email)
        # Already there: outreach recorded in the app before the import.
        cli("outreach", "add", "--company", "Acme", "--role", "Backend engineer", "--contact",
            "Grace Hopper", "--email", "grace@acme.example", "--sent", "2026-03-02", "--user", email)  # fmt: skip
        cli("outreach", "add", "--company", "Beta", "--role", "SRE", "--contact", "Carl",
            "--email", "carl@beta.example", "--sent", "2026-03-01", "--user", email)  # fmt: skip
    rows = [  # (company, role, contact, email, sent, outcome), in the order they were sent
        ("Acme", "Data engineer", "Bob", "bob@acme.example", "2026-03-02", "NONE"),
        ("Beta", "SRE", "Carl", "carl@beta.example", "2026-03-04", "NONE"),
        ("Delta", "PM", "Grace Hopper", "grace@acme.example", "2026-03-04", "NONE"),
        ("Beta", "SRE", "Dana", "dana@beta.example", "2026-03-06", "POSITIVE"),
    ]
    for company, role, name, address, sent, outcome in rows:
        cli("outreach", "add", "--company", company, "--role", role, "--contact", name, "--email",
            address, "--sent", sent, "--outcome", outcome, "--user", b)  # fmt: skip
    sheet = ["Company,Role,Contact Name,Email,Date Applied,Outcome,Status"]
    sheet += [",".join(r) + ",Applied" for r in reversed(rows)]  # the file's order is not the sending order
    sheet.append("Gamma,QA,Eve,eve@gamma.example,2026-03-03,NONE,Interviewing")  # stage-aware: none
    path = write(tmp_path, "rules.csv", "\n".join(sheet) + "\n")

    dry = cli.json("import", str(path), "--dry-run", "--user", a)
    summary = cli.json("import", str(path), "--user", a)
    for s in (dry, summary):
        assert (s["followupsScheduled"], s["followupsCancelled"], s["followupsMoved"]) == (2, 1, 1), s

    assert _open_followups(cli, a) == _open_followups(cli, b)
    opened = _open_followups(cli, a)
    assert [(c, r) for _, c, r, _ in opened] == [
        ("Acme", "Data engineer"), ("Acme", "Backend engineer"), ("Delta", "PM"),
    ]  # fmt: skip
    assert opened[1][0] > opened[0][0]  # the company spread moved Grace's past Bob's
    whys = {f["job"]["role"]: f["why"] for f in cli.json("due", "overdue", "--user", a)}
    assert "Acme already has a follow-up on" in whys["Data engineer"]
    assert "after your last touch with Grace Hopper on Wed 4 Mar" in whys["Backend engineer"]
    said = cli("import", str(path), "--user", a).stdout  # again: nothing new, nothing changed
    assert "0 follow-ups scheduled" in said and "Follow-ups already there" not in said
    assert _open_followups(cli, a) == opened


def test_transfer_an_import_cut_short_is_completed_by_importing_again(cli, db, tmp_path):
    from followups.transfer import csv_import
    from followups.users import service as users

    cli.add_user()
    lines = ["Company,Role,Date Applied,Contact Name"]
    lines += [f"Co {i},Role {i},2026-02-{1 + i % 28:02d},P {i}" for i in range(40)]
    path = write(tmp_path, "cut.csv", "\n".join(lines) + "\n")
    now = datetime.now(UTC)
    with db.transaction() as session:  # the first parts committed, then the import died
        me = users.find_user(session, "ada@example.com")
        parsed = csv_import.parse_csv(path.open(), tz=me.zone, now=now)
        plan = csv_import.plan_import(session, me, parsed.rows, now=now)
        parts = list(csv_import.parts(plan, 15))
    for part in parts[:-2]:  # jobs, contacts and the first outreach with their follow-ups
        with db.transaction() as session:
            csv_import.write_part(session, part)
    written = len(parts[-3][0][1])
    summary = cli.json("import", str(path))
    assert summary["jobs"]["existing"] == 40 and summary["contacts"]["existing"] == 40
    assert summary["outreach"] == {"added": 40 - written, "existing": written, "duplicateRows": 0}
    assert summary["followupsScheduled"] == 40 - written
    assert len(_open_followups(cli, "ada@example.com")) == 40  # every outreach has its follow-up
