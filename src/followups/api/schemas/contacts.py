"""Contacts: what POST /contacts takes, what PATCH /contacts/{id} changes, what a contact looks like."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import Field

from followups.api.schemas.fields import Email, Name, OptionalText, Patch, Url, Wire, not_null


class ContactIn(Wire):
    name: Name
    email: Email | None = None
    company: OptionalText | None = None
    linkedin_url: Url | None = None


class ContactUpdate(Patch):
    _not_null = not_null("name", "archived")
    name: Name | None = None
    email: Email | None = None
    company: OptionalText | None = None
    linkedin_url: Url | None = None
    archived: Annotated[bool, Field(strict=True)] | None = None


class ContactOut(Wire):
    id: uuid.UUID
    name: str
    email: str | None
    company: str | None
    linkedin_url: str | None
    archived: bool
    archived_at: datetime | None
    created_at: datetime
