"""Mixed load on a real server, with an optional database crash, then a ledger check.

    .venv/bin/python bench/load.py --seconds 60                       # private PostgreSQL cluster
    .venv/bin/python bench/load.py --seconds 60 --fault pg-restart    # ... restarted with -m immediate
    .venv/bin/python bench/load.py --url sqlite:///load.db --seconds 30
    .venv/bin/python bench/load.py --seconds 30 --servers 2 --workers 1 --worker-processes 2   # two nodes
    .venv/bin/python bench/load.py --seconds 600 --worker-processes 1 --sample-every 60    # the soak

Traffic: list 70 %, record outreach 15 %, mark sent 10 %, snooze 5 %, from `--threads`
clients, each owning its users (so each user's writes are ordered). Every answer must be
200/201/409 (409: a follow-up another step already sent); while the database is down
503s are allowed and must come fast. Afterwards every acknowledged write is looked up
in the database and the cadence invariants are checked.

With --sample-every S (the soak, docs/RELIABILITY.md): every S seconds the resident memory of
the server and worker processes (their children included) and the window's request latency
(p50, p99) are printed, then the drift: the last window against the first.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import and_, func, select
from sqlalchemy.orm import aliased

sys.path.insert(0, str(Path(__file__).parent))
from pgcluster import Cluster  # noqa: E402

from followups.config import Settings  # noqa: E402
from followups.db import Database  # noqa: E402
from followups.migrate import upgrade  # noqa: E402
from followups.models import FollowUp, Notification, Outreach  # noqa: E402

OK = {200, 201, 204, 409}
FOLLOWUPS = shutil.which("followups", path=str(Path(sys.executable).parent)) or "followups"


@dataclass
class Ledger:
    outreach: set[str] = field(default_factory=set)
    sent: set[str] = field(default_factory=set)
    snoozed: dict[str, str] = field(default_factory=dict)
    statuses: Counter = field(default_factory=Counter)
    by_server: Counter = field(default_factory=Counter)
    errors: list[tuple[float, str, float]] = field(default_factory=list)  # (at, what, seconds)
    latencies: list[tuple[float, float]] = field(default_factory=list)  # (at, seconds), every request
    acked_at: list[tuple[float, float]] = field(default_factory=list)  # (sent, answered), acknowledged writes
    lock: threading.Lock = field(default_factory=threading.Lock)

    def merge(self, other: Ledger) -> None:
        with self.lock:
            self.outreach |= other.outreach
            self.sent |= other.sent
            self.snoozed.update(other.snoozed)
            self.statuses.update(other.statuses)
            self.by_server.update(other.by_server)
            self.errors += other.errors
            self.latencies += other.latencies
            self.acked_at += other.acked_at


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(db_url: str, port: int, workers: int) -> subprocess.Popen:
    return wait_up(start_server(db_url, port, workers), port)


def start_server(db_url: str, port: int, workers: int) -> subprocess.Popen:
    env = {**os.environ, "FOLLOWUPS_DATABASE_URL": db_url, "FOLLOWUPS_DB_POOL_TIMEOUT_S": "2"}
    cmd = [sys.executable, "-m", "uvicorn", "followups.app:create_app", "--factory", "--host", "127.0.0.1",
           "--port", str(port), "--workers", str(workers), "--no-access-log", "--log-level", "warning"]
    return subprocess.Popen(cmd, env=env)


def wait_up(proc: subprocess.Popen, port: int) -> subprocess.Popen:
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("server did not start")
        time.sleep(0.2)


def signup(client: httpx.Client, n: int) -> dict:
    email = f"load{n}-{random.randrange(10**9)}@example.com"
    client.post("/auth/register", json={"email": email, "password": "load-password", "timezone": "Europe/Berlin"})
    token = client.post("/auth/login", json={"email": email, "password": "load-password"}).json()["accessToken"]
    headers = {"Authorization": f"Bearer {token}"}
    jobs = [client.post("/jobs", json={"company": f"Co {i}", "role": "Engineer"}, headers=headers).json()["id"]
            for i in range(3)]
    return {"headers": headers, "jobs": jobs, "open": []}


def client_loop(bases: list[str], users: list[dict], until: float, ledger: Ledger, rng: random.Random,
                stop: threading.Event | None = None) -> None:
    """One client thread, until `until` or `stop`; with several servers each request goes to one
    of them at random, so a user's write on one server is read back through another."""
    mine = Ledger()
    clients = [httpx.Client(base_url=base, timeout=10) for base in bases]
    try:
        while time.monotonic() < until and not (stop and stop.is_set()):
            client = rng.choice(clients)
            user = rng.choice(users)
            h = user["headers"]
            roll = rng.random()
            start = time.monotonic()
            try:
                if roll < 0.70 or not user["open"] and roll >= 0.85:
                    what = "list"
                    r = client.get(f"/followups?due={rng.choice(['today', 'overdue', 'upcoming'])}", headers=h)
                    if r.status_code == 200:
                        user["open"] = [f["id"] for f in r.json()][:50]
                elif roll < 0.85:
                    what = "outreach"
                    sent_at = datetime.now(UTC) - timedelta(days=rng.randrange(0, 6))
                    r = client.post("/outreach", headers=h, json={
                        "jobId": rng.choice(user["jobs"]), "channel": "EMAIL", "sentAt": sent_at.isoformat()})
                    if r.status_code == 201:
                        mine.outreach.add(r.json()["id"])
                        if r.json()["followup"]:
                            user["open"].append(r.json()["followup"]["id"])
                elif roll < 0.95:
                    what = "send"
                    fid = user["open"].pop(rng.randrange(len(user["open"])))
                    r = client.patch(f"/followups/{fid}/send", headers=h, json={})
                    if r.status_code == 200:
                        mine.sent.add(fid)
                else:
                    what = "snooze"
                    fid = rng.choice(user["open"])
                    due = (datetime.now(UTC) + timedelta(days=rng.randrange(1, 9))).isoformat()
                    r = client.patch(f"/followups/{fid}", headers=h, json={"dueAt": due})
                    if r.status_code == 200:
                        mine.snoozed[fid] = r.json()["dueAt"]
                status = str(r.status_code)
            except httpx.TransportError as exc:
                status = type(exc).__name__
            mine.statuses[f"{what} {status}"] += 1
            mine.by_server[str(client.base_url)] += 1
            mine.latencies.append((start, time.monotonic() - start))
            if what != "list" and status in ("200", "201"):
                mine.acked_at.append((start, time.monotonic()))
            if not status.isdigit() or int(status) not in OK:
                mine.errors.append((time.monotonic(), f"{what} {status}", time.monotonic() - start))
    finally:
        for client in clients:
            client.close()
    ledger.merge(mine)


