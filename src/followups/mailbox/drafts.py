"""The drafted message of an open follow-up: the user's template filled in for its contact.

Offered for every open follow-up of an EMAIL outreach, and for a thank-you note to a contact
with an address. A follow-up whose chain was sent from the mailbox before ("Send now")
replies in that thread: In-Reply-To, References and a `Re:` subject; so does one whose
outreach the mailbox sync found in the sent folder (its Message-ID, from mail_message).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from followups import clock
from followups.chains import service as chains
from followups.errors import Conflict
from followups.mailbox import templates
from followups.models import (
    AnyUser,
    Channel,
    FollowUp,
    FollowupType,
    MailKind,
    MailMessage,
    MailSend,
    MailSendState,
    Outreach,
)

THREADED = (MailSendState.SENT.value, MailSendState.UNCONFIRMED.value)
_RE = re.compile(r"^\s*((re|aw|sv|fwd?)\s*:\s*)+", re.IGNORECASE)


@dataclass(frozen=True)
class Draft:
    followup_id: uuid.UUID
    attempt_no: int
    chain_id: uuid.UUID
    template: str  # the template's name (followups.mailbox.templates.NAMES)
    to: str | None  # the contact's address (None: the contact has none)
    to_name: str | None
    subject: str
    body: str
    # The thread it replies to (earlier sends of the chain), oldest first.
    references: tuple[str, ...] = ()

    @property
    def in_reply_to(self) -> str | None:
        return self.references[-1] if self.references else None

    @property
    def mailto(self) -> str:
        return mailto(self.to, self.subject, self.body)


def mailto(to: str | None, subject: str, body: str) -> str:
    """A mailto: URL (RFC 6068): every reserved character percent-encoded, lines ending CRLF."""
    crlf = "\r\n".join(body.splitlines())
    query = f"subject={quote(subject, safe='')}&body={quote(crlf, safe='')}"
    return f"mailto:{quote(to or '', safe='@')}?{query}"


def reply_subject(subject: str) -> str:
    """`Re:` once, whatever prefixes the thread's subject carried already."""
    return "Re: " + _RE.sub("", subject).strip()


def _first_name(name: str | None) -> str:
    parts = (name or "").split()
    return parts[0] if parts else ""


def _one_line(text: str | None, limit: int = 200) -> str:
    first = (text or "").strip().splitlines()
    return " ".join(first[0].split())[:limit] if first else ""


def draftable(fu: FollowUp, channel: str | None) -> bool:
    if not fu.is_open:
        return False
    if fu.type == FollowupType.THANK_YOU.value:
        return fu.contact is not None and bool(fu.contact.email)
    return fu.type == FollowupType.STANDARD.value and channel == Channel.EMAIL.value


def drafts_for(
    session: Session, user: AnyUser, followups: Sequence[FollowUp], *, now: datetime
) -> dict[uuid.UUID, Draft]:
    """The drafts of those of `followups` (loaded with their job and contact) that have one,
    by follow-up id: five queries whatever their number."""
    outreach_ids = {fu.outreach_id for fu in followups if fu.outreach_id is not None}
    outreach = {
        row.id: row
        for row in session.execute(
            select(Outreach.id, Outreach.channel, Outreach.note, Outreach.sent_at).where(
                Outreach.user_id == user.id, Outreach.id.in_(outreach_ids)
            )
        )
    } if outreach_ids else {}
    wanted = [
        fu for fu in followups
        if draftable(fu, outreach[fu.outreach_id].channel if fu.outreach_id in outreach else None)
    ]
    if not wanted:
        return {}
    chain_ids = {fu.chain_id for fu in wanted}
    last_sent = dict(session.execute(
        select(FollowUp.chain_id, func.max(FollowUp.sent_at))
        .where(FollowUp.user_id == user.id, FollowUp.chain_id.in_(chain_ids), FollowUp.sent_at.is_not(None))
        .group_by(FollowUp.chain_id)
    ).all())
    # The messages the mailbox sync found sent for these outreaches (followups.mailbox.record):
    # a draft replies in their thread. A made-up key (a message without a Message-ID) is none.
    found: dict[uuid.UUID, list[str]] = {}
    for outreach_id, message_id in session.execute(
        select(MailMessage.outreach_id, MailMessage.message_id)
        .where(MailMessage.user_id == user.id, MailMessage.outreach_id.in_(outreach_ids),
               MailMessage.kind.in_((MailKind.OUTREACH.value, MailKind.FOLLOWUP_SENT.value)))
        .order_by(MailMessage.sent_at, MailMessage.id)
    ) if outreach_ids else ():
        if not message_id.startswith("sha256:"):
            found.setdefault(outreach_id, []).append(f"<{message_id}>")
    threads: dict[uuid.UUID, list] = {}
    for chain_id, message_id, subject in session.execute(
        select(MailSend.chain_id, MailSend.message_id, MailSend.subject)
        .where(MailSend.user_id == user.id, MailSend.chain_id.in_(chain_ids), MailSend.state.in_(THREADED))
        .order_by(MailSend.attempt_no)
    ):
        threads.setdefault(chain_id, []).append((message_id, subject))
    own = templates.templates_of(session, user.id)
    today = clock.local_date(now, user.zone)
    drafts = {}
    for fu in wanted:
        sent_with = outreach.get(fu.outreach_id)
        touches = [t for t in (sent_with.sent_at if sent_with else None, last_sent.get(fu.chain_id)) if t]
        last_touch = max(touches) if touches else fu.created_at
        contact, job = fu.contact, fu.job
        values = {
            "first_name": _first_name(contact.name if contact else None),
            "company": (job.company if job else None) or (contact.company if contact else None) or "",
            "role": job.role if job else "",
            "days_since": max((today - clock.local_date(last_touch, user.zone)).days, 0),
            "subject": _one_line(sent_with.note if sent_with else None),
        }
        name = templates.name_for(fu.type, fu.attempt_no)
        text = templates.render(own[name], name, values)
        thread = threads.get(fu.chain_id, [])
        synced = [m for m in found.get(fu.outreach_id, ()) if m not in {mid for mid, _ in thread}]
        if thread:
            subject = reply_subject(thread[0][1])
        elif synced and sent_with is not None and sent_with.note:
            subject = reply_subject(_one_line(sent_with.note))  # the sync's note is the subject
        else:
            subject = text.subject
        drafts[fu.id] = Draft(
            followup_id=fu.id,
            attempt_no=fu.attempt_no,
            chain_id=fu.chain_id,
            template=name,
            to=(contact.email or None) if contact else None,
            to_name=contact.name if contact else None,
            subject=subject,
            body=text.body,
            references=(*synced, *(message_id for message_id, _ in thread)),
        )
    return drafts


def get_draft(session: Session, user: AnyUser, followup_id, *, now: datetime) -> Draft:
    """The draft of one open follow-up: NotFound, or Conflict when it has none."""
    fu = chains.get_followup(session, user, followup_id)
    if fu.sent_at is not None or fu.cancelled_at is not None:
        state = "sent" if fu.sent_at is not None else "cancelled"
        raise Conflict(f"Follow-up {fu.id} was already {state}: there is nothing to draft.")
    draft = drafts_for(session, user, [fu], now=now).get(fu.id)
    if draft is None:
        raise Conflict(
            f"Follow-up {fu.id} is not one of an email outreach: there is no email to draft for it."
        )
    return draft
