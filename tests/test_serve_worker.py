"""`make run` sends reminders: `followups serve` runs the worker's sweeps in its own process on
the embedded SQLite default (in a thread, once however many server processes), and not on
PostgreSQL unless asked (`--with-worker`)."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from conftest import pg_url
from followups.config import Settings
from followups.db import Database
from test_cli import free_port

ROOT = Path(__file__).resolve().parents[1]
INTERVAL_S = 2.0
PASSWORD = "a long password"


def make_run_command(port: int) -> list[str]:
    """The command `make run PORT=...` runs (its install steps taken as done)."""
    done = subprocess.run(
        ["make", "-s", "-n", "-o", ".venv/.installed", "run", f"PORT={port}", f"BIN={Path(sys.executable).parent}"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )
    (line,) = done.stdout.strip().splitlines()
    return shlex.split(line)


class Served:
    def __init__(self, command: list[str], env: dict[str, str], log: Path):
        self.log = log
        self.proc = subprocess.Popen(
            command, env={**os.environ, **env}, stdout=log.open("wb"), stderr=subprocess.STDOUT)
        self.base = f"http://127.0.0.1:{command[command.index('--port') + 1]}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.base}/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert self.proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(30)


def signed_up(base: str) -> dict[str, str]:
    r = httpx.post(f"{base}/auth/register", json={"email": "me@example.com", "password": PASSWORD})
    assert r.status_code == 201, r.text
    token = httpx.post(f"{base}/auth/login", json={"email": "me@example.com", "password": PASSWORD}).json()
    return {"Authorization": f"Bearer {token['accessToken']}"}


def overdue_outreach(base: str, auth: dict[str, str]) -> None:
    """An outreach sent 10 days ago: its attempt 1 fell due a week ago."""
    job = httpx.post(f"{base}/jobs", headers=auth, json={"company": "Acme", "role": "Backend engineer"}).json()
    sent = (datetime.now(UTC) - timedelta(days=10)).isoformat()
    r = httpx.post(f"{base}/outreach", headers=auth, json={"jobId": job["id"], "channel": "EMAIL", "sentAt": sent})
    assert r.status_code == 201, r.text


def overdue_followup(base: str) -> dict[str, str]:
    """A user with an outreach sent 10 days ago: its attempt 1 fell due a week ago."""
    auth = signed_up(base)
    overdue_outreach(base, auth)
    return auth


def reminders(base: str, auth: dict[str, str]) -> list[dict]:
    return [n for n in httpx.get(f"{base}/notifications?scope=overdue", headers=auth).json()
            if n["kind"] == "followup_due"]


@contextmanager
def page_session(base: str) -> Iterator[httpx.Client]:
    """A browser's session, signed in through the page."""
    with httpx.Client(base_url=base) as browser:
        page = browser.get("/app/login").text
        token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page).group(1)
        r = browser.post("/app/login", data={"csrf_token": token, "email": "me@example.com", "password": PASSWORD})
        assert r.status_code == 303, r.text
        yield browser


def bell(browser: httpx.Client) -> int:
    """The count on the pages' bell."""
    today = browser.get("/app/today").text
    return int(re.search(r'data-testid="bell-count">(\d+)<', today).group(1))


