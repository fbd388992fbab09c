"""The user's message templates: one per kind of follow-up, defaults shipped, overrides stored.

A template is Jinja2 text run in the sandbox, and more narrowly than the sandbox alone
allows: only output, conditions, a few string filters and the known variables. No loop, no
macro, no call, no multiplication: a template cannot spin or grow without bound, so what
validates at save time renders in time at send time. A template that still fails to render
(a filter given a value it refuses) falls back to the shipped default: a draft never fails.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from jinja2 import StrictUndefined, TemplateSyntaxError, nodes
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from followups.errors import FieldError, Invalid
from followups.models import FollowupType, MessageTemplate, User

log = logging.getLogger(__name__)

# What a template may say, with an example value (the check at save time renders with these).
VARIABLES: dict[str, object] = {
    "first_name": "Dana",
    "company": "Globex",
    "role": "Data engineer",
    "days_since": 4,
    "subject": "Data engineer role at Globex",
}
# No `replace`: chained, it multiplies the text (replace("", ...) inserts between every character).
FILTERS = frozenset({"capitalize", "default", "lower", "title", "trim", "truncate", "upper"})
SUBJECT_MAX = 300
BODY_MAX = 5000


@dataclass(frozen=True)
class Template:
    subject: str
    body: str


# Attempt 1, attempt 2 (and every later attempt), and the thank-you note after an interview.
NAMES = ("attempt1", "attempt2", "thankYou")
LABELS = {
    "attempt1": "First follow-up",
    "attempt2": "Second and later follow-ups",
    "thankYou": "Thank-you note after an interview",
}
DEFAULTS: dict[str, Template] = {
    "attempt1": Template(
        subject="{% if subject %}Re: {{ subject }}{% else %}Following up: {{ role }} at {{ company }}{% endif %}",
        body=(
            "Hi {{ first_name }},\n\n"
            "I hope you are well. I wanted to follow up on my message from {{ days_since }} days ago"
            "{% if role %} about the {{ role }} role{% endif %}{% if company %} at {{ company }}{% endif %}. "
            "I am still very interested and would be glad to tell you more about my background.\n\n"
            "Would you have a few minutes for a short call this week?\n\n"
            "Best regards"
        ),
    ),
    "attempt2": Template(
        subject="{% if subject %}Re: {{ subject }}{% else %}Following up: {{ role }} at {{ company }}{% endif %}",
        body=(
            "Hi {{ first_name }},\n\n"
            "I am following up once more"
            "{% if role %} about the {{ role }} role{% endif %}{% if company %} at {{ company }}{% endif %}. "
            "I know things get busy: if someone else is the right person to talk to, "
            "I would be grateful for a pointer.\n\n"
            "Thank you for your time.\n\n"
            "Best regards"
        ),
    ),
    "thankYou": Template(
        subject="Thank you{% if role %}: {{ role }}{% endif %}",
        body=(
            "Hi {{ first_name }},\n\n"
            "Thank you for taking the time to talk with me"
            "{% if role %} about the {{ role }} role{% endif %}{% if company %} at {{ company }}{% endif %}. "
            "I enjoyed our conversation and I am excited about the opportunity.\n\n"
            "Please let me know if there is anything else I can send you.\n\n"
            "Best regards"
        ),
    ),
}


def name_for(followup_type: str, attempt_no: int) -> str:
    if followup_type == FollowupType.THANK_YOU.value:
        return "thankYou"
    return "attempt1" if attempt_no <= 1 else "attempt2"


class _Environment(SandboxedEnvironment):
    def is_safe_callable(self, obj) -> bool:
        return False  # nothing is called from a template (the allow-list refuses calls too)


_env = _Environment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
# The node kinds a template may contain: output, conditions and expressions on the variables.
_ALLOWED = (
    nodes.Template, nodes.Output, nodes.TemplateData, nodes.If, nodes.Name, nodes.Const,
    nodes.Filter, nodes.Test, nodes.Compare, nodes.Operand, nodes.And, nodes.Or, nodes.Not,
    nodes.CondExpr, nodes.Concat, nodes.Add, nodes.Sub, nodes.Neg, nodes.Pos, nodes.Keyword,
)
_WHAT = {
    nodes.For: "a loop", nodes.Macro: "a macro", nodes.CallBlock: "a call block", nodes.Call: "a call",
    nodes.Assign: "an assignment", nodes.AssignBlock: "an assignment", nodes.Include: "an include",
    nodes.Import: "an import", nodes.FromImport: "an import", nodes.Extends: "extends",
    nodes.Mul: "multiplication", nodes.Pow: "a power", nodes.Getattr: "an attribute",
    nodes.Getitem: "indexing",
}


def _problem(source: str) -> str | None:
    """Why `source` is not an acceptable template, or None."""
    try:
        tree = _env.parse(source)
        found = list(tree.find_all(nodes.Node))
    except TemplateSyntaxError as exc:
        return f"line {exc.lineno}: {exc.message}"
    except RecursionError:
        return "it is nested too deeply"
    for node in found:
        line = getattr(node, "lineno", 1)
        if isinstance(node, nodes.Name) and node.name not in VARIABLES:
            known = ", ".join(VARIABLES)
            return f"line {line}: unknown variable '{node.name}' (known: {known})"
        if isinstance(node, nodes.Filter) and node.name not in FILTERS:
            return f"line {line}: the filter '{node.name}' is not available (available: {', '.join(sorted(FILTERS))})"
        if not isinstance(node, _ALLOWED):
            what = next((label for kind, label in _WHAT.items() if isinstance(node, kind)), None)
            what = what or f"this expression ({type(node).__name__})"
            return f"line {line}: {what} is not allowed in a template"
    try:
        _compiled(source).render(VARIABLES)
    except Exception as exc:  # noqa: BLE001 - any failure of a user's template is bad input
        return f"it cannot be rendered: {exc}"
    return None


def check(name: str, template: Template) -> list[FieldError]:
    """The fields of `template` that are not acceptable (`name.subject`, `name.body`)."""
    errors = []
    for part, source, limit in (("subject", template.subject, SUBJECT_MAX), ("body", template.body, BODY_MAX)):
        problem = f"must be at most {limit} characters" if len(source) > limit else _problem(source)
        if part == "subject" and problem is None and not source.strip():
            problem = "must not be empty"
        if problem is not None:
            errors.append(FieldError(f"{name}.{part}", problem))
    return errors


@lru_cache(maxsize=256)
def _compiled(source: str):
    """Compiling costs far more than rendering: a page drafts fifty messages from three templates."""
    return _env.from_string(source)


def _render(source: str, values: Mapping[str, object]) -> str:
    return _compiled(source).render(values)


def render(template: Template, name: str, values: Mapping[str, object]) -> Template:
    """The subject (one line) and body for `values` (every name of VARIABLES)."""
    try:
        subject, body = _render(template.subject, values), _render(template.body, values)
    except Exception as exc:  # noqa: BLE001 - validated at save; a value it refuses: the default
        log.warning("template %s failed to render (%s): the default is used", name, type(exc).__name__)
        default = DEFAULTS[name]
        subject, body = _render(default.subject, values), _render(default.body, values)
    return Template(" ".join(subject.split())[:SUBJECT_MAX], body.strip() + "\n")


@dataclass(frozen=True)
class UserTemplate:
    name: str
    label: str
    template: Template
    custom: bool


def templates_of(session: Session, user_id) -> dict[str, Template]:
    """Every template of the user: their own where saved, else the default."""
    rows = session.execute(
        select(MessageTemplate.name, MessageTemplate.subject, MessageTemplate.body).where(
            MessageTemplate.user_id == user_id
        )
    )
    own = {name: Template(subject, body) for name, subject, body in rows if name in DEFAULTS}
    return {name: own.get(name, DEFAULTS[name]) for name in NAMES}


def list_templates(session: Session, user: User) -> list[UserTemplate]:
    current = templates_of(session, user.id)
    return [
        UserTemplate(name, LABELS[name], current[name], current[name] != DEFAULTS[name]) for name in NAMES
    ]


def save_templates(
    session: Session, user: User, templates: Mapping[str, Template | None], *, now: datetime
) -> list[UserTemplate]:
    """Replace the user's templates: a name left out, None, or equal to the default is the
    default. Nothing is saved unless every template is acceptable (Invalid names each bad one)."""
    unknown = [name for name in templates if name not in DEFAULTS]
    if unknown:
        raise Invalid.field(unknown[0], f"is not a template (templates: {', '.join(NAMES)})")
    errors = [e for name, t in templates.items() if t is not None for e in check(name, t)]
    if errors:
        raise Invalid("; ".join(f"{e.field}: {e.message}" for e in errors), errors)
    session.execute(delete(MessageTemplate).where(MessageTemplate.user_id == user.id))
    for name in NAMES:
        chosen = templates.get(name)
        if chosen is not None and chosen != DEFAULTS[name]:
            session.add(MessageTemplate(
                user_id=user.id, name=name, subject=chosen.subject, body=chosen.body, updated_at=now,
            ))
    session.flush()
    return list_templates(session, user)
