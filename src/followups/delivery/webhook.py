"""Signed webhooks: one JSON POST per delivery, HMAC-SHA256 over timestamp and body.

The receiver checks ``X-Followups-Signature`` against ``sign(secret, timestamp, body)``
with the ``X-Followups-Timestamp`` it was sent (``verify`` does it, constant-time, and
rejects stale timestamps), and dedupes on ``X-Followups-Delivery``: a delivery may arrive
more than once (at-least-once), always with the same id.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import re
from datetime import datetime

import httpx

from followups import outbound
from followups.delivery.errors import DeliveryError

SIGNATURE_HEADER = "X-Followups-Signature"
TIMESTAMP_HEADER = "X-Followups-Timestamp"
DELIVERY_HEADER = "X-Followups-Delivery"
USER_AGENT = "followups-webhook/1"

# Of a failed answer's body, only the beginning is read, and kept for last_error.
_MAX_ERROR_BODY = 2048
_SNIPPET = 200


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp_header: str, body: bytes, signature_header: str, *,
           now: datetime, tolerance_s: int = 300) -> bool:
    """True when the signature is the secret's over this timestamp and body, and the
    timestamp is within ``tolerance_s`` of ``now`` (either way). ``now`` should be aware."""
    try:
        timestamp = int(timestamp_header.strip())
    except (AttributeError, ValueError):
        return False
    if abs(now.timestamp() - timestamp) > tolerance_s:
        return False
    expected = sign(secret, timestamp, body).encode("ascii")
    try:
        given = signature_header.strip().encode("ascii")
    except (AttributeError, UnicodeEncodeError):
        return False
    return hmac.compare_digest(expected, given)


def encode(payload: dict) -> bytes:
    """The body exactly as sent (and signed): compact JSON, sorted keys, UTF-8."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True,
                      ensure_ascii=False, allow_nan=False).encode("utf-8")


def _snippet(data: bytes) -> str:
    text = re.sub(r"\s+", " ", data.decode("utf-8", "replace")).strip()
    return text if len(text) <= _SNIPPET else text[:_SNIPPET] + "…"


def client(timeout_s: float) -> httpx.AsyncClient:
    """The client a worker's deliveries share (its connections kept between them):
    ``timeout_s`` bounds connecting and each read or write; redirects never followed."""
    return httpx.AsyncClient(timeout=httpx.Timeout(timeout_s), follow_redirects=False, trust_env=False,
                             limits=httpx.Limits(max_connections=None, max_keepalive_connections=20))


async def post_webhook(url: str, secret: str, payload: dict, *, delivery_id: str, now: datetime,
                       timeout_s: float, deadline_s: float, policy: outbound.Policy,
                       via: httpx.AsyncClient | None = None) -> None:
    """POST the payload; returns on a 2xx answer, raises DeliveryError otherwise.

    Temporary: 408, 429, 5xx, timeouts and connection errors, a host that does not
    resolve or resolves to a refused address. Permanent: other 4xx, redirects (never
    followed: the URL must be fixed), an invalid URL or payload, a URL naming a refused
    address itself. The host is resolved and checked here (followups.outbound), at each
    attempt, and the connection goes to the address checked, not to a second DNS answer.
    ``timeout_s`` bounds connecting and each read or write; ``deadline_s`` the whole
    attempt (the address check, connect, headers, the start of a failed answer's body): a
    receiver that trickles a byte at a time is cut off there. ``via``: a shared client (else
    one for this attempt). The error message names neither the URL (it may carry a token)
    nor the secret.
    """
    try:
        body = encode(payload)
    except (TypeError, ValueError) as exc:
        raise DeliveryError(f"cannot encode the webhook payload: {exc}", permanent=True) from exc
    try:
        target = await asyncio.to_thread(outbound.check_url, url, policy)  # a DNS look-up: not on the loop
    except outbound.Refused as exc:
        raise DeliveryError(f"webhook address refused: {exc}", permanent=exc.literal) from None
    except outbound.Unresolved as exc:
        raise DeliveryError(f"webhook host not resolved: {exc}") from None
    pinned = httpx.URL(url)
    extensions = {}
    if target.address != target.host:
        # To the checked address; the Host header and TLS (SNI, the certificate's name)
        # still name the URL's host.
        extensions["sni_hostname"] = target.host
        pinned = pinned.copy_with(host=target.address)
    timestamp = int(now.timestamp())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        DELIVERY_HEADER: delivery_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(secret, timestamp, body),
        "Host": httpx.URL(url).netloc.decode("ascii"),
    }
    head, status = b"", None
    try:
        async with asyncio.timeout(deadline_s), contextlib.AsyncExitStack() as stack:
            http = via or await stack.enter_async_context(client(timeout_s))
            response = await stack.enter_async_context(
                http.stream("POST", pinned, content=body, headers=headers, extensions=extensions))
            status = response.status_code
            if 200 <= status < 300:
                return  # the body is not read: nothing in it matters
            async for chunk in response.aiter_raw():
                head += chunk
                if len(head) >= _MAX_ERROR_BODY:
                    break
    except httpx.UnsupportedProtocol as exc:
        raise DeliveryError(f"webhook URL not usable: {exc}", permanent=True) from None
    except httpx.InvalidURL as exc:
        raise DeliveryError(f"webhook URL not usable: {exc}", permanent=True) from None
    except httpx.TimeoutException as exc:
        raise DeliveryError(f"webhook timed out after {timeout_s:g} s "
                            f"({type(exc).__name__})") from None
    except TimeoutError:
        if status is None:
            raise DeliveryError(f"webhook timed out: no complete answer within the deadline of "
                                f"{deadline_s:g} s") from None
        # A failed answer whose body trickled: cut short at the deadline, its status stands.
    except httpx.TransportError as exc:
        raise DeliveryError(f"webhook not reachable: {type(exc).__name__}: {exc}") from None
    except httpx.HTTPError as exc:  # anything else httpx raises: retried
        raise DeliveryError(f"webhook failed: {type(exc).__name__}: {exc}") from None

    reason = response.reason_phrase
    message = f"webhook answered {status}{' ' + reason if reason else ''}"
    if 300 <= status < 400:
        raise DeliveryError(f"{message} (redirects are not followed)", permanent=True)
    snippet = _snippet(head)
    if snippet:
        message = f"{message}: {snippet}"
    if status in (408, 429) or status >= 500:
        raise DeliveryError(message, permanent=False)
    if 400 <= status < 500:
        raise DeliveryError(message, permanent=True)
    raise DeliveryError(message, permanent=False)  # 1xx as final, or anything odd
