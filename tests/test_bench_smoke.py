"""The benchmark scripts still run (on a tiny size); their numbers live in bench/RESULTS.md."""

from __future__ import annotations

import os
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


def test_instruction_counts_child_runs_on_a_tiny_size(tmp_path):
    """bench/instructions.py's counted part, without valgrind (which takes minutes): the app
    in process, the list and mark-sent, on data from datagen.py."""
    import pickle

    sys.path.insert(0, str(BENCH))
    try:
        import datagen
    finally:
        sys.path.remove(str(BENCH))
    meta = datagen.generate(f"sqlite:///{tmp_path / 'i.db'}", followups=300, send_pool=600, senders=2)
    meta_path = tmp_path / "meta.pickle"
    meta_path.write_bytes(pickle.dumps(meta))
    env = {**os.environ, "PYTHONPATH": str(BENCH)}
    for extra in ([], ["--send", "--offset", "100"]):
        out = subprocess.run(
            [sys.executable, str(BENCH / "instructions.py"), "--child", str(meta_path),
             "--requests", "8", *extra],
            capture_output=True, text=True, timeout=120, env=env,
        )
        assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]


def test_pool_checkout_benchmark_runs_a_few_round_trips(pg_database):
    url = pg_database.engine.url.render_as_string(hide_password=False)
    out = subprocess.run([sys.executable, str(BENCH / "pool_checkout.py"), "--url", url, "-n", "5"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("us CPU") == 6, out.stdout
