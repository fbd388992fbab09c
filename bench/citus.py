"""The app on Citus beside plain PostgreSQL, on one machine, in one run (issue 23).

    .venv/bin/python bench/citus.py --citus-url postgresql+psycopg://postgres@127.0.0.1:PORT/followups_bench \
        --pg-url postgresql+psycopg://postgres@127.0.0.1:5432/followups_citus_bench

The Citus URL names a coordinator's database (CREATE EXTENSION citus done, workers
added). Both databases are emptied, migrated, and the Citus one distributed with
`followups db distribute`'s function.

1. Routing: an acceptance-style session of one user (register, sign in, jobs, contacts,
   outreach, the three lists, mark-sent, edits, notifications, the calendar address) and
   one worker sweep, in process; each statement sent is EXPLAINed with its parameters on
   the coordinator and counted as routed (one shard), on the coordinator alone (its plain
   tables), or fanned out (several shards), per request.
2. Mark-sent throughput: `PATCH /followups/{id}/send` with wrk (perf.py's driver) on a
   `followups serve --workers 2`-style server of each database, for one user (1
   connection) and eight users at once (8 connections), the two databases alternated.
"""

from __future__ import annotations

import argparse
import re
import tempfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from perf import Driver, get, server
from sqlalchemy import event, text

from followups.app import create_app
from followups.config import Settings
from followups.db import Database
from followups.distribute import distribute
from followups.migrate import upgrade
from followups.worker import Worker

_PLANNED = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|WITH)\b", re.IGNORECASE)
PASSWORD = "correct horse"


def reset(database: Database) -> None:
    """Every table of the schema dropped (distributed ones with their shards), migrated again."""
    with database.engine.begin() as conn:
        names = conn.scalar(text("SELECT string_agg(quote_ident(tablename), ', ') FROM pg_tables"
                                 " WHERE schemaname = 'public'"))
        if names:
            conn.execute(text(f"DROP TABLE {names} CASCADE"))
    upgrade(database.engine)


def tasks_of(conn, sql: str, params) -> int:
    """Shards the statement runs on: 0 on the coordinator's own tables, else the largest
    Task Count of its plan."""
    plan = "\n".join(conn.exec_driver_sql(f"EXPLAIN {sql}", params).scalars().all())
    if "Citus" not in plan:
        return 0
    return max((int(n) for n in re.findall(r"Task Count: (\d+)", plan)), default=1)


def routing(database: Database) -> None:
    calls: list[tuple[str, list]] = []

    def capture(_conn, _cursor, statement, parameters, _context, executemany):
        if calls and not executemany and _PLANNED.match(statement):
            calls[-1][1].append((statement, parameters))

    app = create_app(database.settings, db=database, migrate=False)
    event.listen(database.engine, "before_cursor_execute", capture)
    try:
        with TestClient(app) as client:
            def call(method: str, url: str, headers=None, **kw):
                calls.append((f"{method} {re.sub(r'[0-9a-f-]{36}', '{id}', url.split('?')[0])}", []))
                r = client.request(method, url, headers=headers, **kw)
                assert r.status_code < 300, (method, url, r.status_code, r.text)
                return r.json() if r.content else None

            session(call)
            calls.append(("worker sweep", []))
            Worker(database, database.settings).tick()
    finally:
        event.remove(database.engine, "before_cursor_execute", capture)
    totals: Counter = Counter()
    print(f"{'request':34} {'stmts':>5} {'routed':>6} {'coord':>5} {'fanned':>6}")
    with database.engine.connect() as conn:
        for name, statements in calls:
            kinds = Counter()
            for sql, params in statements:
                n = tasks_of(conn, sql, params)
                kinds["coordinator" if n == 0 else "routed" if n == 1 else "fanned"] += 1
                if n > 1:
                    print(f"    fanned out to {n} shards: {' '.join(sql.split())[:160]}")
            conn.rollback()
            print(f"{name:34} {len(statements):5} {kinds['routed']:6} {kinds['coordinator']:5} {kinds['fanned']:6}")
            if name != "worker sweep":
                totals.update(kinds)
    total = sum(totals.values())
    print(f"requests: {total} statements, {totals['routed']} routed to one shard, {totals['coordinator']} on "
          f"the coordinator alone, {totals['fanned']} fanned out ({100 * totals['fanned'] / total:.0f} %)")


