"""Tenant-ready schema: the rules a PostgreSQL sharded by user (Citus, distributed by
user_id) needs. Checked on the models and on the SQL the app really sends: every statement
of the API, the pages, the CLI and the worker reads and writes one user's rows (or one
directory key), so the cluster sends it to one shard; owned tables join on user_id."""

from __future__ import annotations

import json
import re
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import Engine, PrimaryKeyConstraint, UniqueConstraint, event
from typer.testing import CliRunner

from followups import hot_db
from followups.cli import app as cli_app
from followups.models import Base
from followups.owned import CROSS_USER, ONE_SHARD
from followups.worker import Worker
from helpers import contact, followup, job, outreach, send

# Tables that are not distributed by user_id, and why.
NOT_DISTRIBUTED = {
    "app_user": "the tenant table itself (its id is the distribution key)",
    "login_failure": "failed sign-ins, counted per account and address before any user is known: on the coordinator",
    "email_address": "the directory of login emails: distributed by its own key, email_key",
    "calendar_address": "the directory of calendar addresses: distributed by its own key, token",
}
# The directories: one key each, what a statement on them pins.
DIRECTORIES = {"email_address": "email_key", "calendar_address": "token"}
# Tables with one row per user: keyed by user_id alone, the distribution column itself.
ONE_PER_USER = {
    "mailbox": "a user's own mailbox (followups.mailbox): at most one, found by its owner",
}
# Indexes the worker uses to claim work across users; on a sharded cluster each shard
# keeps its own and the worker's claims run per shard.
CROSS_USER_INDEXES = {
    "ix_follow_up_unreminded", "ix_notification_unpresented_due", "ix_delivery_pending",
    "ix_app_user_next_digest_at", "ix_mailbox_next_sync_at",
    # The worker's pruning of old digests and dead tokens (followups.housekeeping).
    "ix_notification_digest_due", "ix_api_token_expires_at", "ix_api_token_revoked_at",
    # The sign-in of the tokens made before they carried their user id, until they expire.
    "ix_api_token_token_hash",
}
# Plain (non-unique) indexes on id: lookups by id alone (session.get, the worker's claims
# by id). Allowed on Citus (a shard-local index; such a lookup asks every shard); without
# them those lookups scan the table, since the primary key leads with user_id.
ID_LOOKUP_INDEXES = {f"ix_{t.name}_id" for t in Base.metadata.sorted_tables}
OWNED = [t for t in Base.metadata.sorted_tables if t.name not in NOT_DISTRIBUTED]


def test_every_owned_table_carries_user_id():
    assert OWNED
    for table in OWNED:
        column = table.c.get("user_id")
        assert column is not None and not column.nullable, table.name
        assert any(fk.column.table.name == "app_user" for fk in column.foreign_keys), table.name


def test_every_unique_key_and_hot_index_leads_with_user_id():
    """Primary keys included: Citus refuses a primary key without the distribution column."""
    for table in OWNED:
        key = ["user_id"] if table.name in ONE_PER_USER else ["user_id", "id"]
        assert table.primary_key.columns.keys() == key, table.name
        for constraint in table.constraints:
            if isinstance(constraint, UniqueConstraint | PrimaryKeyConstraint):
                assert constraint.columns.keys()[0] == "user_id", (table.name, constraint.name)
        for index in table.indexes:
            if index.name in CROSS_USER_INDEXES:
                continue
            if index.name in ID_LOOKUP_INDEXES:
                assert not index.unique and [c.name for c in index.columns] == ["id"], index.name
                continue
            first = list(index.columns)[0].name
            assert first == "user_id" or index.unique is False and first == "user_id", (table.name, index.name)


def test_every_foreign_key_between_owned_tables_includes_user_id():
    """Citus: a foreign key between two tables distributed by user_id must include it, and
    match the owner's column to the owner's column (which also keeps a row from pointing at
    another user's row)."""
    owned = {t.name for t in OWNED}
    checked = 0
    for table in OWNED:
        for fk in table.foreign_key_constraints:
            if fk.referred_table.name not in owned:
                continue
            checked += 1
            pairs = {e.parent.name: e.column.name for e in fk.elements}
            assert pairs.get("user_id") == "user_id", (table.name, fk.name, pairs)
            # The referred columns are the referred table's primary key (user_id, id).
            referred = set(pairs.values())
            assert referred == set(fk.referred_table.primary_key.columns.keys()), (table.name, fk.name, referred)
    assert checked >= 9  # outreach 2, follow_up 3, notification 3, delivery 1