def worker_chaos(db_url: str, until: float, kills: list[int]) -> None:
    """Start a worker, SIGKILL it after a moment, start another, until the load ends."""
    env = {**os.environ, "FOLLOWUPS_DATABASE_URL": db_url, "FOLLOWUPS_WORKER_INTERVAL_S": "0.2",
           "FOLLOWUPS_WORKER_BATCH": "50"}
    rng = random.Random(7)
    while time.monotonic() < until:
        proc = subprocess.Popen([FOLLOWUPS, "worker"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.5, 2.0))
        proc.kill()
        proc.wait()
        kills.append(1)


def rss_mib(pids: list[int]) -> float:
    """Resident memory of these processes and all their descendants (Linux /proc), in MiB."""
    seen, todo, kib = set(), list(pids), 0
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            kib += next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
            for task in Path(f"/proc/{pid}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, StopIteration):
            continue
    return kib / 1024


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def sampler(processes: list[subprocess.Popen], every: float, until: float, samples: list[tuple]) -> None:
    """Every `every` seconds until `until`: (seconds since start, RSS MiB of `processes`)."""
    start = time.monotonic()
    while time.monotonic() < until:
        time.sleep(min(every, max(until - time.monotonic(), 0)))
        samples.append((time.monotonic() - start, rss_mib([p.pid for p in processes if p.poll() is None])))


def soak_report(start: float, every: float, samples: list[tuple], ledger: Ledger) -> list[dict]:
    """One row a window: its end, RSS at its end, requests, p50 and p99 latency in ms."""
    rows = []
    for end, rss in samples:
        window = [s for at, s in ledger.latencies if end - every <= at - start < end]
        rows.append({"at_s": round(end), "rss_mib": round(rss, 1), "requests": len(window),
                     "p50_ms": round(percentile(window, 0.50) * 1000, 2),
                     "p99_ms": round(percentile(window, 0.99) * 1000, 2)})
    return rows


def plain_workers(db_url: str, n: int) -> list[subprocess.Popen]:
    """N workers beside the load, left running until the end (then SIGTERM)."""
    env = {**os.environ, "FOLLOWUPS_DATABASE_URL": db_url, "FOLLOWUPS_WORKER_INTERVAL_S": "0.2",
           "FOLLOWUPS_WORKER_BATCH": "50"}
    return [subprocess.Popen([FOLLOWUPS, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(n)]


def count_unreminded(session) -> int:
    """Due open follow-ups whose reminder the worker has not made yet."""
    return session.scalar(select(func.count()).select_from(FollowUp).where(
        FollowUp.sent_at.is_(None), FollowUp.cancelled_at.is_(None), FollowUp.remind_at <= datetime.now(UTC),
        FollowUp.reminded_at.is_(None)))


def verify_reminders(db_url: str, *, sweep: bool = True) -> list[str]:
    """After a last clean sweep (`sweep`; else the running workers' work is checked as it is):
    every due open follow-up has its reminder, none has two."""
    if sweep:
        env = {**os.environ, "FOLLOWUPS_DATABASE_URL": db_url}
        subprocess.run([FOLLOWUPS, "worker", "--once"], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)
    database = Database(Settings(database_url=db_url))
    problems = []
    with database.transaction(write=False) as s:
        if unreminded := count_unreminded(s):
            problems.append(f"{unreminded} due follow-ups without a reminder")
        twice = s.execute(select(Notification.followup_id, Notification.dedupe_key).where(
            Notification.kind == "followup_due").group_by(Notification.followup_id, Notification.dedupe_key)
            .having(func.count() > 1)).all()
        if twice:
            problems.append(f"{len(twice)} follow-ups reminded twice")
        claimed_without = s.scalar(select(func.count()).select_from(FollowUp).where(
            FollowUp.reminded_at.is_not(None),
            ~select(Notification.id).where(Notification.followup_id == FollowUp.id).exists()))
        if claimed_without:
            problems.append(f"{claimed_without} follow-ups marked reminded without a reminder")
    database.dispose()
    return problems


def verify(db_url: str, ledger: Ledger, delays: int = 2) -> list[str]:
    """Every acknowledged write is in the database; the cadence invariants hold."""
    problems = []
    database = Database(Settings(database_url=db_url))
    with database.transaction(write=False) as s:
        found = set()
        ids = [uuid.UUID(x) for x in ledger.outreach]
        for i in range(0, len(ids), 1000):
            found |= {str(x) for x in s.scalars(select(Outreach.id).where(Outreach.id.in_(ids[i:i + 1000])))}
        if missing := ledger.outreach - found:
            problems.append(f"{len(missing)} acknowledged outreach missing")
        sent = [uuid.UUID(x) for x in ledger.sent]
        unsent = set()
        for i in range(0, len(sent), 1000):
            unsent |= {str(x) for x in s.scalars(select(FollowUp.id).where(
                FollowUp.id.in_(sent[i:i + 1000]), FollowUp.sent_at.is_(None)))}
        if unsent:
            problems.append(f"{len(unsent)} acknowledged sends not recorded")
        open_per_chain = s.execute(
            select(FollowUp.chain_id, func.count()).where(FollowUp.sent_at.is_(None), FollowUp.cancelled_at.is_(None))
            .group_by(FollowUp.chain_id).having(func.count() > 1)).all()
        if open_per_chain:
            problems.append(f"{len(open_per_chain)} chains with more than one open follow-up")
        nxt = aliased(FollowUp)
        orphans = s.scalar(select(func.count()).select_from(FollowUp).where(
            FollowUp.sent_at.is_not(None), FollowUp.type == "STANDARD", FollowUp.attempt_no < delays,
            ~select(nxt.id).where(and_(nxt.chain_id == FollowUp.chain_id, nxt.attempt_no == FollowUp.attempt_no + 1))
            .exists()))
        if orphans:
            problems.append(f"{orphans} sent attempts without their next attempt")
        lasts = s.scalar(select(func.count()).select_from(FollowUp).where(
            FollowUp.sent_at.is_not(None), FollowUp.attempt_no == delays))
        dormant = s.scalar(
            select(func.count()).select_from(Notification).where(Notification.kind == "dormant_candidate"))
        if lasts != dormant:
            problems.append(f"{lasts} last attempts sent but {dormant} dormant checks")
        for fid, due in ledger.snoozed.items():
            if fid in ledger.sent:
                continue
            row = s.get(FollowUp, uuid.UUID(fid))
            if row.cancelled_at is None and row.due_at.isoformat().replace("+00:00", "Z") != due:
                problems.append(f"snooze of {fid} lost")
                break
    database.dispose()
    return problems


def run(db_url: str, *, seconds: float, threads: int, users: int, workers: int,
        fault: Cluster | None = None, fault_at: float = 0.33, down_s: float = 2.0,
        chaos: bool = False, servers: int = 1, worker_processes: int = 0, sample_every: float = 0) -> dict:
    """`servers` API processes (each with `workers` uvicorn workers) on one database, the
    clients' requests spread over them; `worker_processes` plain workers run throughout."""
    ports = [free_port() for _ in range(servers)]
    database = Database(Settings(database_url=db_url))
    upgrade(database.engine)
    database.dispose()
    started = [start_server(db_url, port, workers) for port in ports]
    workers_running: list[subprocess.Popen] = []
    worker_exits: list[int | None] = []
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        for proc, port in zip(started, ports, strict=True):
            wait_up(proc, port)
        with httpx.Client(base_url=bases[0], timeout=30) as client:
            people = [signup(client, n) for n in range(users)]
        ledger = Ledger()
        workers_running += plain_workers(db_url, worker_processes)
        start = time.monotonic()
        until = start + seconds
        shares = [people[i::threads] for i in range(threads)]
        pool = [threading.Thread(target=client_loop, args=(bases, share, until, ledger, random.Random(i)))
                for i, share in enumerate(shares) if share]
        kills: list[int] = []
        samples: list[tuple] = []
        if sample_every:
            pool.append(threading.Thread(target=sampler, args=([*started, *workers_running], sample_every,
                                                               until, samples)))
        if chaos:
            pool.append(threading.Thread(target=worker_chaos, args=(db_url, until, kills)))
        for t in pool:
            t.start()
        outage = None
        if fault is not None:
            time.sleep(seconds * fault_at)
            down = time.monotonic()
            fault.stop("immediate")
            time.sleep(down_s)
            fault.start()
            outage = (down, time.monotonic())
        for t in pool:
            t.join()
        elapsed = time.monotonic() - start
        for proc in workers_running:  # SIGTERM: each finishes its batch and exits 0
            proc.terminate()
        worker_exits = [proc.wait(30) for proc in workers_running]
    finally:
        for proc in [*workers_running, *started]:
            if proc.poll() is None:
                proc.terminate()
        for proc in workers_running:
            proc.wait(30)
        for proc in started:
            proc.wait(30)
    total = sum(ledger.statuses.values())
    late = [e for e in ledger.errors if outage is None or e[0] > outage[1] + 10 or e[0] < outage[0]]
    slow = [e for e in ledger.errors if e[2] > 3]
    return {
        "requests": total,
        "per_second": total / elapsed,
        "statuses": dict(sorted(ledger.statuses.items())),
        "by_server": dict(sorted(ledger.by_server.items())),
        "errors": len(ledger.errors),
        "errors_outside_outage": late,
        "slow_errors": slow,
        "error_kinds": sorted({e[1] for e in ledger.errors}),
        "recovered_after_s": (max((e[0] for e in ledger.errors), default=outage[1]) - outage[1]) if outage else None,
        "problems": verify(db_url, ledger) + (verify_reminders(db_url) if chaos or worker_processes else []),
        "worker_kills": len(kills),
        "worker_exit_codes": worker_exits,
        "acked": {"outreach": len(ledger.outreach), "sent": len(ledger.sent), "snoozed": len(ledger.snoozed)},
        **({"soak": soak_report(start, sample_every, samples, ledger)} if sample_every else {}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="database URL; default: a private PostgreSQL cluster made for the run")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--users", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers per API process")
    parser.add_argument("--servers", type=int, default=1, help="API processes (the clients spread over them)")
    parser.add_argument("--worker-processes", type=int, default=0, help="`followups worker`s running throughout")
    parser.add_argument("--fault", choices=["none", "pg-restart"], default="none")
    parser.add_argument("--worker-chaos", action="store_true",
                        help="run workers beside the load and kill -9 them again and again")
    parser.add_argument("--sample-every", type=float, default=0,
                        help="seconds between samples of memory and latency (the soak); 0: none")
    args = parser.parse_args()
    cluster = None
    if args.url is None or args.fault == "pg-restart":
        cluster = Cluster().init()
        cluster.start()
    try:
        url = args.url if args.url and args.fault == "none" else cluster.url
        result = run(url, seconds=args.seconds, threads=args.threads, users=args.users, workers=args.workers,
                     fault=cluster if args.fault == "pg-restart" else None, chaos=args.worker_chaos,
                     servers=args.servers, worker_processes=args.worker_processes,
                     sample_every=args.sample_every)
    finally:
        if cluster:
            cluster.destroy()
    soak = result.pop("soak", None)
    for key, value in result.items():
        print(f"{key}: {value}")
    if soak:
        for row in soak:
            print("window: " + "  ".join(f"{k} {v}" for k, v in row.items()))
        first, last = soak[0], soak[-1]
        print(f"drift: rss {first['rss_mib']} -> {last['rss_mib']} MiB, "
              f"p50 {first['p50_ms']} -> {last['p50_ms']} ms, p99 {first['p99_ms']} -> {last['p99_ms']} ms")
    ok = not result["problems"] and not result["errors_outside_outage"] and not result["slow_errors"]
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
