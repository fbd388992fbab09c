"""The digest email against a real SMTP server (aiosmtpd on 127.0.0.1): no mocks."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from followups.config import Settings
from followups.delivery.email import render_digest, send_email
from followups.delivery.errors import DeliveryError
from servers import SlowReceiver

FROM = "followups <digest@followups.test>"
TO = "ada@example.com"
PASSWORD = "s3cret-Pa55word"


def item(id_, due_label, company, role, contact, attempt_no, overdue_days=0, why=None) -> dict:
    return {
        "id": id_, "dueAt": "2026-03-05T08:00:00Z", "dueLabel": due_label, "company": company,
        "role": role, "contact": contact, "attemptNo": attempt_no,
        "overdueDays": overdue_days, "why": why,
    }


PAYLOAD = {
    "date": "2026-03-05",
    "dateLabel": "Thu 5 Mar",
    "timezone": "Europe/Berlin",
    "overdue": [
        item("o1", "Mon 2 Mar 09:00", "Acme <script>alert(1)</script>", "Backend engineer",
             "Grace Hopper", 2, overdue_days=3, why="Attempt 2: sent Fri 27 Feb + 3 days"),
        item("o2", "Wed 4 Mar 10:00", "Initech & Sons", "SRE", None, 1, overdue_days=1),
    ],
    "today": [item("t1", "Thu 5 Mar 09:00", "Globex", "Data engineer", "Hank Scorpio", 1)],
    "upcoming": [],
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Collector:
    """Accepts mail, except for the recipients in `refuse` (address -> SMTP reply)."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.refuse: dict[str, str] = {}
        self.logins: list[str] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted"

    def authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and auth_data.password == PASSWORD.encode()
        if ok:
            self.logins.append(auth_data.login.decode())
        # handled=False: aiosmtpd answers 235 or 535 itself.
        return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp() -> Iterator[tuple[Collector, int]]:
    collector = Collector()
    port = free_port()
    controller = Controller(collector, hostname="127.0.0.1", port=port)
    controller.start()
    yield collector, port
    controller.stop()


def settings(port: int, **extra) -> Settings:
    values = dict(smtp_host="127.0.0.1", smtp_port=port, smtp_security="none",
                  smtp_from=FROM, smtp_username=None, smtp_password=None, smtp_timeout_s=2.0)
    return Settings(**{**values, **extra})


def send_digest(port: int, *, to: str = TO, **extra) -> None:
    subject, text, html = render_digest(PAYLOAD)
    send_email(settings(port, **extra), to=to, subject=subject, text=text, html=html,
               message_id="0b6b0f3e-delivery")


def parse(raw: bytes) -> EmailMessage:
    return message_from_bytes(raw, policy=policy.default)


def test_render_digest_subject_sections_and_escaping():
    subject, text, html = render_digest(PAYLOAD)
    assert subject == "Follow-ups for Thu 5 Mar: 2 overdue, 1 today, 0 upcoming"
    assert "Overdue (2)" in text and "Today (1)" in text
    assert "Upcoming" not in text and "Upcoming" not in html  # empty sections omitted
    assert "3 days overdue" in text and "1 day overdue" in text
    assert "3 days overdue" in html and "1 day overdue" in html
    assert "Attempt 2: sent Fri 27 Feb + 3 days" in text
    # Company names are user input: escaped in HTML, verbatim in the text part.
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Initech &amp; Sons" in html
    assert "Acme <script>alert(1)</script>" in text
    assert "Initech & Sons" in text
    # Self-contained: no external assets.
    assert "<link" not in html and "src=" not in html and "http" not in html


def test_render_empty_digest():
    subject, text, html = render_digest({"date": "2026-03-05", "dateLabel": "Thu 5 Mar",
                                         "timezone": "UTC", "overdue": [], "today": [],
                                         "upcoming": []})
    assert subject == "Follow-ups for Thu 5 Mar: 0 overdue, 0 today, 0 upcoming"
    assert "Nothing is due" in text and "Nothing is due" in html
    assert "Overdue" not in text and "Today (" not in html


