"""Auth and the user: sign-up, sign-in, /me with its cadence, rules and webhook."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

from followups import input_limits as lim
from followups.api.schemas.fields import (
    PLAIN,
    TEXT,
    Day,
    Email,
    Password,
    Patch,
    TimeZoneName,
    Url,
    Wire,
    _no_control,
    _no_nul_or_control_but_whitespace,
    not_null,
    whole_number,
)
from followups.cadence import MAX_DAYS, MAX_DELAYS
from followups.rules import MAX_GAP_DAYS, MAX_HOLIDAYS


class RegisterIn(Wire):
    email: Email
    password: Password
    timezone: TimeZoneName = "UTC"


class LoginIn(Wire):
    email: Annotated[str, StringConstraints(max_length=lim.EMAIL_MAX), AfterValidator(_no_control), PLAIN]
    password: Annotated[
        str, StringConstraints(max_length=lim.PASSWORD_MAX), AfterValidator(_no_nul_or_control_but_whitespace), TEXT
    ]


class TokenOut(Wire):
    access_token: str
    token_type: str = "bearer"


class UserOut(Wire):
    id: uuid.UUID
    email: str
    timezone: str


CadenceDays = whole_number(1, MAX_DAYS)
Hour = whole_number(0, 23)


class CadenceIO(Wire):
    followup_delays_days: Annotated[
        list[CadenceDays],
        Field(min_length=1, max_length=MAX_DELAYS),
    ] = [3, 3]
    dormant_after_days: CadenceDays = 7
    skip_weekends: Annotated[bool, Field(strict=True)] = False
    # Attempt delays follow the user's median days to reply (2..10, after 5 replies with a
    # known date; GET /stats). Shown only when on, so the v1 shape stays as it was.
    adaptive: Annotated[bool, Field(strict=True, exclude_if=lambda on: not on)] = False


Holidays = Annotated[list[Day], Field(max_length=MAX_HOLIDAYS)]


GapDays = whole_number(0, MAX_GAP_DAYS)


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
    url: Annotated[
        Url, AfterValidator(_http_url),
        # A host after the scheme (the address it names is checked beyond this: outbound).
        Field(json_schema_extra={"pattern": r"^\s*[Hh][Tt][Tt][Pp][Ss]?://[^\s/?#\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"}),
    ]
    # The receiver's shared secret: each POST carries HMAC-SHA256 of "<timestamp>.<body>".
    secret: Annotated[
        str, StringConstraints(min_length=lim.SECRET_MIN, max_length=lim.SECRET_MAX), AfterValidator(_no_control), PLAIN
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
    digest_hour: Hour | None = None
    digest_email: Annotated[bool, Field(strict=True)] | None = None
    # null removes the webhook.
    webhook: WebhookIn | None = None
    rules: RulesUpdate | None = None