def session(call) -> None:
    call("POST", "/auth/register", json={"email": "route@example.com", "password": PASSWORD})
    token = call("POST", "/auth/login", json={"email": "route@example.com", "password": PASSWORD})["accessToken"]
    h = {"Authorization": f"Bearer {token}"}
    call("GET", "/me", h)
    j = call("POST", "/jobs", h, json={"company": "Acme", "role": "Engineer"})
    c = call("POST", "/contacts", h, json={"name": "Grace Hopper"})
    o = call("POST", "/outreach", h, json={"channel": "EMAIL", "jobId": j["id"], "contactId": c["id"],
                                            "sentAt": "2026-01-05T10:00:00Z"})
    for due in ("overdue", "today", "upcoming"):
        call("GET", f"/followups?due={due}", h)
    call("PATCH", f"/followups/{o['followup']['id']}/send", h)
    f = call("POST", "/followups", h, json={"dueAt": "2026-01-20T09:00:00Z", "jobId": j["id"]})
    call("PATCH", f"/followups/{f['id']}", h, json={"note": "n"})
    call("DELETE", f"/followups/{f['id']}", h)
    call("PATCH", f"/outreach/{o['id']}", h, json={"outcome": "POSITIVE"})
    call("GET", "/notifications?scope=today", h)
    call("GET", "/outreach", h)
    call("GET", "/jobs", h)
    call("GET", "/contacts", h)
    call("PATCH", f"/jobs/{j['id']}", h, json={"stage": "HR"})
    call("POST", "/auth/logout", h)


def open_followups(base: str, users: int, per_user: int, tag: str) -> list[tuple[str, str]]:
    """`users` new users with `per_user` open follow-ups each: (token, id) pairs, users
    interleaved so that concurrent connections act for different users."""
    pairs: list[list[tuple[str, str]]] = []
    with httpx.Client(base_url=base, timeout=30) as client:
        for u in range(users):
            email = f"{tag}{u}@example.com"
            client.post("/auth/register", json={"email": email, "password": PASSWORD}).raise_for_status()
            token = client.post("/auth/login", json={"email": email, "password": PASSWORD}).json()["accessToken"]
            h = {"Authorization": f"Bearer {token}"}
            job = client.post("/jobs", headers=h, json={"company": "Acme", "role": "Engineer"}).json()

            def make(_i, h=h, job=job):
                with httpx.Client(base_url=base, timeout=30) as c:
                    r = c.post("/followups", headers=h, json={"dueAt": "2026-01-20T09:00:00Z", "jobId": job["id"]})
                    r.raise_for_status()
                    return r.json()["id"]

            with ThreadPoolExecutor(8) as pool:
                pairs.append([(token, i) for i in pool.map(make, range(per_user))])
    return [p for group in zip(*pairs, strict=True) for p in group]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--citus-url", required=True)
    parser.add_argument("--pg-url", required=True)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--pool", type=int, default=2400, help="open follow-ups made for each load run")
    args = parser.parse_args()
    dbs = {"postgresql": Database(Settings(database_url=args.pg_url)),
           "citus": Database(Settings(database_url=args.citus_url))}
    for database in dbs.values():
        reset(database)
    distribute(dbs["citus"].engine, lambda _line: None)
    print("== routing on Citus (EXPLAIN of every statement)")
    routing(dbs["citus"])
    reset(dbs["postgresql"])  # the send runs start from empty tables on both
    reset(dbs["citus"])
    distribute(dbs["citus"].engine, lambda _line: None)
    print(f"\n== PATCH /followups/{{id}}/send, wrk, {args.seconds:.0f} s per run, 2-process servers")
    drv = Driver(smoke=False, workdir=Path(tempfile.mkdtemp()))
    with server("app", args.pg_url) as pg, server("app", args.citus_url) as citus:
        servers = {"postgresql": pg, "citus": citus}
        for name, srv in servers.items():
            assert get(srv.base + "/health")[0] == 200, name
        for r in range(args.rounds):
            for users, conns in ((1, 1), (8, 8)):
                order = list(servers) if r % 2 == 0 else list(reversed(servers))
                for name in order:
                    sends = open_followups(servers[name].base, users, args.pool // users, f"r{r}u{users}")
                    load = drv.run(servers[name], "/", seconds=args.seconds, connections=conns, sends=sends)
                    ok = load.requests - load.non2xx - load.errors
                    print(f"round {r + 1} {users} user{'s' if users > 1 else ''}, {conns} conn: {name:10} "
                          f"{ok / load.seconds:7.1f} sends/s  p50 {load.p50_ms:.1f} ms p99 {load.p99_ms:.1f} ms"
                          f"  (machine busy {load.busy:.0%} before)" + ("  RAN OUT" if load.non2xx else ""))
    for database in dbs.values():
        database.dispose()


if __name__ == "__main__":
    main()