def test_digest_arrives_once_as_multipart_alternative(smtp):
    collector, port = smtp
    send_digest(port)

    assert len(collector.messages) == 1
    mail_from, rcpt_tos, raw = collector.messages[0]
    assert mail_from == "digest@followups.test"
    assert rcpt_tos == [TO]
    msg = parse(raw)
    assert msg["From"] == FROM
    assert msg["To"] == TO
    assert msg["Subject"] == "Follow-ups for Thu 5 Mar: 2 overdue, 1 today, 0 upcoming"
    assert msg["Message-ID"] == "<0b6b0f3e-delivery@followups>"
    assert msg["Date"]
    assert msg.get_content_type() == "multipart/alternative"
    parts = {part.get_content_type(): part.get_content() for part in msg.iter_parts()}
    assert set(parts) == {"text/plain", "text/html"}
    text, html = parts["text/plain"], parts["text/html"]
    for needle in ("Backend engineer", "Grace Hopper", "SRE", "Globex", "Data engineer",
                   "Hank Scorpio", "Mon 2 Mar 09:00", "Thu 5 Mar 09:00", "3 days overdue"):
        assert needle in text
        assert needle in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "Acme <script>alert(1)</script>" in text


def test_unreachable_server_is_temporary():
    with pytest.raises(DeliveryError) as caught:
        send_digest(free_port())
    assert caught.value.permanent is False


@pytest.mark.parametrize(
    ("reply", "permanent"),
    [("550 5.1.1 No such user here", True), ("450 4.2.1 Mailbox busy, try later", False)],
)
def test_refused_recipient(smtp, reply, permanent):
    collector, port = smtp
    collector.refuse["nobody@example.com"] = reply
    with pytest.raises(DeliveryError) as caught:
        send_digest(port, to="nobody@example.com")
    assert caught.value.permanent is permanent
    assert reply.split()[0] in str(caught.value)
    assert collector.messages == []


@pytest.fixture
def smtp_auth() -> Iterator[tuple[Collector, int]]:
    collector = Collector()
    port = free_port()
    # Plain-text AUTH is fine on loopback; TLS is not what this test is about.
    controller = Controller(collector, hostname="127.0.0.1", port=port,
                            authenticator=collector.authenticate, auth_require_tls=False,
                            auth_required=True)
    controller.start()
    yield collector, port
    controller.stop()


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
def test_login_with_credentials(smtp_auth):
    collector, port = smtp_auth
    send_digest(port, smtp_username="ada", smtp_password=PASSWORD)
    assert collector.logins == ["ada"]
    assert len(collector.messages) == 1


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
def test_failed_login_never_shows_the_password(smtp_auth):
    collector, port = smtp_auth
    wrong = "wrong-Pa55word-xyz"
    with pytest.raises(DeliveryError) as caught:
        send_digest(port, smtp_username="ada", smtp_password=wrong)
    assert "login failed" in str(caught.value)
    assert wrong not in str(caught.value) and wrong not in repr(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert collector.messages == []


def test_a_server_that_trickles_its_greeting_is_cut_off_at_the_deadline():
    """smtplib's timeout is per read: a byte every 0.2 s never trips it. The deadline ends
    the whole session all the same (its socket shut down), as a temporary failure."""
    slow = SlowReceiver("smtp", every_s=0.2)
    try:
        port = int(slow.url.split(":")[2].split("/")[0])
        subject, text, html = render_digest(PAYLOAD)
        started = time.monotonic()
        with pytest.raises(DeliveryError) as caught:
            send_email(settings(port, smtp_timeout_s=5.0), to=TO, subject=subject, text=text, html=html,
                       message_id="0b6b0f3e-delivery", deadline_s=1.5)
        elapsed = time.monotonic() - started
    finally:
        slow.close()
    assert 1.4 < elapsed < 2.5
    assert caught.value.permanent is False
    assert "deadline of 1.5 s" in str(caught.value)
