"""Behind PgBouncer in transaction pooling (Debian's pgbouncer, started here on loopback):
the concurrency race and a short mixed load, zero errors, every ledger check passing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from conftest import serving
from followups.app import create_app
from followups.config import Settings
from followups.db import Database, make_engine
from followups.migrate import upgrade
from followups.models import FollowUp, Notification
from production import new_cluster, signup
from test_concurrency import RACERS, race

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from load import run  # noqa: E402
from pgcluster import PgBouncer, pgbouncer_bin  # noqa: E402


def _require_pgbouncer() -> None:
    """Missing and root (CI runs `make test` as root): install Debian's package, as .ci/run does."""
    if pgbouncer_bin() is None and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for cmd in (["apt-get", "install", "-y", "-qq", "pgbouncer"], ["apt-get", "update", "-qq"],
                    ["apt-get", "install", "-y", "-qq", "pgbouncer"]):
            if subprocess.run(cmd, capture_output=True, timeout=600, env=env).returncode == 0 and "install" in cmd:
                break
    if pgbouncer_bin() is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have pgbouncer (apt-get install pgbouncer)", pytrace=False)
        pytest.skip("PgBouncer part skipped: pgbouncer is not installed (apt-get install pgbouncer)")


@pytest.fixture(scope="module")
def cluster():
    _require_pgbouncer()
    c = new_cluster()
    yield c
    c.destroy()


@pytest.fixture(scope="module")
def bouncer(cluster):
    b = PgBouncer(cluster, pool_mode="transaction", pool_size=4).start()
    yield b
    b.stop()


def test_the_setting_turns_off_prepared_statements_that_transaction_pooling_breaks(cluster):
    # One server connection behind the pooler: two clients take turns on it, one transaction each.
    one = PgBouncer(cluster, pool_mode="transaction", pool_size=1).start()
    try:
        outcome = {}
        for setting in (False, True):
            engine = make_engine(Settings(database_url=one.url, db_pgbouncer=setting))
            try:
                with engine.connect() as a, engine.connect() as b:
                    for conn in (a, b):  # psycopg prepares a query from its 6th run on, as _pg3_0
                        for i in range(8):
                            conn.execute(text("SELECT 1 + :i"), {"i": i})
                            conn.commit()
                outcome[setting] = "ok"
            except DBAPIError as exc:
                outcome[setting] = type(exc.orig).__name__
            finally:
                engine.dispose()
    finally:
        one.stop()
    assert outcome[False] != "ok"  # e.g. DuplicatePreparedStatement: b prepares what a left on the server
    assert outcome[True] == "ok"


@pytest.fixture
def live(cluster, bouncer):
    settings = Settings(database_url=bouncer.url_for(cluster_db(cluster, "race")), db_pgbouncer=True)
    database = Database(settings)
    upgrade(database.engine)  # migrations through the pooler too
    app = create_app(settings, db=database, migrate=False)
    with serving(app) as url:
        yield url, database
    database.dispose()


def cluster_db(cluster, name: str) -> str:
    if not cluster.sql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'"):
        cluster.create_database(name)
    return name


def test_twenty_concurrent_sends_through_pgbouncer_make_one_next_attempt(live):
    url, database = live
    with database.engine.connect() as conn:
        assert conn.connection.dbapi_connection.prepare_threshold is None
    headers = signup(url, "race@example.com")
    with httpx.Client(base_url=url, headers=headers, timeout=30) as c:
        job = c.post("/jobs", json={"company": "Acme", "role": "Engineer"}).json()
        first = c.post("/outreach", json={"jobId": job["id"], "channel": "EMAIL"}).json()["followup"]
        assert race(url, "PATCH", f"/followups/{first['id']}/send", headers) == [200] + [409] * (RACERS - 1)
        [second] = c.get("/followups?due=upcoming").json()
        assert second["attemptNo"] == 2
        assert race(url, "PATCH", f"/followups/{second['id']}/send", headers) == [200] + [409] * (RACERS - 1)
        assert race(url, "GET", "/followups?due=upcoming", headers) == [200] * RACERS
    with database.transaction(write=False) as s:
        assert s.scalar(select(func.count()).select_from(FollowUp)) == 2
        assert s.scalar(select(func.count()).select_from(Notification)) == 1


def test_mixed_load_through_pgbouncer_loses_nothing(cluster, bouncer, monkeypatch):
    monkeypatch.setenv("FOLLOWUPS_DB_PGBOUNCER", "true")  # the servers and workers run with it too
    result = run(bouncer.url_for(cluster_db(cluster, "load")), seconds=5, threads=6, users=12, workers=2,
                 worker_processes=1)
    assert result["errors"] == 0, result["statuses"]
    assert result["problems"] == []
    assert result["worker_exit_codes"] == [0]
    assert result["acked"]["outreach"] > 20 and result["acked"]["sent"] > 5
