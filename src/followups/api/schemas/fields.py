"""The building blocks of the wire shapes: camelCase models, the field types with their
limits and checks, and partial updates."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
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

from followups import clock
from followups import input_limits as lim
from followups.api.wire import aliases
from followups.input_limits import NOTE_MAX as NOTE_MAX

# The checks below as the OpenAPI document states them (ECMA-262 patterns): no control
# character (Unicode category Cc is exactly U+0000-U+001F and U+007F-U+009F); text
# (notes, passwords) may keep tabs and newlines; a required name has a character that
# is not a space (it is stripped first).
PLAIN = Field(json_schema_extra={"pattern": r"^[^\x00-\x1f\x7f-\x9f]*$"})
TEXT = Field(json_schema_extra={"pattern": r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"})
NAMED = Field(json_schema_extra={"pattern": r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"})


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
    AfterValidator(_no_control), NAMED,
]


OptionalText = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=lim.NAME_MAX), AfterValidator(_no_control), PLAIN
]


Url = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=lim.URL_MAX), AfterValidator(_no_control), PLAIN
]


Note = Annotated[
    str, StringConstraints(max_length=NOTE_MAX), AfterValidator(_no_nul_or_control_but_whitespace), TEXT
]


Email = Annotated[
    str, StringConstraints(max_length=lim.EMAIL_MAX), AfterValidator(_no_control), AfterValidator(_email),
    Field(json_schema_extra={"format": "email"}),
]


Password = Annotated[
    str,
    StringConstraints(min_length=lim.PASSWORD_MIN, max_length=lim.PASSWORD_MAX),
    AfterValidator(_no_nul_or_control_but_whitespace), TEXT,
]


# The names the app knows (clock.zone): the document lists them.
TimeZoneName = Annotated[
    str, StringConstraints(min_length=1, max_length=lim.ZONE_MAX),
    Field(json_schema_extra={"enum": clock.zone_names()}),
]


RefId = Annotated[str, StringConstraints(min_length=1, max_length=lim.ID_MAX)]


# The years 1970-2999 as the document states them, on the text's own date (an offset can
# still carry an instant's first or last minutes out of range in UTC: 422).
IN_THE_YEARS = Field(json_schema_extra={"pattern": r"^(19[7-9][0-9]|2[0-9]{3})-"})
Instant = Annotated[
    AwareDatetime, BeforeValidator(_instant_text), AfterValidator(lim.instant_in_range), IN_THE_YEARS
]


_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _day_text(value):
    # Only YYYY-MM-DD, as the document's format says (pydantic also reads "0" as 1970-01-01).
    if isinstance(value, str) and _ISO_DAY.fullmatch(value):
        return value
    raise ValueError("must be a date as YYYY-MM-DD")


Day = Annotated[date, BeforeValidator(_day_text), AfterValidator(lim.day_in_range), IN_THE_YEARS]


def _whole(value):
    # JSON Schema's integer is a number without a fraction: 3.0 is 3. Text and true stay out.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def whole_number(ge: int, le: int):
    """A count in a body, from ge to le: strict (no "3", no true), 3.0 read as 3."""
    return Annotated[int, Field(ge=ge, le=le, strict=True), BeforeValidator(_whole)]


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
    nullable field (the others refuse it with `not_null`, and the document does not offer
    null for them)."""

    def changes(self) -> dict:
        return {name: getattr(self, name) for name in self.model_fields_set}

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema, handler):
        schema = handler(core_schema)
        properties = handler.resolve_ref_schema(schema).get("properties", {})
        for validator in cls.__pydantic_decorators__.field_validators.values():
            if validator.func is not _refuse_null:
                continue
            for name in validator.info.fields:
                prop = properties[aliases(cls)[name]]
                kept = [option for option in prop.pop("anyOf") if option != {"type": "null"}]
                prop.pop("default", None)
                prop.update(kept[0] if len(kept) == 1 else {"anyOf": kept})
        return schema



ResumePhrase = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=lim.RESUME_MAX),
    AfterValidator(_no_control), NAMED,
    Field(examples=["2026-12-15", "next week", "after the 15th", "in 10 days", "on Monday"]),
]


class JobOrContact(Wire):
    # At least one is required; the service says so with the field's name, the document
    # with an anyOf.
    job_id: RefId | None = None
    contact_id: RefId | None = None

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema, handler):
        schema = handler(core_schema)
        handler.resolve_ref_schema(schema)["anyOf"] = [
            {"required": [name], "properties": {name: {"type": "string"}}} for name in ("jobId", "contactId")
        ]
        return schema
