"""The app on a Citus cluster (a coordinator and its workers), distributed by
`followups db distribute`: the contract-level API tests, the worker and the tenancy checks,
plus what only a cluster shows (every statement of a user's request routed to one shard).

Runs when FOLLOWUPS_TEST_CITUS_URL names a Citus coordinator's database (CREATE EXTENSION
citus done, workers added); skipped with that reason otherwise: CI cannot build Citus.
Its tables are dropped and re-made at the start of the run.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from sqlalchemy import event, func, select, text

from conftest import PG_URL_ENV, pg_url
from followups.config import Settings
from followups.db import Database
from followups.distribute import distribute, layout
from followups.migrate import upgrade
from followups.models import Base, Notification
from helpers import contact, followup, job, outreach, send
from test_auth_api import (  # noqa: F401  (collected here, on Citus)
    test_logout_revokes_the_token,
    test_passwords_are_argon2_and_tokens_stored_hashed,
    test_patch_me_replaces_timezone_and_cadence,
    test_register_login_me,
    test_timezone_defaults_to_utc_and_taken_email_is_409,
    test_wrong_pair_is_401,
)
from test_calendar import (  # noqa: F401
    test_another_users_feed_has_only_their_own,
    test_rotating_and_revoking_the_address,
)
from test_cli_verbs import Cli
from test_followups_api import (  # noqa: F401
    test_archiving_a_job_or_contact_hides_its_followups_and_unarchiving_restores,
    test_buckets_follow_the_owners_local_day,
    test_buckets_order_by_due_then_id_and_respect_limit,
    test_cancel_keeps_history_is_idempotent_and_refuses_sent,
    test_outreach_schedules_attempt_one_three_days_later,
    test_sending_walks_the_default_cadence_once,
    test_the_list_and_a_send_answer_the_response_models_bytes,
)
from test_isolation import (  # noqa: F401
    test_every_id_route_answers_404_for_another_users_ids,
    test_own_records_through_another_users_token_after_both_act,
)
from test_lifecycle_api import (  # noqa: F401
    test_a_reply_after_the_last_attempt_settles_the_dormant_check,
    test_deleting_an_outreach_cancels_exactly_its_own,
    test_jobs_and_contacts_round_trip,
)
from test_tenancy import (  # noqa: F401
    test_every_statement_of_the_api_pins_one_user_and_joins_on_user_id,
    test_every_statement_of_the_cli_pins_one_user,
    test_every_statement_of_the_pages_pins_one_user,
    test_every_statement_of_the_worker_pins_one_user,
)
from test_transfer import (  # noqa: F401  (with its fixtures)
    cli,
    fresh,
    test_transfer_csv_round_trip_into_a_fresh_database,
)
from test_worker import (  # noqa: F401
    test_a_dormant_check_is_presented_when_due_and_the_user_decides,
    test_concurrent_workers_make_each_reminder_once,
    test_one_reminder_per_due_followup_in_the_owners_day,
    worker,
)

CITUS_URL_ENV = "FOLLOWUPS_TEST_CITUS_URL"


@pytest.fixture(scope="session")
def citus_database() -> Iterator[Database]:
    url = os.environ.get(CITUS_URL_ENV)
    if not url:
        pytest.skip(f"Citus half skipped: {CITUS_URL_ENV} is not set (a Citus coordinator with workers; "
                    "CI cannot build Citus)")
    database = Database(Settings(database_url=url))
    with database.engine.begin() as conn:
        names = conn.scalar(text("SELECT string_agg(quote_ident(tablename), ', ') FROM pg_tables"
                                 " WHERE schemaname = 'public'"))
        if names:
            conn.execute(text(f"DROP TABLE {names} CASCADE"))  # distributed ones with their shards
    upgrade(database.engine)
    distribute(database.engine, lambda _line: None)
    yield database
    database.dispose()


@pytest.fixture
def backend() -> str:
    return "citus"


@pytest.fixture
def db(citus_database) -> Database:
    # DELETE, not TRUNCATE: a TRUNCATE of every shard of every table took ~5 s here.
    with citus_database.engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
    return citus_database


def test_the_layout_puts_the_users_first_their_rows_beside_them_and_directories_by_key():
    """On the models, without a cluster: the order and the columns `db distribute` uses."""
    placed = [(p.table, p.column, p.colocate_with) for p in layout()]
    assert placed[0] == ("app_user", "id", "default")
    names = [t for t, _, _ in placed]
    for table in Base.metadata.sorted_tables:
        if "user_id" in table.c and table.primary_key.columns.keys()[0] == "user_id":
            assert (table.name, "user_id", "app_user") in placed, table.name
            for fk in table.foreign_key_constraints:  # after the tables it refers to
                assert names.index(fk.referred_table.name) < names.index(table.name), (table.name, fk.name)
    assert ("email_address", "email_key", "default") in placed
    assert ("calendar_address", "token", "default") in placed
    assert ("login_failure", None, "") in placed


@pytest.mark.parametrize("which", ["sqlite", "postgresql"])
def test_distribute_refuses_a_database_without_citus_and_changes_nothing(which, tmp_path):
    url = f"sqlite:///{tmp_path / 'f.db'}" if which == "sqlite" else pg_url()
    if not url:
        pytest.skip(f"PostgreSQL half skipped: {PG_URL_ENV} is not set")
    result = Cli(url)("db", "distribute", ok=False)
    assert result.exit_code == 1
    expected = "not PostgreSQL" if which == "sqlite" else "has no Citus extension"
    assert expected in result.output and "Traceback" not in result.output


def test_distribute_placed_every_table_and_a_second_run_changes_nothing(db):
    lines: list[str] = []
    assert distribute(db.engine, lines.append) == 0
    assert lines[-1] == "nothing to change: the layout was already distributed"
    with db.engine.connect() as conn:
        placed = dict(conn.execute(text(
            "SELECT logicalrelid::regclass::text, column_to_column_name(logicalrelid, partkey)"
            " FROM pg_dist_partition")).all())
        groups = dict(conn.execute(text(
            "SELECT logicalrelid::regclass::text, colocationid FROM pg_dist_partition")).all())
    assert placed["app_user"] == "id"
    owned = [p.table for p in layout() if p.column == "user_id"]
    assert {"job", "contact", "outreach", "follow_up", "notification", "delivery"} <= set(owned)
    for table in owned:
        assert placed[table] == "user_id" and groups[table] == groups["app_user"], table
    assert "login_failure" not in placed


def test_the_cli_distributes_idempotently_and_upgrade_runs_on_the_distributed_schema(cli):  # noqa: F811
    result = cli("db", "distribute")
    assert "nothing to change" in result.stdout
    cli("db", "upgrade")  # at head: a no-op that must still work on the distributed schema
    assert "head" in cli("db", "current").stdout


def test_the_worker_command_sends_exactly_one_reminder(api, ada, db, cli):  # noqa: F811
    """`followups worker --once` on the cluster (its claims must not take a cross-user
    FOR UPDATE on a distributed table); the follow-up is due long before today."""
    followup(api, ada, "2026-03-05T09:00:00Z", jobId=job(api, ada)["id"])
    api.signup("grace@example.com")  # a second user, with nothing due
    cli("worker", "--once")
    cli("worker", "--once")
    with db.transaction(write=False) as s:
        kinds = s.execute(select(Notification.kind, func.count()).group_by(Notification.kind)).all()
    assert dict(kinds).get("followup_due") == 1


def test_one_email_registered_sixteen_times_at_once_makes_one_account(live_url):
    barrier = threading.Barrier(16)
    codes: list[int] = []

    def register() -> None:
        barrier.wait()
        codes.append(httpx.post(f"{live_url}/auth/register", timeout=30,
                                json={"email": "same@example.com", "password": "correct horse"}).status_code)

    threads = [threading.Thread(target=register) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [201] + [409] * 15


def test_every_statement_of_a_users_requests_is_routed_to_one_shard(api, db):
    """EXPLAIN of each statement a user's requests sent (with its parameters): a statement
    on distributed tables runs as one task (one shard); a plain coordinator table is one node."""
    with captured(db) as statements:
        acceptance_run(api, api.signup("tenant@example.com"))
    fanned = [(sql, tasks) for sql, tasks in plans(db, statements) if tasks > 1]
    assert len(statements) > 30
    assert not fanned, "\n".join(f"{tasks} tasks: {sql[:300]}" for sql, tasks in fanned)


def acceptance_run(api, headers) -> None:
    """What a user does in a session: the API's contract in small."""
    api.call("GET", "/me", headers, 200)
    j, c = job(api, headers), contact(api, headers)
    o = outreach(api, headers, jobId=j["id"], contactId=c["id"])
    for due in ("overdue", "today", "upcoming"):
        api.call("GET", f"/followups?due={due}", headers, 200)
    send(api, headers, o["followup"]["id"])
    f = followup(api, headers, "2026-03-06T09:00:00Z", jobId=j["id"])
    api.call("PATCH", f"/followups/{f['id']}", headers, 200, json={"note": "n"})
    api.call("DELETE", f"/followups/{f['id']}", headers, 204)
    api.call("PATCH", f"/outreach/{o['id']}", headers, 200, json={"outcome": "POSITIVE"})
    api.call("GET", "/notifications?scope=today", headers, 200)
    api.call("GET", "/outreach", headers, 200)
    api.call("GET", "/jobs", headers, 200)
    api.call("GET", "/contacts", headers, 200)
    api.call("PATCH", f"/jobs/{j['id']}", headers, 200, json={"stage": "REJECTED"})


@contextmanager
def captured(db: Database) -> Iterator[list[tuple[str, object]]]:
    statements: list[tuple[str, object]] = []

    def capture(_conn, _cursor, statement, parameters, _context, executemany):
        if not executemany:
            statements.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)


_PLANNED = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|WITH)\b", re.IGNORECASE)


def plans(db: Database, statements) -> list[tuple[str, int]]:
    """Each data statement with the most tasks (shards) any part of its plan runs on: 1 for a
    routed statement or one on the coordinator's own tables."""
    out = []
    with db.engine.connect() as conn:
        for sql, params in statements:
            if not _PLANNED.match(sql):
                continue
            rows = conn.exec_driver_sql(f"EXPLAIN {sql}", params).scalars().all()
            tasks = [int(n) for n in re.findall(r"Task Count: (\d+)", "\n".join(rows))]
            out.append((" ".join(sql.split()), max(tasks, default=1)))
        conn.rollback()
    return out
