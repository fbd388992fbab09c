"""The CSV columns the importer reads and the exporter writes, and how values map.

Headers are matched case-insensitively, ignoring spaces, `_`, `-` and `.`; each field has
aliases for the common tracker export shapes, the first alias wins when a file has two
columns for one field (e.g. both `Date Applied` and `Date`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from followups.models import Channel, Outcome, Stage

# field -> header aliases, most specific first.
ALIASES: dict[str, tuple[str, ...]] = {
    "company": ("company", "company name", "organization", "organisation", "employer"),
    "role": ("role", "title", "job title", "position", "position title", "job"),
    "url": ("url", "job url", "link", "job link", "posting url", "job posting"),
    "status": ("status", "stage", "application status"),
    "date": ("date applied", "applied on", "applied date", "application date", "applied", "date"),
    "contact": ("contact name", "contact", "recruiter name", "recruiter", "hiring manager"),
    "email": ("contact email", "email", "e mail", "contact e mail", "recruiter email"),
    "notes": ("notes", "note", "comments", "comment"),
    "channel": ("channel",),
    "outcome": ("outcome", "response"),
    "resume": ("resume on", "resume date", "follow up on"),
}

# What the exporter writes (the first alias of each field, in this order).
EXPORT_HEADER = (
    "Company",
    "Role",
    "URL",
    "Status",
    "Date Applied",
    "Contact Name",
    "Contact Email",
    "Notes",
    "Channel",
    "Outcome",
    "Resume On",
)
FIELDS = tuple(ALIASES)

LABELS = {
    "company": "company",
    "role": "role",
    "url": "url",
    "status": "status",
    "date": "date applied",
    "contact": "contact name",
    "email": "contact email",
    "notes": "notes",
    "channel": "channel",
    "outcome": "outcome",
    "resume": "resume on",
}


def normalise(header: str) -> str:
    return " ".join(re.sub(r"[_\-.:]+", " ", header).casefold().split())


@dataclass(frozen=True)
class HeaderMap:
    """Column index of each field found, and the headers nothing maps to."""

    index: dict[str, int]
    ignored: tuple[str, ...]


def map_header(header: list[str]) -> HeaderMap:
    found: dict[str, tuple[int, int]] = {}  # field -> (alias rank, column)
    ignored: list[str] = []
    for col, raw in enumerate(header):
        name = normalise(raw)
        match = next(
            ((field, aliases.index(name)) for field, aliases in ALIASES.items() if name in aliases),
            None,
        )
        if match is None:
            if name:
                ignored.append(raw.strip())
            continue
        field, rank = match
        if field in found and found[field][0] <= rank:
            ignored.append(raw.strip())
            continue
        if field in found:
            ignored.append(header[found[field][1]].strip())
        found[field] = (rank, col)
    return HeaderMap({f: col for f, (_rank, col) in found.items()}, tuple(ignored))


# Status values (normalised) -> stage. The stage names themselves map to themselves.
STATUS: dict[str, Stage] = {
    **{normalise(s.value): s for s in Stage},
    **dict.fromkeys(
        (
            "applied",
            "application sent",
            "submitted",
            "sent",
            "wishlist",
            "saved",
            "bookmarked",
            "interested",
            "to apply",
            "prospect",
            "new",
            "pending",
            "waiting",
        ),
        Stage.APPLIED,
    ),
    **dict.fromkeys(
        (
            "screen",
            "screening",
            "phone screen",
            "recruiter screen",
            "recruiter call",
            "hr interview",
            "interview",
            "interviewing",
            "interviews",
        ),
        Stage.HR,
    ),
    **dict.fromkeys(
        (
            "technical",
            "technical interview",
            "tech interview",
            "onsite",
            "on site",
            "final interview",
            "final round",
            "take home",
            "assessment",
            "coding challenge",
        ),
        Stage.TECH,
    ),
    **dict.fromkeys(("offer", "offered", "offer received", "accepted", "hired"), Stage.OFFER),
    **dict.fromkeys(
        (
            "rejected",
            "rejection",
            "declined",
            "not selected",
            "turned down",
            "no offer",
            "not moving forward",
        ),
        Stage.REJECTED,
    ),
    **dict.fromkeys(
        (
            "dormant",
            "ghosted",
            "no response",
            "withdrawn",
            "closed",
            "archived",
            "inactive",
            "stale",
            "expired",
            "on hold",
        ),
        Stage.DORMANT,
    ),
}

CHANNEL: dict[str, Channel] = {
    **{normalise(c.value): c for c in Channel},
    **dict.fromkeys(("e mail", "mail"), Channel.EMAIL),
    **dict.fromkeys(("linked in",), Channel.LINKEDIN),
    **dict.fromkeys(("call", "telephone", "phone call"), Channel.PHONE),
    **dict.fromkeys(
        ("website", "web", "careers page", "job board", "referral", "in person"), Channel.OTHER
    ),
}

OUTCOME: dict[str, Outcome] = {
    **{normalise(o.value): o for o in Outcome},
    "no response": Outcome.NO_RESPONSE,
    "noresponse": Outcome.NO_RESPONSE,
    "no reply": Outcome.NO_RESPONSE,
    "replied": Outcome.POSITIVE,
    "reply": Outcome.POSITIVE,
}


def lookup(table: dict, raw: str):
    """The mapped value of a cell (None for an unknown one)."""
    return table.get(normalise(raw))
