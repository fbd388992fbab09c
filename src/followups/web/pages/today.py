"""Today: a tab per due bucket (followups.chains.buckets), and the actions on each follow-up.

An action posted by htmx answers with the panel (tabs with fresh counts, the list,
a message) and the bell, swapped in place; without JavaScript the same form posts
and the browser is redirected back to the tab.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request

from followups import cadence as cad
from followups import clock
from followups.chains import buckets
from followups.chains import service as followups
from followups.errors import Conflict, Invalid, NotFound
from followups.mailbox import drafts as mail_drafts
from followups.models import FollowupType, User
from followups.web import forms, queries, views
from followups.web.deps import Page, Posted
from followups.web.render import Ctx, render
from followups.web.routing import WebRoute, redirect

router = APIRouter(route_class=WebRoute)

Tab = str  # a bucket's name
PAGE = 50
MAX_LIMIT = 1000
DONE = {
    "sent": "Marked sent.",
    "moved": "Moved.",
    "cancelled": "No more follow-ups on this one; it stays in the history.",
    "revived": "Revived: a new follow-up is scheduled.",
    "mailed": "Sent from your mailbox and marked sent.",
}


def tab_of(value: str | None) -> Tab:
    return value if value in buckets.BY_NAME else buckets.DEFAULT


def bucket_of(instant: datetime, now: datetime, user: User) -> str:
    return buckets.partition_of(instant, now, user.zone).label


def panel(
    ctx: Ctx, tab: Tab, limit: int = PAGE, flash: str | None = None, error: bool = False
) -> dict:
    user = ctx.user
    assert user is not None
    counts = queries.tab_counts(ctx.session, user, ctx.now)
    rows = queries.tab_items(ctx.session, user, tab, ctx.now, limit)
    outreach = queries.outreach_by_id(ctx.session, user, (r.outreach_id for r in rows))
    today = queries.local_today(ctx.now, user)
    drafts = mail_drafts.drafts_for(ctx.session, user, rows, now=ctx.now)
    items = [views.item(r, user, today, outreach) for r in rows]
    for it, row in zip(items, rows, strict=True):
        it.draft = drafts.get(row.id)
    total = counts.shown[tab]
    bucket = buckets.BY_NAME[tab]
    return {
        "tab": tab,
        "tabs": [(b.name, b.label, counts.shown[b.name]) for b in buckets.BUCKETS],
        "bucket": bucket,
        "later": counts.later.get(tab, 0),
        "items": items,
        "groups": views.by_day(items, today) if bucket.by_day else None,
        "more": max(total - len(items), 0),
        "next_limit": min(limit + PAGE, MAX_LIMIT),
        "limit": limit,
        "flash": flash,
        "flash_error": error,
        "today_iso": today.isoformat(),
        "today_label": clock.day_label(today),
        **snooze_choices(ctx),
    }


def snooze_choices(ctx: Ctx) -> dict:
    """The snooze menu: its presets (the user's quiet days skipped) and the picker's
    default, the first preset's day, never a time already past."""
    user = ctx.user
    today = queries.local_today(ctx.now, user)
    presets = cad.snooze_presets(ctx.now, user.zone, user.cadence)
    local = {name: clock.to_local(at, user.zone) for name, at in presets.items()}
    tomorrow = local["tomorrow"].date()
    return {
        "snooze_presets": [
            ("tomorrow", "Tomorrow" if (tomorrow - today).days == 1 else "Next working day", local["tomorrow"]),
            ("monday", "Next Monday" if local["monday"].weekday() == 0 else "After next Monday", local["monday"]),
        ],
        "snooze_labels": {name: views.when(at, user.zone, today) for name, at in local.items()},
        "snooze_date": tomorrow.isoformat(),
        "snooze_time": f"{local['tomorrow']:%H:%M}",
    }


def answer(
    request: Request,
    ctx: Ctx,
    tab: Tab,
    code: str,
    flash: str,
    status: int = 200,
    error: bool = False,
    subject: object = None,
):
    if ctx.htmx:
        return render(
            ctx, "today_panel.html", status, oob=True, **panel(ctx, tab, flash=flash, error=error)
        )
    if error:
        return render(
            ctx, "today.html", status, title="Today", **panel(ctx, tab, flash=flash, error=True)
        )
    # Without JavaScript the flash is rebuilt after the redirect from the follow-up itself.
    about = f"&fu={subject}" if subject is not None else ""
    return redirect(request, f"/app/today?tab={tab}&done={code}{about}")


@router.get("/app/today")
def today_page(
    ctx: Page,
    tab: str = "today",
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = PAGE,
    done: str = "",
    fu: str = "",
):
    values = panel(ctx, tab_of(tab), limit, flash=_done_message(ctx, done, fu))
    if ctx.htmx:
        return render(ctx, "today_panel.html", oob=True, **values)
    return render(ctx, "today.html", title="Today", **values)


def _done_message(ctx: Ctx, done: str, fid: str) -> str | None:
    """The flash after a redirect: what the action did to the follow-up, said again."""
    if fid and done in ("moved", "sent"):
        try:
            fu = followups.get_followup(ctx.session, ctx.user, fid)
        except (NotFound, Invalid):
            return DONE.get(done)
        if done == "moved" and fu.cancelled_at is None and fu.sent_at is None:
            return _moved_message(ctx, fu)
        if done == "sent" and fu.sent_at is not None:
            return sent_message(ctx, followups.sent_of(ctx.session, ctx.user, fu))
    return DONE.get(done)


def _moved_message(ctx: Ctx, moved) -> str:
    today = queries.local_today(ctx.now, ctx.user)
    where = bucket_of(moved.due_at, ctx.now, ctx.user)
    return f"Moved to {views.when(moved.due_at, ctx.user.zone, today)} ({where})."


def sent_message(ctx: Ctx, sent: followups.Sent) -> str:
    user = ctx.user
    today = queries.local_today(ctx.now, user)
    if sent.followup.type != FollowupType.STANDARD.value:
        return "Marked done."
    if (following := sent.next_attempt) is not None:
        return (
            f"Marked sent. Attempt {following.attempt_no} is due "
            f"{views.when(following.due_at, user.zone, today)} "
            f"({bucket_of(following.due_at, ctx.now, user)})."
        )
    if (check := sent.dormant_check) is not None:
        return (
            f"Marked sent. That was the last attempt: if no reply comes, a dormant check "
            f"falls due {views.when(check.due_at, user.zone, today)}."
        )
    return "Marked sent."


@router.post("/app/followups/{followup_id}/send")
def send(request: Request, followup_id: str, ctx: Page, form: Posted):
    tab = tab_of(form.get("tab"))
    parsed, errors = forms.parse(forms.SendForm, forms.values(form, "note"))
    if parsed is None:
        return answer(request, ctx, tab, "", f"Note: {errors['note']}", 422, error=True)
    try:
        sent = followups.mark_sent(
            ctx.session, ctx.user, followup_id, note=parsed.note, now=ctx.now
        )
    except Conflict as exc:
        return answer(request, ctx, tab, "", exc.detail, 409, error=True)
    return answer(request, ctx, tab, "sent", sent_message(ctx, sent), subject=sent.followup.id)


def snooze_target(choice: str, form, ctx: Ctx) -> tuple[datetime | None, str | None]:
    tz = ctx.user.zone
    if choice in ("tomorrow", "monday"):
        return cad.snooze_presets(ctx.now, tz, ctx.user.cadence)[choice], None
    parsed, errors = forms.parse(forms.DateTimeForm, forms.values(form, "date", "time"))
    if parsed is None:
        field = next(iter(errors))
        return None, f"{'Date' if field == 'date' else 'Time'}: {errors[field]}"
    due, problem = forms.local_instant(parsed.date, parsed.time, tz)
    return due, problem and f"Date: {problem}"


@router.post("/app/followups/{followup_id}/snooze")
def snooze(request: Request, followup_id: str, ctx: Page, form: Posted):
    tab = tab_of(form.get("tab"))
    due, problem = snooze_target(form.get("to"), form, ctx)
    if due is None:
        return answer(request, ctx, tab, "", problem or "Pick a date.", 422, error=True)
    try:
        moved = followups.update_followup(
            ctx.session, ctx.user, followup_id, changes={"due_at": due}, now=ctx.now
        )
    except Invalid:  # the service's rule (only forward in time), in the page's words
        when = views.when(due, ctx.user.zone, queries.local_today(ctx.now, ctx.user))
        return answer(request, ctx, tab, "", f"{when} has passed: pick a time still ahead.", 422, error=True)
    except Conflict as exc:
        return answer(request, ctx, tab, "", exc.detail, 409, error=True)
    return answer(request, ctx, tab, "moved", _moved_message(ctx, moved), subject=moved.id)


@router.post("/app/followups/{followup_id}/cancel")
def cancel(request: Request, followup_id: str, ctx: Page, form: Posted):
    tab = tab_of(form.get("tab"))
    try:
        followups.cancel_followup(ctx.session, ctx.user, followup_id, now=ctx.now)
    except Conflict as exc:
        return answer(request, ctx, tab, "", exc.detail, 409, error=True)
    return answer(request, ctx, tab, "cancelled", DONE["cancelled"])
