"""Jobs: add, list (active or archived), read, edit, stage and archive."""

from __future__ import annotations

from fastapi import APIRouter

from followups.api.deps import CurrentUser, Now, SessionDep
from followups.api.schemas import JobIn, JobOut, JobUpdate, error_responses
from followups.jobs import service as jobs
from followups.models import Job

# One tag with the contacts' routes (api/routes/contacts.py): the published API groups them.
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
