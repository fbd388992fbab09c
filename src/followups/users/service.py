"""Accounts, passwords and bearer tokens."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from followups import clock, outbound, replica
from followups.cadence import DEFAULT, Cadence
from followups.chains.service import rezone_open
from followups.errors import Conflict, Forbidden, Invalid, Unauthorized
from followups.models import ApiToken, CalendarAddress, EmailAddress, User
from followups.owned import cross_user
from followups.users import tokens
from followups.users.tokens import NO_USER, Presented, new_token, token_hash, token_owner

DEFAULT_DIGEST_HOUR = 8
_hasher = PasswordHasher()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Verified against when the email is unknown, so both failures cost the same time."""
    return _hasher.hash("not a real password")


def email_key(email: str) -> str:
    return email.strip().lower()


def _check_timezone(name: str) -> str:
    if not clock.is_valid_timezone(name):
        raise Invalid.field("timezone", f"{name!r} is not a known IANA time zone name")
    return name


REGISTRATION_CLOSED = (
    "Registration is closed on this server: its administrator adds accounts"
    " (followups user add EMAIL)."
)
# Any constant: the transaction lock that makes "the first user" one user on PostgreSQL.
_FIRST_USER_LOCK = 0x666F6C6C


def registration_open(session: Session, mode: str) -> bool:
    """Whether a stranger may create an account now (mode: Settings.registration_mode)."""
    if mode == "open":
        return True
    if mode == "closed":
        return False
    return not any_user(session)


def sign_up(
    session: Session, *, email: str, password: str, timezone: str, now: datetime, registration: str
) -> User:
    """Registration by a stranger (the API, the pages): refused alike for every email while
    registration is closed, so the answer never tells whether an address has an account."""
    if registration == "first-user-only" and session.get_bind().dialect.name == "postgresql":
        # Two first registrations at once: the second waits here, then finds the first.
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _FIRST_USER_LOCK})
    if not registration_open(session, registration):
        raise Forbidden(REGISTRATION_CLOSED)
    return register(session, email=email, password=password, timezone=timezone, now=now)


def register(session: Session, *, email: str, password: str, timezone: str, now: datetime) -> User:
    """An account, whoever asks (sign_up checks the server's registration setting first)."""
    _check_timezone(timezone)
    key = email_key(email)
    user_id = uuid.uuid4()
    password_hash = _hasher.hash(password)  # before the directory row: its lock is held short
    # The directory row first: a concurrent registration of the same address waits on it
    # (PostgreSQL) or after it (SQLite's one writer), then fails its primary key.
    try:
        with session.begin_nested():
            session.add(EmailAddress(email_key=key, user_id=user_id))
    except IntegrityError:
        raise Conflict("An account with this email already exists.") from None
    user = User(
        id=user_id,
        email=email.strip(),
        email_key=key,
        password_hash=password_hash,
        timezone=timezone,
        followup_delays_days=list(DEFAULT.followup_delays_days),
        dormant_after_days=DEFAULT.dormant_after_days,
        skip_weekends=DEFAULT.skip_weekends,
        digest_hour=DEFAULT_DIGEST_HOUR,
        digest_email=True,
        next_digest_at=clock.next_local_time(now, DEFAULT_DIGEST_HOUR, clock.zone(timezone)),
        created_at=now,
    )
    session.add(user)
    session.flush()
    return user


