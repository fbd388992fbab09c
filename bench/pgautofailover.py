"""A pg_auto_failover formation on loopback for tests that kill the primary: a monitor and
PostgreSQL nodes, each kept by its own `pg_autoctl run` (Debian's pg-auto-failover-cli and
postgresql-N-auto-failover), all in a private directory with private ports. Runs them as the
`postgres` system user when started by root, as pgcluster.Cluster does.

`fast=True` shortens the monitor's failure detection and the keepers' partition timeout
(the defaults take about 50 s from a dead primary to a promoted one: 20 s before the node is
unhealthy, then up to 30 s waiting for the old primary to demote itself)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from pgcluster import _free_port, server_bin

# The monitor's settings for a failover within seconds. Safe only paired with the keepers'
# network_partition_timeout below primary_demote_timeout: an isolated primary demotes
# itself before the monitor promotes its standby.
FAST_MONITOR = {
    "pgautofailover.health_check_period": 1000,
    "pgautofailover.health_check_timeout": 1000,
    "pgautofailover.health_check_max_retries": 1,
    "pgautofailover.health_check_retry_delay": 500,
    "pgautofailover.node_considered_unhealthy_timeout": 3000,
    "pgautofailover.primary_demote_timeout": 5000,
}
FAST_KEEPER = {"timeout.network_partition_timeout": 3}


def pg_autoctl() -> str | None:
    return shutil.which("pg_autoctl")


@dataclass
class Node:
    name: str
    port: int
    pgdata: Path
    proc: subprocess.Popen | None = None  # its `pg_autoctl run`, leader of its own process group


class Formation:
    def __init__(self, dbname: str = "app", *, fast: bool = True) -> None:
        exe, bindir = pg_autoctl(), server_bin()
        if exe is None or bindir is None:
            raise RuntimeError("pg_autoctl is not installed (apt-get install pg-auto-failover-cli "
                               "postgresql-<version>-auto-failover)")
        self.exe, self.bin, self.dbname, self.fast = exe, bindir, dbname, fast
        self.dir = Path(tempfile.mkdtemp(prefix="followups-autofailover-"))
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            shutil.chown(self.dir, "postgres", "postgres")
        # pg_autoctl keeps its configuration and state under the XDG directories: ours only.
        self.env = {**os.environ, "XDG_CONFIG_HOME": str(self.dir / "config"),
                    "XDG_DATA_HOME": str(self.dir / "share"), "XDG_RUNTIME_DIR": str(self.dir / "run"),
                    "PG_CONFIG": str(self.bin / "pg_config"), "PATH": f"{self.bin}:{os.environ['PATH']}"}
        self.monitor = Node("monitor", _free_port(), self.dir / "monitor")
        self.nodes: dict[str, Node] = {}
        self._adding: list[threading.Thread] = []
        self._failed: list[Exception] = []

    # -- processes -------------------------------------------------------------------------
    def _drop(self) -> dict:
        return {"user": "postgres", "group": "postgres", "extra_groups": []} if self._as_postgres else {}

    def _autoctl(self, *args: str) -> str:
        done = subprocess.run([self.exe, *args], env=self.env, capture_output=True, text=True, timeout=180,
                              cwd=self.dir, **self._drop())
        if done.returncode != 0:
            raise RuntimeError(f"pg_autoctl {args[0]} {args[1]} failed:\n{done.stderr[-3000:]}")
        return done.stdout

    def _run(self, node: Node) -> None:
        log = (self.dir / f"{node.name}.log").open("ab")
        node.proc = subprocess.Popen([self.exe, "run", "--pgdata", str(node.pgdata)], env=self.env, cwd=self.dir,
                                     stdout=log, stderr=log, start_new_session=True, **self._drop())

    @property
    def monitor_uri(self) -> str:
        return f"postgres://autoctl_node@127.0.0.1:{self.monitor.port}/pg_auto_failover?sslmode=disable"

    def start_monitor(self) -> Formation:
        m = self.monitor
        self._autoctl("create", "monitor", "--pgdata", str(m.pgdata), "--pgport", str(m.port),
                      "--pgctl", str(self.bin / "pg_ctl"), "--hostname", "127.0.0.1", "--auth", "trust", "--no-ssl")
        self._autoctl("config", "set", "--pgdata", str(m.pgdata), "postgresql.listen_addresses", "127.0.0.1")
        if self.fast:
            with (m.pgdata / "postgresql.conf").open("a") as f:  # the last setting of a name wins
                f.write("".join(f"\n{k} = {v}" for k, v in FAST_MONITOR.items()) + "\n")
        self._run(m)
        self._wait_port(m)
        return self

    def add_node(self, name: str, *, background: bool = False) -> Node:
        """A PostgreSQL node registered with the monitor and kept by its keeper: the first is
        the primary, the next ones clone it and become its (synchronous) standbys.
        `background`: made in a thread (`wait_replicating` waits for it), its port known now."""
        node = self.nodes[name] = Node(name, _free_port(), self.dir / name)
        if not background:
            self._create(node)
            return node
        thread = threading.Thread(target=self._create, args=(node,), daemon=True)
        self._adding.append(thread)
        thread.start()
        return node

    def _create(self, node: Node) -> None:
        try:
            self._autoctl("create", "postgres", "--pgdata", str(node.pgdata), "--pgport", str(node.port),
                          "--pgctl", str(self.bin / "pg_ctl"), "--listen", "127.0.0.1", "--hostname", "127.0.0.1",
                          "--name", node.name, "--dbname", self.dbname, "--auth", "trust", "--no-ssl",
                          "--monitor", self.monitor_uri)
            if self.fast:
                for key, value in FAST_KEEPER.items():
                    self._autoctl("config", "set", "--pgdata", str(node.pgdata), key, str(value))
            self._run(node)
        except Exception as exc:  # raised again by wait_replicating when made in the background
            self._failed.append(exc)
            raise

    def _wait_port(self, node: Node, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with socket.create_connection(("127.0.0.1", node.port), timeout=1):
                    return
            except OSError:
                if node.proc is not None and node.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{node.name} did not start:\n{self.log(node.name)}") from None
                time.sleep(0.1)

    def log(self, name: str, tail: int = 3000) -> str:
        path = self.dir / f"{name}.log"
        return path.read_text(errors="replace")[-tail:] if path.exists() else ""

    # -- state -----------------------------------------------------------------------------
    def sql(self, port: int, statement: str, dbname: str | None = None, user: str = "postgres"):
        import psycopg

        dsn = f"host=127.0.0.1 port={port} user={user} dbname={dbname or self.dbname} connect_timeout=5"
        with psycopg.connect(dsn, autocommit=True) as conn:
            cur = conn.execute(statement)
            return cur.fetchall() if cur.description else None

    def states(self) -> dict[str, tuple[str, str]]:
        """Node name -> (state reported by its keeper, state the monitor assigned)."""
        rows = self.sql(self.monitor.port, "SELECT nodename, reportedstate, goalstate FROM pgautofailover.node",
                        dbname="pg_auto_failover")
        return {name: (reported, goal) for name, reported, goal in rows}

    def primary(self) -> Node | None:
        found = [self.nodes[n] for n, (rep, goal) in self.states().items()
                 if rep == goal and rep in ("primary", "wait_primary", "single")]
        return found[0] if len(found) == 1 else None

    def wait_replicating(self, timeout: float = 90) -> Node:
        """Until one node is primary, every other one secondary, and the primary commits
        synchronously (each commit flushed on a standby before it is acknowledged)."""
        deadline = time.monotonic() + timeout
        for thread in self._adding:
            thread.join(timeout)
        if self._failed:
            raise self._failed[0]
        while True:
            try:
                states = self.states()
                primary = self.primary()
                if (primary is not None and len(states) == len(self.nodes) and all(
                        s == ("secondary", "secondary") for n, s in states.items() if n != primary.name)
                        and self.sql(primary.port, "SELECT count(*) FROM pg_stat_replication "
                                                   "WHERE sync_state IN ('sync', 'quorum')")[0][0]
                        == len(self.nodes) - 1):
                    return primary
            except Exception:  # still starting
                states = None
            if time.monotonic() > deadline:
                raise RuntimeError(f"the formation did not settle: {states}\n"
                                   + "\n".join(self.log(n, 1500) for n in self.nodes))
            time.sleep(0.3)

    def url(self, dbname: str | None = None, target_session_attrs: str = "read-write") -> str:
        """The SQLAlchemy URL of every node: libpq tries them in order and keeps the first whose
        session matches (read-write: the primary, whichever node that is now)."""
        hosts = "&".join(f"host=127.0.0.1:{n.port}" for n in self.nodes.values())
        return (f"postgresql+psycopg://postgres@/{dbname or self.dbname}?{hosts}"
                f"&target_session_attrs={target_session_attrs}")

    # -- faults and the end ----------------------------------------------------------------
    def kill(self, node: Node) -> None:
        """SIGKILL to the node's keeper, its postgres and every backend (one process group),
        as if the machine died: nothing restarts it, nothing is flushed or said goodbye."""
        assert node.proc is not None
        os.killpg(node.proc.pid, signal.SIGKILL)
        node.proc.wait()

    def destroy(self) -> None:
        for thread in self._adding:
            thread.join(180)
        running = [n for n in (*self.nodes.values(), self.monitor) if n.proc is not None and n.proc.poll() is None]
        for node in running:  # SIGQUIT: the keepers stop their postgres (immediate) and exit
            os.killpg(node.proc.pid, signal.SIGQUIT)
        for node in running:
            try:
                node.proc.wait(30)
            except subprocess.TimeoutExpired:
                node.proc.kill()
                node.proc.wait()
            with contextlib.suppress(ProcessLookupError):  # what of its group outlived it
                os.killpg(node.proc.pid, signal.SIGKILL)
        shutil.rmtree(self.dir, ignore_errors=True)
