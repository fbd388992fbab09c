"""`followups serve --workers N`: each process accepts on a socket of its own (SO_REUSEPORT),
so the connections of a burst spread over the processes instead of piling on one; a port
that is taken fails at once with a sentence; a killed process is replaced and serves."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from followups import serving
from production import FOLLOWUPS, start, stop, wait_for
from servers import free_port

pytestmark = pytest.mark.skipif(not serving.BALANCED, reason="SO_REUSEPORT spreads connections on Linux only")


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        kids += [int(c) for c in (task / "children").read_text().split()]
    return kids


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def _tcp_inodes(port: int, state: str) -> list[str]:
    """The inodes of the sockets on local `port` in `state` (/proc/net/tcp: 01 ESTABLISHED,
    0A LISTEN)."""
    found = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == state:
            found.append(fields[9])
    return found


def _established_by_process(port: int, pids: list[int]) -> dict[int, int]:
    """Established server-side connections on `port` held by each of `pids`."""
    inodes = {pid: _socket_inodes(pid) for pid in pids}
    counts = dict.fromkeys(pids, 0)
    for inode in _tcp_inodes(port, "01"):
        for pid, own in inodes.items():
            if inode in own:
                counts[pid] += 1
    return counts


def _serving_processes(server: subprocess.Popen, port: int, n: int) -> list[int]:
    """The server's children that listen on `port`, once `n` of them do. (Any socket is not
    enough: a process's event loop holds a socket pair before it binds the port.)"""
    deadline = time.monotonic() + 30
    while len(kids := [k for k in _children(server.pid) if _listens(k, port)]) < n:
        assert time.monotonic() < deadline, f"{n} serving processes did not start"
        time.sleep(0.1)
    return kids


def _listens(pid: int, port: int) -> bool:
    try:
        return not _socket_inodes(pid).isdisjoint(_tcp_inodes(port, "0A"))
    except OSError:
        return False


@pytest.fixture
def served(tmp_path) -> Iterator[tuple[subprocess.Popen, int]]:
    """`followups serve --workers 2` on an embedded database, ready; stopped (exit 0) after."""
    port = free_port()
    env = {"FOLLOWUPS_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}"}
    server = start(["serve", "--workers", "2", "--port", str(port)], env, tmp_path / "serve.log")
    try:
        wait_for(f"http://127.0.0.1:{port}/ready", proc=server)
        yield server, port
    finally:
        assert stop(server) == 0


def test_a_burst_of_connections_spreads_over_the_processes(served):
    server, port = served
    workers = _serving_processes(server, port, 2)
    # 32 connections opened at once (the kernel completes them into the accept queues), then
    # each answers a request and stays open: with one shared socket the process that woke
    # first took all of such a burst.
    conns = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(32)]
    try:
        for conn in conns:
            conn.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        for conn in conns:
            assert conn.recv(65536).startswith(b"HTTP/1.1 200 ")
        counts = _established_by_process(port, workers)
    finally:
        for conn in conns:
            conn.close()
    assert sum(counts.values()) == 32, counts
    # Spread by a hash of the client's port: 32 connections put fewer than 8 on one of two
    # sockets about once in 10,000 runs.
    assert min(counts.values()) >= 8, counts


def test_a_killed_process_is_replaced_and_the_port_keeps_answering(served):
    server, port = served
    first, second = _serving_processes(server, port, 2)
    os.kill(first, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while first in (kids := _serving_processes(server, port, 2)) or len(kids) < 2:
        assert time.monotonic() < deadline, "the killed process was not replaced"
        time.sleep(0.2)
    assert second in kids
    # Fresh connections (one each) reach the processes again and all are answered.
    for _ in range(20):
        with httpx.Client(timeout=30) as client:
            assert client.get(f"http://127.0.0.1:{port}/health").status_code == 200


def test_a_port_in_use_fails_at_once_with_a_sentence(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**os.environ, "FOLLOWUPS_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}"}
        done = subprocess.run([FOLLOWUPS, "serve", "--workers", "2", "--port", str(port)], env=env,
                              capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr, done.stderr[-2000:]
