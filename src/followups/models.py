"""Every table in one place. Every owned row carries user_id; every unique key (primary keys
included) leads with it.

State is never expressed by deleting rows: archived_at, deleted_at, sent_at and
cancelled_at (with cancel_reason) keep the history.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from followups import clock
from followups.cadence import Cadence
from followups.db import Base, UTCDateTime
from followups.rules import Rules

OPEN_SQL = "sent_at IS NULL AND cancelled_at IS NULL"


class Stage(StrEnum):
    APPLIED = "APPLIED"
    HR = "HR"
    TECH = "TECH"
    OFFER = "OFFER"
    REJECTED = "REJECTED"
    DORMANT = "DORMANT"


CLOSED_STAGES = frozenset({Stage.REJECTED, Stage.DORMANT})


class Channel(StrEnum):
    LINKEDIN = "LINKEDIN"
    EMAIL = "EMAIL"
    PHONE = "PHONE"
    OTHER = "OTHER"


class Outcome(StrEnum):
    NONE = "NONE"
    POSITIVE = "POSITIVE"
    NEGATIVE = "NEGATIVE"
    NO_RESPONSE = "NO_RESPONSE"
    # "Not now": a reply that pauses the thread until a date (Outreach.resume_on).
    LATER = "LATER"
    # A reply found in the user's mailbox and not yet classified by them: it settles the
    # thread like POSITIVE and NEGATIVE; their later choice replaces it.
    REPLIED = "REPLIED"


# A reply settles the thread: its open follow-ups are cancelled.
REPLIES = frozenset({Outcome.POSITIVE, Outcome.NEGATIVE, Outcome.REPLIED})
# Every outcome that is an answer from the other side (for reply statistics).
ANSWERS = REPLIES | {Outcome.LATER}


class FollowupType(StrEnum):
    STANDARD = "STANDARD"
    APPOINTMENT = "APPOINTMENT"
    # The one note after an interview stage (stage-aware rule): no cadence follows it.
    THANK_YOU = "THANK_YOU"


def new_id() -> uuid.UUID:
    return uuid.uuid4()


# The tables distributed by user_id (Citus) have the database primary key (user_id, id):
# Citus wants every unique key, primary keys included, to lead with the distribution column,
# and the composite foreign keys (user_id, x_id) -> (user_id, id) reference it. The ORM
# identity stays id alone (random UUIDs; the JSON import gives an id another user has a new
# one): session.get(Model, id) and relationships by id keep working; a flush updates by both
# columns (WHERE user_id = .. AND id = ..), and a bulk UPDATE by primary key needs user_id
# in each row. A plain (non-unique) index on id serves the lookups by id alone
# (session.get, the worker's claims): without it they scan the table (seen in bench/perf.py).
OWNED_IDENTITY = {"primary_key": ["id"]}


class UserSettings:
    """What a user's stored settings mean: their zone, rules and cadence. For the mapped
    User and for SignedIn, which carry the same columns."""

    __slots__ = ()

    @property
    def zone(self) -> ZoneInfo:
        return clock.zone(self.timezone)

    @property
    def rule_set(self) -> Rules:
        return Rules.from_json(self.rules)

    @property
    def cadence(self) -> Cadence:
        """The fixed cadence with the user's quiet days (adaptive delays: followups.planner)."""
        return self.cadence_with(self.rule_set)

    def cadence_with(self, rules: Rules) -> Cadence:
        """`cadence`, for a caller that has parsed the user's rules already."""
        return Cadence(
            followup_delays_days=tuple(self.followup_delays_days),
            dormant_after_days=self.dormant_after_days,
            skip_weekends=self.skip_weekends,
            holidays=frozenset(rules.holidays),
        )


