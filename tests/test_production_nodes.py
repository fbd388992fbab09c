"""Several nodes: two API processes and two workers on one PostgreSQL, the mixed load
spread over both APIs (a user's write on one is read back through the other); afterwards
every invariant holds: no acknowledged write lost, at most one open follow-up per chain,
every sent attempt followed by its next one, one reminder per due follow-up, none twice."""

from __future__ import annotations

import sys
from pathlib import Path

from production import new_cluster

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from load import run  # noqa: E402


def test_two_apis_and_two_workers_on_one_postgres_keep_every_invariant():
    cluster = new_cluster()
    try:
        result = run(cluster.url, seconds=6, threads=8, users=16, workers=1, servers=2, worker_processes=2)
    finally:
        cluster.destroy()
    assert result["errors"] == 0, result["statuses"]
    assert result["problems"] == []
    assert result["worker_exit_codes"] == [0, 0]  # SIGTERM: both finished their batch and left
    assert len(result["by_server"]) == 2 and min(result["by_server"].values()) > 50, result["by_server"]
    assert result["acked"]["outreach"] > 30 and result["acked"]["sent"] > 10
