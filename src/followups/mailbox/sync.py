"""The mailbox sync: claim a due mailbox (SKIP LOCKED + a lease, as the other sweeps),
read what is new in its sent folder and inbox, record what concerns a contact, and note
how it went. Incremental per folder (UIDVALIDITY and the last UID seen); idempotent
(mail_message is unique on the user and Message-ID, and each chunk's records commit with
the folder's progress, fenced by the lease: a worker killed mid-batch or a second worker
whose lease ran out writes nothing twice)."""

from __future__ import annotations

import logging
import socket
import ssl
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from imapclient.exceptions import IMAPClientError, LoginError
from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from followups import replica
from followups.config import Settings
from followups.db import Database
from followups.errors import DomainError
from followups.mailbox import imap, reading, record
from followups.mailbox.secret import KeyMismatch
from followups.mailbox.service import account_of
from followups.models import Mailbox, MailboxStatus, MailKind, User
from followups.owned import cross_user

log = logging.getLogger("followups.mailbox")
LEASE_MARGIN_S = 60.0  # beyond the budget: a lease outlives its sync, or its worker died
FOLDERS = ("sent", "inbox")  # sent first: a reply then finds the outreach it answers


@dataclass(frozen=True)
class Claimed:
    user_id: uuid.UUID
    lease_until: datetime


class LeaseLost(Exception):
    """The mailbox was disconnected, or its lease passed to another worker: stop writing."""


def _due(now: datetime):
    return and_(Mailbox.next_sync_at <= now, or_(Mailbox.lease_until.is_(None), Mailbox.lease_until < now))


def _claim(session: Session, user_ids, still, now: datetime, settings: Settings) -> list[Claimed]:
    """Lease each of the users' mailboxes that still matches `still`: one conditional
    UPDATE per mailbox (pinned to its user), in user-id order; a mailbox another worker has
    just leased no longer matches once that one commits."""
    lease = now + timedelta(seconds=settings.mailbox_budget_s + LEASE_MARGIN_S)
    claimed = []
    for user_id in sorted(user_ids):
        stmt = update(Mailbox).where(Mailbox.user_id == user_id, still).values(lease_until=lease)
        if session.execute(stmt, execution_options={"synchronize_session": False}).rowcount == 1:
            claimed.append(Claimed(user_id, lease))
    return claimed


def claim_due(session: Session, settings: Settings, *, now: datetime, batch: int) -> list[Claimed]:
    due = cross_user(select(Mailbox.user_id).where(_due(now)).order_by(Mailbox.next_sync_at).limit(batch))
    return _claim(session, session.scalars(due).all(), _due(now), now, settings)


def claim_now(session: Session, settings: Settings, user_id: uuid.UUID, *, now: datetime) -> Claimed | None:
    """The user's mailbox, due or not (`followups mailbox sync`), unless a worker holds it."""
    free = or_(Mailbox.lease_until.is_(None), Mailbox.lease_until < now)
    claimed = _claim(session, [user_id], free, now, settings)
    return claimed[0] if claimed else None


@dataclass
class Report:
    new: int = 0  # messages read (headers)
    recorded: dict[str, int] = field(default_factory=dict)  # by what they became
    skipped: int = 0  # malformed
    round_trips: int = 0
    error: str | None = None


def _fence(session: Session, claimed: Claimed, values: dict) -> None:
    done = session.execute(
        update(Mailbox).where(Mailbox.user_id == claimed.user_id, Mailbox.lease_until == claimed.lease_until)
        .values(**values),
        execution_options={"synchronize_session": False},
    )
    if done.rowcount != 1:
        raise LeaseLost("the mailbox was disconnected or claimed by another worker")


