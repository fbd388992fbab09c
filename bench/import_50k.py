"""Import 50,000 CSV rows into a fresh SQLite database with the real CLI, and time it.

    .venv/bin/python bench/import_50k.py [--rows 50000] [--database-url URL]

Every row is a different job with its own contact and a past outreach (the worst case:
50k jobs + 50k contacts + 50k outreach + their follow-ups), in a tracker's header
shape. Runs `followups import` as a subprocess (start-up included), then imports the
same file again (idempotent: nothing new) and prints both wall times.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

FOLLOWUPS = shutil.which("followups", path=str(Path(sys.executable).parent)) or "followups"
STATUSES = [
    "Applied",
    "Applied",
    "Applied",
    "Interviewing",
    "Phone screen",
    "Offer",
    "Rejected",
    "Ghosted",
]


def write_csv(path: Path, rows: int) -> None:
    rng = random.Random(5)
    start = date(2025, 6, 1)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "Company",
                "Job Title",
                "Job URL",
                "Status",
                "Date Applied",
                "Contact Name",
                "Contact Email",
                "Notes",
            ]
        )
        for i in range(rows):
            applied = start + timedelta(days=rng.randrange(0, 240))
            w.writerow(
                [
                    f"Company {i // 3}",
                    f"Engineer {i % 3}",
                    f"https://jobs.example/{i}",
                    rng.choice(STATUSES),
                    applied.isoformat()
                    if i % 2
                    else f"{applied.month}/{applied.day}/{applied.year}",
                    f"Person {i}",
                    f"person{i}@company{i // 3}.example",
                    'Applied online, "quick" note' if i % 4 == 0 else "",
                ]
            )


def run(args: list[str], env: dict, stdin: str | None = None) -> tuple[float, str]:
    t0 = time.perf_counter()
    out = subprocess.run([FOLLOWUPS, *args], env=env, input=stdin, capture_output=True, text=True)
    took = time.perf_counter() - t0
    if out.returncode != 0:
        sys.exit(f"followups {' '.join(args)} failed: {out.stderr}")
    return took, out.stdout


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument(
        "--database-url", help="default: a fresh SQLite file in a temporary directory"
    )
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data = work / "tracker.csv"
        write_csv(data, opts.rows)
        env = {
            **os.environ,
            "FOLLOWUPS_DATABASE_URL": opts.database_url or f"sqlite:///{work / 'bench.db'}",
        }
        env.pop("FOLLOWUPS_USER", None)
        if opts.database_url:  # PostgreSQL: an empty database of its own, migrated here
            run(["db", "upgrade"], env)
        run(["user", "add", "bench@example.com", "--password-stdin"], env, "a long password\n")
        first, out = run(["import", str(data), "--json"], env)
        summary = json.loads(out)
        again, out2 = run(["import", str(data), "--json"], env)
        summary2 = json.loads(out2)
        assert summary2["jobs"]["added"] == summary2["outreach"]["added"] == 0, summary2
        print(f"rows: {opts.rows} ({data.stat().st_size / 1e6:.1f} MB)")
        print(
            f"first import:  {first:.1f} s  (jobs {summary['jobs']['added']}, contacts "
            f"{summary['contacts']['added']}, outreach {summary['outreach']['added']}, "
            f"follow-ups {summary['followupsScheduled']})"
        )
        print(f"second import: {again:.1f} s  (nothing new: idempotent)")


if __name__ == "__main__":
    main()
