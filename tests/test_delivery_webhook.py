"""Signed webhooks against a real local HTTP receiver (ThreadingHTTPServer): no mocks."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from followups.delivery.errors import DeliveryError
from followups.delivery.webhook import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    post_webhook,
    sign,
    verify,
)
from followups.outbound import Policy
from servers import SlowReceiver

NOW = datetime(2026, 3, 5, 15, 0, tzinfo=UTC)
SECRET = "whsec-test-secret"
PAYLOAD = {"id": "n1", "kind": "followup_due", "message": "Follow up with Acme — café",
           "dueAt": "2026-03-05T08:00:00Z", "payload": None}


class Receiver:
    """Records every request; answers `status` (after `delay_s`, cut short by `release`)."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.status = 204
        self.headers: dict[str, str] = {}
        self.delay_s = 0.0
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append({"path": self.path, "headers": dict(self.headers),
                                          "body": body})
                if receiver.delay_s:
                    receiver.release.wait(receiver.delay_s)
                payload = b'{"error": "nope"}'
                try:
                    self.send_response(receiver.status)
                    for name, value in receiver.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:  # the client gave up (the timeout test)
                    pass

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.02}, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(2)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


# The receiver listens on 127.0.0.1: these tests allow loopback (off by default).
LOCAL = Policy(allow_private=True, timeout_s=2.0)


def post(url: str, *, timeout_s: float = 2.0, deadline_s: float = 10.0, secret: str = SECRET,
         policy: Policy = LOCAL) -> None:
    asyncio.run(post_webhook(url, secret, PAYLOAD, delivery_id="d-123", now=NOW, timeout_s=timeout_s,
                             deadline_s=deadline_s, policy=policy))


def test_post_arrives_once_signed(receiver):
    post(receiver.url)

    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    headers, body = request["headers"], request["body"]
    assert request["path"] == "/hook"
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"] == "followups-webhook/1"
    assert headers[DELIVERY_HEADER] == "d-123"
    assert headers[TIMESTAMP_HEADER] == str(int(NOW.timestamp()))
    # Compact, sorted, UTF-8 JSON: exactly what was signed.
    assert body == json.dumps(PAYLOAD, separators=(",", ":"), sort_keys=True,
                              ensure_ascii=False).encode()
    assert json.loads(body) == PAYLOAD
    signature = headers[SIGNATURE_HEADER]
    assert signature == sign(SECRET, int(NOW.timestamp()), body)
    assert signature.startswith("sha256=") and len(signature) == len("sha256=") + 64
    assert verify(SECRET, headers[TIMESTAMP_HEADER], body, signature, now=NOW)
    # A receiver's clock a little off is fine.
    assert verify(SECRET, headers[TIMESTAMP_HEADER], body, signature,
                  now=NOW + timedelta(seconds=299))


def test_verify_rejects_tampering_wrong_secret_and_stale_timestamps():
    ts = int(NOW.timestamp())
    body = b'{"id":"n1"}'
    signature = sign(SECRET, ts, body)
    assert verify(SECRET, str(ts), body, signature, now=NOW)
    assert not verify(SECRET, str(ts), b'{"id":"n2"}', signature, now=NOW)
    assert not verify("another-secret", str(ts), body, signature, now=NOW)
    assert not verify(SECRET, str(ts + 1), body, signature, now=NOW)  # timestamp is signed
    assert not verify(SECRET, str(ts), body, signature, now=NOW + timedelta(seconds=301))
    assert not verify(SECRET, str(ts), body, signature, now=NOW - timedelta(seconds=301))
    assert not verify(SECRET, str(ts), body, signature, now=NOW + timedelta(seconds=30),
                      tolerance_s=10)
    assert not verify(SECRET, "not-a-number", body, signature, now=NOW)
    assert not verify(SECRET, str(ts), body, "sha256=" + "0" * 64, now=NOW)
    assert not verify(SECRET, str(ts), body, "sha256=ünïcode", now=NOW)


@pytest.mark.parametrize(
    ("status", "permanent"),
    [(500, False), (503, False), (429, False), (408, False), (410, True), (400, True),
     (404, True)],
)
def test_failed_answers(receiver, status, permanent):
    receiver.status = status
    with pytest.raises(DeliveryError) as caught:
        post(receiver.url)
    assert caught.value.permanent is permanent
    assert str(status) in str(caught.value)
    assert SECRET not in str(caught.value)
    assert len(receiver.requests) == 1


def test_redirect_is_not_followed(receiver):
    receiver.status = 302
    receiver.headers = {"Location": receiver.url + "/elsewhere"}
    with pytest.raises(DeliveryError) as caught:
        post(receiver.url)
    assert caught.value.permanent is True
    assert [r["path"] for r in receiver.requests] == ["/hook"]


def test_connection_refused_is_temporary():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DeliveryError) as caught:
        post(f"http://127.0.0.1:{port}/hook")
    assert caught.value.permanent is False


def test_invalid_url_is_permanent():
    with pytest.raises(DeliveryError) as caught:
        post("ftp://127.0.0.1/hook")
    assert caught.value.permanent is True


def test_slow_receiver_times_out_within_bounds(receiver):
    receiver.delay_s = 5.0
    timeout_s = 0.5
    started = time.monotonic()
    with pytest.raises(DeliveryError) as caught:
        post(receiver.url, timeout_s=timeout_s)
    elapsed = time.monotonic() - started
    assert caught.value.permanent is False
    assert "timed out" in str(caught.value)
    assert elapsed < timeout_s + 1
    assert len(receiver.requests) == 1


@pytest.mark.parametrize("mode", ["trickle", "silent"])
def test_one_deadline_bounds_the_whole_attempt(mode):
    """httpx's timeouts are per read: a byte every 0.2 s never trips a 5 s read timeout. The
    deadline cuts the whole attempt off (connect, headers, body), before any read timeout."""
    trickle = SlowReceiver(mode, every_s=0.2)
    try:
        started = time.monotonic()
        with pytest.raises(DeliveryError) as caught:
            post(trickle.url, timeout_s=5.0, deadline_s=1.5)
        elapsed = time.monotonic() - started
    finally:
        trickle.close()
    assert 1.4 < elapsed < 2.5
    assert caught.value.permanent is False
    assert "timed out" in str(caught.value) and "1.5 s" in str(caught.value)
    assert trickle.deliveries == ["d-123"]
