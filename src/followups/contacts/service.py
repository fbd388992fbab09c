"""Contacts: the people a user reaches out to."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from followups.models import Contact, User
from followups.owned import get_owned

EDITABLE = ("name", "email", "company", "linkedin_url")


def create_contact(session: Session, user: User, *, fields: dict, now: datetime) -> Contact:
    contact = Contact(user_id=user.id, created_at=now, updated_at=now, **fields)
    session.add(contact)
    session.flush()
    return contact


def list_contacts(session: Session, user: User, *, archived: bool) -> Sequence[Contact]:
    archived_filter = Contact.archived_at.is_not(None) if archived else Contact.archived_at.is_(None)
    return session.scalars(
        select(Contact)
        .where(Contact.user_id == user.id, archived_filter)
        .order_by(Contact.created_at, Contact.id)
    ).all()


def get_contact(session: Session, user: User, contact_id) -> Contact:
    return get_owned(session, Contact, user.id, contact_id, "Contact")


def update_contact(session: Session, user: User, contact_id, *, changes: dict, now: datetime) -> Contact:
    contact = get_contact(session, user, contact_id)
    for name in EDITABLE:
        if name in changes:
            setattr(contact, name, changes[name])
    if "archived" in changes:
        if changes["archived"] and contact.archived_at is None:
            contact.archived_at = now
        elif not changes["archived"]:
            contact.archived_at = None
    contact.updated_at = now
    session.flush()
    return contact
