"""Failed sign-ins are limited per account and per address across server processes: two
API processes on one PostgreSQL count the same failures (table login_failure), so a
second process is no way around the limit, and a success on one clears the account's
count on both."""

from __future__ import annotations

import os
import subprocess

import httpx

from production import FOLLOWUPS, new_cluster, signup, start, stop, wait_for
from servers import free_port

ACCOUNT_LIMIT = 3
ADDRESS_LIMIT = 10


def login(base: str, email: str, password: str) -> httpx.Response:
    return httpx.post(f"{base}/auth/login", json={"email": email, "password": password}, timeout=30)


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
    finally:
        for proc in procs:
            if proc.poll() is None:
                stop(proc)
        cluster.destroy()
