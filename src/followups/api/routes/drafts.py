"""The drafted message of a follow-up, and the templates it is drafted from."""

from __future__ import annotations

from fastapi import APIRouter

from followups.api.deps import CurrentUser, Now, SessionDep
from followups.api.schemas import DraftOut, TemplatesIn, TemplatesOut, error_responses
from followups.mailbox import drafts, templates

router = APIRouter(tags=["drafts"], responses=error_responses(401, 404, 409, 413, 422, 503))


@router.get("/me/templates", response_model=TemplatesOut)
def get_templates(user: CurrentUser, session: SessionDep) -> TemplatesOut:
    """The templates follow-ups are drafted from: the user's own, or the shipped default."""
    return TemplatesOut.of(templates.list_templates(session, user))


@router.put("/me/templates", response_model=TemplatesOut)
def put_templates(body: TemplatesIn, user: CurrentUser, session: SessionDep, now: Now) -> TemplatesOut:
    """Replace the templates (Jinja2; variables first_name, company, role, days_since,
    subject; no loops or calls). A template left out or null goes back to the default. A
    syntax error or an unknown variable is a 422 naming the field (`attempt1.body`)."""
    return TemplatesOut.of(templates.save_templates(session, user, body.chosen(), now=now))


@router.get("/followups/{followup_id}/draft", response_model=DraftOut)
def get_draft(followup_id: str, user: CurrentUser, session: SessionDep, now: Now) -> DraftOut:
    """The message to send for an open follow-up of an email outreach (or a thank-you note),
    from the user's template. 409 when it has none (another channel, sent or cancelled)."""
    draft = drafts.get_draft(session, user, followup_id, now=now)
    return DraftOut(
        followup_id=draft.followup_id, template=draft.template, to=draft.to, subject=draft.subject,
        body=draft.body, mailto=draft.mailto, in_reply_to=draft.in_reply_to, references=list(draft.references),
    )
