"""What follows what: the follow-up cadence as data, and pure functions over it.

The seed's behaviour is the default: attempt 1 is due 3 days after the outreach,
attempt 2 3 days after attempt 1 is sent, and 7 days after the last attempt is
sent a dormant-candidate check falls due. Every step carries a one-sentence
explanation (`why`) that the API and the pages show.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from followups import clock

MAX_DELAYS = 10
MAX_DAYS = 365


@dataclass(frozen=True)
class Cadence:
    followup_delays_days: tuple[int, ...] = (3, 3)
    dormant_after_days: int = 7
    skip_weekends: bool = False

    def __post_init__(self) -> None:
        delays = self.followup_delays_days
        if not 1 <= len(delays) <= MAX_DELAYS:
            raise ValueError(f"followupDelaysDays needs 1 to {MAX_DELAYS} delays")
        if any(not _whole(d) or not 1 <= d <= MAX_DAYS for d in delays):
            raise ValueError(f"each delay must be 1..{MAX_DAYS} days")
        if not _whole(self.dormant_after_days) or not 1 <= self.dormant_after_days <= MAX_DAYS:
            raise ValueError(f"dormantAfterDays must be 1..{MAX_DAYS}")

    @property
    def attempts(self) -> int:
        return len(self.followup_delays_days)


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


DEFAULT = Cadence()


@dataclass(frozen=True)
class Step:
    """The next thing the cadence makes: another attempt, or the dormant check."""

    kind: Literal["attempt", "dormant"]
    attempt_no: int | None
    due_at: datetime
    why: str


def day_label(instant: datetime, tz: ZoneInfo) -> str:
    local = clock.to_local(instant, tz)
    return f"{local:%a} {local.day} {local:%b}"


def relative_day(day: date, today: date) -> str:
    """By local calendar day: today, tomorrow, in 3 days, yesterday, 3 days ago."""
    delta = (day - today).days
    if delta == 0:
        return "today"
    if delta == 1:
        return "tomorrow"
    if delta == -1:
        return "yesterday"
    return f"in {delta} days" if delta > 0 else f"{-delta} days ago"


def _due(anchor: datetime, days: int, tz: ZoneInfo, cadence: Cadence) -> tuple[datetime, str]:
    """anchor + days, weekend-shifted if the cadence says so, and the sentence for it."""
    due = clock.add_days(anchor, days, tz)
    text = f"{day_label(anchor, tz)} + {days} day{'s' if days != 1 else ''} = {day_label(due, tz)}"
    if cadence.skip_weekends and clock.is_weekend(due, tz):
        due = clock.skip_weekend(due, tz)
        text += f", moved to {day_label(due, tz)} (weekends skipped)"
    return due, text


def first_attempt(outreach_sent_at: datetime, tz: ZoneInfo, cadence: Cadence = DEFAULT) -> Step:
    due, text = _due(outreach_sent_at, cadence.followup_delays_days[0], tz, cadence)
    return Step("attempt", 1, due, f"Attempt 1: outreach sent {text}")


def after_sent(
    attempt_no: int, sent_at: datetime, tz: ZoneInfo, cadence: Cadence = DEFAULT
) -> Step:
    """What sending attempt `attempt_no` at `sent_at` makes.

    Attempts past the end of the cadence (the user shortened it meanwhile) lead to
    the dormant check like the last one does.
    """
    if attempt_no < 1:
        raise ValueError("attempt numbers start at 1")
    if attempt_no < cadence.attempts:
        nxt = attempt_no + 1
        due, text = _due(sent_at, cadence.followup_delays_days[attempt_no], tz, cadence)
        return Step("attempt", nxt, due, f"Attempt {nxt}: attempt {attempt_no} sent {text}")
    due, text = _due(sent_at, cadence.dormant_after_days, tz, cadence)
    return Step("dormant", None, due, f"Dormant check: attempt {attempt_no} sent {text}, no reply")


def manual_why(due_at: datetime, tz: ZoneInfo, attempt_no: int = 1) -> str:
    return f"Attempt {attempt_no}: due {day_label(due_at, tz)}, set by you"
