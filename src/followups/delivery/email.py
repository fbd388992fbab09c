"""The daily digest by email: rendering (Jinja2 templates) and sending (smtplib).

``render_digest`` turns a digest notification's payload into (subject, text, html);
``send_email`` sends one multipart/alternative message and maps every failure to a
``DeliveryError``: connection trouble, timeouts, SMTP 4xx replies and session set-up
problems (greeting, STARTTLS, login) are temporary; a 5xx reply to the message itself
(sender, recipient or data refused) or a message that cannot be built is permanent.
"""

from __future__ import annotations

import contextlib
import re
import smtplib
import socket
import ssl
import threading
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime

from jinja2 import Environment, PackageLoader, select_autoescape

from followups.chains import buckets
from followups.config import Settings
from followups.delivery.errors import DeliveryError

SECTIONS = tuple((name, buckets.BY_NAME[name].label) for name in buckets.PARTITION)

_env = Environment(
    loader=PackageLoader("followups.delivery", "templates"),
    # Company, role, contact and why are user input: escaped in HTML, always.
    autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def _one_line(value: object) -> str:
    """A user string fit for one line (and a header): whitespace runs become one space."""
    return re.sub(r"\s+", " ", str(value)).strip() if value is not None else ""


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _item(raw: dict) -> dict:
    company, role, contact = (_one_line(raw.get(k)) for k in ("company", "role", "contact"))
    headline = " — ".join(p for p in (company, role) if p)
    if contact:
        headline = f"{headline}, with {contact}" if headline else contact
    overdue_days = int(raw.get("overdueDays") or 0)
    return {
        "id": str(raw.get("id") or ""),
        "headline": headline or "Follow-up",
        "company": company,
        "role": role,
        "contact": contact,
        "due_label": _one_line(raw.get("dueLabel") or raw.get("dueAt")),
        "attempt_no": raw.get("attemptNo"),
        "overdue_days": overdue_days,
        "overdue_text": f"{_plural(overdue_days, 'day')} overdue" if overdue_days > 0 else "",
        "why": _one_line(raw.get("why")),
    }


def render_digest(payload: dict) -> tuple[str, str, str]:
    """(subject, text, html) for a digest payload (see notifications/digests.py).

    Raises ``DeliveryError(permanent=True)`` for a payload that cannot be rendered.
    """
    try:
        date_label = _one_line(payload.get("dateLabel") or payload.get("date")) or "today"
        sections = []
        counts = []
        for key, title in SECTIONS:
            items = [_item(raw) for raw in payload.get(key) or []]
            counts.append(f"{len(items)} {key}")
            if items:
                heading = f"{title} ({len(items)})"
                sections.append({"key": key, "heading": heading, "entries": items})
        subject = f"Follow-ups for {date_label}: {', '.join(counts)}"
        context = {
            "subject": subject,
            "date_label": date_label,
            "timezone": _one_line(payload.get("timezone")),
            "sections": sections,
        }
        text = _env.get_template("digest.txt.j2").render(context)
        html = _env.get_template("digest.html.j2").render(context)
    except DeliveryError:
        raise
    except Exception as exc:  # a malformed payload: rendering it again cannot help
        raise DeliveryError(f"cannot render the digest: {type(exc).__name__}: {exc}",
                            permanent=True) from exc
    return subject, text, html


def build_message(settings: Settings, *, to: str, subject: str, text: str, html: str,
                  message_id: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = settings.smtp_from
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime.now(UTC))
    # Stable per delivery: a re-sent delivery (at-least-once) carries the same id.
    msg["Message-ID"] = f"<{message_id}@followups>"
    # RFC 3834: no vacation auto-replies to a machine-made digest.
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    return msg


def _scrub(text: str, settings: Settings) -> str:
    if settings.smtp_password:
        text = text.replace(settings.smtp_password, "***")
    return text[:400]


def _reply(code: int, message: bytes | str) -> str:
    if isinstance(message, bytes):
        message = message.decode("utf-8", "replace")
    return f"{code} {_one_line(message)}"


class _Cutoff:
    """The deadline of a whole SMTP session: at it, the socket is shut down, which ends
    whatever read or write is waiting (a server that trickles its replies never trips a
    per-read timeout)."""

    def __init__(self, client: smtplib.SMTP, deadline_s: float | None) -> None:
        self.client, self.fired = client, False
        self.timer = threading.Timer(deadline_s, self._fire) if deadline_s is not None else None

    def _fire(self) -> None:
        self.fired = True
        sock = self.client.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> _Cutoff:
        if self.timer is not None:
            self.timer.start()
        return self

    def __exit__(self, *_exc) -> None:
        if self.timer is not None:
            self.timer.cancel()


def send_email(settings: Settings, *, to: str, subject: str, text: str, html: str,
               message_id: str, deadline_s: float | None = None) -> None:
    """Send one message (text/plain with a text/html alternative); raises DeliveryError.
    ``deadline_s``: the whole session's bound (connect, greeting, login, the message)."""
    if not settings.smtp_host:
        raise DeliveryError("SMTP is not configured", permanent=True)
    try:
        msg = build_message(settings, to=to, subject=subject, text=text, html=html,
                            message_id=message_id)
    except (ValueError, TypeError) as exc:  # e.g. a header with a line break in it
        raise DeliveryError(f"cannot build the message: {exc}", permanent=True) from exc

    host, port, timeout = settings.smtp_host, settings.smtp_port, settings.smtp_timeout_s
    if deadline_s is not None:
        timeout = min(timeout, deadline_s)
    where = f"SMTP {host}:{port}"
    phase = "connect"
    if settings.smtp_security == "ssl":
        client = smtplib.SMTP_SSL(timeout=timeout, context=ssl.create_default_context())
    else:
        client = smtplib.SMTP(timeout=timeout)
    cutoff = _Cutoff(client, deadline_s)
    try:
        with cutoff, client:
            code, greeting = client.connect(host, port)
            if code != 220:
                raise smtplib.SMTPConnectError(code, greeting)
            if settings.smtp_security == "starttls":
                phase = "STARTTLS"
                client.starttls(context=ssl.create_default_context())
            if settings.smtp_username:
                phase = "login"
                client.login(settings.smtp_username, settings.smtp_password or "")
            phase = "send"
            refused = client.send_message(msg, to_addrs=[to])
        if refused:  # only possible with several recipients, but be exact
            codes = [code for code, _ in refused.values()]
            detail = "; ".join(_reply(c, m) for c, m in refused.values())
            raise DeliveryError(_scrub(f"{where} refused the recipient: {detail}", settings),
                                permanent=all(500 <= c < 600 for c in codes))
    except DeliveryError:
        raise
    except (smtplib.SMTPException, OSError) as exc:
        if cutoff.fired:
            raise DeliveryError(f"{where} {phase}: no complete answer within the deadline of "
                                f"{deadline_s:g} s") from None
        raise _failure(exc, where, phase, settings) from None


def _failure(exc: smtplib.SMTPException | OSError, where: str, phase: str, settings: Settings) -> DeliveryError:
    """What an SMTP failure in `phase` means: temporary or permanent, never the password."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        detail = "; ".join(_reply(c, m) for c, m in exc.recipients.values())
        return DeliveryError(_scrub(f"{where} refused the recipient: {detail}", settings),
                             permanent=bool(codes) and all(500 <= c < 600 for c in codes))
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        # In "send": the message needs an extension the server lacks (SMTPUTF8): permanent.
        # Before it (STARTTLS or AUTH not offered): the server's set-up, not this message.
        return DeliveryError(_scrub(f"{where} {phase}: not supported: {exc}", settings),
                             permanent=phase == "send")
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        # Wrong credentials are the server's configuration, not this message: retried, so
        # a corrected password (and worker restart) still delivers. Never echo the password.
        return DeliveryError(_scrub(f"{where} login failed: {_reply(exc.smtp_code, exc.smtp_error)}", settings))
    if isinstance(exc, smtplib.SMTPConnectError | smtplib.SMTPHeloError):
        return DeliveryError(_scrub(f"{where} {phase}: {_reply(exc.smtp_code, exc.smtp_error)}", settings))
    if isinstance(exc, smtplib.SMTPResponseException):
        # SMTPSenderRefused, SMTPDataError and other replies: 5xx permanent, else temporary,
        # but only for the message itself; a 5xx while setting up the session is retried.
        code = exc.smtp_code
        return DeliveryError(_scrub(f"{where} {phase}: {_reply(code, exc.smtp_error)}", settings),
                             permanent=phase == "send" and 500 <= code < 600)
    # Disconnects, refused connections, DNS failures, timeouts, TLS errors.
    return DeliveryError(_scrub(f"{where} {phase}: {type(exc).__name__}: {exc}", settings))
