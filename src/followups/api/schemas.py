"""Wire shapes: camelCase JSON, strict about what comes in, explicit about what goes out."""

from __future__ import annotations

import unicodedata
import uuid
from datetime import UTC, date, datetime
from typing import Annotated

from email_validator import EmailNotValidError, validate_email
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)
from pydantic.alias_generators import to_camel

from followups import input_limits as lim
from followups.cadence import MAX_DAYS, MAX_DELAYS
from followups.models import Channel, FollowupType, Outcome, Stage
from followups.rules import MAX_GAP_DAYS, MAX_HOLIDAYS


def _no_control(value: str) -> str:
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        raise ValueError("must not contain control characters")
    return value


def _no_nul_or_control_but_whitespace(value: str) -> str:
    if any(unicodedata.category(ch) == "Cc" and ch not in "\n\r\t" for ch in value):
        raise ValueError("must not contain NUL or control characters")
    return value


def _instant_text(value):
    if isinstance(value, str):
        return value
    if isinstance(value, datetime):
        return value
    raise ValueError("must be an ISO 8601 instant with a UTC offset, as a string")


def _instant_in_range(value: datetime) -> datetime:
    if not lim.MIN_YEAR <= value.year <= lim.MAX_YEAR:
        raise ValueError(f"must be between the years {lim.MIN_YEAR} and {lim.MAX_YEAR}")
    return value.astimezone(UTC)


def _email(value: str) -> str:
    try:
        # Syntax only: no DNS look-up, and local or test domains are fine for self-hosting.
        return validate_email(
            value, check_deliverability=False, globally_deliverable=False, test_environment=True
        ).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"is not a valid email address: {exc}") from None


Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=lim.NAME_MAX),
    AfterValidator(_no_control),
]
OptionalText = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=lim.NAME_MAX), AfterValidator(_no_control)
]
Url = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=lim.URL_MAX), AfterValidator(_no_control)
]
Note = Annotated[str, StringConstraints(max_length=lim.NOTE_MAX), AfterValidator(_no_nul_or_control_but_whitespace)]
Email = Annotated[str, StringConstraints(max_length=lim.EMAIL_MAX), AfterValidator(_no_control), AfterValidator(_email)]
Password = Annotated[
    str,
    StringConstraints(min_length=lim.PASSWORD_MIN, max_length=lim.PASSWORD_MAX),
    AfterValidator(_no_nul_or_control_but_whitespace),
]
TimeZoneName = Annotated[str, StringConstraints(min_length=1, max_length=lim.ZONE_MAX)]
RefId = Annotated[str, StringConstraints(min_length=1, max_length=lim.ID_MAX)]
Instant = Annotated[AwareDatetime, BeforeValidator(_instant_text), AfterValidator(_instant_in_range)]


class Wire(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, from_attributes=True)


def _refuse_null(value):
    if value is None:
        raise ValueError("cannot be null")
    return value


def not_null(*names: str):
    """For a Patch: these fields may be left out but not set to null."""
    return field_validator(*names, mode="after")(_refuse_null)


class Patch(Wire):
    """A partial update: only fields present in the body change; `null` clears a
    nullable field (the others refuse it with `not_null`)."""

    def changes(self) -> dict:
        return {name: getattr(self, name) for name in self.model_fields_set}


# --- auth and the user ---------------------------------------------------------------


class RegisterIn(Wire):
    email: Email
    password: Password
    timezone: TimeZoneName = "UTC"


class LoginIn(Wire):
    email: Annotated[str, StringConstraints(max_length=lim.EMAIL_MAX), AfterValidator(_no_control)]
    password: Annotated[
        str, StringConstraints(max_length=lim.PASSWORD_MAX), AfterValidator(_no_nul_or_control_but_whitespace)
    ]


class TokenOut(Wire):
    access_token: str
    token_type: str = "bearer"


class UserOut(Wire):
    id: uuid.UUID
    email: str
    timezone: str


class CadenceIO(Wire):
    followup_delays_days: Annotated[
        list[Annotated[int, Field(ge=1, le=MAX_DAYS, strict=True)]],
        Field(min_length=1, max_length=MAX_DELAYS),
    ] = [3, 3]
    dormant_after_days: Annotated[int, Field(ge=1, le=MAX_DAYS, strict=True)] = 7
    skip_weekends: Annotated[bool, Field(strict=True)] = False
    # Attempt delays follow the user's median days to reply (2..10, after 5 replies with a
    # known date; GET /stats). Shown only when on, so the v1 shape stays as it was.
    adaptive: Annotated[bool, Field(strict=True, exclude_if=lambda on: not on)] = False


