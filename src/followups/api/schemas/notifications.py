"""Notifications."""

from __future__ import annotations

import uuid
from datetime import datetime

from followups.api.schemas.fields import Wire


class NotificationOut(Wire):
    id: uuid.UUID
    kind: str
    message: str
    due_at: datetime
    sent_at: datetime | None
    job_id: uuid.UUID | None
    contact_id: uuid.UUID | None
    followup_id: uuid.UUID | None
