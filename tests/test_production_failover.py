"""Automatic failover with pg_auto_failover: a monitor, a primary and a synchronous standby on
loopback; a real `followups serve` and a `followups worker` under the mixed load, configured
once with every node in a multi-host URL (libpq keeps the node that takes writes). The
primary is killed with SIGKILL, keeper and all, mid-load. Writes resume on the promoted
node within 30 s by themselves; meanwhile every answer is a 503 that comes fast (no hang);
no acknowledged write is lost; the worker and the replica reader carry on by themselves."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from production import FOLLOWUPS, require_pg_auto_failover, start, stop, wait_for

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from load import Ledger, client_loop, count_unreminded, free_port, signup, verify, verify_reminders  # noqa: E402
from pgautofailover import Formation  # noqa: E402

from followups.config import Settings  # noqa: E402
from followups.db import Database  # noqa: E402

LOAD_BEFORE_KILL_S = 3
RESUME_WITHIN_S = 30
FAST_503_S = 3  # every answer while no node takes writes comes within this
LOAD_AFTER_S = 8  # of load on the promoted node
USERS = 8  # a client thread each


@pytest.fixture(scope="module")
def formation():
    require_pg_auto_failover()
    f = Formation("app")
    try:
        f.start_monitor()
        f.add_node("node1")
        f.wait_replicating()  # alone: "single"
        f.add_node("node2", background=True)  # cloned from node1 while the app starts
        yield f
    finally:
        f.destroy()


def test_writes_resume_on_the_promoted_node_and_no_acknowledged_write_is_lost(formation, tmp_path):
    url = formation.url()
    env = {"FOLLOWUPS_DATABASE_URL": url,
           # The reads a replica may serve: a standby when there is one, else the primary.
           "FOLLOWUPS_DATABASE_REPLICA_URL": formation.url(target_session_attrs="prefer-standby"),
           "FOLLOWUPS_WORKER_INTERVAL_S": "0.2", "FOLLOWUPS_WORKER_BATCH": "50"}
    migrated = subprocess.run([FOLLOWUPS, "db", "upgrade"], env={**os.environ, **env}, capture_output=True,
                              text=True, timeout=120)
    assert migrated.returncode == 0, migrated.stderr
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start(["serve", "--port", str(port)], env, tmp_path / "serve.log")
    worker = start(["worker"], env, tmp_path / "worker.log")
    try:
        wait_for(f"{base}/ready", proc=server)
        with httpx.Client(base_url=base, timeout=30) as client:
            people = [signup(client, n) for n in range(USERS)]
        ledger, stop_load = Ledger(), threading.Event()
        primary = formation.wait_replicating()
        until = time.monotonic() + LOAD_BEFORE_KILL_S + RESUME_WITHIN_S + LOAD_AFTER_S
        threads = [threading.Thread(target=client_loop, args=([base], [user], until, ledger, random.Random(i),
                                                              stop_load))
                   for i, user in enumerate(people)]
        for t in threads:
            t.start()
        time.sleep(LOAD_BEFORE_KILL_S)
        killed_at = time.monotonic()
        formation.kill(primary)
        while formation.primary() in (None, primary) and time.monotonic() < until:
            time.sleep(0.2)
        promoted_s = time.monotonic() - killed_at
        time.sleep(LOAD_AFTER_S)  # the load goes on on the promoted node, then stops
        stop_load.set()
        for t in threads:
            t.join()

        # Writes resume on the other node, by themselves, within 30 s.
        assert formation.primary() not in (None, primary)
        # (a write sent before the kill may still be acknowledged just after it)
        resumed = [answered - killed_at for sent, answered in ledger.acked_at if sent > killed_at]
        assert resumed, f"no write acknowledged in the {until - killed_at:.0f} s after the kill: {ledger.statuses}"
        first_write_s = min(resumed)
        assert first_write_s < RESUME_WITHIN_S

        # Meanwhile: 503s, and fast ones; nothing else went wrong, before or after.
        failed = [(at - killed_at, what, seconds) for at, what, seconds in ledger.errors]
        assert all(what.endswith(" 503") for _, what, _ in failed), failed
        assert all(seconds < FAST_503_S for _, _, seconds in failed), failed
        outage = [s for at, s in ledger.latencies if at + s >= killed_at and at <= killed_at + first_write_s]
        assert max(outage, default=0) < FAST_503_S, "a request hung while no node took writes"
        late = [f for f in failed if not 0 <= f[0] <= first_write_s + 5]
        assert late == [], f"first write after {first_write_s:.1f} s; failures out of the outage: {late}"

        # The load kept going afterwards, without an error: lists (the replica reader) and writes.
        after = [sent for sent, _ in ledger.acked_at if sent > killed_at + first_write_s + 2]
        assert len(after) > 5, ledger.statuses

        # The worker recovered by itself: it reminds what fell due, including during the outage.
        database = Database(Settings(database_url=url))
        try:
            deadline = time.monotonic() + 20
            while (left := _unreminded(database)) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert left == 0, f"the worker left {left} due follow-ups without a reminder"
        finally:
            database.dispose()
        assert worker.poll() is None
        assert stop(worker) == 0

        # No acknowledged write lost (synchronous replication); every invariant holds.
        acked = len(ledger.outreach) + len(ledger.sent) + len(ledger.snoozed)
        assert verify(url, ledger) == []
        assert verify_reminders(url, sweep=False) == []
        print(f"\nfailover: first write {first_write_s:.1f} s after the kill; {len(failed)} answers 503, "
              f"slowest {max((s for _, _, s in failed), default=0) * 1000:.0f} ms; "
              f"{acked} writes acknowledged, {acked} found; {sum(ledger.statuses.values())} requests; "
              f"promoted after {promoted_s:.1f} s")
    finally:
        for proc in (worker, server):
            if proc.poll() is None:
                stop(proc)


def _unreminded(database: Database) -> int:
    with database.transaction(write=False) as session:
        return count_unreminded(session)

