"""The network half of "Send now": one message over SMTP, its copy into the sent folder over
IMAP. Each call has one overall deadline (a watchdog cuts the socket when it passes: a
server that drips a byte a second never holds a request past it), and tells what happened:

- `NotSent`: the server refused the message or was never given it: sending again is safe.
- `Unknown`: the connection broke after the message went out, before the server's answer:
  it may have been delivered. Never sent again (followups.mailbox.send).
"""

from __future__ import annotations

import contextlib
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Callable
from datetime import datetime

from imapclient import IMAPClient

from followups.mailbox.account import Account, Server

SEND_DEADLINE_S = 30.0
APPEND_DEADLINE_S = 20.0


class MailError(Exception):
    pass


class NotSent(MailError):
    pass


class Unknown(MailError):
    pass


class AppendFailed(MailError):
    pass


def _scrub(text: str, account: Account) -> str:
    if account.password:
        text = text.replace(account.password, "***")
    return " ".join(text.split())[:400]


class _Watchdog:
    """Shuts a socket down once the deadline passes: a blocked read then fails at once."""

    def __init__(self, deadline_s: float) -> None:
        self.deadline = time.monotonic() + deadline_s
        self.fired = False
        self._sock: Callable[[], socket.socket | None] = lambda: None
        self._timer = threading.Timer(deadline_s, self._cut)
        self._timer.daemon = True

    def watch(self, sock: Callable[[], socket.socket | None]) -> None:
        self._sock = sock
        self._timer.start()

    def remaining(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            self.fired = True
            raise TimeoutError("the deadline passed")
        return left

    def _cut(self) -> None:
        self.fired = True
        sock = self._sock()
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        self._timer.cancel()


def _smtp_client(server: Server, timeout: float) -> smtplib.SMTP:
    if server.security == "ssl":
        return smtplib.SMTP_SSL(server.host, server.port, timeout=timeout, context=ssl.create_default_context())
    return smtplib.SMTP(server.host, server.port, timeout=timeout)


def _reply(code: int, message: bytes | str) -> str:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
    return f"{code} {text}"


def send_message(
    account: Account, *, to: str, raw: str, deadline_s: float = SEND_DEADLINE_S
) -> None:
    """Send `raw` (an RFC 5322 message) from the account's address to `to`; raises NotSent
    or Unknown. MAIL, RCPT and DATA are driven one by one, so that a failure before the
    message's text went out is told apart from one after it."""
    server = account.smtp
    where = f"SMTP {server.host}:{server.port}"
    watchdog = _Watchdog(deadline_s)
    phase = "connect"
    client = None
    try:
        client = _smtp_client(server, watchdog.remaining())
        watchdog.watch(lambda: client.sock)
        phase = "greeting"
        client.ehlo_or_helo_if_needed()
        if server.security == "starttls":
            phase = "STARTTLS"
            client.starttls(context=ssl.create_default_context())
            client.ehlo()
        if account.username:
            phase = "login"
            client.login(account.username, account.password)
        phase = "sender"
        code, reply = client.mail(account.address)
        if code != 250:
            raise NotSent(f"{where} refused the sender: {_reply(code, reply)}")
        phase = "recipient"
        code, reply = client.rcpt(to)
        if code not in (250, 251):
            raise NotSent(f"{where} refused the recipient: {_reply(code, reply)}")
        phase = "data"
        client.putcmd("data")
        code, reply = client.getreply()
        if code != 354:
            raise NotSent(f"{where} refused the message: {_reply(code, reply)}")
        phase = "message"  # from here on, a broken connection leaves the outcome unknown
        payload = smtplib.quotedata(raw)
        payload += ("" if payload.endswith("\r\n") else "\r\n") + ".\r\n"
        client.send(payload.encode("utf-8"))
        code, reply = client.getreply()
        if code != 250:
            raise NotSent(f"{where} refused the message: {_reply(code, reply)}")
    except NotSent as exc:
        raise NotSent(_scrub(str(exc), account)) from None
    except (smtplib.SMTPException, OSError, ValueError) as exc:
        late = " (the deadline passed)" if watchdog.fired else ""
        detail = _scrub(f"{where} {phase}{late}: {type(exc).__name__}: {exc}", account)
        raise (Unknown if phase == "message" else NotSent)(detail) from None
    finally:
        watchdog.stop()
        if client is not None:
            with contextlib.suppress(OSError):
                client.close()


def append_copy(
    account: Account, *, raw: str, message_id: str, when: datetime, deadline_s: float = APPEND_DEADLINE_S
) -> None:
    """Store `raw` in the sent folder, once: a copy with the same Message-ID there already
    (an earlier try, or a server that files what it sends) is left as the only one."""
    server = account.imap
    watchdog = _Watchdog(deadline_s)
    client = None
    try:
        client = IMAPClient(
            server.host, port=server.port, ssl=server.security == "ssl",
            ssl_context=ssl.create_default_context() if server.security == "ssl" else None,
            timeout=watchdog.remaining(),
        )
        watchdog.watch(client.socket)
        if server.security == "starttls":
            client.starttls(ssl.create_default_context())
        client.login(account.username, account.password)
        client.select_folder(account.sent)
        if not client.search(["HEADER", "Message-ID", message_id]):
            client.append(account.sent, raw.encode("utf-8"), flags=[b"\\Seen"], msg_time=when)
        client.logout()
    except Exception as exc:  # noqa: BLE001 - imapclient raises its own, socket and TLS errors alike
        late = " (the deadline passed)" if watchdog.fired else ""
        raise AppendFailed(
            _scrub(f"IMAP {server.host}:{server.port}{late}: {type(exc).__name__}: {exc}", account)
        ) from None
    finally:
        watchdog.stop()
        if client is not None:
            with contextlib.suppress(Exception):  # closing a connection that may be gone
                client.shutdown()
