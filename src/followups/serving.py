"""Several server processes on one port, each accepting on its own socket.

uvicorn's `--workers N` binds one listening socket and shares it: every process waits on
it, and a burst of connects mostly lands on whichever wakes first (seen in bench/perf.py:
all 64 keep-alive connections of a load test on one of two processes, which then queued
a fixed-rate load the other could have served). Here each process binds its own socket
with SO_REUSEPORT, and the kernel spreads new connections over the sockets by a hash of
their addresses: about even, whatever the timing.

uvicorn's own supervisor still runs the processes (start, health checks, restart of a dead
one, SIGTERM and SIGINT passed on for a graceful shutdown). It hands every process the same
socket list; the list given here is `ReusePortSockets`, which the spawned process unpickles
as a list holding a socket of its own, bound and listening there. The parent keeps a bound,
non-listening socket in the same group for its lifetime: the port is taken (another program
fails to bind it) and a busy port fails here, at once, not in a process restarted forever.

Linux only (elsewhere SO_REUSEPORT does not spread connections): `serve` falls back to
uvicorn's shared socket. A process that dies resets the connections waiting in its socket's
backlog; its replacement binds a new socket.
"""

from __future__ import annotations

import socket
import sys

import uvicorn
from uvicorn.supervisors.multiprocess import Multiprocess

BALANCED = sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def _reuse_port_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def _listening(host: str, port: int, backlog: int) -> list[socket.socket]:
    """Runs in the spawned process, as the socket list is unpickled there."""
    sock = _reuse_port_socket(host, port)
    sock.listen(backlog)
    return [sock]


class ReusePortSockets(list):
    """An empty list in the parent; in each spawned process, a list of one socket of its own."""

    def __init__(self, host: str, port: int, backlog: int) -> None:
        super().__init__()
        self.address = (host, port, backlog)

    def __reduce__(self):
        return _listening, self.address


def run(app: str, *, workers: int, host: str, port: int, factory: bool = False, **options) -> None:
    """Serve the ASGI app `app` ("module:attribute") with `workers` processes on host:port;
    `options` are uvicorn.Config's (loop, http, access_log, timeout_graceful_shutdown...)."""
    if workers == 1 or not BALANCED:
        uvicorn.run(app, factory=factory, workers=workers, host=host, port=port, **options)
        return
    config = uvicorn.Config(app, factory=factory, workers=workers, host=host, port=port, **options)
    try:
        holder = _reuse_port_socket(host, port)
    except OSError as exc:
        sys.exit(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    try:
        Multiprocess(config, sockets=ReusePortSockets(host, port, config.backlog)).run()
    finally:
        holder.close()


def main(argv: list[str] | None = None) -> None:
    """`python -m followups.serving APP [--factory] [--app-dir D] [--workers N] [--port P]`:
    the same servers for an app that is not ours (bench/perf.py serves its raw ASGI app so,
    beside the API, with the same settings)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m followups.serving", description=main.__doc__)
    parser.add_argument("app")
    parser.add_argument("--factory", action="store_true")
    parser.add_argument("--app-dir", default="")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--loop", default="auto")
    parser.add_argument("--http", default="auto")
    parser.add_argument("--access-log", action="store_true")
    args = parser.parse_args(argv)
    if args.app_dir:  # the spawned processes start with this sys.path
        sys.path.insert(0, args.app_dir)
    run(args.app, factory=args.factory, workers=args.workers, host=args.host, port=args.port,
        loop=args.loop, http=args.http, access_log=args.access_log)


if __name__ == "__main__":
    main()
