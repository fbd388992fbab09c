"""Settings: time zone and digest, cadence, webhook, and the calendar-feed link."""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from pydantic import ValidationError

from followups.api.schemas import WebhookIn
from followups.cadence import Cadence
from followups.errors import Invalid
from followups.users import service as users
from followups.web import forms
from followups.web.deps import Page, Posted
from followups.web.pages.auth import zone_names
from followups.web.render import Ctx, render
from followups.web.routing import Rendered, WebRoute, redirect

router = APIRouter(route_class=WebRoute)
SAVED = {
    "profile": "Time zone and digest saved.",
    "cadence": "Cadence saved; it applies to follow-ups scheduled from now on.",
    "webhook": "Webhook saved.",
    "webhook-removed": "Webhook removed.",
    "calendar": "A new calendar link is ready; any old one stopped working.",
    "calendar-revoked": "Calendar link revoked.",
}


def _checked(form, name: str) -> bool:
    return form.get(name) in ("1", "on", "true", "yes")


def _page(
    ctx: Ctx,
    status: int = 200,
    errors: dict | None = None,
    values: dict | None = None,
    saved: str = "",
):
    user = ctx.user
    calendar_url = None
    if user.calendar_token:
        base = str(ctx.request.base_url).rstrip("/")
        calendar_url = f"{base}/calendar/{user.calendar_token}.ics"
    current = {
        "timezone": user.timezone,
        "digest_hour": str(user.digest_hour),
        "digest_email": user.digest_email,
        "delays": ", ".join(str(d) for d in user.followup_delays_days),
        "dormant_after_days": str(user.dormant_after_days),
        "skip_weekends": user.skip_weekends,
        "webhook_url": user.webhook_url or "",
    }
    current.update(values or {})
    return render(
        ctx,
        "settings.html",
        status,
        title="Settings",
        zones=zone_names(),
        values=current,
        errors=errors or {},
        calendar_url=calendar_url,
        saved=SAVED.get(saved),
        has_webhook=bool(user.webhook_url),
    )


@router.get("/app/settings")
def settings_page(ctx: Page, saved: str = ""):
    return _page(ctx, saved=saved)


def _done(request: Request, what: str):
    return redirect(request, f"/app/settings?saved={what}")


@router.post("/app/settings/profile")
def save_profile(request: Request, ctx: Page, form: Posted):
    data = {
        "timezone": form.get("timezone"),
        "digest_hour": form.get("digest_hour"),
        "digest_email": _checked(form, "digest_email"),
    }
    parsed, errors = forms.parse(forms.ProfileForm, data)
    if parsed is not None:
        try:
            users.update_me(
                ctx.session,
                ctx.user,
                now=ctx.now,
                timezone=parsed.timezone,
                digest_hour=parsed.digest_hour,
                digest_email=parsed.digest_email,
            )
            return _done(request, "profile")
        except Invalid as exc:
            errors = {f.field: f.message[:1].upper() + f.message[1:] + "." for f in exc.fields}
    raise Rendered(_page(ctx, 422, {"profile": errors}, data))


def _delays(text: str) -> list[str]:
    return [part for part in re.split(r"[\s,;]+", text.strip()) if part]


@router.post("/app/settings/cadence")
def save_cadence(request: Request, ctx: Page, form: Posted):
    data = {
        "delays": _delays(form.get("delays")),
        "dormant_after_days": form.get("dormant_after_days"),
        "skip_weekends": _checked(form, "skip_weekends"),
    }
    parsed, errors = forms.parse(forms.CadenceForm, data)
    if parsed is None:
        if "delays" in errors and errors["delays"] in ("Enter a whole number.",):
            errors["delays"] = "Give whole numbers of days, separated by commas (e.g. 3, 5)."
        shown = {**data, "delays": form.get("delays")}
        raise Rendered(_page(ctx, 422, {"cadence": errors}, shown))
    users.update_me(
        ctx.session,
        ctx.user,
        now=ctx.now,
        cadence=Cadence(tuple(parsed.delays), parsed.dormant_after_days, parsed.skip_weekends),
    )
    return _done(request, "cadence")


@router.post("/app/settings/webhook")
def save_webhook(request: Request, ctx: Page, form: Posted):
    if form.get("action") == "remove":
        users.set_webhook(ctx.session, ctx.user, url=None, secret=None)
        return _done(request, "webhook-removed")
    try:
        hook = WebhookIn.model_validate(
            {"url": form.get("webhook_url"), "secret": form.get("webhook_secret")}
        )
    except ValidationError as exc:
        errors = {
            ("webhook_url" if k == "url" else "webhook_secret"): v
            for k, v in forms.errors_of(exc).items()
        }
        raise Rendered(
            _page(ctx, 422, {"webhook": errors}, {"webhook_url": form.get("webhook_url")})
        ) from None
    users.set_webhook(ctx.session, ctx.user, url=hook.url, secret=hook.secret)
    return _done(request, "webhook")


@router.post("/app/settings/calendar")
def calendar_link(request: Request, ctx: Page, form: Posted):
    if form.get("action") == "revoke":
        users.revoke_calendar_token(ctx.session, ctx.user)
        return _done(request, "calendar-revoked")
    users.rotate_calendar_token(ctx.session, ctx.user)
    return _done(request, "calendar")
