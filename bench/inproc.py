"""CPU per request of `GET /followups?due=today` (or, with --send, of
`PATCH /followups/{id}/send`), in process: the ASGI app called directly (no network, no
load generator), N requests, C at a time, on data from datagen.py.

    .venv/bin/python bench/inproc.py --url sqlite:///bench/.out/inproc.db --followups 100000
    .venv/bin/python bench/inproc.py --url ... --gc default     # without the lifespan's gc tuning
    .venv/bin/python bench/inproc.py --url ... --profile        # pyinstrument, one request at a time
    .venv/bin/python bench/inproc.py --url ... --send           # mark-sent, each follow-up once

For deciding between two ways of doing the same thing: the figure is this process's CPU
time per request (the database's is not in it), best of --rounds, so other work on a
shared machine disturbs it less than a req/s figure. The database named by --url is emptied.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import time

import datagen
import uvloop


async def _request(app, path: str, query: bytes, token: str, method: str = "GET") -> None:
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": query,
        "root_path": "", "headers": [(b"host", b"bench"), (b"authorization", f"Bearer {token}".encode())],
        "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80), "state": {},
    }
    status = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        if message["type"] == "http.response.start":
            status.append(message["status"])

    await app(scope, receive, send)
    assert status == [200], status


async def _run(app, token: str, n: int, concurrency: int, sends: list | None = None) -> float:
    async def worker(count: int) -> None:
        for _ in range(count):
            if sends is None:
                await _request(app, "/followups", b"due=today", token)
            else:
                sender, fid = sends.pop()
                await _request(app, f"/followups/{fid}/send", b"", sender, "PATCH")

    await worker(50)  # warm: pool, statement caches
    start = time.process_time()
    await asyncio.gather(*(worker(n // concurrency) for _ in range(concurrency)))
    return (time.process_time() - start) / (n // concurrency * concurrency)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--followups", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--gc", choices=["lifespan", "default"], default="lifespan",
                        help="lifespan: the app's start-up gc tuning, as under uvicorn")
    parser.add_argument("--profile", action="store_true", help="pyinstrument, 1 at a time")
    parser.add_argument("--send", action="store_true", help="mark-sent instead of the list")
    args = parser.parse_args()
    # Each _run warms with 50; the pool is split among 8 senders (rounded down).
    pool = args.rounds * (args.requests + 50) + 64 if args.send else 0
    meta = datagen.generate(args.url, followups=args.followups, send_pool=pool, senders=8)
    sends = list(meta.sends) if args.send else None
    os.environ["FOLLOWUPS_DATABASE_URL"] = meta.url
    from followups.app import create_app

    app = create_app()

    async def go() -> None:
        lifespan = app.router.lifespan_context(app) if args.gc == "lifespan" else None
        if lifespan:
            await lifespan.__aenter__()
        try:
            if args.profile:
                from pyinstrument import Profiler

                with Profiler(async_mode="enabled") as profiler:
                    await _run(app, meta.bench_token, args.requests, 1, sends)
                print(profiler.output_text(unicode=False, color=False, show_all=False))
                return
            best = min([await _run(app, meta.bench_token, args.requests, args.concurrency, sends)
                        for _ in range(args.rounds)])
            what = "mark-sent" if args.send else "list today"
            print(f"{meta.backend}, {what}, {meta.followups:,} follow-ups, gc {args.gc} "
                  f"(threshold {gc.get_threshold()}): {best * 1e6:,.0f} us CPU per request "
                  f"(best of {args.rounds} x {args.requests}, {args.concurrency} at a time)")
        finally:
            if lifespan:
                await lifespan.__aexit__(None, None, None)

    uvloop.run(go())


if __name__ == "__main__":
    main()
