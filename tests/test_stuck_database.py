"""A stuck database never stalls the server: a table locked by another connection (as a
migration's LOCK TABLE), PostgreSQL frozen (SIGSTOP: its own timeouts never fire), the
pool exhausted, SQLite's write lock held. The request that needs it answers 503 with
Retry-After within the bound (the settings, made short here); /health and routes that do not
need it answer at once; once the database is back, so is the service.

A real server (uvicorn, in a thread) on a private PostgreSQL cluster (bench/pgcluster.py),
which is frozen and thawed here without touching anyone else's."""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx
import psycopg
import pytest

from conftest import serving
from followups.app import create_app
from followups.config import Settings
from followups.db import make_engine
from followups.migrate import upgrade
from production import new_cluster

# The bounds, short: a lock wait, a statement, the client's deadline on each wait, a connect.
BOUNDS = {"db_lock_timeout_s": 1.0, "db_statement_timeout_s": 2.0, "db_deadline_s": 2.0, "db_connect_timeout_s": 2}
AT_ONCE_S = 0.5


@pytest.fixture(scope="module")
def cluster():
    c = new_cluster()
    yield c
    c.destroy()


def _migrated(settings: Settings) -> Settings:
    engine = make_engine(settings)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    return settings


@contextmanager
def _server(settings: Settings):
    app = create_app(settings, migrate=False)
    with serving(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield app, client


def _signed_up(client: httpx.Client, email: str) -> dict:
    r = client.post("/auth/register", json={"email": email, "password": "correct horse", "timezone": "UTC"})
    assert r.status_code == 201, r.text
    r = client.post("/auth/login", json={"email": email, "password": "correct horse"})
    headers = {"Authorization": f"Bearer {r.json()['accessToken']}"}
    assert client.post("/jobs", json={"company": "Acme", "role": "Engineer"}, headers=headers).status_code == 201
    return headers


def _due_now(client: httpx.Client, headers: dict) -> str:
    job = client.get("/jobs", headers=headers).json()[0]
    r = client.post("/followups", json={"jobId": job["id"], "dueAt": "2020-01-01T09:00:00Z"}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _timed(client: httpx.Client, method: str, path: str, headers: dict | None = None) -> tuple[httpx.Response, float]:
    start = time.monotonic()
    r = client.request(method, path, headers=headers)
    return r, time.monotonic() - start


def _while_stuck(client: httpx.Client, stuck: tuple[str, str], headers: dict) -> tuple[tuple, list[tuple]]:
    """The stuck request, and meanwhile /health and GET /jobs (which needs the database but
    not the stuck table) from other connections: (response, seconds) each."""
    with ThreadPoolExecutor(3) as pool:
        waiting = pool.submit(_timed, client, *stuck, headers)
        time.sleep(0.3)  # it is waiting on the database now
        others = [pool.submit(_timed, client, "GET", "/health"), pool.submit(_timed, client, "GET", "/jobs", headers)]
        return waiting.result(), [o.result() for o in others]


def _assert_503(r: httpx.Response, seconds: float, bound: float) -> None:
    assert r.status_code == 503, r.text
    assert r.headers["Retry-After"] == "1"
    assert r.json()["error"] == "ServiceUnavailable"
    assert seconds < bound, f"answered after {seconds:.1f} s"


def test_a_locked_table_is_a_503_within_the_lock_timeout_and_nothing_else_waits(cluster):
    settings = _migrated(Settings(database_url=cluster.url, **BOUNDS))
    with _server(settings) as (_app, client):
        headers = _signed_up(client, "locked@example.com")
        fid = _due_now(client, headers)
        with psycopg.connect(cluster.dsn()) as migration:
            migration.execute("LOCK TABLE follow_up IN ACCESS EXCLUSIVE MODE")  # held until the block ends
            for stuck in (("GET", "/followups?due=overdue"), ("PATCH", f"/followups/{fid}/send")):
                (r, seconds), others = _while_stuck(client, stuck, headers)
                _assert_503(r, seconds, BOUNDS["db_lock_timeout_s"] + 1.0)
                for other, other_s in others:
                    assert other.status_code == 200 and other_s < AT_ONCE_S, (other.request.url, other_s)
        # The lock released: served again, and the refused send wrote nothing.
        listed = client.get("/followups?due=overdue", headers=headers)
        assert listed.status_code == 200 and [f["id"] for f in listed.json()] == [fid]
        assert client.patch(f"/followups/{fid}/send", headers=headers).status_code == 200


def _cluster_pids(cluster) -> list[int]:
    postmaster = int((Path(cluster.data) / "postmaster.pid").read_text().split()[0])
    children = [int(c) for task in Path(f"/proc/{postmaster}/task").iterdir()
                for c in (task / "children").read_text().split()]
    return [postmaster, *children]


@contextmanager
def _frozen(cluster):
    pids = _cluster_pids(cluster)
    try:
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        yield
    finally:
        for pid in pids:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)


def test_a_frozen_server_is_a_503_within_the_deadline_and_the_server_answers_meanwhile(cluster):
    settings = _migrated(Settings(database_url=cluster.url, **BOUNDS))
    with _server(settings) as (_app, client):
        headers = _signed_up(client, "frozen@example.com")
        fid = _due_now(client, headers)
        # Waits that only the client can end: a pooled connection's statement (deadline), or
        # a new connection's start-up (connect timeout) when the pooled one is found dead.
        bound = BOUNDS["db_deadline_s"] + BOUNDS["db_connect_timeout_s"] + 1.0
        with _frozen(cluster):
            for stuck in (("GET", "/followups?due=overdue"), ("PATCH", f"/followups/{fid}/send")):
                with ThreadPoolExecutor(2) as pool:
                    waiting = pool.submit(_timed, client, *stuck, headers)
                    time.sleep(0.3)
                    health, health_s = _timed(client, "GET", "/health")
                    r, seconds = waiting.result()
                assert health.status_code == 200 and health_s < AT_ONCE_S, health_s
                _assert_503(r, seconds, bound)
        # Thawed: the broken connections are replaced and the requests served.
        deadline = time.monotonic() + 10
        while (listed := client.get("/followups?due=overdue", headers=headers)).status_code != 200:
            assert time.monotonic() < deadline, listed.text
            time.sleep(0.2)
        if [f["id"] for f in listed.json()] == [fid]:  # the send may have committed before the 503
            assert client.patch(f"/followups/{fid}/send", headers=headers).status_code == 200


def test_an_exhausted_pool_is_a_503_within_the_pool_timeout(cluster):
    settings = _migrated(Settings(database_url=cluster.url, db_pool_size=1, db_max_overflow=0,
                                  db_pool_timeout_s=1.0, **BOUNDS))
    with _server(settings) as (app, client):
        headers = _signed_up(client, "pool@example.com")
        with app.state.db.engine.connect():  # the pool's one connection, held
            r, seconds = _timed(client, "GET", "/jobs", headers)
            _assert_503(r, seconds, settings.db_pool_timeout_s + 1.0)
            assert r.json()["detail"] == "The server is busy; try again shortly."
            health, health_s = _timed(client, "GET", "/health")
            assert health.status_code == 200 and health_s < AT_ONCE_S
        assert client.get("/jobs", headers=headers).status_code == 200


def test_an_exhausted_pool_of_the_event_loop_is_a_503_within_the_pool_timeout(cluster):
    """The list's own pool (followups.api.hot), of one connection, held by a list that waits
    for a locked table: the next list waits for a connection up to the pool's timeout."""
    settings = _migrated(Settings(database_url=cluster.url, db_pool_size=1, db_max_overflow=0,
                                  db_pool_timeout_s=1.0, **{**BOUNDS, "db_lock_timeout_s": 4.0}))
    with _server(settings) as (_app, client):
        headers = _signed_up(client, "hotpool@example.com")
        assert client.get("/followups?due=today", headers=headers).status_code == 200
        with psycopg.connect(cluster.dsn()) as holder, ThreadPoolExecutor(2) as pool:
            holder.execute("LOCK TABLE follow_up IN ACCESS EXCLUSIVE MODE")
            waiting = pool.submit(_timed, client, "GET", "/followups?due=today", headers)
            time.sleep(0.3)  # it holds the pool's one connection now, waiting for the lock
            r, seconds = _timed(client, "GET", "/followups?due=overdue", headers)
            _assert_503(r, seconds, settings.db_pool_timeout_s + 1.0)
            assert r.json()["detail"] == "The server is busy; try again shortly."
            health, health_s = _timed(client, "GET", "/health")
            assert health.status_code == 200 and health_s < AT_ONCE_S
            holder.rollback()
            assert waiting.result()[0].status_code == 200
        assert client.get("/followups?due=today", headers=headers).status_code == 200


def test_sqlite_write_lock_held_is_a_503_for_writes_and_reads_answer_at_once(tmp_path):
    path = tmp_path / "stuck.db"
    settings = Settings(database_url=f"sqlite:///{path}", sqlite_busy_timeout_ms=1000)
    app = create_app(settings)  # migrates the embedded default
    with serving(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        headers = _signed_up(client, "sqlite@example.com")
        fid = _due_now(client, headers)
        other = sqlite3.connect(path, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")  # another process's write transaction, held
            with ThreadPoolExecutor(3) as pool:
                sending = pool.submit(_timed, client, "PATCH", f"/followups/{fid}/send", headers)
                time.sleep(0.3)
                reads = [pool.submit(_timed, client, "GET", path_, headers)
                         for path_ in ("/health", "/followups?due=overdue")]
                r, seconds = sending.result()
                for read, read_s in (f.result() for f in reads):
                    assert read.status_code == 200 and read_s < AT_ONCE_S, (read.request.url, read_s)
            _assert_503(r, seconds, settings.sqlite_busy_timeout_ms / 1000 + 1.0)
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert client.patch(f"/followups/{fid}/send", headers=headers).status_code == 200
