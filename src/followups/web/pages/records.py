"""Jobs and contacts: lists, add, edit, stage, archive, and each one's timeline."""

from __future__ import annotations

from fastapi import APIRouter, Request

from followups.contacts import service as contacts
from followups.jobs import service as jobs
from followups.models import Stage
from followups.web import forms, queries, views
from followups.web.deps import Page, Posted
from followups.web.render import Ctx, render
from followups.web.routing import Rendered, WebRoute, local_path, redirect

router = APIRouter(route_class=WebRoute)
JOB_FIELDS = ("company", "role", "url", "stage")
CONTACT_FIELDS = ("name", "email", "company", "linkedin_url")


def _archived_flag(value: str) -> bool:
    return value in ("1", "true", "on", "yes")


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


def _job_page(ctx: Ctx, job_id: str, status: int = 200, values=None, errors=None):
    user = ctx.user
    job = jobs.get_job(ctx.session, user, job_id)
    outreach, followups, notifications = queries.history(ctx.session, user, job=job)
    events = views.timeline(user, ctx.now, outreach, followups, notifications, about_job=True)
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


def _contact_page(ctx: Ctx, contact_id: str, status: int = 200, values=None, errors=None):
    user = ctx.user
    contact = contacts.get_contact(ctx.session, user, contact_id)
    outreach, followups, notifications = queries.history(ctx.session, user, contact=contact)
    events = views.timeline(user, ctx.now, outreach, followups, notifications, about_job=False)
    values = values or {n: getattr(contact, n) or "" for n in CONTACT_FIELDS}
    return render(
        ctx,
        "contact.html",
        status,
        title=contact.name,
        contact=contact,
        events=events,
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
