"""Notifications, and the dormant-candidate review: mark dormant, or revive with a new follow-up."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request

from followups import notification_kinds as kinds
from followups.errors import Invalid
from followups.models import Notification
from followups.notifications import service as notifications
from followups.web import forms, queries, views
from followups.web.deps import Page, Posted
from followups.web.render import Ctx, render
from followups.web.routing import Rendered, WebRoute, redirect

router = APIRouter(route_class=WebRoute)


def _card(n: Notification, user, today, job_names: dict, contact_names: dict) -> dict:
    job = job_names.get(n.job_id)
    contact = contact_names.get(n.contact_id)
    return {
        "n": n,
        "kind": kinds.of(n.kind).label,
        "dormant": n.kind == kinds.DORMANT_CANDIDATE.name,
        "when": views.when(n.due_at, user.zone, today),
        "seen_when": views.when(n.sent_at, user.zone, today) if n.sent_at else None,
        "subject": views.subject(job, contact) if (job or contact) else None,
        "job": job,
        "contact": contact,
    }


def _page(ctx: Ctx, status: int = 200, errors: dict | None = None, values: dict | None = None):
    user = ctx.user
    today = queries.local_today(ctx.now, user)
    fresh = queries.unseen(ctx.session, user, ctx.now)
    seen = queries.recently_seen(ctx.session, user)
    job_names, contact_names = queries.names(
        ctx.session,
        user,
        [n.job_id for n in (*fresh, *seen)],
        [n.contact_id for n in (*fresh, *seen)],
    )
    return render(
        ctx,
        "notifications.html",
        status,
        title="Notifications",
        fresh=[_card(n, user, today, job_names, contact_names) for n in fresh],
        seen=[_card(n, user, today, job_names, contact_names) for n in seen],
        revive_iso=(today + timedelta(days=1)).isoformat(),
        errors=errors or {},
        values=values or {},
    )


@router.get("/app/notifications")
def notifications_page(ctx: Page):
    return _page(ctx)


@router.post("/app/notifications/{notification_id}/seen")
def mark_seen(request: Request, ctx: Page, notification_id: str, form: Posted):
    notifications.mark_seen(ctx.session, ctx.user, notification_id, now=ctx.now)
    return redirect(request, "/app/notifications")


@router.post("/app/notifications/{notification_id}/dormant")
def mark_dormant(request: Request, ctx: Page, notification_id: str, form: Posted):
    notifications.mark_dormant(ctx.session, ctx.user, notification_id, now=ctx.now)
    return redirect(request, "/app/notifications")


@router.post("/app/notifications/{notification_id}/revive")
def revive(request: Request, ctx: Page, notification_id: str, form: Posted):
    n = notifications.get_notification(ctx.session, ctx.user, notification_id)
    parsed, errors = forms.parse(forms.DateTimeForm, forms.values(form, "date", "time", "note"))
    if parsed is not None and parsed.date < queries.local_today(ctx.now, ctx.user):
        errors["date"] = "Pick today or a later day."
    elif parsed is not None:
        due, problem = forms.local_instant(parsed.date, parsed.time, ctx.user.zone)
        if problem:
            errors["date"] = problem
    if parsed is None or errors:
        raise Rendered(
            _page(
                ctx,
                422,
                {str(n.id): " ".join(errors.values())},
                {str(n.id): {k: form.get(k) for k in ("date", "time", "note")}},
            )
        )
    try:
        created = notifications.revive(
            ctx.session, ctx.user, n.id, due_at=due, note=parsed.note, now=ctx.now
        )
    except Invalid as exc:
        raise Rendered(_page(ctx, 422, {str(n.id): exc.detail})) from None
    tab = "today" if parsed.date == queries.local_today(ctx.now, ctx.user) else "upcoming"
    return redirect(request, f"/app/today?tab={tab}&done=revived#fu-{created.id}")