class User(UserSettings, Base):
    __tablename__ = "app_user"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(320))
    # Lower-cased email: the login key, unique through EmailAddress (not a unique key of
    # this table: Citus distributes app_user by id, and a unique key must include it).
    email_key: Mapped[str] = mapped_column(String(320))
    password_hash: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    followup_delays_days: Mapped[list[int]] = mapped_column(JSON)
    dormant_after_days: Mapped[int] = mapped_column(Integer)
    skip_weekends: Mapped[bool] = mapped_column(Boolean, default=False)
    # Attempt delays follow the user's own median days to reply (within 2..10 days).
    cadence_adaptive: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )
    # The job-search rules (followups.rules.Rules as JSON); null means all defaults.
    rules: Mapped[dict | None] = mapped_column(JSON)
    # Daily digest at this local hour; next_digest_at is that instant, kept ahead by the worker.
    digest_hour: Mapped[int] = mapped_column(Integer, default=8)
    digest_email: Mapped[bool] = mapped_column(Boolean, default=True)
    next_digest_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    webhook_url: Mapped[str | None] = mapped_column(String(2000))
    # The user's own signing secret for webhooks (HMAC-SHA256); never sent back.
    webhook_secret: Mapped[str | None] = mapped_column(String(200))
    # The secret part of the calendar feed URL; revoking sets a new one or none. Found
    # through CalendarAddress, which keeps it unique.
    calendar_token: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Bumped by every write request of the user on PostgreSQL, in the same transaction: a
    # replica whose copy of this row has the primary's value has replayed all the user's
    # writes (followups.replica).
    write_seq: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))



@dataclass(frozen=True, slots=True)
class SignedIn(UserSettings):
    """The user of a hot request as its sign-in read it (followups.users.tokens:
    sign_in_reader for the follow-up list; for mark-sent, sign_in_writer, or on PostgreSQL
    the send's own statement, followups.chains.service): the columns the
    services read, in a plain object. Making a mapped User cost each of those requests about
    a tenth of its CPU (bench/RESULTS.md). Read-only: a request that changes the user signs
    in with a User."""

    id: uuid.UUID
    timezone: str
    followup_delays_days: list[int]
    dormant_after_days: int
    skip_weekends: bool
    cadence_adaptive: bool
    rules: dict | None
    write_seq: int  # as of the sign-in (followups.replica)


# Either kind of signed-in user, for code that only reads the user's settings.
AnyUser = User | SignedIn


class ApiToken(Base):
    """A bearer token, `<user id>.<secret>` (followups.users.tokens): kept hashed, owned by
    its user and found by (user_id, token_hash), one user's rows. Tokens made before the
    user id was in them are found by their hash alone until they expire."""

    __tablename__ = "api_token"
    __table_args__ = (
        PrimaryKeyConstraint("user_id", "id"),  # leads with the owner (see OWNED_IDENTITY)
        UniqueConstraint("user_id", "token_hash"),
        # The old tokens' sign-in (no user id in them), across users.
        Index("ix_api_token_token_hash", "token_hash"),
        # The worker's pruning of expired and revoked tokens (followups.housekeeping).
        Index(None, "expires_at"),
        Index(None, "revoked_at", sqlite_where=text("revoked_at IS NOT NULL"),
              postgresql_where=text("revoked_at IS NOT NULL")),
    )

    __mapper_args__ = OWNED_IDENTITY

    id: Mapped[uuid.UUID] = mapped_column(Uuid, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"))
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class EmailAddress(Base):
    """The directory of login emails: one row per email key, so an address belongs to one
    account on any database (its primary key, the key a sharded cluster distributes it
    by); the sign-in finds the account's id here. Written before the account, in the
    same transaction: a second registration of the address waits, then is refused."""

    __tablename__ = "email_address"

    email_key: Mapped[str] = mapped_column(String(320), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid)


class CalendarAddress(Base):
    """The directory of calendar feed tokens: one row per live token (its primary key, the
    key a sharded cluster distributes it by), pointing at its user."""

    __tablename__ = "calendar_address"

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid)


