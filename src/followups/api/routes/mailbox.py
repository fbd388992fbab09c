"""The user's connected mailbox: PUT (check both logins, then save), GET, DELETE."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool

from followups.api.deps import CurrentUser, Now, SessionDep, SignedInFirst, bearer_token
from followups.api.schemas import MailboxIn, MailboxOut, error_responses
from followups.errors import NotFound
from followups.mailbox import service as mailboxes
from followups.models import Mailbox
from followups.users import service as users
from followups.users.tokens import Presented

router = APIRouter(tags=["mailbox"], responses=error_responses(401, 413, 422, 503))
NONE_CONNECTED = "No mailbox is connected (PUT /me/mailbox connects one)."


def mailbox_out(mailbox: Mailbox) -> MailboxOut:
    return MailboxOut.model_validate({
        **{c: getattr(mailbox, c) for c in MailboxOut.model_fields if hasattr(mailbox, c)},
        "inbox_folder": mailbox.inbox_folder, "sent_folder": mailbox.sent_folder,
        "connected_at": mailbox.created_at,
    })


@router.put("/me/mailbox", response_model=MailboxOut)
async def connect_mailbox(
    body: MailboxIn, request: Request, signed: SignedInFirst, token: Annotated[str, Depends(bearer_token)],
    now: Now,
) -> MailboxOut:
    """Connect (or replace) the mailbox the worker syncs. Both logins are checked at once
    first, each with a timeout; a 422 names what failed (host unreachable, TLS, wrong
    password, no such folder). Nothing is saved unless both succeed. The password is stored
    encrypted with the server's key and never returned."""
    db, settings = request.app.state.db, request.app.state.settings
    # Signed in first (no stranger makes the server dial out), then the check with no
    # transaction open (it waits on the network), then the save: each in a thread.
    account = await run_in_threadpool(
        mailboxes.check, body.account(signed.email), sent=body.sent_folder, timeout=settings.mailbox_timeout_s)

    def save() -> MailboxOut:
        with db.transaction() as session:
            user = users.authenticate(session, Presented(token, now))
            return mailbox_out(mailboxes.save_mailbox(
                session, user, account, now=now, create_contacts=body.create_contacts, contact_tag=body.contact_tag))

    return await run_in_threadpool(save)


@router.get("/me/mailbox", response_model=MailboxOut, responses=error_responses(404))
def get_mailbox(user: CurrentUser, session: SessionDep) -> MailboxOut:
    """The connected mailbox and how its sync goes (status, lastError, lastSyncAt)."""
    mailbox = mailboxes.find_mailbox(session, user)
    if mailbox is None:
        raise NotFound(NONE_CONNECTED)
    return mailbox_out(mailbox)


@router.delete("/me/mailbox", status_code=204)
def disconnect_mailbox(user: CurrentUser, session: SessionDep) -> Response:
    """Delete the stored credentials and stop the sync (again 204 when none is connected).
    The outreach, outcomes and notifications it made stay."""
    mailboxes.disconnect(session, user)
    return Response(status_code=204)
