"""A private PostgreSQL cluster on loopback, made with the installed server binaries, for
tests and scripts that must stop, crash and restart the database without touching anyone
else's. Runs the server as the `postgres` system user when started by root."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def server_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    def __init__(self) -> None:
        bindir = server_bin()
        if bindir is None:
            raise RuntimeError("no PostgreSQL server binaries installed (apt-get install postgresql)")
        self.bin = bindir
        self.dir = Path(tempfile.mkdtemp(prefix="followups-pg-"))
        self.data = self.dir / "data"
        self.port = _free_port()
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            shutil.chown(self.dir, "postgres", "postgres")

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = [str(self.bin / args[0]), *args[1:]]
        if self._as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=120)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def init(self) -> Cluster:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        conf = self.data / "postgresql.conf"
        with conf.open("a") as f:
            f.write(f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                    f"unix_socket_directories = '{self.dir}'\nfsync = on\nmax_connections = 100\n")
        return self

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "log"), "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("PostgreSQL did not come up")

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)

    def dsn(self, dbname: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={dbname}"

    def url_for(self, dbname: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{dbname}"

    def sql(self, statement: str, dbname: str = "postgres"):
        """One statement in autocommit (CREATE DATABASE, pg_wal_replay_pause() ...); its first value."""
        import psycopg

        with psycopg.connect(self.dsn(dbname), autocommit=True, connect_timeout=10) as conn:
            cur = conn.execute(statement)
            row = cur.fetchone() if cur.description else None
            return row[0] if row else None

    def create_database(self, name: str) -> str:
        self.sql(f'CREATE DATABASE "{name}"')
        return self.url_for(name)


def replica_of(primary: Cluster) -> Cluster:
    """A hot standby of `primary` streaming from it on loopback: `pg_basebackup -R` of the
    running primary (its default pg_hba trusts replication connections from 127.0.0.1),
    started on a port of its own. Pause it with `SELECT pg_wal_replay_pause()`."""
    replica = Cluster()
    replica._run("pg_basebackup", "-D", str(replica.data), "-h", "127.0.0.1", "-p", str(primary.port),
                 "-U", "postgres", "-R", "-X", "stream", "-c", "fast", "--no-sync")
    with (replica.data / "postgresql.conf").open("a") as f:  # the last setting of a name wins
        f.write(f"\nport = {replica.port}\nunix_socket_directories = '{replica.dir}'\nhot_standby = on\n")
    replica.start()
    return replica


def wait_replayed(primary: Cluster, replica: Cluster, timeout: float = 30) -> None:
    """Until the replica has replayed everything the primary has written so far."""
    target = primary.sql("SELECT pg_current_wal_lsn()::text")
    deadline = time.monotonic() + timeout
    while replica.sql(f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn") is not True:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the replica did not replay up to {target}")
        time.sleep(0.05)


def pgbouncer_bin() -> str | None:
    return shutil.which("pgbouncer") or next(
        (p for p in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer") if os.access(p, os.X_OK)), None)


class PgBouncer:
    """Debian's pgbouncer in front of a Cluster, on its own loopback port, in transaction
    pooling by default (a server connection per transaction, as in most production set-ups).
    Runs as `postgres` when started by root (pgbouncer refuses to run as root)."""

    def __init__(self, cluster: Cluster, pool_mode: str = "transaction", pool_size: int = 20) -> None:
        exe = pgbouncer_bin()
        if exe is None:
            raise RuntimeError("pgbouncer is not installed (apt-get install pgbouncer)")
        self.exe = exe
        self.dir = Path(tempfile.mkdtemp(prefix="followups-pgbouncer-"))
        self.port = _free_port()
        (self.dir / "userlist.txt").write_text('"postgres" ""\n')
        (self.dir / "pgbouncer.ini").write_text(
            f"[databases]\n* = host=127.0.0.1 port={cluster.port}\n\n"
            f"[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {self.port}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {self.dir / 'userlist.txt'}\npool_mode = {pool_mode}\n"
            f"default_pool_size = {pool_size}\nmax_client_conn = 1000\n"
            f"ignore_startup_parameters = extra_float_digits,options\n"
            f"logfile = {self.dir / 'log'}\npidfile = {self.dir / 'pid'}\n")
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            for path in (self.dir, *self.dir.iterdir()):
                shutil.chown(path, "postgres", "postgres")
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def url_for(self, dbname: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{dbname}"

    def start(self) -> PgBouncer:
        # Started as postgres directly (not through runuser): it is our child, so a stop reaps it.
        drop = {"user": "postgres", "group": "postgres", "extra_groups": []} if self._as_postgres else {}
        self.proc = subprocess.Popen([self.exe, str(self.dir / "pgbouncer.ini")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **drop)
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    log = self.dir / "log"
                    raise RuntimeError("pgbouncer did not start: " + (log.read_text() if log.exists() else "")) \
                        from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)
