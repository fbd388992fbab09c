"""Where the server may connect on a user's behalf (webhooks): public addresses only.

A webhook URL is a request the server makes for whoever saved it. Unchecked, a user could
make it POST to the server's own loopback services, the cloud's metadata address
(169.254.169.254) or the private network behind it. So the URL's host is resolved when it
is saved and again at each delivery (a DNS answer can change in between), every address
it resolves to is checked, and the delivery connects to the address that was checked, not
to a second answer. Odd spellings (`2130706433`, `0x7f000001`, `0177.0.0.1`, `127.1`) are
read the way the system's resolver reads them, which is how a connection would.

`FOLLOWUPS_WEBHOOK_ALLOW_PRIVATE` lets loopback and private networks through for a
self-hosted home set-up; link-local, multicast, unspecified and reserved addresses and
IPv4 addresses written as IPv6 stay refused.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from dataclasses import dataclass

import httpx

from followups.config import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
ALLOW_PRIVATE_SETTING = "FOLLOWUPS_WEBHOOK_ALLOW_PRIVATE"


class Refused(Exception):
    """The host is, or resolves to, an address the server does not connect to for a user.
    The message says which address and why; `literal` when the URL names the address itself
    (no DNS answer can change it)."""

    def __init__(self, message: str, *, literal: bool) -> None:
        super().__init__(message)
        self.literal = literal


class Unresolved(Exception):
    """The host did not resolve (no such name, no answer within the deadline)."""


@dataclass(frozen=True)
class Policy:
    allow_private: bool = False
    timeout_s: float = 5.0  # the deadline of one resolution


def policy(settings: Settings) -> Policy:
    return Policy(allow_private=settings.webhook_allow_private, timeout_s=settings.webhook_timeout_s)


@dataclass(frozen=True)
class Target:
    """A checked address to connect to, for `host` as the URL names it."""

    host: str
    address: str
    port: int


def refusal(ip: IPAddress, *, allow_private: bool) -> str | None:
    """Why the server does not connect to `ip` for a user, or None when it may."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None or (ip.packed[:12] == bytes(12) and int(ip) > 1):
            return "an IPv4 address written as IPv6"
        embedded = ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:
            why = refusal(embedded, allow_private=allow_private)
            if why is not None:
                return f"{why} (embedded in an IPv6 address)"
    if ip.is_unspecified or ip in _THIS_NETWORK:
        return "the unspecified address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_loopback:  # before is_reserved: IPv6's ::1 is in the reserved ::/8
        return None if allow_private else "a loopback address"
    if ip.is_reserved:
        return "a reserved address"
    if ip.is_global or allow_private:
        return None
    return "a private address" if ip.is_private else "not a public address"


def check_url(url: str, policy: Policy) -> Target:
    """`check_host` for the host and port of an http(s) URL; an unusable URL is Refused."""
    try:
        parsed = httpx.URL(url)
        host = parsed.raw_host.decode("ascii")
    except (httpx.InvalidURL, UnicodeError) as exc:
        raise Refused(f"the URL is not usable: {exc}", literal=True) from None
    if parsed.scheme not in ("http", "https") or not host:
        raise Refused("the URL is not usable: an http:// or https:// URL with a host is needed", literal=True)
    return check_host(host, parsed.port or (443 if parsed.scheme == "https" else 80), policy)


def check_host(host: str, port: int, policy: Policy) -> Target:
    """Resolve `host` (an IP in any spelling, or a name) within the policy's deadline and
    check every address it resolves to; the first is the one to connect to. Raises Refused
    or Unresolved."""
    literal = _numeric(host, port)
    infos = literal if literal is not None else _resolve(host, port, policy.timeout_s)
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise Unresolved(f"{host} resolved to no address")
    for address in addresses:
        ip = ipaddress.ip_address(address.partition("%")[0])
        why = refusal(ip, allow_private=policy.allow_private)
        if why is not None:
            what = f"{host} is" if host == address else \
                f"{host} {'is' if literal is not None else 'resolves to'} {address},"
            # The setting's hint only where the setting would let the address through.
            settable = refusal(ip, allow_private=True) is None
            hint = f" ({ALLOW_PRIVATE_SETTING}=true allows private networks)" if settable else ""
            raise Refused(f"{what} {why}; webhooks go to public addresses only{hint}", literal=literal is not None)
    return Target(host=host, address=addresses[0], port=port)


def _numeric(host: str, port: int) -> list | None:
    """The address a host written as an IP stands for (no DNS), or None for a name."""
    try:
        return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)
    except (socket.gaierror, UnicodeError, ValueError):
        return None


def _resolve(host: str, port: int, timeout_s: float) -> list:
    """getaddrinfo has no deadline: it runs in a daemon thread of its own, waited for at
    most `timeout_s` (a stuck lookup is left to finish and holds up nothing, not even exit)."""
    answer: list = []

    def lookup() -> None:
        try:
            answer.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except (OSError, UnicodeError, ValueError) as exc:
            answer.append(exc)

    thread = threading.Thread(target=lookup, name="resolve", daemon=True)
    thread.start()
    thread.join(timeout_s)
    if not answer:
        raise Unresolved(f"resolving {host} took over {timeout_s:g} s")
    if isinstance(answer[0], Exception):
        raise Unresolved(f"{host} does not resolve: {answer[0]}")
    return answer[0]


_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")  # 0.0.0.0 reaches the machine itself on Linux
