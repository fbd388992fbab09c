"""Request dependencies of the pages: the same transaction and clock as the API."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request

from followups.api.deps import Now, SessionDep
from followups.errors import Unauthorized
from followups.users import service as users
from followups.users.tokens import Presented
from followups.web.render import Ctx
from followups.web.routing import LoginRequired
from followups.web.security import SESSION_COOKIE, Form, csrf_token, ensure_secret


def _user(request: Request, session, now):
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        return users.authenticate(session, Presented(token, now))
    except Unauthorized:
        return None


def page_user(request: Request, session, now):
    """The session cookie's user, or None: for a page that opens its own transactions."""
    return _user(request, session, now)


def signed_in(request: Request, session: SessionDep, now: Now) -> Ctx:
    request.state.db_session = session  # for routing.WebRoute: a failed page rolls back
    user = _user(request, session, now)
    if user is None:
        raise LoginRequired
    return Ctx(request, session, now, user, csrf_token(request.cookies[SESSION_COOKIE]))


def anonymous(request: Request, session: SessionDep, now: Now) -> Ctx:
    """Sign-in and registration: the user if the session is valid, else nobody."""
    request.state.db_session = session  # for routing.WebRoute: a failed page rolls back
    secret, fresh = ensure_secret(request)
    return Ctx(request, session, now, _user(request, session, now), csrf_token(secret), fresh)


def signing_in(request: Request, now: Now) -> Iterator[Ctx]:
    """The sign-in form: nobody signed in, and no write transaction of the request's own.
    The sign-in opens its own transactions (api.limits): the failure it counts is committed
    whatever the answer, and on SQLite no transaction of this request holds the write lock
    meanwhile. The read session is there for the form's page; it reads nothing."""
    secret, fresh = ensure_secret(request)
    with request.app.state.db.transaction(write=False) as session:
        yield Ctx(request, session, now, None, csrf_token(secret), fresh)


def posted_form(request: Request) -> Form:
    """The POST body, already parsed and CSRF-checked by routing.WebRoute."""
    return request.state.form


Page = Annotated[Ctx, Depends(signed_in)]
AnonPage = Annotated[Ctx, Depends(anonymous)]
SigningIn = Annotated[Ctx, Depends(signing_in)]
Posted = Annotated[Form, Depends(posted_form)]
