"""What a message found in the mailbox does (issue 20, item 3), once: the mail_message row
is inserted first, and a message whose row exists already changes nothing. Each effect is
an existing use case: an outreach recorded, a follow-up marked sent, an outcome set."""

from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import Message

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from followups import notification_kinds as kinds
from followups.chains.queries import is_open
from followups.chains.service import cancel_open, mark_sent
from followups.contacts.service import create_contact
from followups.mailbox import reading
from followups.mailbox.reading import Mail
from followups.models import (
    REPLIES,
    Channel,
    Contact,
    FollowUp,
    FollowupType,
    MailKind,
    MailMessage,
    MailSend,
    Notification,
    Outcome,
    Outreach,
    User,
)
from followups.notification_kinds import Kind
from followups.outreach.service import record_outreach, update_outreach

log = logging.getLogger("followups.mailbox")
OOO_PAUSE_DAYS = 7  # an out-of-office that names no return date pauses the thread this long
NOTE_MAX = 2000
NAME_MAX = 200  # contact.name


@dataclass(frozen=True)
class Person:
    id: uuid.UUID
    name: str


@dataclass
class Known:
    """What the sync knows of one user while it reads their mail."""

    own: frozenset[str]  # the user's own addresses
    contacts: dict[str, list[Person]]  # by lower-cased email
    recorded: dict[str, uuid.UUID | None] = field(default_factory=dict)  # Message-ID -> outreach
    create_contacts: bool = False  # the mailbox's opt-in (Mailbox.create_contacts)
    contact_tag: str | None = None

    def people(self, addresses) -> list[Person]:
        found: dict[uuid.UUID, Person] = {}
        for address in addresses:
            for person in self.contacts.get(address, ()):
                found.setdefault(person.id, person)
        return list(found.values())


def known(session: Session, user_id: uuid.UUID, own: set[str], *, create_contacts: bool = False,
          contact_tag: str | None = None) -> Known:
    rows = session.execute(
        select(Contact.id, Contact.name, Contact.email)
        .where(Contact.user_id == user_id, Contact.email.is_not(None), Contact.archived_at.is_(None))
    ).all()
    contacts: dict[str, list[Person]] = {}
    for cid, name, email in rows:
        contacts.setdefault(email.strip().lower(), []).append(Person(cid, name))
    return Known(frozenset(a.lower() for a in own if a), contacts, create_contacts=create_contacts,
                 contact_tag=(contact_tag or "").strip() or None)


def learn_recorded(session: Session, user_id: uuid.UUID, k: Known, mails: list[Mail]) -> None:
    """The recorded messages these mails answer (one query per chunk)."""
    named = {i for m in mails for i in m.ids_named} - k.recorded.keys()
    if not named:
        return
    for chunk in _chunks(sorted(named), 500):
        rows = session.execute(
            select(MailMessage.message_id, MailMessage.outreach_id)
            .where(MailMessage.user_id == user_id, MailMessage.message_id.in_(chunk))
        ).all()
        k.recorded.update({mid: oid for mid, oid in rows})


def _chunks(items: list, size: int):
    for i in range(0, len(items), size):
        yield items[i: i + size]


def is_sent(mail: Mail, folder: str, k: Known) -> bool:
    return folder == "sent" or (mail.sender is not None and mail.sender in k.own)


def concerns(mail: Mail, folder: str, k: Known) -> bool:
    """Is this message looked at at all? Only mail to or from a contact, replies to a
    recorded message, and delivery reports (whose failed address is in their body)."""
    if is_sent(mail, folder, k):
        return bool(k.people(mail.recipients)) or bool(_strangers(mail, k))
    return (
        mail.report
        or bool(k.people([mail.sender] if mail.sender else []))
        or any(i in k.recorded for i in mail.ids_named)
    )


def _strangers(mail: Mail, k: Known) -> list[tuple[str, str]]:
    """With the opt-in on, a sent message Bcc followups@… (or tagged in its subject): its To
    addresses that are no contact (and not the user's own), with their display names."""
    if not k.create_contacts:
        return []
    tagged = k.contact_tag is not None and k.contact_tag.casefold() in mail.subject.casefold()
    if not (tagged or mail.bcc_followups()):
        return []
    return [(address, name) for address, name in dict(mail.to_names).items()
            if address not in k.contacts and address not in k.own and address not in mail.bcc]


def needs_body(mail: Mail, folder: str, k: Known) -> bool:
    return not is_sent(mail, folder, k) and (mail.report or reading.out_of_office(mail))


def gate(session: Session, user_id: uuid.UUID, mail: Mail, folder: str, now: datetime) -> uuid.UUID | None:
    """Insert the message's row; None when it was processed before (by anyone)."""
    row_id = uuid.uuid4()
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(MailMessage).values(
        id=row_id, user_id=user_id, message_id=mail.message_id, folder=folder, kind=MailKind.IGNORED.value,
        in_reply_to=mail.in_reply_to, references=" ".join(mail.references)[:10_000] or None,
        sent_at=mail.date, created_at=now,
    ).on_conflict_do_nothing(index_elements=["user_id", "message_id"]).returning(MailMessage.id)
    # RETURNING, not the row count: an ORM-enabled INSERT's row count is not reliable on psycopg.
    return session.execute(stmt).scalar()


