"""What the terminal verbs share in reading their input: a checked text option and a
record picked by its id or the first characters of it."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from followups import owned
from followups.commands.common import fail
from followups.models import FollowUp, Outreach, User
from followups.transfer import values


def checked(option: str, raw: str | None, limit: int, *, multiline: bool = False) -> str | None:
    if raw is None:
        return None
    try:
        return values.text(raw, limit, multiline=multiline)
    except ValueError as exc:
        fail(f"{option}: {exc}")


def resolve_id(session: Session, user: User, model: type[FollowUp] | type[Outreach], raw: str, noun: str) -> uuid.UUID:
    """A full id, or a unique prefix of at least 4 characters (the tables show 8)."""
    text = raw.strip().lower()
    try:
        return uuid.UUID(text)
    except ValueError:
        pass
    prefix = text.replace("-", "")
    if len(prefix) < 4 or any(ch not in "0123456789abcdef" for ch in prefix):
        where = "`followups due`" if model is FollowUp else "`followups outreach add`"
        fail(f"{noun} {raw!r} was not found (give the id from {where})")
    matches = owned.ids_with_prefix(session, model, user.id, prefix)
    if not matches:
        fail(f"{noun} {raw!r} was not found")
    if len(matches) > 1:
        plural = "follow-ups" if noun == "follow-up" else noun
        fail(f"{raw!r} matches {len(matches)} {plural}: give more of the id")
    return matches[0]
