"""Settings: time zone and digest, cadence, job-search rules and holidays, webhook, and the
calendar-feed link."""

from __future__ import annotations

import re
from dataclasses import asdict

from fastapi import APIRouter, Request
from pydantic import ValidationError

from followups import clock, outbound
from followups.api.deps import Now
from followups.api.schemas import WebhookIn
from followups.cadence import Cadence
from followups.errors import Invalid
from followups.mailbox import service as mailboxes
from followups.mailbox import templates
from followups.rules import RECOMMENDED
from followups.users import preferences
from followups.users import service as users
from followups.web import forms
from followups.web.deps import Page, Posted, signed_in
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
    "rules": "Job-search rules saved; they shape follow-ups scheduled from now on.",
    "rules-recommended": "The recommended rules are on; they shape follow-ups scheduled from now on.",
    "holiday-added": "Holiday added.",
    "holiday-removed": "Holiday removed.",
    "mailbox": "Mailbox connected: both logins worked; the worker syncs it now.",
    "mailbox-removed": "Mailbox disconnected: the credentials are deleted and the sync stopped.",
    "templates": "Message templates saved; drafts use them from now on.",
    "template-reset": "That template is back to the default.",
}
# The mailbox form's first values (implicit TLS for IMAP, STARTTLS for SMTP submission).
MAILBOX_DEFAULTS = {"imap_port": "993", "imap_security": "ssl", "smtp_port": "587", "smtp_security": "starttls",
                    "inbox_folder": "INBOX"}
RULE_NAMES = ("thread_by_job", "spread_by_company", "stage_aware", "adaptive")


def _sentences(exc: Invalid, field: str, subject: str = "") -> dict[str, str]:
    """A service's field errors as the form's: one sentence under `field`."""
    message = subject + "; ".join(f.message for f in exc.fields) or exc.detail
    return {field: message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")}


def _checked(form, name: str) -> bool:
    return form.get(name) in ("1", "on", "true", "yes")


def _page(
    ctx: Ctx,
    status: int = 200,
    errors: dict | None = None,
    values: dict | None = None,
    saved: str = "",
    imported: tuple[int, int] | None = None,
    typed_templates: dict[str, templates.Template] | None = None,
):
    user = ctx.user
    rules = user.rule_set
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
        "thread_by_job": rules.thread_by_job,
        "spread_by_company": rules.spread_by_company,
        "stage_aware": rules.stage_aware,
        "min_gap_days": str(rules.min_gap_days),
        "adaptive": user.cadence_adaptive,
        **MAILBOX_DEFAULTS,
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
        saved=_imported_message(*imported) if imported else SAVED.get(saved),
        has_webhook=bool(user.webhook_url),
        holidays=[(day.isoformat(), clock.full_day_label(day)) for day in rules.holidays],
        recommended_on=_is_recommended(ctx),
        mail_ready=_mail_ready(ctx),
        mailbox=mailboxes.find_mailbox(ctx.session, user),
        securities=[("ssl", "TLS (SSL)"), ("starttls", "STARTTLS"), ("none", "None (a local bridge)")],
        message_templates=_message_templates(ctx, typed_templates or {}),
        template_variables=list(templates.VARIABLES),
        template_filters=", ".join(sorted(templates.FILTERS)),
    )


def _mail_ready(ctx: Ctx) -> bool:
    """Whether this server can send mail (FOLLOWUPS_SMTP_HOST set): the digest by email
    is offered only then."""
    return ctx.request.app.state.settings.smtp_enabled


def _message_templates(ctx: Ctx, typed: dict[str, templates.Template]) -> list[dict]:
    """The user's templates as the form shows them: what was typed, after a refused save."""
    return [
        {"name": t.name, "label": t.label, "custom": t.custom,
         "subject": typed.get(t.name, t.template).subject, "body": typed.get(t.name, t.template).body}
        for t in templates.list_templates(ctx.session, ctx.user)
    ]


def _imported_message(added: int, ignored: int) -> str:
    text = f"{added} holiday{'s' if added != 1 else ''} added from the calendar file"
    if ignored:
        text += f"; {ignored} day{'s' if ignored != 1 else ''} left out (past, too far ahead or already listed)"
    return text + "."


def _is_recommended(ctx: Ctx) -> bool:
    current = asdict(ctx.user.rule_set)
    return all(current[name] == value for name, value in RECOMMENDED.items())


@router.get("/app/settings")
def settings_page(ctx: Page, saved: str = "", added: int = 0, ignored: int = 0):
    imported = (added, ignored) if saved == "holidays-imported" else None
    return _page(ctx, saved=saved, imported=imported)


def _done(request: Request, what: str):
    return redirect(request, f"/app/settings?saved={what}")