Holidays = Annotated[list[date], Field(max_length=MAX_HOLIDAYS)]
GapDays = Annotated[int, Field(ge=0, le=MAX_GAP_DAYS, strict=True)]


class RulesOut(Wire):
    """The job-search rules (all off by default; see followups.rules)."""

    thread_by_job: bool
    spread_by_company: bool
    min_gap_days: int
    stage_aware: bool
    holidays: list[date]


class RulesUpdate(Patch):
    """Only the rules given change; `holidays` replaces the list."""

    _not_null = not_null("thread_by_job", "spread_by_company", "min_gap_days", "stage_aware", "holidays")
    thread_by_job: Annotated[bool, Field(strict=True)] | None = None
    spread_by_company: Annotated[bool, Field(strict=True)] | None = None
    min_gap_days: GapDays | None = None
    stage_aware: Annotated[bool, Field(strict=True)] | None = None
    holidays: Holidays | None = None


class HolidaysImported(Wire):
    added: int
    ignored: int
    holidays: list[date]


def _http_url(value: str) -> str:
    if not value.lower().startswith(("http://", "https://")):
        raise ValueError("must be an http:// or https:// URL")
    return value


class WebhookIn(Wire):
    url: Annotated[Url, AfterValidator(_http_url)]
    # The receiver's shared secret: each POST carries HMAC-SHA256 of "<timestamp>.<body>".
    secret: Annotated[
        str, StringConstraints(min_length=lim.SECRET_MIN, max_length=lim.SECRET_MAX), AfterValidator(_no_control)
    ]


class WebhookOut(Wire):
    url: str
    has_secret: bool = True


class MeOut(UserOut):
    cadence: CadenceIO
    digest_hour: int
    digest_email: bool
    webhook: WebhookOut | None
    # Path of the secret calendar feed (GET it with no other auth); null when revoked.
    calendar_path: str | None
    rules: RulesOut


class MeUpdate(Patch):
    _not_null = not_null("timezone", "cadence", "digest_hour", "digest_email", "rules")
    timezone: TimeZoneName | None = None
    cadence: CadenceIO | None = None
    digest_hour: Annotated[int, Field(ge=0, le=23, strict=True)] | None = None
    digest_email: Annotated[bool, Field(strict=True)] | None = None
    # null removes the webhook.
    webhook: WebhookIn | None = None
    rules: RulesUpdate | None = None


# --- jobs and contacts ---------------------------------------------------------------


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


# --- outreach and follow-ups ---------------------------------------------------------


ResumePhrase = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=lim.RESUME_MAX),
    AfterValidator(_no_control),
    Field(examples=["2026-12-15", "next week", "after the 15th", "in 10 days", "on Monday"]),
]


class JobOrContact(Wire):
    # At least one is required; the service says so with the field's name.
    job_id: RefId | None = None
    contact_id: RefId | None = None


class OutreachIn(JobOrContact):
    channel: Channel
    sent_at: Instant | None = None
    note: Note | None = None
    outcome: Outcome = Outcome.NONE
    create_followup: Annotated[bool, Field(strict=True)] = True
    # With outcome LATER ("not now"): when to follow up, as a date or a short phrase.
    resume_on: ResumePhrase | None = None


class OutreachUpdate(Patch):
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


class OutreachCreated(OutreachOut):
    followup: FollowupOut | None


class NotificationOut(Wire):
    id: uuid.UUID
    kind: str
    message: str
    due_at: datetime
    sent_at: datetime | None
    job_id: uuid.UUID | None
    contact_id: uuid.UUID | None
    followup_id: uuid.UUID | None


class FieldErrorOut(BaseModel):
    field: str
    message: str


class ErrorOut(BaseModel):
    error: str
    detail: str
    fields: list[FieldErrorOut] | None = None


def error_responses(*codes: int) -> dict:
    """OpenAPI entries for the error answers a route can give, all with ErrorOut."""
    text = {
        401: "No valid bearer token.",
        404: "Not found, or owned by another user.",
        409: "Not allowed in the record's current state.",
        413: "The request body is too large.",
        422: "Invalid input; `fields` names each bad field.",
        429: "Too many failed sign-ins.",
        503: "The database is unavailable.",
    }
    return {code: {"model": ErrorOut, "description": text[code]} for code in codes}
