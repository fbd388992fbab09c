"""Jobs and contacts: lists, add, edit, stage, archive, each one's timeline and outreach
(with the answer to each: a reply, or "not now" and the day to resume)."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from sqlalchemy import select

from followups import phrases
from followups.contacts import service as contacts
from followups.errors import Invalid
from followups.jobs import service as jobs
from followups.models import Contact, Job, Outcome, Stage
from followups.outreach import service as outreach_service
from followups.web import forms, queries, views
from followups.web.deps import Page, Posted
from followups.web.render import Ctx, render
from followups.web.routing import Rendered, WebRoute, local_path, redirect

router = APIRouter(route_class=WebRoute)
JOB_FIELDS = ("company", "role", "url", "stage")
CONTACT_FIELDS = ("name", "email", "company", "linkedin_url")


def _archived_flag(value: str) -> bool:
    return value in ("1", "true", "on", "yes")


def _others(ctx: Ctx, model: type[Job] | type[Contact], ids) -> dict:
    """Names of the jobs or contacts on the other side of a page's outreach, by id."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = ctx.session.scalars(select(model).where(model.user_id == ctx.user.id, model.id.in_(wanted)))
    return {r.id: (views.subject(r, None) if isinstance(r, Job) else r.name) for r in rows}


# --- jobs ---------------------------------------------------------------------------


def _jobs_page(ctx: Ctx, archived: bool, status: int = 200, values=None, errors=None):
    user = ctx.user
    today = queries.local_today(ctx.now, user)
    due = queries.next_due_by_job(ctx.session, user)
    rows = [
        {
            "job": job,
            "next": views.when(due[job.id][0], user.zone, today) if job.id in due else None,
            "open": due[job.id][1] if job.id in due else 0,
        }
        for job in jobs.list_jobs(ctx.session, user, archived=archived)
    ]
    return render(
        ctx,
        "jobs.html",
        status,
        title="Jobs",
        rows=rows,
        archived=archived,
        stages=views.STAGES,
        values=values or {"stage": Stage.APPLIED.value},
        errors=errors or {},
    )


@router.get("/app/jobs")
def jobs_page(ctx: Page, archived: str = ""):
    return _jobs_page(ctx, _archived_flag(archived))


@router.post("/app/jobs")
def add_job(request: Request, ctx: Page, form: Posted):
    parsed, errors = forms.parse(forms.JobForm, forms.values(form, *JOB_FIELDS))
    if parsed is None:
        raise Rendered(_jobs_page(ctx, False, 422, {n: form.get(n) for n in JOB_FIELDS}, errors))
    job = jobs.create_job(
        ctx.session,
        ctx.user,
        company=parsed.company,
        role=parsed.role,
        url=parsed.url,
        stage=parsed.stage,
        now=ctx.now,
    )
    return redirect(request, f"/app/jobs/{job.id}")


def _answer_form(answer: dict | None) -> dict:
    """The answer form of one outreach, re-shown with what was typed and its errors."""
    answer = answer or {}
    return {
        "outcomes": views.OUTCOME_CHOICES,
        "resume_examples": views.RESUME_EXAMPLES,
        "answer_for": answer.get("id"),
        "answer_values": answer.get("values", {}),
        "answer_errors": answer.get("errors", {}),
    }


def _job_page(ctx: Ctx, job_id: str, status: int = 200, values=None, errors=None, answer=None):
    user = ctx.user
    job = jobs.get_job(ctx.session, user, job_id)
    outreach, followups, notifications = queries.history(ctx.session, user, job=job)
    events = views.timeline(user, ctx.now, outreach, followups, notifications, about_job=True)
    names = _others(ctx, Contact, (o.contact_id for o in outreach))
    values = values or {
        "company": job.company,
        "role": job.role,
        "url": job.url or "",
        "stage": job.stage,
    }
    return render(
        ctx,
        "job.html",
        status,
        title=f"{job.company} – {job.role}",
        job=job,
        events=events,
        sent=views.outreach_rows(user, ctx.now, outreach, names),
        **_answer_form(answer),
        stages=views.STAGES,
        values=values,
        errors=errors or {},
    )


@router.get("/app/jobs/{job_id}")
def job_page(ctx: Page, job_id: str):
    return _job_page(ctx, job_id)


@router.post("/app/jobs/{job_id}")
def edit_job(request: Request, ctx: Page, job_id: str, form: Posted):
    data = forms.values(form, *JOB_FIELDS)
    parsed, errors = forms.parse(forms.JobForm, data)
    if parsed is None:
        raise Rendered(_job_page(ctx, job_id, 422, {n: form.get(n) for n in JOB_FIELDS}, errors))
    jobs.update_job(
        ctx.session,
        ctx.user,
        job_id,
        now=ctx.now,
        changes={
            "company": parsed.company,
            "role": parsed.role,
            "url": parsed.url,
            "stage": parsed.stage,
        },
    )
    return redirect(request, f"/app/jobs/{job_id}")