class LoginFailure(Base):
    """A failed sign-in, counted per account from a client address and per client address
    (api/limits.py) by every server process alike. `key` is a hash: what someone typed as an email (a
    password, sometimes) is not kept. Not owned: counted before any user is known."""

    __tablename__ = "login_failure"
    # (scope, key, at): a key's count; at: the worker's prune of those no window holds.
    __table_args__ = (Index(None, "scope", "key", "at"), Index(None, "at"))

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    scope: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class Job(Base):
    __tablename__ = "job"
    __table_args__ = (
        Index(None, "user_id", "created_at"),
        PrimaryKeyConstraint("user_id", "id"),  # leads with the owner (see OWNED_IDENTITY)
        Index("ix_job_id", "id"),  # lookups by id alone (see OWNED_IDENTITY)
    )

    __mapper_args__ = OWNED_IDENTITY

    id: Mapped[uuid.UUID] = mapped_column(Uuid, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"))
    company: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(200))
    url: Mapped[str | None] = mapped_column(String(2000))
    stage: Mapped[str] = mapped_column(String(16), default=Stage.APPLIED.value)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    @property
    def archived(self) -> bool:
        return self.archived_at is not None


class Contact(Base):
    __tablename__ = "contact"
    __table_args__ = (
        Index(None, "user_id", "created_at"),
        PrimaryKeyConstraint("user_id", "id"),  # leads with the owner (see OWNED_IDENTITY)
        Index("ix_contact_id", "id"),  # lookups by id alone (see OWNED_IDENTITY)
    )

    __mapper_args__ = OWNED_IDENTITY

    id: Mapped[uuid.UUID] = mapped_column(Uuid, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    company: Mapped[str | None] = mapped_column(String(200))
    linkedin_url: Mapped[str | None] = mapped_column(String(2000))
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    @property
    def archived(self) -> bool:
        return self.archived_at is not None


class Outreach(Base):
    __tablename__ = "outreach"
    __table_args__ = (
        Index(None, "user_id", "job_id"),
        Index(None, "user_id", "contact_id"),
        PrimaryKeyConstraint("user_id", "id"),  # leads with the owner (see OWNED_IDENTITY)
        Index("ix_outreach_id", "id"),  # lookups by id alone (see OWNED_IDENTITY)
        ForeignKeyConstraint(["user_id", "job_id"], ["job.user_id", "job.id"]),
        ForeignKeyConstraint(["user_id", "contact_id"], ["contact.user_id", "contact.id"]),
    )

    __mapper_args__ = OWNED_IDENTITY

    id: Mapped[uuid.UUID] = mapped_column(Uuid, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"))
    job_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    contact_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    channel: Mapped[str] = mapped_column(String(16))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(16), default=Outcome.NONE.value)
    # When the outcome became an answer (POSITIVE, NEGATIVE, LATER): reply statistics.
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # LATER: the local date the thread resumes on.
    resume_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Deleting an outreach hides it; its follow-ups keep pointing at it as history.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class FollowUp(Base):
    __tablename__ = "follow_up"
    __table_args__ = (
        # One row per chain and attempt: a retried or raced send cannot make a second
        # attempt 2. (Stronger than "one open per chain and attempt".)
        UniqueConstraint("user_id", "chain_id", "attempt_no"),
        # Serves every due bucket: the user's open follow-ups in due order.
        Index(
            "ix_follow_up_open_due",
            "user_id",
            "due_at",
            "id",
            sqlite_where=text(OPEN_SQL),
            postgresql_where=text(OPEN_SQL),
        ),
        # The reminder sweep: open rows without a reminder whose due day has begun.
        # Across users, and small: a row leaves it when reminded, sent or cancelled.
        Index(
            "ix_follow_up_unreminded",
            "remind_at",
            sqlite_where=text(f"{OPEN_SQL} AND reminded_at IS NULL"),
            postgresql_where=text(f"{OPEN_SQL} AND reminded_at IS NULL"),
        ),
        # Cancelling by job (stage change) and by outreach (reply, delete). No index by
        # contact: nothing asks for it, and each index costs every write (the sweep).
        Index(None, "user_id", "job_id"),
        Index(None, "user_id", "outreach_id"),
        PrimaryKeyConstraint("user_id", "id"),  # leads with the owner (see OWNED_IDENTITY)
        Index("ix_follow_up_id", "id"),  # lookups by id alone (see OWNED_IDENTITY)
        ForeignKeyConstraint(["user_id", "job_id"], ["job.user_id", "job.id"]),
        ForeignKeyConstraint(["user_id", "contact_id"], ["contact.user_id", "contact.id"]),
        ForeignKeyConstraint(["user_id", "outreach_id"], ["outreach.user_id", "outreach.id"]),
    )

    __mapper_args__ = OWNED_IDENTITY

    id: Mapped[uuid.UUID] = mapped_column(Uuid, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"))
    # All attempts that follow one outreach (or one manual follow-up) share a chain.
    chain_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    attempt_no: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(16), default=FollowupType.STANDARD.value)
    job_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    contact_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    outreach_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    why: Mapped[str | None] = mapped_column(String(1000))
    # The due date was given by the user (POST /followups, PATCH, a "not now" date):
    # the rules never move it.
    due_set_by_user: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )
    # Bumped on every reschedule (calendar SEQUENCE, and a fresh reminder).
    revision: Mapped[int] = mapped_column(Integer, default=0)
    # Start of the owner's local day of due_at: from then on it is "due" (today or
    # overdue) and gets its reminder. Kept with due_at and the owner's time zone.
    remind_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # When the worker made this revision's followup_due reminder.
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    # Loaded only on purpose (contains_eager in one joined query): never one query per row.
    # Joined on the owner too (the composite foreign keys); only the id column is written
    # through them: user_id is the row's own, shared by every such key.
    job: Mapped[Job | None] = relationship(
        lazy="raise", primaryjoin="and_(Job.user_id == FollowUp.user_id, Job.id == foreign(FollowUp.job_id))")
    contact: Mapped[Contact | None] = relationship(
        lazy="raise",
        primaryjoin="and_(Contact.user_id == FollowUp.user_id, Contact.id == foreign(FollowUp.contact_id))")

    @property
    def is_open(self) -> bool:
        return self.sent_at is None and self.cancelled_at is None


