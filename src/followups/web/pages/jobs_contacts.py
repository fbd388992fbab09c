"""Jobs and contacts: one view of both, their differences as data.

Each has a list (active or archived) with an add form, and a page with its timeline, its
outreach (each with the answer it got) and an edit form; each can be archived. What
differs is described by a `Kind`: the fields, the facts shown under a name, the other
side of its outreach. A job also has a stage, set from the list or its page."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from markupsafe import Markup
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute, Session

from followups.chains import queries as chain_queries
from followups.contacts import service as contacts
from followups.jobs import service as jobs
from followups.models import Contact, FollowUp, Job, Outcome, Outreach, Stage, User
from followups.web import forms, queries, views
from followups.web.deps import Page, Posted
from followups.web.render import Ctx, render
from followups.web.routing import Rendered, WebRoute, local_path, redirect

router = APIRouter(route_class=WebRoute)


@dataclass(frozen=True)
class Field:
    """One field of the add and edit forms."""

    name: str
    label: str
    type: str = "text"
    required: bool = False
    # The add form's label, where it says more than the edit form's.
    add_label: str | None = None


@dataclass(frozen=True)
class Fact:
    """One thing shown under a record's name: a tag, a link or plain text."""

    text: str
    tag: str | None = None  # the tag's CSS class
    href: str | None = None


Record = Job | Contact


@dataclass(frozen=True)
class Kind:
    """What a job's or a contact's view has of its own."""

    path: str  # the URL segment: /app/<path>, /app/<path>/<id>
    noun: str
    title: str
    fields: tuple[Field, ...]
    form: type[BaseModel]
    new_values: dict[str, str]  # the add form's initial values
    empty: Markup  # the active list's empty sentence
    create: Callable[[Session, User, dict, Any], Record]
    get: Callable[[Session, User, str], Record]
    update: Callable[..., Record]
    listing: Callable[..., Sequence[Record]]
    due_key: InstrumentedAttribute  # the follow-up's column naming this kind's record
    other: type[Job] | type[Contact]  # the other side of this kind's outreach
    other_key: str  # the outreach's column naming that other side
    heading: Callable[[Any], tuple[str, str | None]]  # name, and what follows it
    page_title: Callable[[Any], str]
    facts: Callable[[Any, bool], list[Fact]]  # under the name, in the list (False) or on its page
    count_open: bool = False  # the list says how many follow-ups are open, past one
    edit_hint: Markup | None = None


def _job_facts(job: Job, on_page: bool) -> list[Fact]:
    facts = [Fact(views.STAGES[job.stage], tag=f"tag-stage-{job.stage.lower()}")]
    if on_page:
        if job.archived:
            facts.append(Fact("archived", tag="tag-archived"))
        if job.url and job.url.startswith(("https://", "http://")):
            facts.append(Fact("posting", href=job.url))
        elif job.url:
            facts.append(Fact(job.url))
    return facts


def _contact_facts(contact: Contact, on_page: bool) -> list[Fact]:
    facts = [Fact("archived", tag="tag-archived")] if on_page and contact.archived else []
    if contact.email:
        facts.append(Fact(contact.email))
    if on_page and contact.linkedin_url and contact.linkedin_url.startswith("https://"):
        facts.append(Fact("LinkedIn", href=contact.linkedin_url))
    return facts


