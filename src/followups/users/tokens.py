"""Bearer tokens: what a request presents, and the sign-ins of the hottest requests (the
follow-up list and mark-sent), which the edge does (followups.api.deps) before it calls a
service with the signed-in user.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, fields
from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from followups import replica
from followups.errors import Unauthorized
from followups.models import ApiToken, SignedIn, User

NO_USER = "The bearer token is missing, expired or revoked."


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Presented:
    """A bearer token as a request presents it, at the request's time: not yet checked."""

    token: str
    at: datetime

    def params(self) -> dict:
        """The bind parameters of `TOKEN_OF`."""
        return {"hash_of_token": token_hash(self.token), "signed_in_at": self.at}


# The user of a live token (the parameters are not named like app_user's columns: Core
# would add them to the SET clause of the bump below).
TOKEN_OF = (
    ApiToken.user_id == User.id,
    ApiToken.token_hash == bindparam("hash_of_token"),
    ApiToken.revoked_at.is_(None),
    ApiToken.expires_at > bindparam("signed_in_at"),
)
# SignedIn's columns, in its field order.
_SIGNED_IN_COLUMNS = [User.__table__.c[f.name] for f in fields(SignedIn)]
_SIGNED_IN_USER = select(*_SIGNED_IN_COLUMNS).where(*TOKEN_OF)
# A write's, on PostgreSQL: with the bump of the user's row (followups.replica) in the same
# statement, a round trip fewer on the hottest write.
_SIGNED_IN_WRITER = (
    update(User.__table__).where(*TOKEN_OF).values(write_seq=User.write_seq + 1).returning(*_SIGNED_IN_COLUMNS)
)


def sign_in_reader(session: Session, presented: Presented) -> SignedIn:
    """The token's user for a request that only reads (the follow-up list): a plain
    SignedIn, not a mapped User, one row of the columns the services read."""
    return _signed_in(session, _SIGNED_IN_USER, presented, bumped=False)


def sign_in_writer(session: Session, presented: Presented) -> SignedIn:
    """The token's user for a request known to write that does not change the user
    (mark-sent; a refused one rolls back), as a SignedIn: on PostgreSQL the bump of the
    user's row comes with the sign-in."""
    bumps = replica.on_postgresql(session)
    return _signed_in(session, _SIGNED_IN_WRITER if bumps else _SIGNED_IN_USER, presented, bumped=bumps)


def _signed_in(session: Session, statement, presented: Presented, *, bumped: bool) -> SignedIn:
    row = session.connection().execute(statement, presented.params()).one_or_none()
    if row is None:
        raise Unauthorized(NO_USER)
    user = SignedIn(*row)  # the session then acts for them
    replica.acting_for(session, user, bumped=bumped)
    return user
