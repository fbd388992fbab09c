"""What follows what: the follow-up cadence as data, and pure functions over it.

The seed's behaviour is the default: attempt 1 is due 3 days after the outreach,
attempt 2 3 days after attempt 1 is sent, and 7 days after the last attempt is
sent a dormant-candidate check falls due. Every step carries a one-sentence
explanation (`why`) that the API and the pages show.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
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
    # Local dates skipped like weekends (rules.Rules.holidays).
    holidays: frozenset[date] = field(default=frozenset())
    # Why the delays are what they are when they are not the user's fixed ones
    # (adaptive delays): appended to the explanation of every attempt.
    delay_note: str | None = None

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


@dataclass(frozen=True)
class Limits:
    """What the user's rules add to one placement, found in the database by the caller."""

    # Not before this instant (the minimum gap after the last touch), and why.
    not_before: datetime | None = None
    not_before_why: str = ""
    # Local days already taken by a follow-up for the same company, and whose.
    busy_days: frozenset[date] = frozenset()
    company: str = ""


NO_LIMITS = Limits()
# Enough for a year of holidays and busy days; the loop only ever moves forward.
_MAX_MOVES = 400


def settle(
    due: datetime, tz: ZoneInfo, cadence: Cadence, limits: Limits = NO_LIMITS, today: date | None = None
) -> tuple[datetime, str]:
    """Move a cadence-made date forward until no rule objects: the minimum gap, weekends
    (if skipped), holidays, and days taken by the same company. Returns the date and the
    explanation to append ("" when it did not move)."""
    start, reasons = due, []
    for _ in range(_MAX_MOVES):
        day = clock.local_date(due, tz)
        if limits.not_before is not None and due < limits.not_before:
            reason, due = limits.not_before_why, limits.not_before
        elif cadence.skip_weekends and clock.is_weekend(due, tz):
            reason, due = "weekends skipped", clock.skip_weekend(due, tz)
        elif day in cadence.holidays:
            reason, due = f"{clock.day_label(day)} is a holiday", clock.add_days(due, 1, tz)
        elif day in limits.busy_days:
            reason = f"{limits.company} already has a follow-up on {clock.day_label(day)}"
            due = clock.add_days(due, 1, tz)
        else:
            break
        if reason not in reasons:
            reasons.append(reason)
    if due == start:
        return due, ""
    return due, f", moved to {clock.instant_day_label(due, tz, today)} ({'; '.join(reasons)})"


def _due(
    anchor: datetime, days: int, tz: ZoneInfo, cadence: Cadence, limits: Limits
) -> tuple[datetime, str]:
    """anchor + days, moved on by the rules that apply, and the sentence for it."""
    due = clock.add_days(anchor, days, tz)
    plural = "s" if days != 1 else ""
    # The anchor's year is the reference: a date in the next year says so ("Sat 2 Jan 2027").
    ref = clock.local_date(anchor, tz)
    text = f"{clock.instant_day_label(anchor, tz)} + {days} day{plural} = {clock.instant_day_label(due, tz, ref)}"
    if cadence.delay_note:
        text += f" ({cadence.delay_note})"
    due, moved = settle(due, tz, cadence, limits, ref)
    return due, text + moved


def first_attempt(
    outreach_sent_at: datetime, tz: ZoneInfo, cadence: Cadence = DEFAULT, limits: Limits = NO_LIMITS
) -> Step:
    due, text = _due(outreach_sent_at, cadence.followup_delays_days[0], tz, cadence, limits)
    return Step("attempt", 1, due, f"Attempt 1: outreach sent {text}")


def after_sent(
    attempt_no: int,
    sent_at: datetime,
    tz: ZoneInfo,
    cadence: Cadence = DEFAULT,
    limits: Limits = NO_LIMITS,
) -> Step:
    """What sending attempt `attempt_no` at `sent_at` makes.

    Attempts past the end of the cadence (the user shortened it meanwhile) lead to
    the dormant check like the last one does.
    """
    if attempt_no < 1:
        raise ValueError("attempt numbers start at 1")
    if attempt_no < cadence.attempts:
        nxt = attempt_no + 1
        due, text = _due(sent_at, cadence.followup_delays_days[attempt_no], tz, cadence, limits)
        return Step("attempt", nxt, due, f"Attempt {nxt}: attempt {attempt_no} sent {text}")
    # The dormant check is the user's own reminder, not a message to a person: no limits.
    due, text = _due(sent_at, cadence.dormant_after_days, tz, replace(cadence, delay_note=None), NO_LIMITS)
    return Step("dormant", None, due, f"Dormant check: attempt {attempt_no} sent {text}, no reply")


def resume_step(day: date, phrase: str, tz: ZoneInfo, today: date | None = None) -> Step:
    """A "not now" reply: one follow-up at clock.DAY_TIME local on the day they named (their
    date, kept as given)."""
    due = clock.at_day_time(day, tz)
    said = f' ("{phrase}")' if phrase != day.isoformat() else ""
    return Step("attempt", 1, due, f"Not now{said}: the thread pauses until {clock.instant_day_label(due, tz, today)}")


def thank_you_step(stage: str, now: datetime, tz: ZoneInfo, cadence: Cadence) -> Step:
    """Stage-aware rule: one thank-you note the next local day at clock.DAY_TIME (quiet days
    skipped)."""
    due = clock.at_day_time(clock.local_date(now, tz) + timedelta(days=1), tz)
    due, moved = settle(due, tz, cadence)
    why = (
        f"Thank-you note: the job moved to {stage} on {clock.instant_day_label(now, tz)}, the outreach cadence"
        f" stopped; due the next day at {clock.DAY_TIME_TEXT}{moved}"
    )
    return Step("attempt", 1, due, why)


def manual_why(due_at: datetime, tz: ZoneInfo, attempt_no: int = 1, today: date | None = None) -> str:
    return f"Attempt {attempt_no}: due {clock.instant_day_label(due_at, tz, today)}, set by you"


def snooze_presets(now: datetime, tz: ZoneInfo, cadence: Cadence) -> dict[str, datetime]:
    """The one-click snooze choices, at clock.DAY_TIME local and always ahead of `now`: `tomorrow`
    (the next day that is not quiet: from a Friday with weekends skipped, Monday) and
    `monday` (next Monday, or the first day after it that is not a holiday)."""
    today = clock.local_date(now, tz)
    monday = today + timedelta(days=(7 - today.weekday()) % 7 or 7)
    days = {"tomorrow": today + timedelta(days=1), "monday": monday}
    return {
        name: settle(clock.at_day_time(day, tz), tz, cadence)[0]
        for name, day in days.items()
    }
