"""Jobs and contacts."""

from __future__ import annotations

from fastapi import APIRouter

from followups.api.deps import CurrentUser, Now, SessionDep
from followups.api.schemas import (
    ContactIn,
    ContactOut,
    ContactUpdate,
    JobIn,
    JobOut,
    JobUpdate,
    error_responses,
)
from followups.contacts import service as contacts
from followups.jobs import service as jobs
from followups.models import Contact, Job

router = APIRouter(tags=["jobs and contacts"], responses=error_responses(401, 404, 413, 422, 503))


@router.post("/jobs", status_code=201, response_model=JobOut)
def create_job(body: JobIn, user: CurrentUser, session: SessionDep, now: Now) -> Job:
    return jobs.create_job(
        session, user, company=body.company, role=body.role, url=body.url, stage=body.stage, now=now
    )


@router.get("/jobs", response_model=list[JobOut])
def list_jobs(user: CurrentUser, session: SessionDep, archived: bool = False) -> list[Job]:
    return list(jobs.list_jobs(session, user, archived=archived))


@router.get("/jobs/{job_id}", response_model=JobOut)
def get_job(job_id: str, user: CurrentUser, session: SessionDep) -> Job:
    return jobs.get_job(session, user, job_id)


@router.patch("/jobs/{job_id}", response_model=JobOut)
def update_job(job_id: str, body: JobUpdate, user: CurrentUser, session: SessionDep, now: Now) -> Job:
    return jobs.update_job(session, user, job_id, changes=body.changes(), now=now)


@router.post("/contacts", status_code=201, response_model=ContactOut)
def create_contact(body: ContactIn, user: CurrentUser, session: SessionDep, now: Now) -> Contact:
    return contacts.create_contact(session, user, fields=body.model_dump(), now=now)


@router.get("/contacts", response_model=list[ContactOut])
def list_contacts(user: CurrentUser, session: SessionDep, archived: bool = False) -> list[Contact]:
    return list(contacts.list_contacts(session, user, archived=archived))


@router.get("/contacts/{contact_id}", response_model=ContactOut)
def get_contact(contact_id: str, user: CurrentUser, session: SessionDep) -> Contact:
    return contacts.get_contact(session, user, contact_id)


@router.patch("/contacts/{contact_id}", response_model=ContactOut)
def update_contact(
    contact_id: str, body: ContactUpdate, user: CurrentUser, session: SessionDep, now: Now
) -> Contact:
    return contacts.update_contact(session, user, contact_id, changes=body.changes(), now=now)
