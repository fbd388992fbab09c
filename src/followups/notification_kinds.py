"""The kinds of notification, one row each: what the pages call it, where it goes, when the
presenting sweep resolves it silently, and when it also goes by email.

Adding a kind: one row in KINDS, plus its producer (the code that inserts the notification,
with `kind=<row>.name`). The API, the pages, the webhook, the backup import and the sweep
read this table. It imports only the models, so every package that makes or shows
notifications (chains, notifications, delivery, web, transfer) can read it without a cycle.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from followups.models import DeliveryChannel


class Stale(StrEnum):
    """When a claimed notification is resolved without being shown (the sweep's checks)."""

    FOLLOWUP_CLOSED = "followup_closed"  # its follow-up was sent, cancelled or archived meanwhile
    REPLIED_SINCE = "replied_since"  # a reply came on its job or contact since it was made


def _has_items(payload: dict | None) -> bool:
    """A payload with something in one of its lists (an empty digest is not emailed)."""
    return any(value for value in (payload or {}).values() if isinstance(value, list))


@dataclass(frozen=True)
class Kind:
    name: str  # stored, on the wire and in webhook bodies
    label: str  # the pages' heading for it
    # Where it goes besides the bell: the webhook always (when the user has one); email when
    # SMTP is set, the user asked for email, and `emails(payload)` says it is worth sending.
    emails: Callable[[dict | None], bool] | None = None
    stale: Stale | None = None  # None: always shown

    def channels(self, *, webhook: bool, email: bool, payload: dict | None) -> list[DeliveryChannel]:
        wanted = [DeliveryChannel.WEBHOOK] if webhook else []
        if email and self.emails is not None and self.emails(payload):
            wanted.append(DeliveryChannel.EMAIL)
        return wanted


FOLLOWUP_DUE = Kind("followup_due", "Reminder", stale=Stale.FOLLOWUP_CLOSED)
DORMANT_CANDIDATE = Kind("dormant_candidate", "Dormant check", stale=Stale.REPLIED_SINCE)
DIGEST = Kind("digest", "Daily digest", emails=_has_items)
# Found in the user's mailbox (followups.mailbox): a reply to classify, a bounced address.
REPLY = Kind("reply", "Reply")
BOUNCE = Kind("bounce", "Bounce")

KINDS: dict[str, Kind] = {k.name: k for k in (FOLLOWUP_DUE, DORMANT_CANDIDATE, DIGEST, REPLY, BOUNCE)}
NAMES: tuple[str, ...] = tuple(KINDS)


def of(name: str) -> Kind:
    """A kind's row; one this version does not know (a newer backup) is shown under its own
    name, goes to the webhook only and is never resolved silently."""
    return KINDS.get(name) or Kind(name, name)
