from __future__ import annotations

from fastapi import APIRouter, Response

from followups.api.deps import CurrentUser, Now, SessionDep
from followups.api.schemas import (
    OutreachCreated,
    OutreachIn,
    OutreachOut,
    OutreachUpdate,
    error_responses,
)
from followups.chains import service as followups
from followups.models import Outreach
from followups.outreach import service as outreach

router = APIRouter(tags=["outreach"], responses=error_responses(401, 404, 413, 422, 503))


@router.post("/outreach", status_code=201, response_model=OutreachCreated)
def create_outreach(body: OutreachIn, user: CurrentUser, session: SessionDep, now: Now) -> OutreachCreated:
    recorded = outreach.record_outreach(
        session,
        user,
        job=body.job_id,
        contact=body.contact_id,
        channel=body.channel,
        sent_at=body.sent_at,
        note=body.note,
        outcome=body.outcome,
        create_followup=body.create_followup,
        resume_on=body.resume_on,
        keep_earlier_chain=body.keep_earlier_chain,
        now=now,
    )
    followup = recorded.followup
    embedded = followups.get_followup(session, user, followup.id) if followup else None
    return OutreachCreated.model_validate(
        {**OutreachOut.model_validate(recorded.outreach).model_dump(), "followup": embedded,
         "superseded": recorded.superseded}
    )


@router.get("/outreach", response_model=list[OutreachOut])
def list_outreach(
    user: CurrentUser, session: SessionDep, jobId: str | None = None, contactId: str | None = None  # noqa: N803
) -> list[Outreach]:
    return list(outreach.list_outreach(session, user, job_id=jobId, contact_id=contactId))


@router.patch("/outreach/{outreach_id}", response_model=OutreachOut)
def update_outreach(
    outreach_id: str, body: OutreachUpdate, user: CurrentUser, session: SessionDep, now: Now
) -> Outreach:
    return outreach.update_outreach(session, user, outreach_id, changes=body.changes(), now=now)


@router.delete("/outreach/{outreach_id}", status_code=204)
def delete_outreach(outreach_id: str, user: CurrentUser, session: SessionDep, now: Now) -> Response:
    outreach.delete_outreach(session, user, outreach_id, now=now)
    return Response(status_code=204)
