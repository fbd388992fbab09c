"""Instructions per request, counted by valgrind (callgrind): the one figure on a shared
machine that other work does not move. For deciding whether a change makes a request
cheaper when wall-clock and CPU-time figures swing by more than the change (bench/RESULTS.md).

    .venv/bin/python bench/instructions.py --url postgresql+psycopg://postgres@127.0.0.1:5432/followups_inproc
    .venv/bin/python bench/instructions.py --url ... --send                # mark-sent instead of the list
    .venv/bin/python bench/instructions.py --url ... --before-src <dir>/src  # that tree beside this one

The app is called in process (bench/inproc.py's requests: no network, no load generator),
on data from datagen.py. Each tree runs twice under callgrind, with --requests and with
twice as many; the difference over the extra requests is the figure, so start-up and
imports cancel out. User-space instructions of this process only: the kernel's work for
its system calls and the database's work are not in it (a round trip saved shows in CPU
time, not here). Needs valgrind (apt-get install -y valgrind). The database named by --url
is emptied. About a minute per run; the two runs of a tree go side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import pickle
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import datagen

BENCH = Path(__file__).resolve().parent
SRC = BENCH.parent / "src"
WARM = 16


def child(meta_path: str, requests: int, offset: int, send: bool) -> None:
    """Under valgrind: the app, WARM requests one at a time, then `requests` 8 at a time
    (mark-sent: from the follow-ups to send at `offset` on)."""
    import inproc

    meta = pickle.loads(Path(meta_path).read_bytes())
    os.environ["FOLLOWUPS_DATABASE_URL"] = meta.url
    from followups.app import create_app

    app = create_app()
    # inproc._run warms with 50 more of its own each call.
    sends = list(meta.sends[offset:offset + requests + WARM + 100]) if send else None

    async def go() -> None:
        lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        await inproc._run(app, meta.bench_token, WARM, 1, sends)
        await inproc._run(app, meta.bench_token, requests, 8, sends)
        await lifespan.__aexit__(None, None, None)

    asyncio.run(go())


def _count(src: Path, meta_path: Path, requests: int, offset: int, send: bool) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(src), str(BENCH)])}
    return subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, __file__,
         "--child", str(meta_path), "--requests", str(requests), "--offset", str(offset),
         *(["--send"] if send else [])],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def _collected(proc: subprocess.Popen) -> int:
    out, _ = proc.communicate()
    found = re.search(r"Collected : (\d+)", out)
    if proc.returncode != 0 or found is None:
        sys.exit(f"a counted run failed (exit {proc.returncode}):\n{out[-3000:]}")
    return int(found.group(1))


def per_request(src: Path, meta_path: Path, requests: int, offset: int, send: bool) -> float:
    """Instructions per request of the tree at `src`: runs of N and 2N requests, side by side."""
    small = _count(src, meta_path, requests, offset, send)
    large = _count(src, meta_path, 2 * requests, offset + requests + WARM + 200, send)
    return (_collected(large) - _collected(small)) / requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="the database (emptied)")
    parser.add_argument("--followups", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=100, help="N: runs of N and 2N requests")
    parser.add_argument("--send", action="store_true", help="mark-sent instead of the list")
    parser.add_argument("--before-src", help="also count this copy of src/ (before/after)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--offset", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.requests, args.offset, args.send)
        return
    if not args.url:
        parser.error("--url is required")
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed: apt-get install -y valgrind")
    # Each counted run takes its own follow-ups to send (each is sent once).
    trees = [("before", Path(args.before_src))] if args.before_src else []
    trees.append(("this", SRC))
    per_run = 3 * args.requests + 2 * (WARM + 200)
    pool = per_run * len(trees) if args.send else 0
    meta = datagen.generate(args.url, followups=args.followups, send_pool=pool, senders=8)
    what = "mark-sent" if args.send else "list today"
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        meta_path = Path(tmp) / "meta.pickle"
        meta_path.write_bytes(pickle.dumps(meta))
        for i, (name, src) in enumerate(trees):
            results[name] = per_request(src, meta_path, args.requests, i * per_run, args.send)
            print(f"{name:6} {what}, {meta.backend}, {meta.followups:,} follow-ups: "
                  f"{results[name] / 1e6:.3f} M instructions per request ({src})", flush=True)
    if "before" in results:
        print(f"this / before: {results['this'] / results['before']:.3f}")


if __name__ == "__main__":
    main()
