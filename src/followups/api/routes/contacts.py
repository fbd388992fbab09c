"""Contacts: add, list (active or archived), read, edit and archive."""

from __future__ import annotations

from fastapi import APIRouter

from followups.api.deps import CurrentUser, Now, SessionDep
from followups.api.schemas import ContactIn, ContactOut, ContactUpdate, error_responses
from followups.contacts import service as contacts
from followups.models import Contact

# One tag with the jobs' routes (api/routes/jobs.py): the published API groups them.
router = APIRouter(tags=["jobs and contacts"], responses=error_responses(401, 404, 413, 422, 503))


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
