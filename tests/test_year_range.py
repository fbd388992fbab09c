"""The years 1970-2999 are checked on the UTC instant, by every edge through one check
(followups.input_limits.instant_in_range): an offset can carry a local time inside the
range out of it."""

from __future__ import annotations

import json

import pytest

from test_cli_verbs import Cli

# Inside the years as written, outside them in UTC.
OUT_IN_UTC = ["2999-12-31T23:59:59-12:00", "1970-01-01T00:00:00+00:01"]
# Outside the years as written, inside them in UTC.
IN_IN_UTC = "3000-01-01T10:00:00+14:00"  # 2999-12-31T20:00:00Z


@pytest.fixture
def cli(db) -> Cli:
    return Cli(db.settings.database_url)


@pytest.mark.parametrize("instant", OUT_IN_UTC)
def test_api_refuses_an_instant_outside_the_years_in_utc(api, instant):
    ada = api.signup()
    job = api.call("POST", "/jobs", ada, 201, json={"company": "Acme", "role": "Dev"}).json()
    r = api.call("POST", "/followups", ada, 422, json={"jobId": job["id"], "dueAt": instant})
    assert r.json()["fields"] == [{"field": "dueAt", "message": "must be between the years 1970 and 2999 in UTC"}]
    r = api.call("POST", "/outreach", ada, 422, json={"jobId": job["id"], "channel": "EMAIL", "sentAt": instant})
    assert r.json()["fields"][0]["field"] == "sentAt"
    assert api.call("GET", "/followups?due=upcoming", ada, 200).json() == []


def test_api_takes_an_instant_inside_the_years_in_utc(api):
    ada = api.signup()
    job = api.call("POST", "/jobs", ada, 201, json={"company": "Acme", "role": "Dev"}).json()
    made = api.call("POST", "/followups", ada, 201, json={"jobId": job["id"], "dueAt": IN_IN_UTC}).json()
    assert made["dueAt"] == "2999-12-31T20:00:00Z"


def test_cli_snooze_and_import_refuse_an_instant_outside_the_years_in_utc(cli, tmp_path):
    cli.add_user()
    fid = cli.json("outreach", "add", "--company", "Acme", "--role", "Dev")["followup"]["id"]
    assert "between the years 1970 and 2999 in UTC" in cli.fails("snooze", fid, "--to", OUT_IN_UTC[0])
    path = tmp_path / "tracker.csv"
    path.write_text(f"Company,Role,Date applied\nAcme,QA,2026-01-05\nBeta,Dev,{OUT_IN_UTC[1]}\n")
    result = cli("import", str(path), ok=False)
    assert "line 3: date applied: must be between the years 1970 and 2999 in UTC" in result.stderr
    assert [j["role"] for j in cli.json("jobs")] == ["Dev"]  # nothing was imported


def test_json_import_refuses_an_instant_outside_the_years_in_utc(cli, tmp_path):
    cli.add_user()
    cli("outreach", "add", "--company", "Acme", "--role", "Dev")
    exported = tmp_path / "everything.json"
    cli("export", "--format", "json", "--output", str(exported))
    document = json.loads(exported.read_text())
    document["followups"][0]["due_at" if "due_at" in document["followups"][0] else "dueAt"] = OUT_IN_UTC[0]
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps(document))
    result = cli("import", str(changed), ok=False)
    assert "must be between the years 1970 and 2999 in UTC" in result.stderr