def test_ids_are_globally_unique_uuids():
    """Every table has a UUID id; the ORM knows a row by it alone (session.get(Model, id)),
    whatever the database primary key: (user_id, id) on the owned tables, (id) elsewhere."""
    for table in Base.metadata.sorted_tables:
        if table.name in ONE_PER_USER:  # its owner's id is its id
            assert table.primary_key.columns.keys() == ["user_id"], table.name
            continue
        if table.name in DIRECTORIES:  # keyed by what it finds, distributed by it
            assert table.primary_key.columns.keys() == [DIRECTORIES[table.name]], table.name
            continue
        assert table.c.id.type.__class__.__name__ == "Uuid", table.name
        expected = ["id"] if table.name in NOT_DISTRIBUTED else ["user_id", "id"]
        assert table.primary_key.columns.keys() == expected, table.name
    for mapper in Base.registry.mappers:
        name = mapper.local_table.name
        key = ["user_id"] if name in ONE_PER_USER else [DIRECTORIES[name]] if name in DIRECTORIES else ["id"]
        assert [c.name for c in mapper.primary_key] == key, mapper.class_.__name__


# --- the SQL the app sends -----------------------------------------------------------------

# What a statement may compare a key with to pin it: a bind parameter (SQLite's ?, psycopg's
# %(name)s), or a column of another table matched the same way (a join on the owner).
PARAM = r"(?:\?|%\(\w+\)s(?:::[A-Z]+(?:\[\])?)?)"
_REFS = re.compile(r"\b(?:FROM|JOIN|UPDATE|INTO)(?: /\* [\w -]+ \*/)? (\w+)(?: AS (\w+))?")
_LOCKS = re.compile(r"\bFOR (?:NO KEY )?(?:UPDATE|SHARE)\b")
_JOIN_ON = re.compile(r" JOIN (\w+)(?: AS (\w+))? ON (.*?)(?= LEFT OUTER JOIN| JOIN| WHERE| ORDER| GROUP| LIMIT|\)|$)")


def _key(table: str) -> str:
    return DIRECTORIES.get(table, "id" if table == "app_user" else "user_id")


def unrouted(sql: str) -> list[str]:
    """Why `sql` would not go to one shard: the tables it reads or writes that no equality on
    their key pins to one user (one directory key), and its joins of owned tables not matched
    on user_id. Empty for a routed statement."""
    verb = sql.split(" ", 1)[0].upper()
    if verb not in ("SELECT", "UPDATE", "DELETE", "INSERT", "WITH"):
        return []
    if verb == "INSERT" and " SELECT " not in sql:
        return []  # one row's values, which carry its owner
    if CROSS_USER in sql:
        return ["a cross-user read takes locks"] if _LOCKS.search(sql) else []
    problems = []
    watched = {t.name for t in Base.metadata.sorted_tables} - {"login_failure"}
    refs = [(t, a or t) for t, a in _REFS.findall(sql) if t in watched]
    if verb == "INSERT":
        refs = refs[1:]  # the target: its rows come from the SELECT
    # The worker's statements on the users of one shard (followups.notifications.claim) may
    # name several; an unsharded database is one shard.
    several = rf"(?:, {PARAM})*" if ONE_SHARD in sql else ""
    pinned = set()
    for table, name in refs:
        key = rf"\b{name}\.{_key(table)}"
        if re.search(rf"{key} = {PARAM}|{key} IN \({PARAM}{several}\)", sql) or (
                ONE_SHARD in sql and re.search(rf"{key} = ANY \({PARAM}\)|\(\+ {key}\) IN \({PARAM}{several}\)", sql)):
            pinned.add(name)
    for table, name in refs:
        # Or matched on the owner with a table pinned by a parameter.
        key = rf"\b{name}\.{_key(table)}"
        if name not in pinned and not (pinned and table not in DIRECTORIES and re.search(
                rf"{key} = \w+\.user_id|\w+\.user_id = {key}", sql)):
            problems.append(f"{name} is not pinned to one user by {_key(table)}")
    for table, alias, on in _JOIN_ON.findall(sql):
        if table in watched and table not in DIRECTORIES:
            name = alias or table
            if not re.search(rf"\b{name}\.{_key(table)} =|= {name}\.{_key(table)}\b", on):
                problems.append(f"the join of {name} is not on its owner: ON {on}")
    return problems


