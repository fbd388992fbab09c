"""Failed sign-ins are limited per account (from one address) and per address across server
processes: two API processes on one PostgreSQL, or on one SQLite file, count the same
failures (table login_failure), so a second process is no way around the limit, and a
success on one clears the account's count on both. The client's address is the socket's
peer unless the peer is a proxy named in FOLLOWUPS_TRUSTED_PROXIES."""

from __future__ import annotations

import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from production import FOLLOWUPS, new_cluster, signup, start, stop, wait_for
from servers import free_port

ACCOUNT_LIMIT = 3
ADDRESS_LIMIT = 10


def login(base: str, email: str, password: str, *, source: str = "127.0.0.1",
          forwarded_for: str | None = None) -> httpx.Response:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    with httpx.Client(transport=httpx.HTTPTransport(local_address=source), timeout=60) as client:
        return client.post(f"{base}/auth/login", json={"email": email, "password": password}, headers=headers)


def serve_on_sqlite(path: Path, log: Path, procs: list, extra: dict | None = None, count: int = 1) -> list[str]:
    """`count` server processes on one SQLite file, started one after the other (the first
    migrates it); their base URLs."""
    env = {"FOLLOWUPS_DATABASE_URL": f"sqlite:///{path}", **(extra or {})}
    bases = []
    for _ in range(count):
        base = f"http://127.0.0.1:{free_port()}"
        procs.append(proc := start(["serve", "--without-worker", "--port", base.rsplit(":", 1)[1]], env, log))
        wait_for(f"{base}/ready", proc=proc)
        bases.append(base)
    return bases


def test_two_server_processes_on_one_sqlite_file_let_at_most_the_limit_through(tmp_path):
    procs: list[subprocess.Popen] = []
    try:
        a, b = serve_on_sqlite(tmp_path / "limits.db", tmp_path / "serve.log", procs, {
            "FOLLOWUPS_LOGIN_LIMIT_ACCOUNT": f"{ACCOUNT_LIMIT} per 15 minutes",
            "FOLLOWUPS_LOGIN_LIMIT_ADDRESS": "100 per 15 minutes",
        }, count=2)
        signup(a, "ada@example.com")
        # Twelve wrong guesses at once, spread over both processes: three get through.
        with ThreadPoolExecutor(12) as pool:
            codes = list(pool.map(lambda i: login((a, b)[i % 2], "ada@example.com", "wrong guess!").status_code,
                                  range(12)))
        assert sorted(codes) == [401] * ACCOUNT_LIMIT + [429] * (12 - ACCOUNT_LIMIT), codes
        for base in (a, b):
            assert login(base, "ada@example.com", "correct horse").status_code == 429
    finally:
        for proc in procs:
            if proc.poll() is None:
                stop(proc)


def test_x_forwarded_for_counts_only_from_a_trusted_proxy(tmp_path):
    limits = {"FOLLOWUPS_LOGIN_LIMIT_ACCOUNT": "100 per 15 minutes",
              "FOLLOWUPS_LOGIN_LIMIT_ADDRESS": "3 per 15 minutes"}
    procs: list[subprocess.Popen] = []
    try:
        # No proxy named (the default): a client on 127.0.0.1 forging the header is still 127.0.0.1.
        (plain,) = serve_on_sqlite(tmp_path / "plain.db", tmp_path / "serve.log", procs, limits)
        for i in range(3):
            assert login(plain, f"x{i}@example.com", "whatever1", forwarded_for=f"203.0.113.{i}").status_code == 401
        assert login(plain, "y@example.com", "whatever1", forwarded_for="203.0.113.99").status_code == 429

        # 127.0.0.1 a trusted proxy: the clients it forwards for count apart; 127.0.0.2 is not one.
        (proxied,) = serve_on_sqlite(tmp_path / "proxied.db", tmp_path / "serve.log", procs,
                                     {**limits, "FOLLOWUPS_TRUSTED_PROXIES": "127.0.0.1, ::1"})
        for i in range(3):
            assert login(proxied, f"x{i}@example.com", "whatever1", forwarded_for="203.0.113.1").status_code == 401
        assert login(proxied, "y@example.com", "whatever1", forwarded_for="203.0.113.1").status_code == 429
        assert login(proxied, "y@example.com", "whatever1", forwarded_for="203.0.113.2").status_code == 401
        for i in range(3):
            r = login(proxied, f"x{i}@example.com", "whatever1", source="127.0.0.2", forwarded_for=f"198.51.100.{i}")
            assert r.status_code == 401
        r = login(proxied, "y@example.com", "whatever1", source="127.0.0.2", forwarded_for="198.51.100.99")
        assert r.status_code == 429
    finally:
        for proc in procs:
            if proc.poll() is None:
                stop(proc)


def test_two_api_processes_share_the_failed_sign_in_limits(tmp_path):
    cluster = new_cluster()
    procs: list[subprocess.Popen] = []
    try:
        env = {
            "FOLLOWUPS_DATABASE_URL": cluster.create_database("limits"),
            "FOLLOWUPS_LOGIN_LIMIT_ACCOUNT": f"{ACCOUNT_LIMIT} per 15 minutes",
            "FOLLOWUPS_LOGIN_LIMIT_ADDRESS": f"{ADDRESS_LIMIT} per 15 minutes",
        }
        upgrade = subprocess.run([FOLLOWUPS, "db", "upgrade"], env={**os.environ, **env}, capture_output=True,
                                 text=True, timeout=120)
        assert upgrade.returncode == 0, upgrade.stderr
        a, b = (f"http://127.0.0.1:{free_port()}" for _ in range(2))
        for base in (a, b):
            procs.append(proc := start(["serve", "--port", base.rsplit(":", 1)[1]], env, tmp_path / "serve.log"))
            wait_for(f"{base}/ready", proc=proc)
        signup(a, "ada@example.com")
        signup(a, "grace@example.com")

        # Below the limit, a success on one process clears what both counted.
        assert [login(base, "ada@example.com", "wrong guess!").status_code for base in (a, b)] == [401, 401]
        assert login(b, "ada@example.com", "correct horse").status_code == 200
        assert [login(base, "ada@example.com", "wrong guess!").status_code for base in (a, b)] == [401, 401]
        assert login(a, "ada@example.com", "correct horse").status_code == 200

        # Three failures spread over both processes: the account is locked on both.
        for base in (a, b, a):
            assert login(base, "ada@example.com", "wrong guess!").status_code == 401
        for base in (b, a):
            refused = login(base, "ada@example.com", "correct horse")
            assert refused.status_code == 429, refused.text
            assert 0 < int(refused.headers["retry-after"]) <= 15 * 60
            assert "try again" in refused.json()["detail"]

        # The address: 7 failures so far, 3 more spread over both, then nobody from it signs in.
        for i, base in enumerate((b, a, b)):
            assert login(base, f"nobody{i}@example.com", "whatever1").status_code == 401
        for base in (a, b):
            assert login(base, "grace@example.com", "correct horse").status_code == 429

        # Eight wrong guesses at once from another address, over both processes: three get through.
        with ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(
                lambda i: login((a, b)[i % 2], "grace@example.com", "wrong guess!", source="127.0.0.2").status_code,
                range(8)))
        assert sorted(codes) == [401] * ACCOUNT_LIMIT + [429] * (8 - ACCOUNT_LIMIT), codes
    finally:
        for proc in procs:
            if proc.poll() is None:
                stop(proc)
        cluster.destroy()