JOBS = Kind(
    path="jobs",
    noun="job",
    title="Jobs",
    fields=(
        Field("company", "Company", required=True),
        Field("role", "Role", required=True),
        Field("url", "Posting URL", type="url", add_label="Posting URL (optional)"),
        Field("stage", "Stage", type="stage"),
    ),
    form=forms.JobForm,
    new_values={"stage": Stage.APPLIED.value},
    empty=Markup('No jobs yet. Add one above, or <a href="/app/record">record an outreach</a>.'),
    create=lambda session, user, fields, now: jobs.create_job(session, user, **fields, now=now),
    get=jobs.get_job,
    update=jobs.update_job,
    listing=jobs.list_jobs,
    due_key=FollowUp.job_id,
    other=Contact,
    other_key="contact_id",
    heading=lambda job: (job.company, job.role),
    page_title=lambda job: f"{job.company} – {job.role}",
    facts=_job_facts,
    count_open=True,
    edit_hint=Markup("Rejected or Dormant cancels the job's open follow-ups (they stay in the timeline)."),
)
CONTACTS = Kind(
    path="contacts",
    noun="contact",
    title="Contacts",
    fields=(
        Field("name", "Name", required=True),
        Field("email", "Email", type="email"),
        Field("company", "Company"),
        Field("linkedin_url", "LinkedIn URL", type="url"),
    ),
    form=forms.ContactForm,
    new_values={},
    empty=Markup("No contacts yet."),
    create=lambda session, user, fields, now: contacts.create_contact(session, user, fields=fields, now=now),
    get=contacts.get_contact,
    update=contacts.update_contact,
    listing=contacts.list_contacts,
    due_key=FollowUp.contact_id,
    other=Job,
    other_key="job_id",
    heading=lambda contact: (contact.name, contact.company),
    page_title=lambda contact: contact.name,
    facts=_contact_facts,
)
KINDS = {kind.path: kind for kind in (JOBS, CONTACTS)}


def archived_flag(value: str) -> bool:
    return value in ("1", "true", "on", "yes")


def _names(fields: tuple[Field, ...]) -> tuple[str, ...]:
    return tuple(f.name for f in fields)


def _typed(kind: Kind, form) -> dict:
    """What was typed, to show again with the form's errors."""
    return {n: form.get(n) for n in _names(kind.fields)}


def list_page(ctx: Ctx, kind: Kind, archived: bool, status: int = 200, values=None, errors=None):
    user = ctx.user
    today = queries.local_today(ctx.now, user)
    due = queries.next_due_by(ctx.session, user, kind.due_key)
    rows = [
        {
            "record": record,
            "heading": kind.heading(record),
            "facts": kind.facts(record, False),
            "next": views.when(due[record.id][0], user.zone, today) if record.id in due else None,
            "open": due[record.id][1] if record.id in due else 0,
        }
        for record in kind.listing(ctx.session, user, archived=archived)
    ]
    return render(
        ctx,
        "jobs_contacts.html",
        status,
        title=kind.title,
        kind=kind,
        rows=rows,
        archived=archived,
        stages=views.STAGES,
        values=values or dict(kind.new_values),
        errors=errors or {},
    )


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


def _others(ctx: Ctx, kind: Kind, outreach) -> dict:
    """The names of the records on the other side of a page's outreach, by id."""
    wanted = {getattr(o, kind.other_key) for o in outreach} - {None}
    if not wanted:
        return {}
    model = kind.other
    rows = ctx.session.scalars(select(model).where(model.user_id == ctx.user.id, model.id.in_(wanted)))
    return {r.id: (views.subject(r, None) if isinstance(r, Job) else r.name) for r in rows}


def record_page(
    ctx: Ctx, kind: Kind, record_id: str, status: int = 200, values=None, errors=None, answer=None,
    notice: str | None = None,
):
    user = ctx.user
    record = kind.get(ctx.session, user, record_id)
    outreach, followups, notifications = queries.history(ctx.session, user, **{kind.noun: record})
    about_job = kind is JOBS
    events = views.timeline(user, ctx.now, outreach, followups, notifications, about_job=about_job)
    return render(
        ctx,
        "job_contact.html",
        status,
        title=kind.page_title(record),
        kind=kind,
        record=record,
        heading=kind.heading(record),
        facts=kind.facts(record, True),
        events=events,
        sent=views.outreach_rows(user, ctx.now, outreach, _others(ctx, kind, outreach)),
        **_answer_form(answer),
        stages=views.STAGES,
        values=values or {n: getattr(record, n) or "" for n in _names(kind.fields)},
        errors=errors or {},
        notice=notice,
    )


def answer_notice(ctx: Ctx, outreach_id: str) -> str | None:
    """After an answer is saved (and the browser redirected): what it changed, in a sentence."""
    try:
        oid = uuid.UUID(outreach_id)
    except ValueError:
        return None
    outcome = ctx.session.scalar(
        select(Outreach.outcome).where(Outreach.user_id == ctx.user.id, Outreach.id == oid)
    )
    if outcome is None:
        return None
    said = f"Answer saved: {views.OUTCOME_CHOICES[outcome].split(':')[0].lower()}."
    if outcome in (Outcome.POSITIVE.value, Outcome.NEGATIVE.value):
        return f"{said} Its open follow-ups are cancelled."
    due = ctx.session.scalar(
        select(FollowUp.due_at).where(
            FollowUp.user_id == ctx.user.id, FollowUp.outreach_id == oid, chain_queries.is_open()
        ).order_by(FollowUp.due_at.desc())
    )
    if outcome == Outcome.LATER.value and due is not None:
        return f"{said} The thread pauses; one follow-up falls due {views.when(due, ctx.user.zone)}."
    return said


