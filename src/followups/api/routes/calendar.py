"""The secret-URL calendar feed. No bearer token: the token in the path is the secret."""

from __future__ import annotations

import re

from fastapi import APIRouter, Response

from followups.api.deps import SessionDep
from followups.calendar.feed import build_feed
from followups.errors import NotFound
from followups.users import service as users

router = APIRouter(tags=["calendar"])

CACHE_CONTROL = "private, max-age=300"
# What users.rotate_calendar_token makes (secrets.token_urlsafe). Anything else is not an
# address we gave out, and never reaches the database (PostgreSQL refuses NUL in text).
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,64}")


@router.get(
    "/calendar/{token}.ics",
    response_class=Response,
    responses={
        200: {"content": {"text/calendar": {}}, "description": "The follow-ups as iCalendar."},
        404: {"description": "Unknown or revoked calendar address."},
    },
)
def calendar_feed(token: str, session: SessionDep) -> Response:
    """The open follow-ups of the address's owner, for a calendar app to subscribe to.

    Made by `POST /me/calendar` (which also replaces it), revoked by `DELETE /me/calendar`.
    """
    user = users.user_by_calendar_token(session, token) if TOKEN_SHAPE.fullmatch(token) else None
    if user is None:
        raise NotFound("There is no calendar at this address.")
    return Response(
        content=build_feed(session, user),
        media_type="text/calendar; charset=utf-8",
        headers={
            "Cache-Control": CACHE_CONTROL,
            "Content-Disposition": 'inline; filename="followups.ics"',
        },
    )
