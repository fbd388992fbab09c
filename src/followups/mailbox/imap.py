"""The IMAP side of the sync, spoken by imapclient: connect, what is new in a folder, headers.

Every socket operation has a timeout, and a whole session has a deadline: a watchdog
closes the socket when it passes, so a server that trickles bytes cannot hold a worker.
"""

from __future__ import annotations

import hashlib
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import date, datetime

from imapclient import IMAPClient

from followups.mailbox.account import Account, Server

# What the sync reads of each new message: these header fields, never the body (a body
# part only for an out-of-office or a bounce: `fetch_start`).
HEADER_FIELDS = (
    "FROM TO CC BCC DATE SUBJECT MESSAGE-ID IN-REPLY-TO REFERENCES AUTO-SUBMITTED X-AUTOREPLY "
    "X-AUTORESPOND PRECEDENCE CONTENT-TYPE X-FAILED-RECIPIENTS"
)
_HEADERS_ITEM = f"BODY.PEEK[HEADER.FIELDS ({HEADER_FIELDS})]"
FETCH_CHUNK = 1000  # UIDs per FETCH command
BODY_START_BYTES = 256 * 1024  # of a bounce or an out-of-office: its report or its text


class Deadline(Exception):
    """The mailbox's time budget ran out."""


def connect(server: Server, timeout: float) -> IMAPClient:
    context = ssl.create_default_context()
    client = IMAPClient(
        server.host, port=server.port, ssl=server.security == "ssl", ssl_context=context, timeout=timeout
    )
    if server.security == "starttls":
        client.starttls(context)
    return client


class Pool:
    """Logged-in connections kept between the syncs of a mailbox (the worker's): an IMAP
    session may stay open for minutes, and a new one (TCP, the server's login process, the
    login) costs more than a whole sync with nothing new. A connection idle for longer than
    `idle_s` is logged out; one the server closed meanwhile is replaced (`signed_in`)."""

    def __init__(self, idle_s: float = 600.0) -> None:
        self.idle_s = idle_s
        self._free: dict[tuple, tuple[IMAPClient, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: tuple) -> IMAPClient | None:
        with self._lock:
            found = self._free.pop(key, None)
            stale = [k for k, (_c, at) in self._free.items() if time.monotonic() - at > self.idle_s]
            closing = [self._free.pop(k)[0] for k in stale]
        for client in closing:
            _close(client)
        if found is None:
            return None
        client, at = found
        if time.monotonic() - at > self.idle_s:
            _close(client)
            return None
        return client

    def give(self, key: tuple, client: IMAPClient) -> None:
        with self._lock:
            previous = self._free.pop(key, None)
            self._free[key] = (client, time.monotonic())
        if previous is not None:
            _close(previous[0])

    def close(self) -> None:
        with self._lock:
            clients = [c for c, _at in self._free.values()]
            self._free.clear()
        for client in clients:
            _close(client)


def _close(client: IMAPClient) -> None:
    with suppress(Exception):  # the session is over either way
        client.logout()


def _key(account: Account) -> tuple:
    # The password is part of the key (in memory only): new credentials, a new session.
    return (account.imap, account.username, hashlib.sha256(account.password.encode()).hexdigest())


@contextmanager
def signed_in(account: Account, *, timeout: float, budget_s: float, pool: Pool | None = None,
              fresh: bool = False) -> Iterator[tuple[IMAPClient, bool]]:
    """A logged-in client, and whether it was kept from an earlier sync; past `budget_s`
    seconds its socket is closed (Deadline). With a pool, a client that finished without
    an error goes back to it instead of logging out."""
    expired = threading.Event()
    key = _key(account)
    client = None if pool is None or fresh else pool.take(key)
    reused = client is not None
    if client is None:
        client = connect(account.imap, timeout)

    def expire() -> None:
        expired.set()
        with suppress(OSError):
            client.shutdown()

    watchdog = threading.Timer(budget_s, expire)
    watchdog.daemon = True
    watchdog.start()
    ok = False
    try:
        if not reused:
            client.login(account.username, account.password)
        yield client, reused
        ok = True
    except Exception as exc:
        if expired.is_set():
            raise Deadline(f"the sync took longer than its budget of {budget_s:g} s") from exc
        raise
    finally:
        watchdog.cancel()
        if ok and not expired.is_set() and pool is not None:
            pool.give(key, client)
        elif not expired.is_set():
            if ok:
                _close(client)
            else:
                with suppress(OSError):
                    client.shutdown()


@dataclass(frozen=True)
class Folder:
    uidvalidity: int
    uidnext: int | None


def examine(client: IMAPClient, name: str) -> Folder:
    """Select read-only: one round trip, which tells whether anything is new (UIDNEXT)."""
    answer = client.select_folder(name, readonly=True)
    uidnext = answer.get(b"UIDNEXT")
    return Folder(int(answer[b"UIDVALIDITY"]), int(uidnext) if uidnext is not None else None)


def new_uids(client: IMAPClient, after_uid: int, since: date | None) -> list[int]:
    """UIDs past `after_uid` (a UID range with `*` names the last message even when it is
    older: filtered), and only those since `since` on a first scan."""
    criteria: list = ["UID", f"{after_uid + 1}:*"]
    if since is not None:
        criteria += ["SINCE", since]
    return sorted(uid for uid in client.search(criteria) if uid > after_uid)


@dataclass(frozen=True)
class Fetched:
    uid: int
    headers: bytes
    size: int
    internal_date: datetime | None


def _item(data: dict, prefix: bytes):
    for key, value in data.items():
        if key.startswith(prefix):
            return value
    return None


def fetch_headers(client: IMAPClient, uids: list[int]) -> list[Fetched]:
    answer = client.fetch(uids, [_HEADERS_ITEM, "RFC822.SIZE", "INTERNALDATE"])
    fetched = []
    for uid in uids:
        data = answer.get(uid)
        if data is None:  # expunged meanwhile
            continue
        fetched.append(Fetched(
            uid, _item(data, b"BODY[HEADER") or b"", int(data.get(b"RFC822.SIZE") or 0), data.get(b"INTERNALDATE"),
        ))
    return fetched


def fetch_start(client: IMAPClient, uids: list[int]) -> dict[int, bytes]:
    """The first BODY_START_BYTES of each message (its headers, text and report parts come
    first; a large attachment after them is never read)."""
    if not uids:
        return {}
    answer = client.fetch(uids, [f"BODY.PEEK[]<0.{BODY_START_BYTES}>"])
    return {uid: _item(data, b"BODY[]") or b"" for uid, data in answer.items()}


def remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise Deadline("the sync ran out of its time budget")
    return left
