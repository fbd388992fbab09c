"""Processes: `followups serve --workers N` finishes the requests in flight on SIGTERM and
exits 0; the API and the worker start and stop in any order, before or after migrations."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import create_engine, text

from followups.migrate import MIGRATIONS
from production import FOLLOWUPS, new_cluster, signup, start, stop, wait_for
from servers import free_port


def _json_lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]


def test_serve_workers_finishes_a_slow_upload_in_flight_on_sigterm_and_exits_0(tmp_path):
    db_file = tmp_path / "followups.db"
    env = {"FOLLOWUPS_DATABASE_URL": f"sqlite:///{db_file}"}
    port, log = free_port(), tmp_path / "serve.log"
    server = start(["serve", "--workers", "2", "--port", str(port)], env, log)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(f"{base}/ready", proc=server)
        headers = signup(base, "slow@example.com")
        body = ('{"company": "Slow upload",' + " " * 2000 + '"role": "Engineer"}').encode()
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(
                f"POST /jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                f"Authorization: {headers['Authorization']}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                + body[:100])
            time.sleep(0.5)  # the request is in a server process, its body half read
            server.send_signal(signal.SIGTERM)
            for i in range(100, len(body), 400):  # the rest of the body, slowly, during the shutdown
                time.sleep(0.1)
                sock.sendall(body[i:i + 400])
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 201 "), answer[:300]
        assert server.wait(30) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    engine = create_engine(f"sqlite:///{db_file}")
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM job WHERE company = 'Slow upload'")) == 1
    engine.dispose()
    lines = _json_lines(log)
    # The embedded database was migrated once, by the command, not by each of the 2 processes.
    migrations = len(list((MIGRATIONS / "versions").glob("*.py")))
    assert sum(line["message"].startswith("Running upgrade") for line in lines) == migrations
    # JSON log lines; our access line of the upload (route template, no body) came after the SIGTERM.
    term = next(i for i, line in enumerate(lines) if "SIGTERM" in line["message"])
    [access] = [i for i, line in enumerate(lines)
                if line["name"] == "followups.access" and line.get("route") == "/jobs" and line["status"] == 201]
    assert term < access


def test_api_and_worker_start_and_stop_in_any_order_on_a_fresh_postgres_database(tmp_path):
    cluster = new_cluster()
    procs: list[subprocess.Popen] = []
    try:
        url = cluster.create_database("fresh")
        env = {"FOLLOWUPS_DATABASE_URL": url, "FOLLOWUPS_WORKER_INTERVAL_S": "0.2"}
        log = tmp_path / "processes.log"
        # A worker first, on a database without any table yet: it waits.
        procs.append(worker := start(["worker"], env, log))
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        procs.append(api := start(["serve", "--port", str(port)], env, log))
        wait_for(f"{base}/health", proc=api)
        r = httpx.get(f"{base}/ready")
        assert (r.status_code, r.json()) == (503, {"status": "migrations pending"})
        assert worker.poll() is None, "the worker must wait for the schema, not crash"

        subprocess.run([FOLLOWUPS, "db", "upgrade"], env={**os.environ, **env}, check=True,
                       capture_output=True, timeout=120)
        assert wait_for(f"{base}/ready").json() == {"status": "ready"}
        headers = signup(base, "order@example.com")

        def due_outreach(company: str) -> str:
            with httpx.Client(base_url=base, headers=headers, timeout=30) as c:
                job = c.post("/jobs", json={"company": company, "role": "Engineer"}).json()
                sent = (datetime.now(UTC) - timedelta(days=5)).isoformat()
                r = c.post("/outreach", json={"jobId": job["id"], "channel": "EMAIL", "sentAt": sent})
                assert r.status_code == 201, r.text
                return r.json()["followup"]["id"]

        def reminded(followup_id: str, timeout: float = 30) -> None:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                r = httpx.get(f"{base}/notifications?scope=overdue", headers=headers, timeout=10)
                if any(n["followupId"] == followup_id for n in r.json()):
                    return
                time.sleep(0.2)
            raise AssertionError(f"no reminder for {followup_id} within {timeout} s")

        # Worker started before the API (and before the migration): it reminds.
        reminded(due_outreach("Acme"))
        assert stop(worker) == 0  # the worker leaves; the API keeps serving
        assert httpx.get(f"{base}/followups?due=overdue", headers=headers).status_code == 200

        # A worker started after the API reminds what fell due meanwhile.
        second = due_outreach("Globex")
        procs.append(worker2 := start(["worker"], env, log))
        reminded(second)
        assert stop(api) == 0  # the API leaves first this time
        assert worker2.poll() is None
        assert stop(worker2) == 0
        lines = _json_lines(log)
        assert any(line["name"] == "followups.worker" and "waiting for the database" in line["message"]
                   for line in lines)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        cluster.destroy()
