"""The settings page's mailbox section: connect (both logins checked first, with no
transaction open while the servers answer), disconnect."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError
from pydantic.alias_generators import to_snake

from followups.api.deps import Now
from followups.api.schemas import MailboxIn
from followups.errors import Invalid
from followups.mailbox import service as mailboxes
from followups.web.deps import Page, Posted, signed_in
from followups.web.pages.settings import _page
from followups.web.routing import Rendered, WebRoute, redirect

router = APIRouter(route_class=WebRoute)
FIELDS = ("imap_host", "imap_port", "imap_security", "smtp_host", "smtp_port", "smtp_security", "username",
          "password", "address", "inbox_folder", "sent_folder", "contact_tag")


def _sentence(message: str) -> str:
    message = message.removeprefix("Value error, ")
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")


@router.post("/app/settings/mailbox")
async def connect_mailbox(request: Request, form: Posted, now: Now):
    db = request.app.state.db
    values = {name: (form.get(name) or "").strip() for name in FIELDS}
    values["password"] = form.get("password") or ""
    values["create_contacts"] = bool(form.get("create_contacts"))

    def failed(errors: dict):
        shown = {k: v for k, v in values.items() if k != "password"}
        with db.transaction(write=False) as session:
            return _page(signed_in(request, session, now), 422, {"mailbox": errors}, shown)

    def who() -> str:
        with db.transaction(write=False) as session:
            return signed_in(request, session, now).user.email

    email = await run_in_threadpool(who)  # signed in before the server dials out
    given: dict = {k: v for k, v in values.items() if v != "" or k == "password"}
    for port in ("imap_port", "smtp_port"):  # a form sends text; the API takes numbers only
        if given.get(port, "").isdigit():
            given[port] = int(given[port])
    try:
        body = MailboxIn(**given)
    except ValidationError as exc:
        errors = {str(e["loc"][0]): _sentence(e["msg"]) for e in exc.errors()}
        raise Rendered(await run_in_threadpool(failed, errors)) from None
    try:
        account = await run_in_threadpool(
            mailboxes.check, body.account(email), sent=body.sent_folder,
            timeout=request.app.state.settings.mailbox_timeout_s)
    except Invalid as exc:
        errors = {to_snake(f.field): _sentence(f.message) for f in exc.fields}
        raise Rendered(await run_in_threadpool(failed, errors)) from None

    def save() -> None:
        with db.transaction() as session:
            mailboxes.save_mailbox(session, signed_in(request, session, now).user, account, now=now,
                                   create_contacts=body.create_contacts, contact_tag=body.contact_tag)

    await run_in_threadpool(save)
    return redirect(request, "/app/settings?saved=mailbox#mailbox")


@router.post("/app/settings/mailbox/disconnect")
def disconnect_mailbox(request: Request, ctx: Page, form: Posted):
    mailboxes.disconnect(ctx.session, ctx.user)
    return redirect(request, "/app/settings?saved=mailbox-removed#mailbox")
