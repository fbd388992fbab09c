"""Helpers of the production tests (tests/test_production_*.py): real processes, private
PostgreSQL clusters (bench/pgcluster.py) and PgBouncer on loopback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from pgautofailover import pg_autoctl  # noqa: E402
from pgcluster import Cluster, server_bin  # noqa: E402

FOLLOWUPS = shutil.which("followups", path=str(Path(sys.executable).parent)) or "followups"


def require_postgres_server() -> None:
    """Outside CI a machine without the PostgreSQL server skips (saying so); in CI it fails."""
    if server_bin() is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have the PostgreSQL server binaries", pytrace=False)
        pytest.skip("PostgreSQL part skipped: no PostgreSQL server binaries installed")


def require_pg_auto_failover() -> None:
    """Runs where the PostgreSQL tests run (CI sets their URL, and .ci/run installs the tools);
    skipped, saying why, only without that URL."""
    if not os.environ.get("FOLLOWUPS_TEST_POSTGRES_URL") and not os.environ.get("CI"):
        pytest.skip("pg_auto_failover part skipped: FOLLOWUPS_TEST_POSTGRES_URL is not set "
                    "(make test in CI sets it)")
    require_postgres_server()
    if pg_autoctl() is None:
        pytest.fail("pg_autoctl is missing: apt-get install pg-auto-failover-cli "
                    "postgresql-<version>-auto-failover", pytrace=False)


def new_cluster() -> Cluster:
    require_postgres_server()
    cluster = Cluster().init()
    cluster.start()
    return cluster


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """`followups ARGS` as a process of its own, stderr (JSON log lines) into `log`."""
    with log.open("ab") as err:
        return subprocess.Popen([FOLLOWUPS, *args], env={**os.environ, **env},
                                stdout=subprocess.DEVNULL, stderr=err)


def wait_for(url: str, status: int = 200, timeout: float = 60, proc: subprocess.Popen | None = None) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        try:
            r = httpx.get(url, timeout=2)
            if r.status_code == status:
                return r
        except httpx.TransportError:
            pass
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the process exited with {proc.returncode} before {url} answered {status}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} did not answer {status} within {timeout} s")
        time.sleep(0.1)


def stop(proc: subprocess.Popen, timeout: float = 30) -> int:
    """SIGTERM, then the exit code (a process that does not exit in time is killed and fails)."""
    proc.terminate()
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError(f"no exit within {timeout} s of SIGTERM") from None


def signup(base: str, email: str) -> dict[str, str]:
    with httpx.Client(base_url=base, timeout=30) as client:
        r = client.post("/auth/register", json={"email": email, "password": "correct horse", "timezone": "UTC"})
        assert r.status_code == 201, r.text
        r = client.post("/auth/login", json={"email": email, "password": "correct horse"})
        assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['accessToken']}"}
