from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from followups import outbound
from followups.api.deps import CurrentUser, Now, SessionDep, SignedInFirst, bearer_token
from followups.api.limits import client_address
from followups.api.schemas import (
    CadenceIO,
    HolidaysImported,
    LoginIn,
    MeOut,
    MeUpdate,
    RegisterIn,
    RulesOut,
    TokenOut,
    UserOut,
    WebhookOut,
    error_responses,
)
from followups.cadence import Cadence
from followups.models import User
from followups.users import preferences
from followups.users import service as users
from followups.users.tokens import Presented


async def raw_body(request: Request) -> bytes:
    return await request.body()


router = APIRouter(tags=["auth"], responses=error_responses(401, 409, 413, 422, 429, 503))


def me_out(user: User) -> MeOut:
    cadence = user.cadence
    return MeOut(
        id=user.id,
        email=user.email,
        timezone=user.timezone,
        cadence=CadenceIO(
            followup_delays_days=list(cadence.followup_delays_days),
            dormant_after_days=cadence.dormant_after_days,
            skip_weekends=cadence.skip_weekends,
            adaptive=user.cadence_adaptive,
        ),
        digest_hour=user.digest_hour,
        digest_email=user.digest_email,
        webhook=WebhookOut(url=user.webhook_url) if user.webhook_url else None,
        calendar_path=f"/calendar/{user.calendar_token}.ics" if user.calendar_token else None,
        rules=RulesOut.model_validate(user.rule_set),
    )


@router.post("/auth/register", status_code=201, response_model=UserOut, responses=error_responses(403))
def register(body: RegisterIn, request: Request, session: SessionDep, now: Now) -> User:
    return users.sign_up(
        session, email=body.email, password=body.password, timezone=body.timezone, now=now,
        registration=request.app.state.settings.registration_mode,
    )


@router.post("/auth/login", response_model=TokenOut)
def login(body: LoginIn, request: Request, now: Now) -> TokenOut:
    # No request transaction: the sign-in opens its own, one after the other (api.limits).
    token = request.app.state.login_limiter.sign_in(
        request.app.state.db, email=body.email, password=body.password, address=client_address(request),
        now=now, ttl_days=request.app.state.settings.token_ttl_days,
    )
    return TokenOut(access_token=token)


@router.post("/auth/logout", status_code=204)
def logout(session: SessionDep, token: Annotated[str, Depends(bearer_token)], now: Now) -> Response:
    users.logout(session, token, now)
    return Response(status_code=204)


@router.post("/auth/logout-all", status_code=204)
def logout_everywhere(user: CurrentUser, session: SessionDep, now: Now) -> Response:
    """Revoke every token of the user, this one included."""
    users.logout_all(session, user, now)
    return Response(status_code=204)


@router.get("/me", response_model=MeOut)
def get_me(user: CurrentUser) -> MeOut:
    return me_out(user)


@router.patch("/me", response_model=MeOut)
def patch_me(
    body: MeUpdate, request: Request, signed: SignedInFirst, token: Annotated[str, Depends(bearer_token)], now: Now,
) -> MeOut:
    # A webhook's host is resolved (DNS, up to the policy's deadline) after the sign-in and
    # before the write transaction: on SQLite that transaction holds the database's one
    # write lock, which every other writer would wait for meanwhile. A sync endpoint: the
    # lookup and the transaction run in a worker thread, never on the event loop.
    changes = body.changes()
    hook = body.webhook if "webhook" in changes else None
    checked = None if hook is None else users.check_webhook(
        hook.url, hook.secret, outbound.policy(request.app.state.settings))
    with request.app.state.db.transaction() as session:
        user = users.authenticate(session, Presented(token, now))
        cadence = None
        if "cadence" in changes:
            c = body.cadence
            cadence = Cadence(tuple(c.followup_delays_days), c.dormant_after_days, c.skip_weekends)
            preferences.set_adaptive(session, user, c.adaptive)
        if "rules" in changes:
            preferences.set_rules(session, user, body.rules.changes())
        users.update_me(
            session,
            user,
            now=now,
            timezone=changes.get("timezone"),
            cadence=cadence,
            digest_hour=changes.get("digest_hour"),
            digest_email=changes.get("digest_email"),
        )
        if checked is not None:
            users.set_webhook(session, user, checked)
        elif "webhook" in changes:
            users.remove_webhook(session, user)
        return me_out(user)


@router.post(
    "/me/holidays",
    response_model=HolidaysImported,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"text/calendar": {"schema": {"type": "string"}}},
        }
    },
)
def import_holidays(
    body: Annotated[bytes, Depends(raw_body)], user: CurrentUser, session: SessionDep, now: Now
) -> HolidaysImported:
    """Add the days of an iCalendar (.ics) file's events to the holidays (quiet days the
    cadence skips like weekends). The body is the file itself (`text/calendar`)."""
    added, ignored = preferences.import_holidays(session, user, body, now=now)
    return HolidaysImported(added=added, ignored=ignored, holidays=list(user.rule_set.holidays))


@router.post("/me/calendar", response_model=MeOut)
def new_calendar_link(user: CurrentUser, session: SessionDep) -> MeOut:
    """Make (or replace) the secret calendar feed address; the old one stops working."""
    users.rotate_calendar_token(session, user)
    return me_out(user)


@router.delete("/me/calendar", status_code=204)
def revoke_calendar_link(user: CurrentUser, session: SessionDep) -> Response:
    users.revoke_calendar_token(session, user)
    return Response(status_code=204)
