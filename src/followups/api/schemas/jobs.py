"""Jobs: what POST /jobs takes, what PATCH /jobs/{id} changes, what a job looks like."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import Field

from followups.api.schemas.fields import Name, Patch, Url, Wire, not_null
from followups.models import Stage


class JobIn(Wire):
    company: Name
    role: Name
    url: Url | None = None
    stage: Stage = Stage.APPLIED


class JobUpdate(Patch):
    _not_null = not_null("company", "role", "stage", "archived")
    company: Name | None = None
    role: Name | None = None
    url: Url | None = None
    stage: Stage | None = None
    archived: Annotated[bool, Field(strict=True)] | None = None


class JobOut(Wire):
    id: uuid.UUID
    company: str
    role: str
    url: str | None
    stage: Stage
    archived: bool
    archived_at: datetime | None
    created_at: datetime