@router.post("/app/settings/profile")
def save_profile(request: Request, ctx: Page, form: Posted):
    data = {
        "timezone": form.get("timezone"),
        "digest_hour": form.get("digest_hour"),
        "digest_email": _checked(form, "digest_email") and _mail_ready(ctx),
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


@router.post("/app/settings/rules")
def save_rules(request: Request, ctx: Page, form: Posted):
    if form.get("action") == "recommended":
        # The holidays are the user's own list: the recommendation leaves them as they are.
        preferences.set_rules(ctx.session, ctx.user, RECOMMENDED)
        return _done(request, "rules-recommended")
    data = {name: _checked(form, name) for name in RULE_NAMES}
    data["min_gap_days"] = form.get("min_gap_days").strip() or "0"
    parsed, errors = forms.parse(forms.RulesForm, data)
    if parsed is None:
        if errors.get("min_gap_days"):
            errors["min_gap_days"] = "Give a whole number of days from 0 (off) to 30."
        raise Rendered(_page(ctx, 422, {"rules": errors}, {**data, "min_gap_days": form.get("min_gap_days")}))
    changes = parsed.model_dump(exclude={"adaptive"})
    try:
        preferences.set_rules(ctx.session, ctx.user, changes)
    except Invalid as exc:
        raise Rendered(_page(ctx, 422, {"rules": _sentences(exc, "min_gap_days")}, data)) from None
    preferences.set_adaptive(ctx.session, ctx.user, parsed.adaptive)
    return _done(request, "rules")


@router.post("/app/settings/holidays")
def change_holidays(request: Request, ctx: Page, form: Posted):
    current = set(ctx.user.rule_set.holidays)
    if form.has("remove"):
        parsed, _errors = forms.parse(forms.HolidayForm, {"day": form.get("remove")})
        if parsed is not None:
            preferences.set_rules(ctx.session, ctx.user, {"holidays": current - {parsed.day}})
        return _done(request, "holiday-removed")
    parsed, errors = forms.parse(forms.HolidayForm, {"day": form.get("day")})
    if parsed is None:
        raise Rendered(_page(ctx, 422, {"holidays": errors}, {"day": form.get("day")}))
    try:
        preferences.set_rules(ctx.session, ctx.user, {"holidays": current | {parsed.day}})
    except Invalid as exc:
        raise Rendered(_page(ctx, 422, {"holidays": _sentences(exc, "day")}, {"day": form.get("day")})) from None
    return _done(request, "holiday-added")


@router.post("/app/settings/holidays/import")
def import_holidays(request: Request, ctx: Page, form: Posted):
    content = form.file("ics")
    if content is None:
        raise Rendered(_page(ctx, 422, {"import": {"ics": "Choose an .ics file to import."}}))
    try:
        added, ignored = preferences.import_holidays(ctx.session, ctx.user, content, now=ctx.now)
    except Invalid as exc:
        raise Rendered(_page(ctx, 422, {"import": _sentences(exc, "ics", "The file ")})) from None
    return redirect(request, f"/app/settings?saved=holidays-imported&added={added}&ignored={ignored}")


@router.post("/app/settings/webhook")
def save_webhook(request: Request, form: Posted, now: Now):
    """The URL's host is resolved after the sign-in and before the write transaction
    (users.service.check_webhook: a DNS wait must not hold SQLite's one write lock); a sync
    route, so the lookup runs in a worker thread."""
    db = request.app.state.db
    checked = None
    if form.get("action") != "remove":
        with db.transaction(write=False) as session:
            ctx = signed_in(request, session, now)
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
        checked = users.check_webhook(hook.url, hook.secret, outbound.policy(request.app.state.settings))
    with db.transaction() as session:
        ctx = signed_in(request, session, now)
        if checked is None:
            users.remove_webhook(ctx.session, ctx.user)
            return _done(request, "webhook-removed")
        try:
            users.set_webhook(ctx.session, ctx.user, checked)
        except Invalid as exc:
            raise Rendered(
                _page(ctx, 422, {"webhook": _sentences(exc, "webhook_url")}, {"webhook_url": form.get("webhook_url")})
            ) from None
    return _done(request, "webhook")


@router.post("/app/settings/templates")
def save_templates(request: Request, ctx: Page, form: Posted):
    typed = {
        name: templates.Template(form.get(f"{name}_subject").strip(), form.get(f"{name}_body").replace("\r\n", "\n"))
        for name in templates.NAMES
    }
    reset = form.get("reset")
    if reset in typed:  # the others stay as saved: a reset button leaves what was typed unsaved
        current = {t.name: t.template for t in templates.list_templates(ctx.session, ctx.user) if t.custom}
        current.pop(reset, None)
        templates.save_templates(ctx.session, ctx.user, current, now=ctx.now)
        return _done(request, "template-reset")
    try:
        templates.save_templates(ctx.session, ctx.user, typed, now=ctx.now)
    except Invalid as exc:
        errors = {f.field: f.message[:1].upper() + f.message[1:] + "." for f in exc.fields}
        raise Rendered(_page(ctx, 422, {"templates": errors}, typed_templates=typed)) from None
    return _done(request, "templates")


@router.post("/app/settings/calendar")
def calendar_link(request: Request, ctx: Page, form: Posted):
    if form.get("action") == "revoke":
        users.revoke_calendar_token(ctx.session, ctx.user)
        return _done(request, "calendar-revoked")
    users.rotate_calendar_token(ctx.session, ctx.user)
    return _done(request, "calendar")
