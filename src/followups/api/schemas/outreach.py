"""Outreach: what is recorded, what an answer changes, what comes back."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import ConfigDict, Field

from followups.api.schemas.fields import Instant, JobOrContact, Note, Patch, ResumePhrase, Wire, not_null
from followups.api.schemas.followups import FollowupOut
from followups.models import Channel, Outcome


def _later_names_a_day(schema: dict) -> None:
    # resumeOn goes with outcome LATER, and LATER needs it (the service's rule, stated).
    day = {"required": ["resumeOn"], "properties": {"resumeOn": {"type": "string"}}}
    later = {"required": ["outcome"], "properties": {"outcome": {"const": Outcome.LATER.value}}}
    schema["allOf"] = [{"if": day, "then": later}, {"if": later, "then": day}]


class OutreachIn(JobOrContact):
    model_config = ConfigDict(json_schema_extra=_later_names_a_day)

    channel: Channel
    sent_at: Instant | None = None
    note: Note | None = None
    outcome: Outcome = Outcome.NONE
    create_followup: Annotated[bool, Field(strict=True)] = True
    # With outcome LATER ("not now"): when to follow up, as a date or a short phrase.
    resume_on: ResumePhrase | None = None
    # false: a new chain replaces the open one of an earlier outreach to the same contact
    # for the same job (cancelled: "Superseded by the outreach of <day>"), as the pages
    # and the terminal do by default. The API keeps the earlier chain unless asked, as
    # its contract (v1) always did.
    keep_earlier_chain: Annotated[bool, Field(strict=True)] = True


class OutreachUpdate(Patch):
    model_config = ConfigDict(json_schema_extra=_later_names_a_day)

    _not_null = not_null("outcome")
    outcome: Outcome | None = None
    note: Note | None = None
    resume_on: ResumePhrase | None = None


class OutreachOut(Wire):
    id: uuid.UUID
    job_id: uuid.UUID | None
    contact_id: uuid.UUID | None
    channel: Channel
    sent_at: datetime
    note: str | None
    outcome: Outcome
    # When the answer came (POSITIVE, NEGATIVE, LATER set on an existing outreach).
    replied_at: datetime | None
    # LATER: the local day the thread resumes.
    resume_on: date | None
    created_at: datetime


class OutreachCreated(OutreachOut):
    followup: FollowupOut | None
    # How many open follow-ups of an earlier outreach (same contact, same job) it replaced.
    superseded: int = 0