class Notification(Base):
    __tablename__ = "notification"
    __table_args__ = (
        # One notification per (kind, subject): per follow-up for followup_due, per
        # chain for dormant_candidate, per local day for digest.
        UniqueConstraint("user_id", "kind", "dedupe_key"),
        PrimaryKeyConstraint("user_id", "id"),  # leads with the owner (see OWNED_IDENTITY)
        Index("ix_notification_id", "id"),  # lookups by id alone (see OWNED_IDENTITY)
        ForeignKeyConstraint(["user_id", "job_id"], ["job.user_id", "job.id"]),
        ForeignKeyConstraint(["user_id", "contact_id"], ["contact.user_id", "contact.id"]),
        ForeignKeyConstraint(["user_id", "followup_id"], ["follow_up.user_id", "follow_up.id"]),
        Index(
            "ix_notification_unseen_due",
            "user_id",
            "due_at",
            sqlite_where=text(OPEN_SQL),
            postgresql_where=text(OPEN_SQL),
        ),
        Index(None, "user_id", "job_id"),
        # A follow-up's pending reminder, dropped when it is sent, cancelled or moved: without
        # it each send scanned all of the user's notifications, which only grow (history).
        Index(
            "ix_notification_pending_reminder",
            "user_id",
            "followup_id",
            sqlite_where=text(f"kind = 'followup_due' AND {OPEN_SQL}"),
            postgresql_where=text(f"kind = 'followup_due' AND {OPEN_SQL}"),
        ),
        # The worker's "what falls due now": not yet presented, not resolved.
        Index(
            "ix_notification_unpresented_due",
            "due_at",
            sqlite_where=text("presented_at IS NULL AND cancelled_at IS NULL"),
            postgresql_where=text("presented_at IS NULL AND cancelled_at IS NULL"),
        ),
        # The worker's pruning of old digests (followups.housekeeping).
        Index(
            "ix_notification_digest_due",
            "due_at",
            sqlite_where=text("kind = 'digest'"),
            postgresql_where=text("kind = 'digest'"),
        ),
    )

    __mapper_args__ = OWNED_IDENTITY

    id: Mapped[uuid.UUID] = mapped_column(Uuid, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"))
    kind: Mapped[str] = mapped_column(String(32))
    dedupe_key: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Seen by the user (the seed's "send" of a notification).
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Resolved without the user: e.g. a reply arrived before a dormant check fell due.
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    job_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    contact_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    followup_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    chain_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Structured content (a digest's lists), for rendering email and pages.
    payload: Mapped[dict | None] = mapped_column(JSON)
    # Presented by the worker once due (deliveries made); until then it may still resolve.
    presented_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DeliveryChannel(StrEnum):
    WEBHOOK = "webhook"
    EMAIL = "email"


class Delivery(Base):
    """One notification sent over one channel: tried with backoff, then dead."""

    __tablename__ = "delivery"
    __table_args__ = (
        PrimaryKeyConstraint("user_id", "id"),  # leads with the owner (see OWNED_IDENTITY)
        Index("ix_delivery_id", "id"),  # lookups by id alone (see OWNED_IDENTITY)
        UniqueConstraint("user_id", "notification_id", "channel"),
        ForeignKeyConstraint(["user_id", "notification_id"], ["notification.user_id", "notification.id"]),
        Index(
            "ix_delivery_pending",
            "next_attempt_at",
            sqlite_where=text("delivered_at IS NULL AND dead_at IS NULL"),
            postgresql_where=text("delivered_at IS NULL AND dead_at IS NULL"),
        ),
    )

    __mapper_args__ = OWNED_IDENTITY

    id: Mapped[uuid.UUID] = mapped_column(Uuid, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"))
    notification_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    channel: Mapped[str] = mapped_column(String(16))
    # Also the lease: a worker that claims a delivery pushes this ahead first, so a
    # crashed worker's claim comes back by itself.
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dead_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MailboxStatus(StrEnum):
    PENDING = "pending"  # saved, not synced yet
    OK = "ok"
    ERROR = "error"  # the last sync failed: last_error says why; it backs off


class Mailbox(Base):
    """The user's own mailbox (followups.mailbox): one per user. The password is encrypted
    with the server's key (followups.mailbox.secret) and never leaves the server."""

    __tablename__ = "mailbox"
    __table_args__ = (
        # The sync's "what is due": one index range across users.
        Index("ix_mailbox_next_sync_at", "next_sync_at"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"), primary_key=True)
    address: Mapped[str] = mapped_column(String(320))  # the user's own address
    imap_host: Mapped[str] = mapped_column(String(255))
    imap_port: Mapped[int] = mapped_column(Integer)
    imap_security: Mapped[str] = mapped_column(String(16))
    smtp_host: Mapped[str] = mapped_column(String(255))
    smtp_port: Mapped[int] = mapped_column(Integer)
    smtp_security: Mapped[str] = mapped_column(String(16))
    username: Mapped[str] = mapped_column(String(320))
    password_encrypted: Mapped[str] = mapped_column(Text)
    inbox_folder: Mapped[str] = mapped_column(String(255))
    sent_folder: Mapped[str] = mapped_column(String(255))
    # Opt-in: a sent message to no contact, Bcc followups@… or with the tag in its subject,
    # creates the contact (followups.mailbox.record).
    create_contacts: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    contact_tag: Mapped[str | None] = mapped_column(String(64))
    # Per folder: the UIDVALIDITY the last UID belongs to; another one means a rescan.
    inbox_uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    inbox_last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    sent_uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    sent_last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(16), default=MailboxStatus.PENDING.value)
    last_error: Mapped[str | None] = mapped_column(String(500))
    last_sync_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the last good one
    failures: Mapped[int] = mapped_column(Integer, default=0)  # in a row: the backoff
    next_sync_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # A worker syncing it holds it until then (and fences its writes with the value).
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MailKind(StrEnum):
    """What a message found in the mailbox became."""

    OUTREACH = "outreach"  # sent to a contact: a new outreach
    FOLLOWUP_SENT = "followup_sent"  # sent to a contact with an open follow-up: marked sent
    REPLY = "reply"
    OUT_OF_OFFICE = "out_of_office"
    BOUNCE = "bounce"
    IGNORED = "ignored"  # about a contact, but nothing to change (kept: never looked at twice)


class MailMessage(Base):
    """A message of the user's mailbox that concerned a contact, processed once."""

    __tablename__ = "mail_message"
    __table_args__ = (
        PrimaryKeyConstraint("user_id", "id"),
        UniqueConstraint("user_id", "message_id"),
        ForeignKeyConstraint(["user_id", "outreach_id"], ["outreach.user_id", "outreach.id"]),
        ForeignKeyConstraint(["user_id", "contact_id"], ["contact.user_id", "contact.id"]),
    )

    __mapper_args__ = OWNED_IDENTITY

    id: Mapped[uuid.UUID] = mapped_column(Uuid, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"))
    # The Message-ID header (a digest of the headers for a message without one).
    message_id: Mapped[str] = mapped_column(String(255))
    folder: Mapped[str] = mapped_column(String(16))  # inbox or sent
    kind: Mapped[str] = mapped_column(String(16))
    # Threading: what it answers, so a reply to it is known as one.
    in_reply_to: Mapped[str | None] = mapped_column(String(255))
    references: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # its Date header
    contact_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    outreach_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    followup_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    # What was done, in a sentence (the sync's log; the status page).
    detail: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MessageTemplate(Base):
    """A user's own template for one kind of drafted message (followups.mailbox.templates);
    a kind without a row uses the shipped default."""

    __tablename__ = "message_template"
    __table_args__ = (
        PrimaryKeyConstraint("user_id", "id"),  # leads with the owner (see OWNED_IDENTITY)
        Index("ix_message_template_id", "id"),  # lookups by id alone (see OWNED_IDENTITY)
        UniqueConstraint("user_id", "name"),
    )

    __mapper_args__ = OWNED_IDENTITY

    id: Mapped[uuid.UUID] = mapped_column(Uuid, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"))
    name: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MailSendState(StrEnum):
    # Recorded, with its Message-ID, before the SMTP call; `lease_until` bounds the call.
    SENDING = "sending"
    # The server refused it, or could not be reached: not sent; a new try may send it.
    FAILED = "failed"
    # The server accepted it.
    SENT = "sent"
    # The call's outcome is unknown (cut off mid-message, or a crash): taken as sent, never resent.
    UNCONFIRMED = "unconfirmed"


class MailSend(Base):
    """A follow-up sent from the user's mailbox ("Send now"), recorded before it goes out:
    one row per follow-up and attempt is the idempotency key, so a double click, a retried
    request or a crash between the send and the mark never sends twice
    (followups.mailbox.send)."""

    __tablename__ = "mail_send"
    __table_args__ = (
        PrimaryKeyConstraint("user_id", "id"),  # leads with the owner (see OWNED_IDENTITY)
        Index("ix_mail_send_id", "id"),  # lookups by id alone (see OWNED_IDENTITY)
        UniqueConstraint("user_id", "followup_id", "attempt_no"),
        UniqueConstraint("user_id", "message_id"),
        # The thread of a chain: the earlier sends a new attempt replies to.
        Index(None, "user_id", "chain_id"),
        ForeignKeyConstraint(["user_id", "followup_id"], ["follow_up.user_id", "follow_up.id"]),
    )

    __mapper_args__ = OWNED_IDENTITY

    id: Mapped[uuid.UUID] = mapped_column(Uuid, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"))
    followup_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    chain_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    attempt_no: Mapped[int] = mapped_column(Integer)
    # With its angle brackets, as in the header.
    message_id: Mapped[str] = mapped_column(String(250))
    to_address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(1000))
    # The message as sent (RFC 5322 text): the copy appended to the sent folder is the same.
    raw: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))
    lease_until: Mapped[datetime] = mapped_column(UTCDateTime)
    tries: Mapped[int] = mapped_column(Integer, default=1)
    last_error: Mapped[str | None] = mapped_column(String(500))
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the follow-up was marked sent for it.
    marked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When its copy was stored in the sent folder (IMAP APPEND).
    appended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
