"""Send now: a follow-up's draft sent from the user's connected mailbox, and marked sent."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from followups.api.deps import BEARER, SignedWrite
from followups.api.schemas import FollowupOut, SentOut, error_responses
from followups.chains import service as chains
from followups.errors import Conflict
from followups.mailbox import send as sending
from followups.mailbox.service import load_account
from followups.users import service as users

router = APIRouter(tags=["drafts"], responses=error_responses(401, 404, 409, 413, 422, 502, 503))
NO_MAILBOX = "No mailbox is connected: connect one (PUT /me/mailbox) to send from it."


@router.post("/followups/{followup_id}/draft/send", response_model=SentOut, openapi_extra=BEARER)
async def send_draft(followup_id: str, request: Request, unit: SignedWrite) -> SentOut:
    """Send the follow-up's draft (GET /followups/{id}/draft) from the connected mailbox as
    a reply in its thread, file a copy in the sent folder, and mark the follow-up sent, in
    one step. Once: a repeated request (a double click, a retry) sends nothing again and
    answers as the first did (`repeated`: true), or 409 while the first is under way. 409
    also when no mailbox is connected or there is no draft; 502 when the mail server refuses
    the message or cannot be reached (nothing is marked; try again)."""
    db = request.app.state.db

    def work():
        # Signed in with a read; the send's transactions are its own, none held across the
        # call to the mail server (followups.mailbox.send).
        with db.transaction(write=False) as session:
            user = users.authenticate(session, unit.presented)
            chains.get_followup(session, user, followup_id)  # a stranger's or a missing one: 404 first
            account = load_account(session, user)
        if account is None:
            raise Conflict(NO_MAILBOX)
        return sending.send_now(db, user.id, followup_id, account, now=unit.presented.at)

    result = await run_in_threadpool(work)  # off the event loop: the send waits on the network
    return SentOut(
        followup=FollowupOut.model_validate(result.followup), message_id=result.message_id, to=result.to,
        subject=result.subject, confirmed=result.confirmed, copy_saved=result.copy_saved, repeated=result.repeated,
    )
