"""The commands a user runs: `followups serve` and `followups db upgrade`, as real processes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time

import httpx
import pytest
from sqlalchemy import text

from cli_helpers import FOLLOWUPS
from conftest import pg_url
from followups.config import Settings
from followups.db import Database
from followups.migrate import is_at_head


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_migrates_the_embedded_default_and_answers(tmp_path):
    port = free_port()
    env = {**os.environ, "FOLLOWUPS_DATABASE_URL": f"sqlite:///{tmp_path / 'data' / 'f.db'}"}
    proc = subprocess.Popen([FOLLOWUPS, "serve", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read().decode()
            time.sleep(0.1)
        r = httpx.post(f"{base}/auth/register", json={"email": "cli@example.com", "password": "12345678"})
        assert r.status_code == 201
        assert httpx.get(f"{base}/openapi.json").json()["info"]["title"] == "followups"
        assert httpx.get(f"{base}/docs").status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
    assert (tmp_path / "data" / "f.db").exists()


def test_db_upgrade_on_postgresql():
    url = pg_url()
    if not url:
        pytest.skip("PostgreSQL half skipped: FOLLOWUPS_TEST_POSTGRES_URL is not set")
    database = Database(Settings(database_url=url))
    schema = "cli_upgrade_test"
    with database.engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in url else "?"
    scoped = f"{url}{sep}options=-csearch_path%3D{schema}"
    try:
        out = subprocess.run([FOLLOWUPS, "db", "upgrade"], env={**os.environ, "FOLLOWUPS_DATABASE_URL": scoped},
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        scoped_db = Database(Settings(database_url=scoped))
        assert is_at_head(scoped_db.engine)
        with scoped_db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM follow_up")).scalar() == 0
        scoped_db.dispose()
    finally:
        with database.engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        database.dispose()


def test_unknown_command_is_one_clear_line(tmp_path):
    out = subprocess.run([FOLLOWUPS, "nonsense"], capture_output=True, text=True, timeout=30)
    assert out.returncode != 0 and "Traceback" not in out.stderr
