"""Request-scoped dependencies: the transaction, the clock and the signed-in user."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from followups import observability
from followups.errors import Unauthorized
from followups.models import User
from followups.users import service as users

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request, committed before the response is sent (scope="function"),
    so a failed commit is an error answer and never hides behind a 2xx."""
    db = request.app.state.db
    with db.transaction(write=request.method not in READ_METHODS) as session:
        yield session


def get_now(request: Request) -> datetime:
    clock = getattr(request.app.state, "clock", None)
    return clock() if clock else datetime.now(UTC)


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
Now = Annotated[datetime, Depends(get_now)]
_bearer = HTTPBearer(auto_error=False)


def bearer_token(creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> str:
    if creds is None or not creds.credentials:
        raise Unauthorized("A bearer token is required (Authorization: Bearer <accessToken>).")
    return creds.credentials


def current_user(session: SessionDep, token: Annotated[str, Depends(bearer_token)], now: Now) -> User:
    user = users.authenticate(session, token, now)
    observability.set_user(str(user.id))  # for the log lines of this request
    return user


CurrentUser = Annotated[User, Depends(current_user)]