@router.post("/app/jobs/{job_id}/stage")
def set_stage(request: Request, ctx: Page, job_id: str, form: Posted):
    try:
        stage = Stage(form.get("stage"))
    except ValueError:
        raise Rendered(
            _jobs_page(ctx, False, 422, errors={"list": "Pick a stage from the list."})
        ) from None
    jobs.update_job(ctx.session, ctx.user, job_id, changes={"stage": stage}, now=ctx.now)
    return redirect(request, local_path(form.get("back"), "/app/jobs"))


@router.post("/app/jobs/{job_id}/archive")
def archive_job(request: Request, ctx: Page, job_id: str, form: Posted):
    archived = _archived_flag(form.get("archived"))
    jobs.update_job(ctx.session, ctx.user, job_id, changes={"archived": archived}, now=ctx.now)
    return redirect(request, local_path(form.get("back"), "/app/jobs"))


# --- contacts -----------------------------------------------------------------------


def _contacts_page(ctx: Ctx, archived: bool, status: int = 200, values=None, errors=None):
    user = ctx.user
    today = queries.local_today(ctx.now, user)
    due = queries.next_due_by_contact(ctx.session, user)
    rows = [
        {
            "contact": c,
            "next": views.when(due[c.id][0], user.zone, today) if c.id in due else None,
            "open": due[c.id][1] if c.id in due else 0,
        }
        for c in contacts.list_contacts(ctx.session, user, archived=archived)
    ]
    return render(
        ctx,
        "contacts.html",
        status,
        title="Contacts",
        rows=rows,
        archived=archived,
        values=values or {},
        errors=errors or {},
    )


@router.get("/app/contacts")
def contacts_page(ctx: Page, archived: str = ""):
    return _contacts_page(ctx, _archived_flag(archived))


@router.post("/app/contacts")
def add_contact(request: Request, ctx: Page, form: Posted):
    parsed, errors = forms.parse(forms.ContactForm, forms.values(form, *CONTACT_FIELDS))
    if parsed is None:
        raise Rendered(
            _contacts_page(ctx, False, 422, {n: form.get(n) for n in CONTACT_FIELDS}, errors)
        )
    contact = contacts.create_contact(
        ctx.session, ctx.user, fields=parsed.model_dump(), now=ctx.now
    )
    return redirect(request, f"/app/contacts/{contact.id}")


def _contact_page(ctx: Ctx, contact_id: str, status: int = 200, values=None, errors=None, answer=None):
    user = ctx.user
    contact = contacts.get_contact(ctx.session, user, contact_id)
    outreach, followups, notifications = queries.history(ctx.session, user, contact=contact)
    events = views.timeline(user, ctx.now, outreach, followups, notifications, about_job=False)
    names = _others(ctx, Job, (o.job_id for o in outreach))
    values = values or {n: getattr(contact, n) or "" for n in CONTACT_FIELDS}
    return render(
        ctx,
        "contact.html",
        status,
        title=contact.name,
        contact=contact,
        events=events,
        sent=views.outreach_rows(user, ctx.now, outreach, names),
        **_answer_form(answer),
        values=values,
        errors=errors or {},
    )


@router.get("/app/contacts/{contact_id}")
def contact_page(ctx: Page, contact_id: str):
    return _contact_page(ctx, contact_id)


@router.post("/app/contacts/{contact_id}")
def edit_contact(request: Request, ctx: Page, contact_id: str, form: Posted):
    data = forms.values(form, *CONTACT_FIELDS)
    parsed, errors = forms.parse(forms.ContactForm, data)
    if parsed is None:
        raise Rendered(
            _contact_page(ctx, contact_id, 422, {n: form.get(n) for n in CONTACT_FIELDS}, errors)
        )
    contacts.update_contact(
        ctx.session, ctx.user, contact_id, changes=parsed.model_dump(), now=ctx.now
    )
    return redirect(request, f"/app/contacts/{contact_id}")


@router.post("/app/contacts/{contact_id}/archive")
def archive_contact(request: Request, ctx: Page, contact_id: str, form: Posted):
    archived = _archived_flag(form.get("archived"))
    contacts.update_contact(
        ctx.session, ctx.user, contact_id, changes={"archived": archived}, now=ctx.now
    )
    return redirect(request, local_path(form.get("back"), "/app/contacts"))


# --- the answer to an outreach --------------------------------------------------------


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
    kind, _, record_id = form.get("on").partition("/")
    page = {"jobs": _job_page, "contacts": _contact_page}.get(kind)
    if page is None:
        raise Rendered(_jobs_page(ctx, False, 422, errors={"list": "The form is missing its page."}))
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
            return redirect(request, local_path(f"/app/{kind}/{record_id}", "/app/jobs") + "#outreach")
        except Invalid as exc:
            errors = service_errors(exc)
    shown = {"outcome": form.get("outcome"), "resume_on": form.get("resume_on")}
    raise Rendered(page(ctx, record_id, 422, answer={"id": outreach_id, "values": shown, "errors": errors}))
