"""Notifications, and the dormant-candidate review: mark dormant, or revive with a new follow-up."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request

from followups import clock
from followups import notification_kinds as kinds
from followups.chains import service as followups
from followups.jobs import service as jobs
from followups.models import FollowUp, FollowupType, Notification, Stage
from followups.notifications import service as notifications
from followups.owned import get_owned
from followups.web import forms, queries, views
from followups.web.deps import Page, Posted
from followups.web.render import Ctx, render
from followups.web.routing import Rendered, WebRoute, redirect

router = APIRouter(route_class=WebRoute)
DORMANT_REASON = "Marked dormant"


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


def _notification(ctx: Ctx, notification_id: str) -> Notification:
    return get_owned(ctx.session, Notification, ctx.user.id, notification_id, "Notification")


@router.post("/app/notifications/{notification_id}/seen")
def mark_seen(request: Request, ctx: Page, notification_id: str, form: Posted):
    notifications.mark_seen(ctx.session, ctx.user, notification_id, now=ctx.now)
    return redirect(request, "/app/notifications")


@router.post("/app/notifications/{notification_id}/dormant")
def mark_dormant(request: Request, ctx: Page, notification_id: str, form: Posted):
    """The lead went quiet: the job becomes DORMANT (which cancels its open follow-ups);
    a check about a contact alone cancels that contact's open follow-ups."""
    n = _notification(ctx, notification_id)
    # Seen first: closing the job would otherwise settle the check as "resolved".
    notifications.mark_seen(ctx.session, ctx.user, n.id, now=ctx.now)
    if n.job_id is not None:
        jobs.update_job(
            ctx.session, ctx.user, n.job_id, changes={"stage": Stage.DORMANT}, now=ctx.now
        )
    elif n.contact_id is not None:
        followups.cancel_open(
            ctx.session,
            ctx.user.id,
            FollowUp.contact_id == n.contact_id,
            reason=DORMANT_REASON,
            now=ctx.now,
        )
    return redirect(request, "/app/notifications")


@router.post("/app/notifications/{notification_id}/revive")
def revive(request: Request, ctx: Page, notification_id: str, form: Posted):
    """Not dormant after all: a new follow-up chain on the same job and contact."""
    n = _notification(ctx, notification_id)
    parsed, errors = forms.parse(forms.DateTimeForm, forms.values(form, "date", "time", "note"))
    if parsed is not None and parsed.date < queries.local_today(ctx.now, ctx.user):
        errors["date"] = "Pick today or a later day."
    if parsed is None or errors:
        raise Rendered(
            _page(
                ctx,
                422,
                {str(n.id): " ".join(errors.values())},
                {str(n.id): {k: form.get(k) for k in ("date", "time", "note")}},
            )
        )
    if n.job_id is None and n.contact_id is None:
        raise Rendered(_page(ctx, 422, {str(n.id): "This notification has no job or contact."}))
    due = clock.at_local_time(parsed.date, parsed.time.hour, parsed.time.minute, ctx.user.zone)
    created = followups.create_followup(
        ctx.session,
        ctx.user,
        job_id=n.job_id and str(n.job_id),
        contact_id=n.contact_id and str(n.contact_id),
        due_at=due,
        note=parsed.note,
        type=FollowupType.STANDARD,
        now=ctx.now,
    )
    notifications.mark_seen(ctx.session, ctx.user, n.id, now=ctx.now)
    tab = "today" if parsed.date == queries.local_today(ctx.now, ctx.user) else "upcoming"
    return redirect(request, f"/app/today?tab={tab}&done=revived#fu-{created.id}")
