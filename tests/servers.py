"""Real peers on loopback for the worker tests: an HTTP receiver and an SMTP server."""

from __future__ import annotations

import asyncio
import select
import socket
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class WebhookReceiver:
    """Records every POST; answers with `statuses` in turn (then 200)."""

    statuses: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    url: str = ""

    def start(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.received.append(Received({k.lower(): v for k, v in self.headers.items()}, body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args):
                pass

        class Server(ThreadingHTTPServer):
            request_queue_size = 128  # a worker's deliveries come at once (the default backlog: 5)

        self._server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class _Collect:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_DATA(self, _server, _session, envelope):  # noqa: N802
        if self.sink.reply.startswith("250"):
            self.sink.messages.append(
                (envelope.rcpt_tos, message_from_bytes(envelope.content, policy=policy.default))
            )
        if self.sink.delay_s:  # the text is in; the answer comes late
            await asyncio.sleep(self.sink.delay_s)
        return self.sink.reply


@dataclass
class SmtpSink:
    messages: list[tuple[list[str], EmailMessage]] = field(default_factory=list)
    port: int = 0
    # The answer to each message (a 5xx refuses it), given after waiting this long.
    reply: str = "250 OK"
    delay_s: float = 0.0
    # (username, password): a login is then required (plain text: loopback only).
    credentials: tuple[str, str] | None = None

    def start(self) -> SmtpSink:
        self.port = free_port()
        login = {}
        if self.credentials:
            login = {"authenticator": self._authenticate, "auth_require_tls": False, "auth_required": True}
        self._controller = Controller(_Collect(self), hostname="127.0.0.1", port=self.port, **login)
        self._controller.start()
        return self

    def _authenticate(self, _server, _session, _envelope, _mechanism, auth_data) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (
            auth_data.login.decode(), auth_data.password.decode()) == self.credentials
        return AuthResult(success=ok, handled=False)

    def stop(self) -> None:
        self._controller.stop()


class SlowReceiver:
    """A webhook receiver that holds every request it reads: `trickle` sends its answer's
    header one byte every `every_s` (each read is quick: no per-read timeout trips),
    `silent` never sends a byte, `hold` answers 200 after `every_s`. Records each request's
    delivery id and how many were in flight at most. `smtp`: an SMTP server that trickles
    its greeting, without reading first."""

    def __init__(self, mode: str, every_s: float = 0.5) -> None:
        self.mode, self.every_s = mode, every_s
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/hook"
        self.deliveries: list[str] = []
        self.in_flight = self.peak = 0
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _read(self, conn: socket.socket) -> str | None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            data += chunk
        for line in data.split(b"\r\n\r\n")[0].decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            if name.lower() == "x-followups-delivery":
                return value.strip()
        return ""

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            try:
                delivery = "" if self.mode == "smtp" else self._read(conn)
                if delivery is None:
                    return
                with self.lock:
                    self.deliveries.append(delivery)
                    self.in_flight += 1
                    self.peak = max(self.peak, self.in_flight)
                try:
                    self._answer(conn)
                finally:
                    with self.lock:
                        self.in_flight -= 1
            except OSError:
                return

    def _wait(self, conn: socket.socket, seconds: float) -> bool:
        """False as soon as the client has closed the connection (or we are stopped)."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0 and not self.stopped.is_set():
            readable, _, _ = select.select([conn], [], [], min(left, 0.05))
            if readable and not conn.recv(1):
                return False
        return not self.stopped.is_set()

    def _answer(self, conn: socket.socket) -> None:
        if self.mode == "silent":
            while self._wait(conn, 3600):
                pass
        elif self.mode == "hold":
            if self._wait(conn, self.every_s):
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        else:
            start = b"220 " if self.mode == "smtp" else b"HTTP/1.1 200 OK\r\nX-Slow: "
            for byte in start + b"a" * 100_000:
                if not self._wait(conn, self.every_s):
                    return
                conn.sendall(bytes([byte]))

    def close(self) -> None:
        self.stopped.set()
        self.sock.close()
