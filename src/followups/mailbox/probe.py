"""Checking a mailbox before it is saved: both logins at once, each with a timeout, and
the folders. Blocking I/O: callers run it in a thread, never on the event loop."""

from __future__ import annotations

import smtplib
import socket
import ssl
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import suppress
from dataclasses import dataclass

from imapclient.exceptions import LoginError

from followups.errors import FieldError, Invalid
from followups.mailbox import imap
from followups.mailbox.account import Account, Server

SENT_FLAG = b"\\Sent"


@dataclass(frozen=True)
class Found:
    inbox: str
    sent: str


def _network(exc: BaseException, server: Server, what: str) -> str:
    where = f"{what} server {server.host}:{server.port}"
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        return f"TLS with the {where} failed ({exc.__class__.__name__}: {getattr(exc, 'reason', None) or exc})"
    if isinstance(exc, socket.gaierror):
        return f"the {what} host {server.host} was not found"
    if isinstance(exc, TimeoutError | socket.timeout):
        return f"the {where} did not answer in time (host unreachable?)"
    if isinstance(exc, ConnectionError | OSError):
        return f"the {where} is unreachable ({exc.__class__.__name__})"
    return f"the {where} failed: {exc}"


def _imap(account: Account, sent: str | None, timeout: float) -> tuple[Found | None, list[FieldError]]:
    try:
        client = imap.connect(account.imap, timeout)
    except Exception as exc:  # noqa: BLE001 - each failure is named for the user
        return None, [FieldError("imapHost", _network(exc, account.imap, "IMAP"))]
    try:
        try:
            client.login(account.username, account.password)
        except LoginError:
            return None, [FieldError("password", "the IMAP server refused the username or password")]
        errors = []
        if not client.folder_exists(account.inbox):
            errors.append(FieldError("inboxFolder", f"the IMAP server has no folder {account.inbox!r}"))
        if sent is None:
            sent = _special_sent(client)
            if sent is None:
                errors.append(FieldError(
                    "sentFolder", "the server marks no folder as \\Sent: name the sent folder"))
        elif not client.folder_exists(sent):
            errors.append(FieldError("sentFolder", f"the IMAP server has no folder {sent!r}"))
        return (None if errors else Found(account.inbox, sent)), errors
    except Exception as exc:  # noqa: BLE001
        return None, [FieldError("imapHost", _network(exc, account.imap, "IMAP"))]
    finally:
        with suppress(Exception):  # the session is over either way
            client.logout()


def _special_sent(client) -> str | None:
    """The folder the server marks \\Sent (RFC 6154 SPECIAL-USE), else a usual name."""
    for flags, _delimiter, name in client.list_folders():
        if SENT_FLAG in flags:
            return name
    return client.find_special_folder(SENT_FLAG)


def _smtp(account: Account, timeout: float) -> list[FieldError]:
    server = account.smtp
    try:
        if server.security == "ssl":
            smtp = smtplib.SMTP_SSL(server.host, server.port, timeout=timeout,
                                    context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(server.host, server.port, timeout=timeout)
    except Exception as exc:  # noqa: BLE001
        return [FieldError("smtpHost", _network(exc, server, "SMTP"))]
    try:
        smtp.ehlo()
        if server.security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        if smtp.has_extn("auth"):
            smtp.login(account.username, account.password)
        return []
    except smtplib.SMTPAuthenticationError:
        return [FieldError("password", "the SMTP server refused the username or password")]
    except smtplib.SMTPNotSupportedError as exc:
        return [FieldError("smtpSecurity", f"the SMTP server does not support that: {exc}")]
    except Exception as exc:  # noqa: BLE001
        return [FieldError("smtpHost", _network(exc, server, "SMTP"))]
    finally:
        with suppress(Exception):  # the session is over either way
            smtp.quit()


CHECK_DEADLINE_FACTOR = 2.0  # the whole check: connect, TLS, login and the folders, each bound by `timeout`


def _late_error(field: str, server: Server) -> FieldError:
    what = "IMAP" if field == "imapHost" else "SMTP"
    where = f"{server.host}:{server.port}"
    return FieldError(field, f"the {what} server {where} did not answer in time (host unreachable?)")


def check(account: Account, *, sent: str | None, timeout: float) -> Found:
    """Both logins at once; Invalid (422) naming each failure. `sent` None: found on the server.
    Each socket operation has `timeout`, and the whole check a deadline of its own (a name
    lookup is not bound by socket timeouts): a server still silent then is named as such."""
    pool = ThreadPoolExecutor(2, "followups-mailbox-check")
    imap_check = pool.submit(_imap, account, sent, timeout)
    smtp_check = pool.submit(_smtp, account, timeout)
    pool.shutdown(wait=False)  # a thread still waiting on a lookup ends on its own
    done, _late = wait([imap_check, smtp_check], timeout=timeout * CHECK_DEADLINE_FACTOR)
    found, errors = imap_check.result() if imap_check in done else (None, [_late_error("imapHost", account.imap)])
    errors = errors + (smtp_check.result() if smtp_check in done else [_late_error("smtpHost", account.smtp)])
    if errors:
        # One sentence per failure; the same field (the password, for both servers) once.
        seen: dict[str, FieldError] = {}
        for error in errors:
            seen.setdefault(error.field, error)
        detail = "The mailbox was not saved: " + "; ".join(e.message for e in errors) + "."
        raise Invalid(detail, list(seen.values()))
    assert found is not None
    return found
