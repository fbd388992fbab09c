"""Wire shapes of the drafts, the message templates and "Send now" (followups.mailbox)."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import AfterValidator, ConfigDict, StringConstraints

from followups.api.schemas.fields import NAMED, TEXT, Wire, _no_control, _no_nul_or_control_but_whitespace
from followups.api.schemas.followups import FollowupOut
from followups.mailbox import templates

# The JSON key of each template (followups.mailbox.templates.NAMES), and back.
FIELDS = {"attempt1": "attempt1", "attempt2": "attempt2", "thankYou": "thank_you"}

TemplateSubject = Annotated[
    str, StringConstraints(max_length=templates.SUBJECT_MAX), AfterValidator(_no_control), NAMED
]
TemplateBody = Annotated[
    str, StringConstraints(max_length=templates.BODY_MAX), AfterValidator(_no_nul_or_control_but_whitespace), TEXT
]


class TemplateIn(Wire):
    """Jinja2 text with the variables first_name, company, role, days_since and subject."""

    subject: TemplateSubject
    body: TemplateBody


class TemplatesIn(Wire):
    """The whole set: a template left out or null is the shipped default."""

    model_config = ConfigDict(extra="forbid")

    attempt1: TemplateIn | None = None
    attempt2: TemplateIn | None = None
    thank_you: TemplateIn | None = None

    def chosen(self) -> dict[str, templates.Template | None]:
        return {
            name: templates.Template(t.subject, t.body) if (t := getattr(self, field)) is not None else None
            for name, field in FIELDS.items()
        }


class TemplateOut(Wire):
    label: str
    subject: str
    body: str
    # False: the shipped default.
    custom: bool


class TemplatesOut(Wire):
    attempt1: TemplateOut
    attempt2: TemplateOut
    thank_you: TemplateOut
    variables: list[str]

    @classmethod
    def of(cls, current: list[templates.UserTemplate]) -> TemplatesOut:
        shown = {
            FIELDS[t.name]: TemplateOut(label=t.label, subject=t.template.subject, body=t.template.body,
                                        custom=t.custom)
            for t in current
        }
        return cls(**shown, variables=list(templates.VARIABLES))


class DraftOut(Wire):
    followup_id: uuid.UUID
    # Which template made it: attempt1, attempt2 or thankYou.
    template: str
    # The contact's address; null when the contact has none.
    to: str | None
    subject: str
    body: str
    # The same message as a mailto: link (every reserved character percent-encoded).
    mailto: str
    # Set when an earlier attempt of the chain was sent from the mailbox: the reply's thread.
    in_reply_to: str | None
    references: list[str]


class SentOut(Wire):
    followup: FollowupOut
    message_id: str
    to: str
    subject: str
    # The server answered that it accepted it (false: the connection broke after the
    # message went out; it is taken as sent and never sent again).
    confirmed: bool
    # A copy is in the mailbox's sent folder.
    copy_saved: bool
    # An earlier request sent it; this one sent nothing.
    repeated: bool
