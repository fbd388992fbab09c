"""Real peers on loopback for the worker tests: an HTTP receiver and an SMTP server."""

from __future__ import annotations

import asyncio
import socket
import threading
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

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
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