def test_make_run_sends_the_reminder_of_a_due_followup_within_one_interval(tmp_path):
    port = free_port()
    command = make_run_command(port)
    assert command[1:] == ["serve", "--host", "127.0.0.1", "--port", str(port)]
    env = {"FOLLOWUPS_DATABASE_URL": f"sqlite:///{tmp_path / 'f.db'}", "FOLLOWUPS_WORKER_INTERVAL_S": str(INTERVAL_S)}
    server = Served(command, env, tmp_path / "serve.log")
    stack = ExitStack()
    try:
        auth = signed_up(server.base)
        # Signed in to the page first (a password check): the sweep may come any time after
        # the follow-up falls due, and the bell is read before it.
        browser = stack.enter_context(page_session(server.base))
        overdue_outreach(server.base, auth)
        assert bell(browser) == 0
        made = time.monotonic()
        while not reminders(server.base, auth):
            # One interval, plus what a sweep and a request take on a loaded machine.
            assert time.monotonic() - made < INTERVAL_S + 3, "no reminder within one worker interval"
            time.sleep(0.2)
        (reminder,) = reminders(server.base, auth)
        assert reminder["message"] == "Follow up on Acme – Backend engineer (attempt 1)"
        assert bell(browser) == 1
        # The server answers while the sweeps run: they are not on its event loop.
        assert httpx.get(f"{server.base}/health", timeout=2).status_code == 200
    finally:
        stack.close()
        code = server.stop()
    log = (tmp_path / "serve.log").read_text()
    assert code == 0, log
    assert "with the worker" in log
    assert '"message":"stopped"' in log  # the worker's thread finished cleanly on SIGTERM


def test_with_several_server_processes_the_sweeps_run_once(tmp_path):
    port = free_port()
    env = {"FOLLOWUPS_DATABASE_URL": f"sqlite:///{tmp_path / 'f.db'}", "FOLLOWUPS_WORKER_INTERVAL_S": str(INTERVAL_S)}
    command = [*make_run_command(port), "--workers", "2"]
    server = Served(command, env, tmp_path / "serve.log")
    try:
        auth = overdue_followup(server.base)
        deadline = time.monotonic() + INTERVAL_S + 5
        while not reminders(server.base, auth):
            assert time.monotonic() < deadline, "no reminder"
            time.sleep(0.2)
    finally:
        assert server.stop() == 0
    log = (tmp_path / "serve.log").read_text()
    assert log.count("worker started in the server process") == 1, log


def test_without_worker_no_reminder_is_made(tmp_path):
    """`--without-worker` (and PostgreSQL's default): the separate `followups worker` sends them."""
    port = free_port()
    env = {"FOLLOWUPS_DATABASE_URL": f"sqlite:///{tmp_path / 'f.db'}", "FOLLOWUPS_WORKER_INTERVAL_S": "0.5"}
    server = Served([*make_run_command(port), "--without-worker"], env, tmp_path / "serve.log")
    try:
        auth = overdue_followup(server.base)
        time.sleep(2)
        assert reminders(server.base, auth) == []
        worker = subprocess.run([*make_run_command(port)[:1], "worker", "--once"], env={**os.environ, **env},
                                capture_output=True, text=True, timeout=60)
        assert worker.returncode == 0, worker.stderr
        assert len(reminders(server.base, auth)) == 1
    finally:
        assert server.stop() == 0


@contextmanager
def scoped_schema(url: str, schema: str):
    """The test database's URL with a schema of its own, dropped afterwards."""
    database = Database(Settings(database_url=url))
    with database.engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in url else "?"
    try:
        yield f"{url}{sep}options=-csearch_path%3D{schema}"
    finally:
        with database.engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        database.dispose()


@pytest.mark.parametrize("flag", [None, "--with-worker"])
def test_on_postgresql_the_worker_runs_in_serve_only_when_asked(flag, tmp_path):
    url = pg_url()
    if not url:
        pytest.skip("PostgreSQL half skipped: FOLLOWUPS_TEST_POSTGRES_URL is not set")
    with scoped_schema(url, "serve_worker_test") as scoped:
        subprocess.run([make_run_command(0)[0], "db", "upgrade"], env={**os.environ, "FOLLOWUPS_DATABASE_URL": scoped},
                       check=True, capture_output=True, timeout=120)
        env = {"FOLLOWUPS_DATABASE_URL": scoped, "FOLLOWUPS_WORKER_INTERVAL_S": "0.5"}
        command = [*make_run_command(free_port()), *([flag] if flag else [])]
        server = Served(command, env, tmp_path / "serve.log")
        try:
            auth = overdue_followup(server.base)
            time.sleep(3)
            assert len(reminders(server.base, auth)) == (1 if flag else 0)
        finally:
            assert server.stop() == 0
