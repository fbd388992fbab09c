"""The HTTP benchmark still runs end to end on a tiny size: data generator, real uvicorn
servers (the API and the raw ASGI app, its list and its mark-sent), every measurement,
the plot. No wrk: --smoke drives the servers with a short sequential Python loop. Figures
are not judged here; they live in bench/RESULTS.md (make bench)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
SCHEMA = "bench_smoke"  # PostgreSQL: beside the test tables, never in their schema


def _perf(tmp_path: Path, *args: str) -> dict:
    out = subprocess.run(
        [sys.executable, str(BENCH / "perf.py"), "--smoke", "--plot", str(tmp_path / "scaling.png"),
         "--json", str(tmp_path / "perf.json"), *args],
        capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return {"stdout": out.stdout, **json.loads((tmp_path / "perf.json").read_text())}


def test_perf_benchmark_runs_on_sqlite(tmp_path):
    result = _perf(tmp_path, "--sqlite-url", f"sqlite:///{tmp_path / 'b.db'}")
    sqlite = result["figures"]["sqlite"]
    assert sqlite["api"]["loaded"]["requests"] > 0
    assert sqlite["api"]["loaded"]["errors"] == sqlite["api"]["loaded"]["non2xx"] == 0
    assert "sqlite_rps" in result["stdout"]


def test_perf_benchmark_runs_on_postgresql(tmp_path):
    url = os.environ.get("FOLLOWUPS_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("FOLLOWUPS_TEST_POSTGRES_URL is not set")
    try:
        result = _perf(tmp_path, "--pg-url", url, "--pg-schema", SCHEMA)
    finally:
        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"),
                             autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    figures = result["figures"]
    assert "raw app answers the same JSON bytes as the API: True" in result["stdout"]
    assert [s["followups"] for s in figures["scaling"]] == sorted(s["followups"] for s in figures["scaling"])
    for name in ("list", "unloaded", "paced", "send"):
        assert figures[name], name
    assert set(figures["paced"]) == {"raw", "api"}  # the API's tail beside the limit's, at one rate
    for case in ("ahead", "reminded"):  # sent ahead of the reminder, and cancelling it
        for name in ("api", "raw"):  # and the limit: the raw app's send
            send = figures["send"][case][name]
            assert send["requests"] > 0 and send["non2xx"] == 0 and send["errors"] == 0, (case, name)
    assert "the raw app's mark-sent answers what the API then shows for that follow-up: True" in result["stdout"]
    assert "each cancelling its reminder (" in result["stdout"]
    assert (tmp_path / "scaling.png").stat().st_size > 1000
