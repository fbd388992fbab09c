"""Contacts: the people a user reaches out to."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from followups.models import Contact, User
from followups.owned import add_owned, edit_owned, get_owned, list_owned

EDITABLE = ("name", "email", "company", "linkedin_url")


def create_contact(session: Session, user: User, *, fields: dict, now: datetime) -> Contact:
    return add_owned(session, Contact, user.id, fields, now=now)


def list_contacts(session: Session, user: User, *, archived: bool) -> Sequence[Contact]:
    return list_owned(session, Contact, user.id, archived=archived)


def get_contact(session: Session, user: User, contact_id) -> Contact:
    return get_owned(session, Contact, user.id, contact_id, "Contact")


def update_contact(session: Session, user: User, contact_id, *, changes: dict, now: datetime) -> Contact:
    contact = get_contact(session, user, contact_id)
    edit_owned(contact, changes, EDITABLE, now=now)
    session.flush()
    return contact
