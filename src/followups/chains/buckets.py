"""The due buckets, named once: their names, order, labels, bounds and horizons.

The API (`?due=`, `?scope=`), the pages' tabs, the CLI's `due`, the counts, the digest
and the worker read this table; the statements that select a bucket are built from its
bounds in `followups.chains.queries`. A bucket is a range of the owner's local days
counted from today: `first_day` included, `end_day` excluded, None for no bound.

The seed's three (overdue, today, upcoming) partition the open follow-ups: every one is
in exactly one of them. A bucket added after them is a view that may overlap them.

Adding a bucket: one row in BUCKETS (and its tests). It is then served by
`GET /followups?due=`, `followups due` and a tab on the Today page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from followups import clock

# How far ahead "upcoming" looks, named for what each reader serves. The API's bucket and
# the calendar feed have no horizon (everything after today).
PAGE_HORIZON_DAYS = 14  # the Today page lists the next 14 local days, and counts the rest
DIGEST_HORIZON_DAYS = 3  # the daily digest shows the next 3 local days


@dataclass(frozen=True)
class Bucket:
    name: str  # on the wire, in URLs, the CLI's argument and the counts' keys
    label: str  # the tab's and the heading's word
    first_day: int | None  # first local day, from today (0); None: no lower bound
    end_day: int | None  # the local day it stops before; None: no upper bound
    empty: str  # what the page says when there is nothing in it
    by_day: bool = False  # the page groups it under one heading per day
    page_horizon_days: int | None = None  # the page lists this many days ahead, counts the rest


BUCKETS: tuple[Bucket, ...] = (
    Bucket("overdue", "Overdue", None, 0, "Nothing overdue."),
    Bucket("today", "Today", 0, 1, "Nothing due today."),
    Bucket(
        "upcoming", "Upcoming", 1, None, f"Nothing in the next {PAGE_HORIZON_DAYS} days.",
        by_day=True, page_horizon_days=PAGE_HORIZON_DAYS,
    ),
    # A view over today and upcoming: what to prepare for, today and the next six days.
    Bucket("thisWeek", "This week", 0, 7, "Nothing due in the next 7 days.", by_day=True),
)
BY_NAME = {b.name: b for b in BUCKETS}
NAMES: tuple[str, ...] = tuple(BY_NAME)
# The seed's three, in display order: they partition the open follow-ups (the contract's
# notification scopes, the digest's sections, the CLI's footer of counts).
PARTITION: tuple[str, ...] = ("overdue", "today", "upcoming")
DEFAULT = "today"

# The order the API publishes and the CLI lists them: the default first, then in display
# order (the seed's today, overdue, upcoming; then additions).
OFFERED: tuple[str, ...] = (
    DEFAULT, *(n for n in PARTITION if n != DEFAULT), *(n for n in NAMES if n not in PARTITION)
)
OFFERED_TEXT = f"{', '.join(OFFERED[:-1])} or {OFFERED[-1]}"
# The types FastAPI validates and publishes.
Name = Literal[OFFERED]  # type: ignore[valid-type]
Scope = Literal[(DEFAULT, *(n for n in PARTITION if n != DEFAULT))]  # type: ignore[valid-type]


def day_bounds(name: str, today: date, tz: ZoneInfo) -> tuple[datetime | None, datetime | None]:
    """The bucket's [lower, upper) instants in UTC for a local `today`; None where unbounded."""
    b = BY_NAME[name]
    lower = None if b.first_day is None else clock.shift_day_start(today, b.first_day, tz)
    upper = None if b.end_day is None else clock.shift_day_start(today, b.end_day, tz)
    return lower, upper


def bounds(name: str, now: datetime, tz: ZoneInfo) -> tuple[datetime | None, datetime | None]:
    """The bucket's [lower, upper) instants in UTC at `now` in the owner's zone."""
    return day_bounds(name, clock.local_date(now, tz), tz)


def horizon(now: datetime, tz: ZoneInfo, days: int) -> datetime:
    """The end of the `days`-th local day after today: where a horizon cuts "upcoming"."""
    return clock.shift_day_start(clock.local_date(now, tz), days + 1, tz)


def partition_of(instant: datetime, now: datetime, tz: ZoneInfo) -> Bucket:
    """The one bucket of the partition an instant falls in."""
    start, end = clock.today_bounds(now, tz)
    return BY_NAME["overdue" if instant < start else "today" if instant < end else "upcoming"]
