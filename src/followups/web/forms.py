"""Form input, validated with the API's own field types, errors as sentences per field."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, TypeVar
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from followups import clock
from followups.api.schemas import (
    Email,
    Name,
    Note,
    OptionalText,
    Password,
    ResumePhrase,
    TimeZoneName,
    Url,
)
from followups.cadence import MAX_DAYS, MAX_DELAYS
from followups.input_limits import EMAIL_MAX, PASSWORD_MAX, day_in_range, instant_in_range
from followups.models import Channel, Outcome, Stage
from followups.rules import MAX_GAP_DAYS
from followups.web.security import Form

M = TypeVar("M", bound=BaseModel)


Day = Annotated[dt.date, AfterValidator(day_in_range)]
Secret = Annotated[str, StringConstraints(max_length=PASSWORD_MAX)]


class _Form(BaseModel):
    model_config = ConfigDict(extra="ignore")


class RegisterForm(_Form):
    email: Email
    password: Password
    timezone: TimeZoneName = "UTC"


class LoginForm(_Form):
    email: Annotated[str, StringConstraints(min_length=1, max_length=EMAIL_MAX)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=PASSWORD_MAX)]


class JobForm(_Form):
    company: Name
    role: Name
    url: Url | None = None
    stage: Stage = Stage.APPLIED


class ContactForm(_Form):
    name: Name
    email: Email | None = None
    company: OptionalText | None = None
    linkedin_url: Url | None = None


class OutreachForm(_Form):
    job_id: str | None = None
    contact_id: str | None = None
    new_company: Name | None = None
    new_role: Name | None = None
    new_contact: Name | None = None
    new_contact_email: Email | None = None
    channel: Channel
    date: Day
    note: Note | None = None
    outcome: Outcome = Outcome.NONE
    resume_on: ResumePhrase | None = None


class AnswerForm(_Form):
    outcome: Outcome
    resume_on: ResumePhrase | None = None


class SendForm(_Form):
    note: Note | None = None


class DateTimeForm(_Form):
    date: Day
    time: dt.time = clock.DAY_TIME
    note: Note | None = None


class ProfileForm(_Form):
    timezone: TimeZoneName
    digest_hour: Annotated[int, Field(ge=0, le=23)]
    digest_email: bool = False


class CadenceForm(_Form):
    delays: Annotated[
        list[Annotated[int, Field(ge=1, le=MAX_DAYS)]], Field(min_length=1, max_length=MAX_DELAYS)
    ]
    dormant_after_days: Annotated[int, Field(ge=1, le=MAX_DAYS)]
    skip_weekends: bool = False


class RulesForm(_Form):
    thread_by_job: bool = False
    spread_by_company: bool = False
    min_gap_days: Annotated[int, Field(ge=0, le=MAX_GAP_DAYS)]
    stage_aware: bool = False
    adaptive: bool = False


class HolidayForm(_Form):
    day: Day


def values(form: Form, *names: str, keep_blank: tuple[str, ...] = ()) -> dict:
    """The named fields; a blank one is left out (so optional means absent)."""
    out = {}
    for name in names:
        value = form.get(name)
        if value != "" or name in keep_blank:
            out[name] = value
    return out


def _message(err: dict) -> str:
    kind, ctx = err.get("type", ""), err.get("ctx") or {}
    if kind == "missing" or (kind == "string_too_short" and ctx.get("min_length") == 1):
        return "Required."
    if kind == "string_too_short":
        return f"At least {ctx['min_length']} characters."
    if kind == "string_too_long":
        return f"At most {ctx['max_length']} characters."
    if kind == "enum":
        return "Pick one of the options."
    if kind in ("int_parsing", "int_from_float"):
        return "Enter a whole number."
    if kind in ("date_from_datetime_parsing", "date_parsing", "date_type"):
        return "Enter a date (YYYY-MM-DD)."
    if kind in ("time_parsing", "time_type"):
        return "Enter a time (HH:MM)."
    if kind in ("too_short", "too_long") and err["loc"] and err["loc"][0] == "delays":
        return f"Give 1 to {MAX_DELAYS} delays."
    return sentence(str(err.get("msg", "is invalid")).removeprefix("Value error, "))


def sentence(msg: str) -> str:
    """A check's message ("must be ...") as the page shows it ("Must be ....")."""
    msg = msg.removeprefix("is ")
    return msg[:1].upper() + msg[1:] + ("" if msg.endswith(".") else ".")


def local_instant(day: dt.date, at: dt.time, tz: ZoneInfo) -> tuple[dt.datetime | None, str | None]:
    """A day and time of the user's zone as a UTC instant, or None and why (the years are
    checked on the UTC instant: 09:00 on 1 January 1970 east of UTC is still 1969)."""
    try:
        return instant_in_range(clock.at_local_time(day, at.hour, at.minute, tz)), None
    except ValueError as exc:
        return None, sentence(str(exc))


def errors_of(exc: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for err in exc.errors():
        name = str(err["loc"][0]) if err.get("loc") else "form"
        errors.setdefault(name, _message(err))
    return errors


def parse(model: type[M], data: dict) -> tuple[M | None, dict[str, str]]:
    try:
        return model.model_validate(data), {}
    except ValidationError as exc:
        return None, errors_of(exc)