def _add(request: Request, ctx: Ctx, kind: Kind, form):
    parsed, errors = forms.parse(kind.form, forms.values(form, *_names(kind.fields)))
    if parsed is None:
        raise Rendered(list_page(ctx, kind, False, 422, _typed(kind, form), errors))
    record = kind.create(ctx.session, ctx.user, parsed.model_dump(), ctx.now)
    return redirect(request, f"/app/{kind.path}/{record.id}")


def _edit(request: Request, ctx: Ctx, kind: Kind, record_id: str, form):
    parsed, errors = forms.parse(kind.form, forms.values(form, *_names(kind.fields)))
    if parsed is None:
        raise Rendered(record_page(ctx, kind, record_id, 422, _typed(kind, form), errors))
    kind.update(ctx.session, ctx.user, record_id, changes=parsed.model_dump(), now=ctx.now)
    return redirect(request, f"/app/{kind.path}/{record_id}")


def _archive(request: Request, ctx: Ctx, kind: Kind, record_id: str, form):
    changes = {"archived": archived_flag(form.get("archived"))}
    kind.update(ctx.session, ctx.user, record_id, changes=changes, now=ctx.now)
    return redirect(request, local_path(form.get("back"), f"/app/{kind.path}"))


# --- the routes: the same five for each kind, and a job's stage ------------------------


@router.get("/app/jobs")
def jobs_page(ctx: Page, archived: str = ""):
    return list_page(ctx, JOBS, archived_flag(archived))


@router.post("/app/jobs")
def add_job(request: Request, ctx: Page, form: Posted):
    return _add(request, ctx, JOBS, form)


@router.get("/app/jobs/{job_id}")
def job_page(ctx: Page, job_id: str, answered: str = ""):
    return record_page(ctx, JOBS, job_id, notice=answer_notice(ctx, answered) if answered else None)


@router.post("/app/jobs/{job_id}")
def edit_job(request: Request, ctx: Page, job_id: str, form: Posted):
    return _edit(request, ctx, JOBS, job_id, form)


@router.post("/app/jobs/{job_id}/archive")
def archive_job(request: Request, ctx: Page, job_id: str, form: Posted):
    return _archive(request, ctx, JOBS, job_id, form)


@router.post("/app/jobs/{job_id}/stage")
def set_stage(request: Request, ctx: Page, job_id: str, form: Posted):
    try:
        stage = Stage(form.get("stage"))
    except ValueError:
        raise Rendered(
            list_page(ctx, JOBS, False, 422, errors={"list": "Pick a stage from the list."})
        ) from None
    jobs.update_job(ctx.session, ctx.user, job_id, changes={"stage": stage}, now=ctx.now)
    return redirect(request, local_path(form.get("back"), "/app/jobs"))


@router.get("/app/contacts")
def contacts_page(ctx: Page, archived: str = ""):
    return list_page(ctx, CONTACTS, archived_flag(archived))


@router.post("/app/contacts")
def add_contact(request: Request, ctx: Page, form: Posted):
    return _add(request, ctx, CONTACTS, form)


@router.get("/app/contacts/{contact_id}")
def contact_page(ctx: Page, contact_id: str, answered: str = ""):
    return record_page(ctx, CONTACTS, contact_id, notice=answer_notice(ctx, answered) if answered else None)


@router.post("/app/contacts/{contact_id}")
def edit_contact(request: Request, ctx: Page, contact_id: str, form: Posted):
    return _edit(request, ctx, CONTACTS, contact_id, form)


@router.post("/app/contacts/{contact_id}/archive")
def archive_contact(request: Request, ctx: Page, contact_id: str, form: Posted):
    return _archive(request, ctx, CONTACTS, contact_id, form)