@dataclass
class Outcome_:
    kind: MailKind
    detail: str
    contact_id: uuid.UUID | None = None
    outreach_id: uuid.UUID | None = None
    followup_id: uuid.UUID | None = None


def record(session: Session, user: User, mail: Mail, folder: str, k: Known, *,
           body: Message | None, now: datetime) -> MailKind | None:
    """Apply one message (in the caller's transaction). None: processed before."""
    row_id = gate(session, user.id, mail, folder, now)
    if row_id is None:
        return None
    at = min(mail.date, now)  # when it happened: a Date in the future is not believed
    if is_sent(mail, folder, k):
        result = _sent_now(session, user, mail) or _sent(session, user, mail, k, at, now)
    elif mail.report:
        result = _bounce(session, user, mail, k, body, now)
    else:
        result = _answer(session, user, mail, k, body, at, now)
    session.execute(
        update(MailMessage).where(MailMessage.user_id == user.id, MailMessage.id == row_id).values(
            kind=result.kind.value, detail=result.detail[:500], contact_id=result.contact_id,
            outreach_id=result.outreach_id, followup_id=result.followup_id,
        )
    )
    if result.outreach_id is not None:
        k.recorded[mail.message_id] = result.outreach_id
    log.info("mail %s: %s (%s)", mail.message_id[:80], result.kind.value, result.detail)
    return result.kind


def _sent_now(session: Session, user: User, mail: Mail) -> Outcome_ | None:
    """A message "Send now" sent (followups.mailbox.send: its copy is in the sent folder):
    its follow-up was marked sent with it already; only its Message-ID is learnt, so a reply
    to it is known as one."""
    row = session.execute(
        select(MailSend.followup_id, FollowUp.outreach_id, FollowUp.contact_id)
        .join(FollowUp, (FollowUp.user_id == MailSend.user_id) & (FollowUp.id == MailSend.followup_id))
        .where(MailSend.user_id == user.id, MailSend.message_id == f"<{mail.message_id}>")
    ).first()
    if row is None:
        return None
    return Outcome_(MailKind.FOLLOWUP_SENT, "sent with Send now: recorded already", row.contact_id,
                    row.outreach_id, row.followup_id)


def _sent(session: Session, user: User, mail: Mail, k: Known, at: datetime, now: datetime) -> Outcome_:
    for address, name in _strangers(mail, k):  # the opt-in: the contact is made, then as for any
        contact = create_contact(session, user, fields={"name": (name or address)[:NAME_MAX], "email": address},
                                 now=now)
        k.contacts[address] = [Person(contact.id, contact.name)]
    first: Outcome_ | None = None
    for person in k.people(mail.recipients):
        open_followup = session.scalar(
            select(FollowUp.id).where(
                FollowUp.user_id == user.id, FollowUp.contact_id == person.id, is_open(),
                FollowUp.type != FollowupType.APPOINTMENT.value,
            ).order_by(FollowUp.due_at, FollowUp.id).limit(1)
        )
        if open_followup is not None:  # the same use case as PATCH /followups/{id}/send
            sent = mark_sent(session, user, open_followup, note=None, now=at).followup
            result = Outcome_(MailKind.FOLLOWUP_SENT, f"follow-up to {person.name} marked sent",
                              person.id, sent.outreach_id, sent.id)
        else:
            outreach = record_outreach(
                session, user, job=_job_of(session, user, person.id), contact=person.id,
                channel=Channel.EMAIL, sent_at=at, note=(mail.subject or None) and mail.subject[:NOTE_MAX],
                outcome=Outcome.NONE, create_followup=True, now=now,
            ).outreach
            result = Outcome_(MailKind.OUTREACH, f"outreach to {person.name} recorded", person.id, outreach.id)
        first = first or result
    assert first is not None  # concerns() said a contact is among the recipients
    return first


def _job_of(session: Session, user: User, contact_id: uuid.UUID) -> str | None:
    """The job of the contact's latest outreach that had one: a new message to them is about it."""
    job_id = session.scalar(
        select(Outreach.job_id).where(
            Outreach.user_id == user.id, Outreach.contact_id == contact_id,
            Outreach.deleted_at.is_(None), Outreach.job_id.is_not(None),
        ).order_by(Outreach.sent_at.desc(), Outreach.id.desc()).limit(1)
    )
    return str(job_id) if job_id is not None else None