def login(session: Session, *, email: str, password: str, now: datetime, ttl_days: int) -> str:
    user = find_user(session, email)
    try:
        _hasher.verify(user.password_hash if user else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        raise Unauthorized("Email or password is wrong.") from None
    if user is None:
        raise Unauthorized("Email or password is wrong.")
    token = new_token(user.id)
    session.add(
        ApiToken(
            user_id=user.id,
            token_hash=token_hash(token),
            created_at=now,
            expires_at=now + timedelta(days=ttl_days),
        )
    )
    return token


# Built once: building the statement cost every request about 0.1 ms (bench/RESULTS.md).
# Keyed by whether the token carries its user id (tokens.token_of).
_TOKEN_USER = {True: select(User).where(*tokens.TOKEN_OF), False: select(User).where(*tokens.LEGACY_TOKEN_OF)}


def authenticate(session: Session, presented: Presented) -> User:
    """The token's user, for a request that reads (or changes the user itself)."""
    params = presented.params()
    user = session.scalar(_TOKEN_USER["token_owner" in params], params)
    if user is None:
        raise Unauthorized(NO_USER)
    replica.acting_for(session, user)  # a write then records that the user wrote
    return user


def logout(session: Session, token: str, now: datetime) -> None:
    owner = token_owner(token)
    mine = [] if owner is None else [ApiToken.user_id == owner]  # an old token: by its hash
    session.execute(
        update(ApiToken)
        .where(*mine, ApiToken.token_hash == token_hash(token), ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def logout_all(session: Session, user: User, now: datetime) -> None:
    session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def update_me(
    session: Session,
    user: User,
    *,
    now: datetime,
    timezone: str | None = None,
    cadence: Cadence | None = None,
    digest_hour: int | None = None,
    digest_email: bool | None = None,
) -> User:
    if digest_email is not None:
        user.digest_email = digest_email
    if timezone is not None and timezone != user.timezone:
        user.timezone = _check_timezone(timezone)
        rezone_open(session, user)
    if digest_hour is not None:
        user.digest_hour = digest_hour
    if timezone is not None or digest_hour is not None:
        user.next_digest_at = clock.next_local_time(now, user.digest_hour, user.zone)
    if cadence is not None:
        user.followup_delays_days = list(cadence.followup_delays_days)
        user.dormant_after_days = cadence.dormant_after_days
        user.skip_weekends = cadence.skip_weekends
    session.flush()
    return user


@dataclass(frozen=True)
class WebhookCheck:
    """A webhook URL and secret as `check_webhook` found them: `refusal` says why the URL
    may not be saved, None when it may. `set_webhook` takes only this, so every edge saves
    what `check_webhook` checked."""

    url: str
    secret: str
    refusal: str | None


def check_webhook(url: str, secret: str, policy: outbound.Policy) -> WebhookCheck:
    """Resolve the URL's host and check its addresses (followups.outbound). Blocking (DNS,
    up to the policy's deadline): call it in a thread, with no transaction open; on SQLite a
    write transaction holds the database's one write lock, and every other writer would
    wait for the resolver. A name that does not resolve (yet) passes: each delivery checks
    again. A refusal is kept for `set_webhook` to raise, where the save would happen, so a
    request's answers come in the same order as when the check ran there."""
    try:
        outbound.check_url(url, policy)
    except outbound.Refused as exc:
        return WebhookCheck(url, secret, str(exc))
    except outbound.Unresolved:
        pass
    return WebhookCheck(url, secret, None)


def set_webhook(session: Session, user: User, checked: WebhookCheck) -> None:
    """Save a webhook `check_webhook` passed; a refused one is Invalid, naming webhook.url."""
    if checked.refusal is not None:
        raise Invalid.field("webhook.url", checked.refusal)
    user.webhook_url = checked.url
    user.webhook_secret = checked.secret
    session.flush()


def remove_webhook(session: Session, user: User) -> None:
    user.webhook_url = None
    user.webhook_secret = None
    session.flush()


def rotate_calendar_token(session: Session, user: User) -> str:
    """A new calendar address; the old one stops answering."""
    token = secrets.token_urlsafe(32)
    _drop_calendar_address(session, user)
    session.add(CalendarAddress(token=token, user_id=user.id))
    user.calendar_token = token
    session.flush()
    return token


def revoke_calendar_token(session: Session, user: User) -> None:
    _drop_calendar_address(session, user)
    user.calendar_token = None
    session.flush()


def _drop_calendar_address(session: Session, user: User) -> None:
    if user.calendar_token is not None:
        session.execute(delete(CalendarAddress).where(CalendarAddress.token == user.calendar_token))


def user_by_calendar_token(session: Session, token: str) -> User | None:
    """The directory gives the user; their row must still name this token (a directory row
    a raced rotation left behind answers nothing)."""
    if not token:
        return None
    user_id = session.scalar(select(CalendarAddress.user_id).where(CalendarAddress.token == token))
    if user_id is None:
        return None
    return session.scalar(select(User).where(User.id == user_id, User.calendar_token == token))


def find_user(session: Session, email: str) -> User | None:
    """The account of an email, found through the directory (EmailAddress)."""
    user_id = session.scalar(select(EmailAddress.user_id).where(EmailAddress.email_key == email_key(email)))
    return None if user_id is None else session.scalar(select(User).where(User.id == user_id))


def list_users(session: Session, *, limit: int | None = None) -> Sequence[User]:
    """The users of this database, oldest first."""
    return session.scalars(cross_user(select(User).order_by(User.created_at, User.id).limit(limit))).all()


def any_user(session: Session) -> bool:
    return session.scalar(cross_user(select(User.id).limit(1))) is not None