def sync_mailbox(db: Database, settings: Settings, claimed: Claimed, *, clock: Callable[[], datetime],
                 pool: imap.Pool | None = None, pause: Callable[[], None] = lambda: None) -> Report:
    """Sync one claimed mailbox within its time budget, then record how it went. `pool`: the
    worker's logged-in connections, kept between syncs; `pause`: called before each chunk
    (the mail lane's: waits while the reminders lane works, within the budget)."""
    report = Report()
    try:
        _sync(db, settings, claimed, clock, report, pool, pause)
    except LeaseLost as exc:
        log.warning("mailbox of %s: %s", claimed.user_id, exc)
        report.error = str(exc)
        return report  # not ours any more: nothing to record
    except Exception as exc:  # noqa: BLE001 - every failure goes to the mailbox's status
        report.error = describe(exc)
        log.warning("mailbox of %s: sync failed: %s", claimed.user_id, report.error)
    with db.transaction() as session:
        _finish(session, settings, claimed, report.error, now=clock())
    return report


def describe(exc: BaseException) -> str:
    """A failure as the user reads it in the status (never a password)."""
    if isinstance(exc, LoginError):
        return "the IMAP server refused the username or password"
    if isinstance(exc, imap.Deadline | KeyMismatch):
        return str(exc)
    if isinstance(exc, ssl.SSLError):
        return f"TLS with the IMAP server failed ({exc.__class__.__name__})"
    if isinstance(exc, socket.gaierror):
        return "the IMAP host was not found"
    if isinstance(exc, TimeoutError | socket.timeout):
        return "the IMAP server did not answer in time"
    if isinstance(exc, OSError):
        return f"the IMAP server is unreachable ({exc.__class__.__name__})"
    if isinstance(exc, IMAPClientError):
        return f"the IMAP server answered an error: {str(exc)[:300]}"
    return f"unexpected {exc.__class__.__name__}: {str(exc)[:300]}"


def _finish(session: Session, settings: Settings, claimed: Claimed, error: str | None, *, now: datetime) -> None:
    mailbox = session.get(Mailbox, claimed.user_id)
    if mailbox is None or mailbox.lease_until != claimed.lease_until:
        return  # disconnected meanwhile, or no longer ours
    if error is None:
        values = {"status": MailboxStatus.OK.value, "last_error": None, "last_sync_at": now, "failures": 0,
                  "next_sync_at": now + timedelta(seconds=settings.mailbox_sync_interval_s)}
    else:
        failures = mailbox.failures + 1
        wait = min(settings.mailbox_sync_interval_s * 2 ** min(failures - 1, 20), settings.mailbox_max_backoff_s)
        values = {"status": MailboxStatus.ERROR.value, "last_error": error[:500], "failures": failures,
                  "next_sync_at": now + timedelta(seconds=wait)}
    _fence(session, claimed, {**values, "lease_until": None, "updated_at": now})


def _start(db: Database, claimed: Claimed) -> tuple[Mailbox, record.Known]:
    with db.transaction(write=False) as session:
        mailbox = session.get(Mailbox, claimed.user_id)
        if mailbox is None or mailbox.lease_until != claimed.lease_until:
            raise LeaseLost("the mailbox was disconnected or claimed by another worker")
        user = session.get(User, claimed.user_id)
        own = {mailbox.address, mailbox.username, user.email if user else ""}
        return mailbox, record.known(session, claimed.user_id, own, create_contacts=mailbox.create_contacts,
                                     contact_tag=mailbox.contact_tag)


def _sync(db: Database, settings: Settings, claimed: Claimed, clock, report: Report, pool, pause) -> None:
    mailbox, k = _start(db, claimed)
    account = account_of(mailbox)
    deadline = time.monotonic() + settings.mailbox_budget_s
    for fresh in (False, True):
        reused = False
        try:
            with imap.signed_in(account, timeout=settings.mailbox_timeout_s, budget_s=imap.remaining(deadline),
                                pool=pool, fresh=fresh) as (client, reused):
                for kind in FOLDERS:
                    name = account.sent if kind == "sent" else account.inbox
                    _folder(db, settings, claimed, client, mailbox, kind, name, k, clock, deadline, report, pause)
            return
        except (OSError, IMAPClientError) as exc:
            # A kept connection the server closed meanwhile (its idle timeout): once more,
            # on a new one (what was recorded stays; the rest is read again, idempotently).
            if not reused or isinstance(exc, LoginError):
                raise
            log.info("mailbox of %s: the kept IMAP connection failed (%s); reconnecting", claimed.user_id,
                     exc.__class__.__name__)


