from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from followups.api import wire
from followups.api.deps import BEARER, CurrentUser, Now, SessionDep, Signed, SignedRead, SignedWrite
from followups.api.schemas import ContactOut, FollowupIn, FollowupOut, FollowupUpdate, JobOut, SendIn, error_responses
from followups.chains import buckets, queries
from followups.chains import service as followups
from followups.models import FollowUp

router = APIRouter(tags=["follow-ups"], responses=error_responses(401, 404, 409, 413, 422, 503))

def _keys(columns) -> list[str]:
    return [column.key for column in columns]


# The hottest answers: rows of the list's columns (followups.chains.queries) written as
# FollowupOut would be, without validating them (followups.api.wire).
# Mark-sent's answer has two more columns after these (queries.sent_answer_columns), which
# the record leaves out.
ANSWER = wire.Record(
    FollowupOut, _keys(queries.FOLLOWUP_COLUMNS),
    job=wire.Record(JobOut, _keys(queries.JOB_COLUMNS)),
    contact=wire.Record(ContactOut, _keys(queries.CONTACT_COLUMNS)),
)


@router.get("/followups", response_model=list[FollowupOut], openapi_extra=BEARER)
async def list_due(
    unit: SignedRead,
    due: buckets.Name = buckets.DEFAULT,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> Response:
    def read(signed: Signed):
        # Sign-in and query in one worker thread (Unit): plain rows in the answer's shape,
        # written out here on the event loop as the response model would write them
        # (followups.api.wire): no ORM object and no model per row.
        return followups.list_due_rows(signed.session, signed.user, due, now=signed.now, limit=limit)

    return wire.response([ANSWER(row) for row in await unit.run(read)])


@router.post("/followups", status_code=201, response_model=FollowupOut)
def create_followup(body: FollowupIn, user: CurrentUser, session: SessionDep, now: Now) -> FollowUp:
    created = followups.create_followup(
        session,
        user,
        job_id=body.job_id,
        contact_id=body.contact_id,
        due_at=body.due_at,
        note=body.note,
        type=body.type,
        now=now,
    )
    return followups.get_followup(session, user, created.id)


@router.get("/followups/{followup_id}", response_model=FollowupOut)
def get_followup(followup_id: str, user: CurrentUser, session: SessionDep) -> FollowUp:
    return followups.get_followup(session, user, followup_id)


@router.patch("/followups/{followup_id}", response_model=FollowupOut)
def update_followup(
    followup_id: str, body: FollowupUpdate, user: CurrentUser, session: SessionDep, now: Now
) -> FollowUp:
    return followups.update_followup(session, user, followup_id, changes=body.changes(), now=now)


@router.patch("/followups/{followup_id}/send", response_model=FollowupOut, openapi_extra=BEARER)
async def mark_sent(followup_id: str, unit: SignedWrite, body: SendIn | None = None) -> Response:
    note = body.note if body else None

    def send(signed: Signed):
        # Sign-in, send and commit in one worker thread (Unit); the answer is the row
        # read back in the transaction, written out here on the event loop.
        return followups.mark_sent_answer(signed.session, signed.user, followup_id, note=note, now=signed.now)

    return wire.response(ANSWER(await unit.run(send)))


@router.delete("/followups/{followup_id}", status_code=204)
def cancel_followup(followup_id: str, user: CurrentUser, session: SessionDep, now: Now) -> Response:
    followups.cancel_followup(session, user, followup_id, now=now)
    return Response(status_code=204)
