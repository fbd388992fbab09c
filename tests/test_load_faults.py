"""Load with faults, end to end: real servers (2 processes), real workers killed again and
again, and on PostgreSQL a crash (`pg_ctl -m immediate`) in the middle; afterwards every
acknowledged write is in the database and every cadence invariant holds."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from load import run  # noqa: E402
from pgcluster import Cluster, server_bin  # noqa: E402


@pytest.fixture
def cluster():
    if server_bin() is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have the PostgreSQL server binaries", pytrace=False)
        pytest.skip("PostgreSQL half skipped: no PostgreSQL server binaries installed")
    c = Cluster().init()
    c.start()
    yield c
    c.destroy()


def test_postgres_crash_under_load_loses_no_acknowledged_write(cluster):
    result = run(cluster.url, seconds=9, threads=8, users=16, workers=2, fault=cluster,
                 fault_at=0.3, down_s=1.5, chaos=True)
    assert result["problems"] == []
    assert result["acked"]["outreach"] > 50 and result["acked"]["sent"] > 20
    # While the database was down: 503s only, each answered within 3 s; none 10 s after.
    assert set(result["error_kinds"]) <= {"list 503", "outreach 503", "send 503", "snooze 503"}
    assert result["errors"] > 0, "the outage was not noticed"
    assert result["errors_outside_outage"] == [] and result["slow_errors"] == []
    assert result["recovered_after_s"] <= 10
    assert result["worker_kills"] >= 3


def test_sqlite_server_and_workers_write_at_once_without_locking_errors(tmp_path):
    result = run(f"sqlite:///{tmp_path / 'load.db'}", seconds=6, threads=8, users=16, workers=2, chaos=True)
    assert result["errors"] == 0, result["statuses"]
    assert result["problems"] == []
    assert result["acked"]["outreach"] > 30
