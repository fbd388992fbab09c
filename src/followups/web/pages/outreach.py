"""Record an outreach in one form: pick or add the job and the contact, and see attempt 1."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request

from followups import clock
from followups.chains import buckets
from followups.chains import service as followups
from followups.contacts import service as contacts
from followups.errors import Invalid, NotFound
from followups.jobs import service as jobs
from followups.models import REPLIES, Channel, Outcome
from followups.outreach import service as outreach
from followups.web import forms, queries, views
from followups.web.deps import Page, Posted
from followups.web.pages.answers import resume_errors, service_errors
from followups.web.render import Ctx, render
from followups.web.routing import Rendered, WebRoute, redirect

router = APIRouter(route_class=WebRoute)
FIELDS = (
    "job_id",
    "contact_id",
    "new_company",
    "new_role",
    "new_contact",
    "new_contact_email",
    "channel",
    "date",
    "note",
    "outcome",
    "resume_on",
)
# An outreach dated before today is taken as sent at this local hour.


def _form_page(
    ctx: Ctx, status: int, values: dict, errors: dict, recorded=None, nothing_scheduled="", resumed=False,
    recorded_in: buckets.Bucket = buckets.BY_NAME["upcoming"],
    replaced: int = 0,
):
    user = ctx.user
    today = queries.local_today(ctx.now, user)
    return render(
        ctx,
        "record.html",
        status,
        title="Record outreach",
        jobs=jobs.list_jobs(ctx.session, user, archived=False),
        contacts=contacts.list_contacts(ctx.session, user, archived=False),
        channels=views.CHANNELS,
        stages=views.STAGES,
        outcomes=views.OUTCOME_CHOICES,
        resume_examples=views.RESUME_EXAMPLES,
        values=values,
        errors=errors,
        today_iso=today.isoformat(),
        recorded=recorded,
        recorded_in=recorded_in,
        replaced=replaced,
        resumed=resumed,
        nothing_scheduled=nothing_scheduled,
    )


@router.get("/app/record")
def record_page(
    ctx: Page, job: str = "", contact: str = "", followup: str = "", recorded: str = "", replaced: int = 0
):
    shown, resumed, where = None, False, buckets.BY_NAME["upcoming"]
    if followup:
        try:
            fu = followups.get_followup(ctx.session, ctx.user, followup)
            today = queries.local_today(ctx.now, ctx.user)
            sent_with = queries.outreach_by_id(ctx.session, ctx.user, [fu.outreach_id])
            shown = views.item(fu, ctx.user, today, sent_with)
            where = buckets.partition_of(fu.due_at, ctx.now, ctx.user.zone)  # the tab it is really in
            if fu.outreach_id is not None:
                made = outreach.get_outreach(ctx.session, ctx.user, fu.outreach_id)
                resumed = made.outcome == Outcome.LATER
        except NotFound:
            shown = None
    values = {
        "job_id": job,
        "contact_id": contact,
        "channel": Channel.EMAIL.value,
        "date": queries.local_today(ctx.now, ctx.user).isoformat(),
        "outcome": Outcome.NONE.value,
    }
    return _form_page(
        ctx, 200, values, {}, recorded=shown, nothing_scheduled=recorded, resumed=resumed, recorded_in=where,
        replaced=replaced if shown else 0,
    )


def _check_choices(parsed: forms.OutreachForm, errors: dict) -> None:
    if parsed.job_id and (parsed.new_company or parsed.new_role):
        errors["new_company"] = "Pick an existing job or type a new one, not both."
    elif bool(parsed.new_company) != bool(parsed.new_role):
        errors["new_role" if parsed.new_company else "new_company"] = (
            "A new job needs a company and a role."
        )
    if parsed.contact_id and parsed.new_contact:
        errors["new_contact"] = "Pick an existing contact or type a new one, not both."
    elif parsed.new_contact_email and not parsed.new_contact:
        errors["new_contact"] = "A new contact needs a name."
    if not (parsed.job_id or parsed.new_company or parsed.contact_id or parsed.new_contact):
        errors.setdefault("job_id", "Pick or add a job, a contact, or both.")


def _day(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


@router.post("/app/record")
def record(request: Request, ctx: Page, form: Posted):
    user = ctx.user
    values = {name: form.get(name) for name in FIELDS}
    values["keep_earlier"] = bool(form.get("keep_earlier"))
    parsed, errors = forms.parse(forms.OutreachForm, forms.values(form, *FIELDS))
    today = queries.local_today(ctx.now, user)
    if parsed is not None:
        _check_choices(parsed, errors)
        errors.update(resume_errors(parsed.outcome, parsed.resume_on, today))
    if "date" not in errors and _day(form.get("date")) and _day(form.get("date")) > today:
        errors["date"] = "An outreach cannot be sent in the future."
    sent_at: dt.datetime | None = ctx.now
    if parsed is not None and "date" not in errors and parsed.date != today:
        sent_at, problem = forms.local_instant(parsed.date, clock.DAY_TIME, user.zone)
        if problem:
            errors["date"] = problem
    if parsed is None or errors:
        raise Rendered(_form_page(ctx, 422, values, errors))
    found = {}
    for field, lookup in (("job_id", jobs.get_job), ("contact_id", contacts.get_contact)):
        chosen = getattr(parsed, field)
        if chosen:
            try:
                found[field] = lookup(ctx.session, user, chosen)
            except NotFound:
                errors[field] = "It no longer exists; pick another."
    if errors:
        raise Rendered(_form_page(ctx, 422, values, errors))
    job = (
        outreach.NewJob(parsed.new_company, parsed.new_role) if parsed.new_company else parsed.job_id or None
    )
    # A person added inline works where the job is: they keep its company.
    company = parsed.new_company or (found["job_id"].company if "job_id" in found else None)
    contact = (
        outreach.NewContact(parsed.new_contact, parsed.new_contact_email, company)
        if parsed.new_contact
        else parsed.contact_id or None
    )
    try:
        made = outreach.record_outreach(
            ctx.session,
            user,
            job=job,
            contact=contact,
            channel=parsed.channel,
            sent_at=sent_at,
            note=parsed.note,
            outcome=parsed.outcome,
            resume_on=parsed.resume_on,
            keep_earlier_chain=values["keep_earlier"],
            now=ctx.now,
        )
    except Invalid as exc:  # checked above (resume_errors): only a clock ticking past midnight
        raise Rendered(_form_page(ctx, 422, values, service_errors(exc))) from None
    followup = made.followup
    if followup is None:
        settled = parsed.outcome in REPLIES
        return redirect(request, f"/app/record?recorded={'reply' if settled else 'none'}")
    replaced = f"&replaced={made.superseded}" if made.superseded else ""
    return redirect(request, f"/app/record?followup={followup.id}{replaced}")
