"""The benchmark scripts still run (on a tiny size); their numbers live in bench/RESULTS.md."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench"


def test_sweep_benchmark_runs_on_a_tiny_size(tmp_path):
    out = subprocess.run(
        [sys.executable, str(BENCH / "sweep.py"), "--url", f"sqlite:///{tmp_path / 'b.db'}",
         "--users", "3", "--due", "30", "--idle-factor", "2", "--batch", "7"],
        capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "30 due (+0 not due) swept" in out.stdout and "30 due (+60 not due) swept" in out.stdout