def _folder(db, settings, claimed, client, mailbox: Mailbox, kind: str, name: str, k: record.Known,
            clock, deadline: float, report: Report, pause: Callable[[], None]) -> None:
    imap.remaining(deadline)
    folder = imap.examine(client, name)
    report.round_trips += 1
    known_validity = getattr(mailbox, f"{kind}_uidvalidity")
    last = getattr(mailbox, f"{kind}_last_uid") if known_validity == folder.uidvalidity else 0
    if known_validity == folder.uidvalidity and folder.uidnext is not None and folder.uidnext - 1 <= last:
        return  # nothing new: the one round trip
    if known_validity is not None and known_validity != folder.uidvalidity:
        log.info("mailbox of %s: %s changed UIDVALIDITY: rescanning (Message-IDs dedupe)", claimed.user_id, name)
    first_scan = last == 0
    since = (clock() - timedelta(days=settings.mailbox_lookback_days)).date() if first_scan else None
    uids = imap.new_uids(client, last, since)
    report.round_trips += 1
    for start in range(0, len(uids), imap.FETCH_CHUNK):
        pause()
        imap.remaining(deadline)
        chunk = uids[start: start + imap.FETCH_CHUNK]
        _chunk(db, claimed, client, kind, chunk, folder.uidvalidity, k, clock, report)
    high = max([last, *uids, (folder.uidnext or 1) - 1])
    with db.transaction() as session:
        _fence(session, claimed, {f"{kind}_uidvalidity": folder.uidvalidity, f"{kind}_last_uid": high})
    setattr(mailbox, f"{kind}_uidvalidity", folder.uidvalidity)
    setattr(mailbox, f"{kind}_last_uid", high)


def _chunk(db, claimed: Claimed, client, kind: str, uids: list[int], uidvalidity: int, k: record.Known,
           clock, report: Report) -> None:
    fetched = imap.fetch_headers(client, uids)
    report.round_trips += 1
    report.new += len(fetched)
    mails: list[tuple[int, reading.Mail]] = []
    for item in fetched:
        try:
            mails.append((item.uid, reading.parse(item.headers, arrived=item.internal_date)))
        except (reading.Malformed, ValueError, LookupError, UnicodeError) as exc:
            report.skipped += 1
            log.warning("mailbox of %s: %s UID %d skipped: %s", claimed.user_id, kind, item.uid, exc)
    if any(m.ids_named for _uid, m in mails):
        with db.transaction(write=False) as session:
            record.learn_recorded(session, claimed.user_id, k, [m for _uid, m in mails])
    relevant = [(uid, m) for uid, m in mails if record.concerns(m, kind, k)]
    wanted = [uid for uid, m in relevant if record.needs_body(m, kind, k)]
    bodies = imap.fetch_start(client, wanted)
    if wanted:
        report.round_trips += 1
    with db.transaction() as session:
        _fence(session, claimed, {f"{kind}_uidvalidity": uidvalidity, f"{kind}_last_uid": max(uids)})
        user = session.get(User, claimed.user_id)
        replica.acting_for(session, user)
        for uid, mail in relevant:
            raw = bodies.get(uid)
            body = reading.message_of(raw) if raw else None
            try:
                with session.begin_nested():
                    done = record.record(session, user, mail, kind, k, body=body, now=clock())
            except DomainError as exc:  # e.g. a follow-up sent meanwhile: noted, never retried
                log.warning("mailbox of %s: %s UID %d not applied: %s", claimed.user_id, kind, uid, exc.detail)
                with session.begin_nested():
                    _ignored(session, user, mail, kind, exc.detail, clock())
                done = MailKind.IGNORED
            if done is not None:
                report.recorded[done.value] = report.recorded.get(done.value, 0) + 1


def _ignored(session: Session, user: User, mail: reading.Mail, kind: str, why: str, now: datetime) -> None:
    if record.gate(session, user.id, mail, kind, now) is not None:
        log.info("mail %s: ignored (%s)", mail.message_id[:80], why)
