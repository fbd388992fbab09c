"""Bearer tokens: what a request presents, and the sign-ins of the hottest requests (the
follow-up list and mark-sent), which the edge does (followups.api.deps) before it calls a
service with the signed-in user.

A token is `<user id>.<secret>`: the sign-in reads one user's rows (app_user by id,
api_token by (user_id, token_hash)), which a database sharded by user (Citus) sends to one
shard. Tokens made before (a bare secret, which never has a dot) are found by their hash
alone until they expire; anything else with a dot is refused without a query.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass, fields
from datetime import datetime

from sqlalchemy import Select, Update, bindparam, select, update
from sqlalchemy.orm import Session

from followups import replica
from followups.errors import Unauthorized
from followups.models import ApiToken, SignedIn, User

NO_USER = "The bearer token is missing, expired or revoked."


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(user_id: uuid.UUID) -> str:
    """A fresh bearer token of the user: their id, a dot, the secret."""
    return f"{user_id}.{secrets.token_urlsafe(32)}"


def token_owner(token: str) -> uuid.UUID | None:
    """The user id a token carries; None for an old token (no dot). Raises Unauthorized
    for a token that has a dot but no user id before it: no token we made looks so."""
    head, dot, _secret = token.partition(".")
    if not dot:
        return None
    try:
        return uuid.UUID(head)
    except ValueError:
        raise Unauthorized(NO_USER) from None


@dataclass(frozen=True, slots=True)
class Presented:
    """A bearer token as a request presents it, at the request's time: not yet checked."""

    token: str
    at: datetime

    @property
    def owner(self) -> uuid.UUID | None:
        """The user id the token carries (`token_owner`)."""
        return token_owner(self.token)

    def params(self) -> dict:
        """The bind parameters of `TOKEN_OF`, or of `LEGACY_TOKEN_OF` for an old token
        (then without "token_owner")."""
        params = {"hash_of_token": token_hash(self.token), "signed_in_at": self.at}
        owner = self.owner
        if owner is not None:
            params["token_owner"] = owner
        return params


# The user of a live token (the parameters are not named like app_user's columns: Core
# would add them to the SET clause of the bump below). An old token's: by hash alone.
LEGACY_TOKEN_OF = (
    ApiToken.user_id == User.id,
    ApiToken.token_hash == bindparam("hash_of_token"),
    ApiToken.revoked_at.is_(None),
    ApiToken.expires_at > bindparam("signed_in_at"),
)
# A token that carries its user id: both tables read at that user only.
TOKEN_OF = (
    User.id == bindparam("token_owner"),
    ApiToken.user_id == bindparam("token_owner"),
    *LEGACY_TOKEN_OF,
)


# SignedIn's columns, in its field order.
_SIGNED_IN_COLUMNS = [User.__table__.c[f.name] for f in fields(SignedIn)]


def _reader(where: tuple):
    return select(*_SIGNED_IN_COLUMNS).where(*where)


def _writer(where: tuple):
    # A write's, on PostgreSQL: with the bump of the user's row (followups.replica) in the
    # same statement, a round trip fewer on the hottest write.
    return update(User.__table__).where(*where).values(write_seq=User.write_seq + 1).returning(*_SIGNED_IN_COLUMNS)


# Built once, for each kind of token: (a token's own, an old token's).
_SIGNED_IN_USER = {True: _reader(TOKEN_OF), False: _reader(LEGACY_TOKEN_OF)}
_SIGNED_IN_WRITER = {True: _writer(TOKEN_OF), False: _writer(LEGACY_TOKEN_OF)}


def sign_in_reader(session: Session, presented: Presented) -> SignedIn:
    """The token's user for a request that only reads (the follow-up list): a plain
    SignedIn, not a mapped User, one row of the columns the services read."""
    return _signed_in(session, presented, bumped=False)


def sign_in_writer(session: Session, presented: Presented) -> SignedIn:
    """The token's user for a request known to write that does not change the user
    (mark-sent; a refused one rolls back), as a SignedIn: on PostgreSQL the bump of the
    user's row comes with the sign-in."""
    bumps = replica.on_postgresql(session)
    return _signed_in(session, presented, bumped=bumps)


def sign_in_query(presented: Presented, *, bumps: bool = False) -> tuple[Select | Update, dict]:
    """The statement that reads the token's user as a SignedIn row (`bumps`: and bumps the
    user's write_seq, followups.replica), and its parameters: what the sign-ins below run in
    a thread and followups.api.hot on the event loop."""
    params = presented.params()
    return (_SIGNED_IN_WRITER if bumps else _SIGNED_IN_USER)["token_owner" in params], params


def _signed_in(session: Session, presented: Presented, *, bumped: bool) -> SignedIn:
    row = session.connection().execute(*sign_in_query(presented, bumps=bumped)).one_or_none()
    if row is None:
        raise Unauthorized(NO_USER)
    user = SignedIn(*row)  # the session then acts for them
    replica.acting_for(session, user, bumped=bumped)
    return user
