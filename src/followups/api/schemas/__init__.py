"""Wire shapes: camelCase JSON, strict about what comes in, explicit about what goes out.

One module per domain; every shape is imported from here (`from followups.api.schemas
import JobOut`)."""

from __future__ import annotations

from followups.api.schemas.contacts import (
    ContactIn,
    ContactOut,
    ContactUpdate,
)
from followups.api.schemas.drafts import DraftOut, SentOut, TemplateIn, TemplateOut, TemplatesIn, TemplatesOut
from followups.api.schemas.errors import (
    ErrorOut,
    FieldErrorOut,
    error_responses,
)
from followups.api.schemas.fields import (
    NOTE_MAX,
    Email,
    Instant,
    JobOrContact,
    Name,
    Note,
    OptionalText,
    Password,
    Patch,
    RefId,
    ResumePhrase,
    TimeZoneName,
    Url,
    Wire,
    not_null,
)
from followups.api.schemas.followups import (
    FollowupIn,
    FollowupOut,
    FollowupUpdate,
    SendIn,
)
from followups.api.schemas.jobs import (
    JobIn,
    JobOut,
    JobUpdate,
)
from followups.api.schemas.mailbox import MailboxIn, MailboxOut
from followups.api.schemas.notifications import (
    NotificationOut,
)
from followups.api.schemas.outreach import (
    OutreachCreated,
    OutreachIn,
    OutreachOut,
    OutreachUpdate,
)
from followups.api.schemas.stats import (
    AdaptiveOut,
    AttemptOut,
    ChannelOut,
    StatsOut,
    TotalsOut,
)
from followups.api.schemas.users import (
    CadenceIO,
    GapDays,
    Holidays,
    HolidaysImported,
    LoginIn,
    MeOut,
    MeUpdate,
    RegisterIn,
    RulesOut,
    RulesUpdate,
    TokenOut,
    UserOut,
    WebhookIn,
    WebhookOut,
)

__all__ = [
    "AdaptiveOut",
    "AttemptOut",
    "CadenceIO",
    "ChannelOut",
    "ContactIn",
    "ContactOut",
    "ContactUpdate",
    "DraftOut",
    "Email",
    "ErrorOut",
    "FieldErrorOut",
    "FollowupIn",
    "FollowupOut",
    "FollowupUpdate",
    "GapDays",
    "Holidays",
    "HolidaysImported",
    "Instant",
    "JobIn",
    "JobOrContact",
    "JobOut",
    "JobUpdate",
    "LoginIn",
    "MailboxIn",
    "MailboxOut",
    "MeOut",
    "MeUpdate",
    "NOTE_MAX",
    "Name",
    "Note",
    "NotificationOut",
    "OptionalText",
    "OutreachCreated",
    "OutreachIn",
    "OutreachOut",
    "OutreachUpdate",
    "Password",
    "Patch",
    "RefId",
    "RegisterIn",
    "ResumePhrase",
    "RulesOut",
    "RulesUpdate",
    "SendIn",
    "SentOut",
    "StatsOut",
    "TemplateIn",
    "TemplateOut",
    "TemplatesIn",
    "TemplatesOut",
    "TimeZoneName",
    "TokenOut",
    "TotalsOut",
    "Url",
    "UserOut",
    "WebhookIn",
    "WebhookOut",
    "Wire",
    "error_responses",
    "not_null",
]
