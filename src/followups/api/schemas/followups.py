"""Follow-ups: made by hand, edited, sent, and what one looks like."""

from __future__ import annotations

import uuid
from datetime import datetime

from followups.api.schemas.contacts import ContactOut
from followups.api.schemas.fields import Instant, JobOrContact, Note, Patch, Wire, not_null
from followups.api.schemas.jobs import JobOut
from followups.models import FollowupType


class FollowupIn(JobOrContact):
    due_at: Instant
    note: Note | None = None
    type: FollowupType = FollowupType.STANDARD


class FollowupUpdate(Patch):
    _not_null = not_null("due_at")
    due_at: Instant | None = None
    note: Note | None = None


class SendIn(Wire):
    note: Note | None = None


class FollowupOut(Wire):
    id: uuid.UUID
    job_id: uuid.UUID | None
    contact_id: uuid.UUID | None
    outreach_id: uuid.UUID | None
    attempt_no: int
    type: FollowupType
    due_at: datetime
    sent_at: datetime | None
    cancelled_at: datetime | None
    cancel_reason: str | None
    note: str | None
    why: str | None
    job: JobOut | None
    contact: ContactOut | None
