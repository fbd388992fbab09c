"""Send now: a follow-up's draft sent from the user's own mailbox, and marked sent, once.

The protocol, one `mail_send` row per follow-up and attempt (the idempotency key):
1. In a transaction: the row is recorded, state `sending`, with the message (its own
   Message-ID) and a lease that outlasts the SMTP call's deadline. A second request finds
   the row: while the lease runs it answers 409; it never sends the message again.
2. No transaction held: the SMTP call (followups.mailbox.smtp).
3. In a transaction: the outcome. Accepted (or cut off after the text went out: unknown,
   taken as sent) -> state `sent`/`unconfirmed` and the follow-up marked sent
   (followups.chains.service.mark_sent), together. Refused or never handed over -> `failed`,
   and a later request may send it again (same Message-ID).
4. The copy into the sent folder (IMAP APPEND, skipped when a copy with that Message-ID is
   there already), recorded; its failure does not undo the send.

A crash after 1 leaves `sending` with a lease: once the lease is over, the next request
finishes it (marks the follow-up sent, `unconfirmed`) rather than resending, since the
message may have gone out. A retry of a finished send answers as the first did.

`send_now` owns its transactions, as the worker does: the SMTP call must not run inside
one (it would hold the database's write lock, or a connection, for the call's length).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from followups import replica
from followups.chains import service as chains
from followups.db import Database
from followups.errors import Conflict, NotFound, Unavailable
from followups.mailbox import drafts, smtp
from followups.mailbox.account import Account
from followups.mailbox.drafts import Draft
from followups.models import FollowUp, MailSend, MailSendState, User

log = logging.getLogger(__name__)
# CRLF lines, and a 7-bit text: a body in any language goes out quoted-printable or base64,
# so a server without 8BITMIME takes it too.
_POLICY = SMTP.clone(cte_type="7bit")

# The lease outlasts the SMTP call's deadline: while it runs, the send may be under way.
LEASE_MARGIN = timedelta(seconds=30)
DONE = (MailSendState.SENT.value, MailSendState.UNCONFIRMED.value)


@dataclass(frozen=True)
class Attempt:
    """What the first step decided: `send` the message, `finish` a send whose outcome is
    recorded or unknown (mark it), or nothing left but to answer (`done`)."""

    action: str
    send_id: uuid.UUID
    followup_id: uuid.UUID
    message_id: str
    to: str
    subject: str
    raw: str
    created_at: datetime
    appended: bool


@dataclass(frozen=True)
class SendResult:
    followup: FollowUp
    message_id: str
    to: str
    subject: str
    confirmed: bool  # the server said it accepted it (else: cut off mid-message, taken as sent)
    copy_saved: bool  # a copy is in the sent folder
    repeated: bool  # sent by an earlier request: this one sent nothing


def new_message_id(address: str) -> str:
    domain = address.rpartition("@")[2].strip().strip("<>") or "followups.invalid"
    return f"<{uuid.uuid4().hex}.followups@{domain}>"


def build_message(draft: Draft, *, sender: str, message_id: str, at: datetime) -> str:
    msg = EmailMessage(policy=_POLICY)
    msg["From"] = sender
    msg["To"] = formataddr((draft.to_name, draft.to)) if draft.to_name else draft.to
    msg["Subject"] = draft.subject
    msg["Date"] = format_datetime(at)
    msg["Message-ID"] = message_id
    if draft.references:
        msg["In-Reply-To"] = draft.in_reply_to
        msg["References"] = " ".join(draft.references)
    msg.set_content(draft.body)
    return msg.as_string()


def _user(session: Session, user_id: uuid.UUID) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("The user was not found.")
    replica.acting_for(session, user)
    return user


def _find(session: Session, user: User, fu: FollowUp) -> MailSend | None:
    return session.scalar(
        select(MailSend).where(
            MailSend.user_id == user.id, MailSend.followup_id == fu.id, MailSend.attempt_no == fu.attempt_no
        ).execution_options(populate_existing=True)
    )


def _attempt(action: str, row: MailSend) -> Attempt:
    return Attempt(
        action, row.id, row.followup_id, row.message_id, row.to_address, row.subject, row.raw,
        row.created_at, row.appended_at is not None,
    )


def _sendable_draft(session: Session, user: User, fu: FollowUp, now: datetime) -> Draft:
    draft = drafts.get_draft(session, user, fu.id, now=now)
    if not draft.to:
        raise Conflict(f"{draft.to_name or 'The contact'} has no email address: add one to send from your mailbox.")
    return draft


def begin(session: Session, user: User, followup_id, *, sender: str, now: datetime, deadline_s: float) -> Attempt:
    """Step 1: record the send (or find the one recorded) and say what is left to do."""
    fu = chains.get_followup(session, user, followup_id)
    lease_until = now + timedelta(seconds=deadline_s) + LEASE_MARGIN
    row = _find(session, user, fu)
    if row is None:
        if not fu.is_open:
            drafts.get_draft(session, user, fu.id, now=now)  # the 409 that says why
        draft = _sendable_draft(session, user, fu, now)
        message_id = new_message_id(sender)
        row = MailSend(
            user_id=user.id, followup_id=fu.id, chain_id=fu.chain_id, attempt_no=fu.attempt_no,
            message_id=message_id, to_address=draft.to, subject=draft.subject,
            raw=build_message(draft, sender=sender, message_id=message_id, at=now),
            state=MailSendState.SENDING.value, lease_until=lease_until, tries=1, created_at=now, updated_at=now,
        )
        try:
            with session.begin_nested():  # a concurrent first send of the same attempt: its row wins
                session.add(row)
            return _attempt("send", row)
        except IntegrityError:
            row = _find(session, user, fu)
            if row is None:
                raise
    return _resume(session, user, fu, row, sender=sender, now=now, lease_until=lease_until)


def _resume(
    session: Session, user: User, fu: FollowUp, row: MailSend, *, sender: str, now: datetime, lease_until: datetime
) -> Attempt:
    if row.state in DONE:
        return _attempt("finish" if row.marked_at is None else "done", row)
    busy = Conflict(f"Follow-up {fu.id} is being sent right now; it goes out once.")
    mine = (MailSend.user_id == user.id, MailSend.id == row.id)
    if row.state == MailSendState.SENDING.value:
        if row.lease_until > now:
            raise busy
        # The request that sent it stopped mid-way (a crash): the message may have gone out.
        taken = session.execute(
            update(MailSend)
            .where(*mine, MailSend.state == row.state, MailSend.lease_until <= now)
            .values(state=MailSendState.UNCONFIRMED.value, last_error="interrupted while sending", updated_at=now),
            execution_options={"synchronize_session": False},
        ).rowcount
        if taken != 1:
            raise busy
        log.warning("send %s was interrupted mid-way: finished as sent, not sent again", row.id)
        return _attempt("finish", row)
    # Failed before: not sent, so sent again (a fresh draft, the same Message-ID).
    if not fu.is_open:
        drafts.get_draft(session, user, fu.id, now=now)  # the 409 that says why
    draft = _sendable_draft(session, user, fu, now)
    raw = build_message(draft, sender=sender, message_id=row.message_id, at=now)
    taken = session.execute(
        update(MailSend)
        .where(*mine, MailSend.state == MailSendState.FAILED.value)
        .values(
            state=MailSendState.SENDING.value, lease_until=lease_until, tries=MailSend.tries + 1,
            to_address=draft.to, subject=draft.subject, raw=raw, updated_at=now,
        ),
        execution_options={"synchronize_session": False},
    ).rowcount
    if taken != 1:
        raise busy
    return _attempt("send", _find(session, user, fu))


def finish(session: Session, user: User, attempt: Attempt, *, state: str, now: datetime) -> None:
    """Step 3: the send recorded as done and the follow-up marked sent, in one transaction."""
    values: dict = {"marked_at": now, "updated_at": now}
    if state == MailSendState.SENT.value:
        values.update(state=state, accepted_at=now, last_error=None)
    elif state == MailSendState.UNCONFIRMED.value:
        values.update(state=state)
    done = session.execute(
        update(MailSend)
        .where(MailSend.user_id == user.id, MailSend.id == attempt.send_id, MailSend.marked_at.is_(None))
        .values(**values),
        execution_options={"synchronize_session": False},
    ).rowcount
    if done != 1:
        return  # finished by another request meanwhile
    try:
        chains.mark_sent(session, user, attempt.followup_id, note=None, now=now)
    except Conflict:
        # Marked sent by hand (or cancelled) while the message went out: the send stays recorded.
        log.info("follow-up %s was closed while its message went out", attempt.followup_id)


def record_failure(session: Session, user: User, attempt: Attempt, error: str, *, now: datetime) -> None:
    session.execute(
        update(MailSend)
        .where(MailSend.user_id == user.id, MailSend.id == attempt.send_id,
               MailSend.state == MailSendState.SENDING.value)
        .values(state=MailSendState.FAILED.value, last_error=error[:500], updated_at=now),
        execution_options={"synchronize_session": False},
    )


def record_copy(session: Session, user: User, attempt: Attempt, error: str | None, *, now: datetime) -> None:
    values = {"appended_at": now} if error is None else {"last_error": f"copy not saved: {error}"[:500]}
    session.execute(
        update(MailSend)
        .where(MailSend.user_id == user.id, MailSend.id == attempt.send_id)
        .values(**values, updated_at=now),
        execution_options={"synchronize_session": False},
    )


def send_now(
    db: Database, user_id: uuid.UUID, followup_id, account: Account, *, now: datetime,
    deadline_s: float = smtp.SEND_DEADLINE_S, append_deadline_s: float = smtp.APPEND_DEADLINE_S,
) -> SendResult:
    """Send the follow-up's draft from `account`, mark it sent, and file a copy in the sent
    folder; a repeated call sends nothing again. Blocking: call it off the event loop.
    Raises NotFound, Conflict (no draft, no address, closed, or being sent right now) and
    Unavailable (the mail server refused it or could not be reached: nothing is marked)."""
    with db.transaction() as session:
        attempt = begin(session, _user(session, user_id), followup_id, sender=account.address, now=now,
                        deadline_s=deadline_s)
    state = None
    if attempt.action == "send":
        try:
            smtp.send_message(account, to=attempt.to, raw=attempt.raw, deadline_s=deadline_s)
            state = MailSendState.SENT.value
        except smtp.NotSent as exc:
            with db.transaction() as session:
                record_failure(session, _user(session, user_id), attempt, str(exc), now=now)
            raise Unavailable(f"Your mail server did not take the message; nothing was sent. {exc}") from None
        except smtp.Unknown as exc:
            log.warning("send %s: the server's answer was lost (%s): taken as sent", attempt.send_id, exc)
            state = MailSendState.UNCONFIRMED.value
    if attempt.action in ("send", "finish"):
        with db.transaction() as session:
            finish(session, _user(session, user_id), attempt, state=state or "", now=now)
    copy_saved = attempt.appended
    if not copy_saved:
        error = None
        try:
            smtp.append_copy(account, raw=attempt.raw, message_id=attempt.message_id, when=attempt.created_at,
                             deadline_s=append_deadline_s)
            copy_saved = True
        except smtp.AppendFailed as exc:
            error = str(exc)
            log.warning("send %s: the copy was not saved to the sent folder: %s", attempt.send_id, exc)
        with db.transaction() as session:
            record_copy(session, _user(session, user_id), attempt, error, now=now)
    with db.transaction(write=False) as session:
        user = _user(session, user_id)
        row = session.scalar(select(MailSend).where(MailSend.user_id == user.id, MailSend.id == attempt.send_id))
        followup = chains.get_followup(session, user, attempt.followup_id)
    return SendResult(
        followup=followup, message_id=row.message_id, to=row.to_address, subject=row.subject,
        confirmed=row.state == MailSendState.SENT.value, copy_saved=copy_saved,
        repeated=attempt.action != "send",
    )
