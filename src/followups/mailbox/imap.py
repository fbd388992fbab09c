"""The IMAP side of the sync, spoken by imapclient: connect, what is new in a folder, headers.

Every socket operation has a timeout, and a whole session has a deadline: a watchdog
closes the socket when it passes, so a server that trickles bytes cannot hold a worker.
"""

from __future__ import annotations

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


@contextmanager
def signed_in(account: Account, *, timeout: float, budget_s: float) -> Iterator[IMAPClient]:
    """A logged-in client; past `budget_s` seconds its socket is closed (Deadline)."""
    expired = threading.Event()
    client = connect(account.imap, timeout)

    def expire() -> None:
        expired.set()
        with suppress(OSError):
            client.shutdown()

    watchdog = threading.Timer(budget_s, expire)
    watchdog.daemon = True
    watchdog.start()
    try:
        client.login(account.username, account.password)
        yield client
    except Exception as exc:
        if expired.is_set():
            raise Deadline(f"the sync took longer than its budget of {budget_s:g} s") from exc
        raise
    finally:
        watchdog.cancel()
        if not expired.is_set():
            with suppress(Exception):  # the session is over either way
                client.logout()


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