@contextmanager
def every_statement():
    """Every statement any engine of this process sends meanwhile (the app's, the worker's,
    the CLI's own Database)."""
    statements: list[str] = []

    def capture(_conn, _cursor, statement, *_args):
        statements.append(" ".join(statement.split()))

    def capture_hot(_conn, statement, _params):  # the event loop's (followups.api.hot)
        statements.append(" ".join(statement.split()))

    event.listen(Engine, "before_cursor_execute", capture)
    hot_db.observers.append(capture_hot)
    try:
        yield statements
    finally:
        event.remove(Engine, "before_cursor_execute", capture)
        hot_db.observers.remove(capture_hot)


def assert_routed(statements: list[str], *, at_least: int) -> None:
    checked = 0
    problems = []
    for sql in statements:
        found = unrouted(sql)
        checked += bool(_REFS.search(sql))
        if found:
            problems.append(f"{sql[:400]}\n    -> {'; '.join(found)}")
    assert not problems, "statements not routed to one user:\n" + "\n".join(problems)
    assert checked >= at_least, checked


def test_the_checker_refuses_what_a_sharded_cluster_would_fan_out():
    assert unrouted("SELECT job.id FROM job WHERE job.user_id = ? AND job.id = ?") == []
    assert unrouted("SELECT job.id FROM job WHERE job.id = %(id_1)s")  # by id alone
    assert unrouted("UPDATE notification SET sent_at=? WHERE notification.id = ?")
    assert unrouted("SELECT app_user.id FROM app_user WHERE app_user.email_key = ?")
    assert unrouted("SELECT email_address.user_id FROM email_address WHERE email_address.email_key = ?") == []
    join = ("SELECT outreach.id FROM outreach LEFT OUTER JOIN job ON job.id = outreach.job_id "
            "WHERE outreach.user_id = ?")
    assert unrouted(join)  # the export's old join, without the owner
    assert unrouted(join.replace("ON job.id", "ON job.user_id = outreach.user_id AND job.id")) == []
    assert unrouted(f"SELECT {CROSS_USER} follow_up.id FROM follow_up WHERE follow_up.remind_at <= ?") == []
    assert unrouted(f"SELECT {CROSS_USER} follow_up.id FROM follow_up FOR UPDATE SKIP LOCKED")
    assert unrouted("UPDATE follow_up SET reminded_at=? WHERE follow_up.user_id IN (?, ?)")
    assert unrouted(f"UPDATE {ONE_SHARD} follow_up SET reminded_at=? WHERE follow_up.user_id IN (?, ?)") == []


def test_every_statement_of_the_api_pins_one_user_and_joins_on_user_id(api, db, clock):
    with every_statement() as statements:
        headers = api.signup("tenant@example.com")
        api.signup("other@example.com")
        api.client.post("/auth/register", json={"email": "Tenant@example.com", "password": "correct horse"})
        j, c = job(api, headers), contact(api, headers)
        o = outreach(api, headers, jobId=j["id"], contactId=c["id"])
        send(api, headers, o["followup"]["id"])
        f = followup(api, headers, "2026-03-06T09:00:00Z", jobId=j["id"])
        api.call("GET", f"/followups/{f['id']}", headers, 200)
        api.call("PATCH", f"/followups/{f['id']}", headers, 200, json={"note": "n"})
        api.call("PATCH", f"/followups/{f['id']}", headers, 200, json={"dueAt": "2026-03-09T09:00:00Z"})
        api.call("DELETE", f"/followups/{f['id']}", headers, 204)
        api.call("PATCH", f"/outreach/{o['id']}", headers, 200, json={"outcome": "POSITIVE"})
        api.call("PATCH", f"/jobs/{j['id']}", headers, 200, json={"stage": "REJECTED", "archived": True})
        api.call("PATCH", f"/contacts/{c['id']}", headers, 200, json={"name": "N"})
        for due in ("today", "overdue", "upcoming"):
            api.call("GET", f"/followups?due={due}", headers, 200)
            api.call("GET", f"/notifications?scope={due}", headers, 200)
        api.call("GET", "/outreach", headers, 200)
        api.call("GET", "/jobs?archived=true", headers, 200)
        api.call("GET", f"/jobs/{j['id']}", headers, 200)
        api.call("GET", "/contacts", headers, 200)
        api.call("GET", "/stats", headers, 200)
        api.call("GET", "/me", headers, 200)
        api.call("PATCH", "/me", headers, 200, json={"timezone": "Europe/Berlin"})
        path = api.call("POST", "/me/calendar", headers, 200).json()["calendarPath"]
        api.call("GET", path, {}, 200)
        api.call("POST", "/me/calendar", headers, 200)
        api.call("GET", path, {}, 404)
        api.call("DELETE", "/me/calendar", headers, 204)
        api.call("DELETE", f"/outreach/{o['id']}", headers, 204)
        api.call("POST", "/auth/logout", headers, 204)
        api.call("GET", "/me", headers, 401)
    assert_routed(statements, at_least=40)


