"""The answer to an outreach, given on its job's or its contact's page: a reply, or "not
now" and the day to resume. The checks of that day serve the record form too."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request

from followups import phrases
from followups.errors import Invalid
from followups.models import Outcome
from followups.outreach import service as outreach_service
from followups.web import forms, queries
from followups.web.deps import Page, Posted
from followups.web.pages.jobs_contacts import JOBS, KINDS, list_page, record_page
from followups.web.routing import Rendered, WebRoute, local_path, redirect

router = APIRouter(route_class=WebRoute)


def resume_errors(outcome: Outcome | None, phrase: str | None, today: date) -> dict[str, str]:
    """The form's checks of "not now" and its day, made before anything is written: a page's
    error answer does not undo what the handler wrote before it (see the record form)."""
    if outcome == Outcome.LATER and not phrase:
        return {"resume_on": "Say when to follow up again: a date or a phrase like 'next week'."}
    if outcome != Outcome.LATER and phrase:
        return {"resume_on": "A day to resume goes with “Not now”: pick it, or clear this field."}
    if phrase:
        try:
            phrases.resume_date(phrase, today)  # the service reads it again, the same way
        except ValueError as exc:
            return {"resume_on": str(exc)[:1].upper() + str(exc)[1:] + "."}
    return {}


def service_errors(exc: Invalid) -> dict[str, str]:
    """The service's field errors under the form's names (resumeOn is resume_on here)."""
    errors = {}
    for f in exc.fields:
        name = "resume_on" if f.field == "resumeOn" else f.field
        errors[name] = f.message[:1].upper() + f.message[1:] + ("" if f.message.endswith(".") else ".")
    return errors or {"form": exc.detail}


@router.post("/app/outreach/{outreach_id}/answer")
def answer_outreach(request: Request, ctx: Page, outreach_id: str, form: Posted):
    outreach_service.get_outreach(ctx.session, ctx.user, outreach_id)  # a stranger's: 404 first
    path, _, record_id = form.get("on").partition("/")
    kind = KINDS.get(path)
    if kind is None:
        raise Rendered(list_page(ctx, JOBS, False, 422, errors={"list": "The form is missing its page."}))
    data = forms.values(form, "outcome", "resume_on")
    parsed, errors = forms.parse(forms.AnswerForm, data)
    if parsed is not None:
        errors = resume_errors(parsed.outcome, parsed.resume_on, queries.local_today(ctx.now, ctx.user))
    if parsed is not None and not errors:
        changes: dict = {"outcome": parsed.outcome}
        if parsed.resume_on:
            changes["resume_on"] = parsed.resume_on
        try:
            outreach_service.update_outreach(ctx.session, ctx.user, outreach_id, changes=changes, now=ctx.now)
            page = local_path(f"/app/{path}/{record_id}", "/app/jobs")
            return redirect(request, f"{page}?answered={outreach_id}#outreach")
        except Invalid as exc:
            errors = service_errors(exc)
    shown = {"outcome": form.get("outcome"), "resume_on": form.get("resume_on")}
    answer = {"id": outreach_id, "values": shown, "errors": errors}
    raise Rendered(record_page(ctx, kind, record_id, 422, answer=answer))
