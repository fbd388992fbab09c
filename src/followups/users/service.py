"""Accounts, passwords and bearer tokens."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import fields
from datetime import datetime, timedelta
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from followups import clock, replica
from followups.cadence import DEFAULT, Cadence
from followups.errors import Conflict, Invalid, Unauthorized
from followups.followups.service import rezone_open
from followups.models import ApiToken, SignedIn, User

DEFAULT_DIGEST_HOUR = 8
_hasher = PasswordHasher()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Verified against when the email is unknown, so both failures cost the same time."""
    return _hasher.hash("not a real password")


def email_key(email: str) -> str:
    return email.strip().lower()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _check_timezone(name: str) -> str:
    if not clock.is_valid_timezone(name):
        raise Invalid.field("timezone", f"{name!r} is not a known IANA time zone name")
    return name


def register(session: Session, *, email: str, password: str, timezone: str, now: datetime) -> User:
    _check_timezone(timezone)
    key = email_key(email)
    if session.scalar(select(User.id).where(User.email_key == key)) is not None:
        raise Conflict("An account with this email already exists.")
    user = User(
        email=email.strip(),
        email_key=key,
        password_hash=_hasher.hash(password),
        timezone=timezone,
        followup_delays_days=list(DEFAULT.followup_delays_days),
        dormant_after_days=DEFAULT.dormant_after_days,
        skip_weekends=DEFAULT.skip_weekends,
        digest_hour=DEFAULT_DIGEST_HOUR,
        digest_email=True,
        next_digest_at=clock.next_local_time(now, DEFAULT_DIGEST_HOUR, clock.zone(timezone)),
        created_at=now,
    )
    try:
        with session.begin_nested():  # a concurrent registration of the same email
            session.add(user)
    except IntegrityError:
        raise Conflict("An account with this email already exists.") from None
    return user


def login(session: Session, *, email: str, password: str, now: datetime, ttl_days: int) -> str:
    user = session.scalar(select(User).where(User.email_key == email_key(email)))
    try:
        _hasher.verify(user.password_hash if user else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        raise Unauthorized("Email or password is wrong.") from None
    if user is None:
        raise Unauthorized("Email or password is wrong.")
    token = secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            user_id=user.id,
            token_hash=token_hash(token),
            created_at=now,
            expires_at=now + timedelta(days=ttl_days),
        )
    )
    return token


NO_USER = "The bearer token is missing, expired or revoked."
# The user of a live token (the parameters are not named like app_user's columns: Core
# would add them to the SET clause of the bump below).
_TOKEN_OF = (
    ApiToken.user_id == User.id,
    ApiToken.token_hash == bindparam("hash_of_token"),
    ApiToken.revoked_at.is_(None),
    ApiToken.expires_at > bindparam("signed_in_at"),
)
# Built once: building the statement cost every request about 0.1 ms (bench/RESULTS.md).
_TOKEN_USER = select(User).where(*_TOKEN_OF)
# SignedIn's columns, in its field order.
_SIGNED_IN = [User.__table__.c[f.name] for f in fields(SignedIn)]
_SIGNED_IN_USER = select(*_SIGNED_IN).where(*_TOKEN_OF)
# A write's, on PostgreSQL: with the bump of the user's row (followups.replica) in the same
# statement, a round trip fewer on the hottest write.
_SIGNED_IN_WRITER = (
    update(User.__table__).where(*_TOKEN_OF).values(write_seq=User.write_seq + 1).returning(*_SIGNED_IN)
)


def authenticate(session: Session, token: str, now: datetime) -> User:
    """The token's user, for a request that reads (or changes the user itself)."""
    user = session.scalar(_TOKEN_USER, {"hash_of_token": token_hash(token), "signed_in_at": now})
    if user is None:
        raise Unauthorized(NO_USER)
    replica.acting_for(session, user)  # a write then records that the user wrote
    return user


def sign_in_reader(session: Session, token: str, now: datetime) -> SignedIn:
    """The token's user for a request that only reads (the follow-up list): a plain
    SignedIn, not a mapped User, one row of the columns the services read."""
    return _signed_in(session, _SIGNED_IN_USER, token, now, bumped=False)


def sign_in_writer(session: Session, token: str, now: datetime) -> SignedIn:
    """The token's user for a request known to write that does not change the user
    (mark-sent; a refused one rolls back), as a SignedIn: on PostgreSQL the bump of the
    user's row comes with the sign-in."""
    bumps = replica.on_postgresql(session)
    return _signed_in(session, _SIGNED_IN_WRITER if bumps else _SIGNED_IN_USER, token, now, bumped=bumps)


def _signed_in(session: Session, statement, token: str, now: datetime, *, bumped: bool) -> SignedIn:
    row = session.connection().execute(
        statement, {"hash_of_token": token_hash(token), "signed_in_at": now}
    ).one_or_none()
    if row is None:
        raise Unauthorized(NO_USER)
    user = SignedIn(*row)
    replica.acting_for(session, user, bumped=bumped)
    return user


def logout(session: Session, token: str, now: datetime) -> None:
    session.execute(
        update(ApiToken)
        .where(ApiToken.token_hash == token_hash(token), ApiToken.revoked_at.is_(None))
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


def set_webhook(session: Session, user: User, *, url: str | None, secret: str | None) -> None:
    user.webhook_url = url
    user.webhook_secret = secret
    session.flush()


def rotate_calendar_token(session: Session, user: User) -> str:
    user.calendar_token = secrets.token_urlsafe(32)
    session.flush()
    return user.calendar_token


def revoke_calendar_token(session: Session, user: User) -> None:
    user.calendar_token = None
    session.flush()


def user_by_calendar_token(session: Session, token: str) -> User | None:
    return session.scalar(select(User).where(User.calendar_token == token)) if token else None
