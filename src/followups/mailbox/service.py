"""Connecting a mailbox: check, save (password encrypted), read, disconnect; and
`load_account`, the decrypted account the sync and the sends use. Services never commit."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from followups.mailbox import probe, secret
from followups.mailbox.account import Account, Server
from followups.models import AnyUser, Mailbox, MailboxStatus


def check(account: Account, *, sent: str | None, timeout: float) -> Account:
    """Both logins (blocking: call it in a thread, outside any transaction). The account
    with its folders as found (the sent folder from SPECIAL-USE when not named); Invalid
    (422) naming what failed."""
    found = probe.check(account, sent=sent, timeout=timeout)
    return replace(account, inbox=found.inbox, sent=found.sent)


def find_mailbox(session: Session, user: AnyUser) -> Mailbox | None:
    return session.get(Mailbox, user.id)


def save_mailbox(session: Session, user: AnyUser, account: Account, *, now: datetime,
                 create_contacts: bool = False, contact_tag: str | None = None,
                 cipher: secret.Cipher | None = None) -> Mailbox:
    """Create or replace the user's mailbox (checked already: `check`); it syncs at once.
    `create_contacts` (opt-in): a sent message to no contact, Bcc followups@… or with
    `contact_tag` in its subject, creates the contact."""
    cipher = cipher or secret.cipher()
    mailbox = session.get(Mailbox, user.id, with_for_update=True)
    if mailbox is None:
        mailbox = _new(session, user, account, now)
    elif (mailbox.imap_host, mailbox.username) != (account.imap.host, account.username):
        _forget_folders(mailbox)  # another mailbox: its UIDs mean nothing here
    if mailbox.inbox_folder != account.inbox:
        mailbox.inbox_uidvalidity, mailbox.inbox_last_uid = None, 0
    if mailbox.sent_folder != account.sent:
        mailbox.sent_uidvalidity, mailbox.sent_last_uid = None, 0
    mailbox.address = account.address
    mailbox.imap_host, mailbox.imap_port, mailbox.imap_security = (
        account.imap.host, account.imap.port, account.imap.security)
    mailbox.smtp_host, mailbox.smtp_port, mailbox.smtp_security = (
        account.smtp.host, account.smtp.port, account.smtp.security)
    mailbox.username = account.username
    mailbox.password_encrypted = cipher.encrypt(account.password)
    mailbox.inbox_folder, mailbox.sent_folder = account.inbox, account.sent
    mailbox.create_contacts, mailbox.contact_tag = create_contacts, contact_tag
    mailbox.status = MailboxStatus.PENDING.value
    mailbox.last_error = None
    mailbox.failures = 0
    mailbox.next_sync_at = now
    mailbox.updated_at = now
    session.flush()
    return mailbox


def _new(session: Session, user: AnyUser, account: Account, now: datetime) -> Mailbox:
    """The user's first mailbox row; a concurrent save that made it first wins the insert,
    and this one then updates that row (never a second row, never an error)."""
    mailbox = Mailbox(
        user_id=user.id, created_at=now, inbox_last_uid=0, sent_last_uid=0, failures=0, address=account.address,
        imap_host=account.imap.host, imap_port=account.imap.port, imap_security=account.imap.security,
        smtp_host=account.smtp.host, smtp_port=account.smtp.port, smtp_security=account.smtp.security,
        username=account.username, password_encrypted="", inbox_folder=account.inbox, sent_folder=account.sent,
        status=MailboxStatus.PENDING.value, next_sync_at=now, updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(mailbox)
    except IntegrityError:
        mailbox = session.get(Mailbox, user.id, with_for_update=True, populate_existing=True)
    return mailbox


def _forget_folders(mailbox: Mailbox) -> None:
    mailbox.inbox_uidvalidity, mailbox.inbox_last_uid = None, 0
    mailbox.sent_uidvalidity, mailbox.sent_last_uid = None, 0


def disconnect(session: Session, user: AnyUser) -> bool:
    """Delete the credentials (the whole mailbox row): the sync stops, and a sync in flight
    cannot write any more (its writes are fenced by the row). What it recorded stays."""
    result = session.execute(delete(Mailbox).where(Mailbox.user_id == user.id))
    return result.rowcount > 0


def account_of(mailbox: Mailbox, cipher: secret.Cipher | None = None) -> Account:
    """The decrypted account (secret.KeyMismatch when this server's key cannot read it)."""
    cipher = cipher or secret.cipher()
    return Account(
        imap=Server(mailbox.imap_host, mailbox.imap_port, mailbox.imap_security),  # type: ignore[arg-type]
        smtp=Server(mailbox.smtp_host, mailbox.smtp_port, mailbox.smtp_security),  # type: ignore[arg-type]
        username=mailbox.username,
        password=cipher.decrypt(mailbox.password_encrypted),
        address=mailbox.address,
        inbox=mailbox.inbox_folder,
        sent=mailbox.sent_folder,
    )


def load_account(session: Session, user: AnyUser) -> Account | None:
    """The user's connected mailbox, decrypted; None when none is connected."""
    mailbox = session.scalar(select(Mailbox).where(Mailbox.user_id == user.id))
    return account_of(mailbox) if mailbox is not None else None
