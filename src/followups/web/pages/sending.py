"""Send now, from the Today page: the follow-up's draft sent from the user's own mailbox.

Not a page of the request's one transaction (`Page`): the send records itself, calls the
mail server and records the outcome in transactions of its own (followups.mailbox.send),
so this handler signs in with a read, and answers with a panel read afresh.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from followups.api.deps import Now
from followups.chains import service as chains
from followups.errors import Conflict, Unavailable
from followups.mailbox import send as sending
from followups.mailbox.service import load_account
from followups.web.deps import Posted, page_user
from followups.web.pages import today
from followups.web.render import Ctx
from followups.web.routing import LoginRequired, WebRoute
from followups.web.security import SESSION_COOKIE, csrf_token

router = APIRouter(route_class=WebRoute)

NO_MAILBOX = "No mailbox is connected: connect yours in Settings to send from here, or copy the draft."


@router.post("/app/followups/{followup_id}/send-now")
def send_now(request: Request, followup_id: str, form: Posted, now: Now):
    db = request.app.state.db
    tab = today.tab_of(form.get("tab"))
    with db.transaction(write=False) as session:
        user = page_user(request, session, now)
        if user is None:
            raise LoginRequired
        chains.get_followup(session, user, followup_id)  # a stranger's id: 404, as a missing one
        account = load_account(session, user)
    flash, code, status = None, "mailed", 200
    if account is None:
        flash, status = NO_MAILBOX, 409
    else:
        try:
            result = sending.send_now(db, user.id, followup_id, account, now=now)
        except (Conflict, Unavailable) as exc:
            flash, status = exc.detail, 409 if isinstance(exc, Conflict) else 502
    with db.transaction(write=False) as session:
        ctx = Ctx(request, session, now, user, csrf_token(request.cookies[SESSION_COOKIE]))
        if flash is not None:
            return today.answer(request, ctx, tab, "", flash, status, error=True)
        parts = [f"Sent to {result.to} from your mailbox."]
        if not result.confirmed:
            parts.append("The server's answer was lost: it is taken as sent and will not be sent again.")
        if not result.copy_saved:
            parts.append("Its copy could not be saved in your sent folder.")
        made = chains.sent_of(session, user, result.followup)
        parts.append(today.sent_message(ctx, made))
        return today.answer(request, ctx, tab, code, " ".join(parts))