def _outreach_answered(session: Session, user: User, mail: Mail, k: Known,
                       person: Person | None) -> Outreach | None:
    """The outreach a message answers: the recorded message it names, else the latest
    outreach to its sender sent before it."""
    for named in mail.ids_named:
        oid = k.recorded.get(named)
        if oid is not None:
            found = session.scalar(select(Outreach).where(
                Outreach.user_id == user.id, Outreach.id == oid, Outreach.deleted_at.is_(None)))
            if found is not None:
                return found
    if person is None:
        return None
    return session.scalar(
        select(Outreach).where(
            Outreach.user_id == user.id, Outreach.contact_id == person.id, Outreach.deleted_at.is_(None),
            Outreach.sent_at <= mail.date,
        ).order_by(Outreach.sent_at.desc(), Outreach.id.desc()).limit(1)
    )


def _answer(session: Session, user: User, mail: Mail, k: Known, body: Message | None,
            at: datetime, now: datetime) -> Outcome_:
    people = k.people([mail.sender] if mail.sender else [])
    person = people[0] if people else None
    outreach = _outreach_answered(session, user, mail, k, person)
    who = person.name if person else (mail.sender or "someone")
    if outreach is None:
        return Outcome_(MailKind.IGNORED, f"from {who}: no outreach it answers",
                        person.id if person else None)
    contact_id = person.id if person else outreach.contact_id
    if reading.out_of_office(mail):
        return _away(session, user, mail, outreach, body, who, contact_id, at)
    if Outcome(outreach.outcome) in REPLIES - {Outcome.REPLIED}:
        return Outcome_(MailKind.IGNORED, f"from {who}: the outreach has its answer already "
                        f"({outreach.outcome})", contact_id, outreach.id)
    first = outreach.outcome != Outcome.REPLIED.value
    if first:
        update_outreach(session, user, outreach.id, changes={"outcome": Outcome.REPLIED}, now=at)
        _notify(session, user, kinds.REPLY, mail.message_id,
                f"{who} replied: positive, negative or not now?", now=now,
                contact_id=outreach.contact_id, job_id=outreach.job_id)
    return Outcome_(MailKind.REPLY, f"reply from {who}" + ("" if first else " (replied already)"),
                    contact_id, outreach.id)


def _away(session: Session, user: User, mail: Mail, outreach: Outreach, body: Message | None,
          who: str, contact_id, at: datetime) -> Outcome_:
    """An out-of-office: not a reply. The thread pauses until the return date it names, or
    for 7 days, exactly as a LATER ("not now") answer does."""
    sent_on = at.astimezone(user.zone).date()
    found = reading.return_date(reading.body_text(body), sent_on) if body is not None else None
    day = found[0] if found else sent_on + timedelta(days=OOO_PAUSE_DAYS)
    if Outcome(outreach.outcome) in REPLIES:
        return Outcome_(MailKind.IGNORED, f"out-of-office from {who} after the thread was answered",
                        contact_id, outreach.id)
    update_outreach(session, user, outreach.id,
                    changes={"outcome": Outcome.LATER, "resume_on": day.isoformat()}, now=at)
    said = f'back on {day.isoformat()} ("{found[1]}")' if found else f"no return date: {OOO_PAUSE_DAYS} days"
    why = f"Out of office, {said}"
    # The resumed follow-up says why with the words of the out-of-office.
    session.execute(
        update(FollowUp).where(FollowUp.user_id == user.id, FollowUp.outreach_id == outreach.id, is_open())
        .values(why=FollowUp.why + f" — {why}"),
        execution_options={"synchronize_session": False},
    )
    return Outcome_(MailKind.OUT_OF_OFFICE, f"out-of-office from {who}: {said}", contact_id, outreach.id)


def _bounce(session: Session, user: User, mail: Mail, k: Known, body: Message | None, now: datetime) -> Outcome_:
    failed = reading.bounced_addresses(body) if body is not None else ()
    people = [(address, p) for address in failed for p in k.contacts.get(address, ())]
    if not people:
        return Outcome_(MailKind.IGNORED, "delivery report for no contact's address")
    # The mail_message row (kind bounce, the contact, the address in its detail) is the flag.
    for address, person in people:
        cancel_open(session, user.id, FollowUp.contact_id == person.id,
                    reason=f"Paused: mail to {address} bounced; fix the address to go on", now=now)
        _notify(session, user, kinds.BOUNCE, f"{mail.message_id}:{address}",
                f"Mail to {address} ({person.name}) bounced: the address failed, "
                "their follow-ups are paused", now=now, contact_id=person.id)
    address, person = people[0]
    return Outcome_(MailKind.BOUNCE, f"{address} bounced", person.id)


def _notify(session: Session, user: User, kind: Kind, key: str, message: str, *,
            now: datetime, contact_id=None, job_id=None) -> None:
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(
        dialect.insert(Notification).values(
            id=uuid.uuid4(), user_id=user.id, kind=kind.name,
            dedupe_key=hashlib.sha256(key.encode()).hexdigest(), message=message, due_at=now,
            contact_id=contact_id, job_id=job_id, created_at=now,
        ).on_conflict_do_nothing(index_elements=["user_id", "kind", "dedupe_key"])
    )