def test_every_statement_of_the_worker_pins_one_user(app, api, db, clock):
    """Reminders, dormant checks, digests, deliveries (a webhook that fails): the worker reads
    its due work across users without locks, then claims and writes per user."""
    # A webhook on loopback (nothing listens on port 9: it fails), allowed here only.
    app.state.settings = app.state.settings.model_copy(update={"webhook_allow_private": True})
    users = [api.signup(f"u{i}@example.com") for i in range(3)]
    for headers in users:
        api.call("PATCH", "/me", headers, 200,
                 json={"webhook": {"url": "http://127.0.0.1:9/hook", "secret": "s" * 32}})
        j, c = job(api, headers), contact(api, headers)
        o = outreach(api, headers, jobId=j["id"], contactId=c["id"], sentAt="2026-02-20T09:00:00Z")
        followup(api, headers, "2026-03-05T09:00:00Z", contactId=c["id"])
        send(api, headers, o["followup"]["id"])
    worker = Worker(db, db.settings.model_copy(update={"webhook_allow_private": True}), clock=clock)
    with every_statement() as statements:
        for days in (0, 1, 20):  # within the tokens' 30 days
            clock.now += timedelta(days=days)
            counts = worker.tick()
        # What the worker made, as its user sees and answers it.
        seen = api.call("GET", "/notifications?scope=overdue", users[0], 200).json()
        assert "followup_due" in {n["kind"] for n in seen}, seen
        for n in seen:
            api.call("PATCH", f"/notifications/{n['id']}/send", users[0], 200)
    assert counts and any(statements)
    assert_routed(statements, at_least=20)


def test_every_statement_of_the_pages_pins_one_user(api, db):
    client = api.client
    csrf = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')

    def post(url: str, data: dict, page: str = "/app/today"):
        token = csrf.search(client.get(page).text).group(1)
        return client.post(url, data={"csrf_token": token, **data}, follow_redirects=False)

    with every_statement() as statements:
        password = "correct horse battery"
        r = post("/app/register", {"email": "page@example.com", "password": password,
                                   "password_again": password, "timezone": "UTC"}, page="/app/register")
        assert r.status_code == 303, r.text
        assert post("/app/jobs", {"company": "Acme", "role": "Dev"}).status_code == 303
        assert post("/app/contacts", {"name": "Lin"}).status_code == 303
        for page in ("/app/today", "/app/jobs", "/app/contacts", "/app/notifications", "/app/record",
                     "/app/settings", "/app/stats"):
            assert client.get(page).status_code == 200, page
        assert post("/app/settings/calendar", {}).status_code in (200, 303)
        assert post("/app/logout", {}).status_code == 303
    assert_routed(statements, at_least=15)


def test_every_statement_of_the_cli_pins_one_user(db, tmp_path):
    env = {"FOLLOWUPS_DATABASE_URL": db.settings.database_url, "FOLLOWUPS_USER": None, "COLUMNS": "220"}

    def cli(*args: str, input: str | None = None) -> str:
        result = CliRunner().invoke(cli_app, list(args), input=input, catch_exceptions=False, env=env)
        assert result.exit_code == 0, result.output
        return result.stdout

    with every_statement() as statements:
        cli("user", "add", "cli@example.com", "--password-stdin", input="a long password\n")
        made = cli("outreach", "add", "--company", "Acme", "--role", "Dev", "--contact", "Grace", "--json")
        fid = json.loads(made)["followup"]["id"]
        cli("send", fid[:8], "--note", "Nudged")
        cli("outreach", "add", "--company", "acme", "--role", "dev", "--contact", "grace")  # found by name
        cli("due", "upcoming", "--why")
        cli("jobs")
        cli("contacts")
        cli("export", "--output", str(tmp_path / "out.csv"))
        cli("export", "--format", "json", "--output", str(tmp_path / "out.json"))
        cli("import", str(tmp_path / "out.csv"), "--user", "cli@example.com")
        cli("user", "add", "two@example.com", "--password-stdin", input="a long password\n")
        cli("import", str(tmp_path / "out.json"), "--user", "two@example.com")
        cli("demo", "--user", "two@example.com", "--force")
    assert_routed(statements, at_least=8)
