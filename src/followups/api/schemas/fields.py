"""The building blocks of the wire shapes: camelCase models, the field types with their
limits and checks, and partial updates."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
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
from followups.input_limits import MAX_YEAR as MAX_YEAR
from followups.input_limits import MIN_YEAR as MIN_YEAR
from followups.input_limits import NOTE_MAX as NOTE_MAX


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
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValueError(f"must be between the years {MIN_YEAR} and {MAX_YEAR}")
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


Note = Annotated[str, StringConstraints(max_length=NOTE_MAX), AfterValidator(_no_nul_or_control_but_whitespace)]


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
