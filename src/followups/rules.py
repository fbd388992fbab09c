"""The job-search rules a user can turn on, on top of the cadence (stored as JSON on the user).

All are off by default: the v1 contract pins the dates and cancellations the cadence
makes ("attempt 1 is due 3 days after the outreach", "a reply cancels the open
follow-ups of that outreach"), and these rules change both. `RECOMMENDED` is what the
settings page offers in one click.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import date

from pydantic.alias_generators import to_camel

MAX_GAP_DAYS = 30
MAX_HOLIDAYS = 500
SUGGESTED_GAP_DAYS = 2


@dataclass(frozen=True)
class Rules:
    # A reply from any contact of a job cancels the open follow-ups of every outreach
    # for that job (one job, one thread).
    thread_by_job: bool = False
    # No two follow-ups for the same company on one local day: the later one moves on.
    spread_by_company: bool = False
    # No follow-up to a person sooner than this many days after any touch (0: off).
    min_gap_days: int = 0
    # HR or TECH stops the outreach cadence and makes one thank-you note; OFFER stops all.
    stage_aware: bool = False
    # Local dates skipped like weekends by cadence-made dates.
    holidays: tuple[date, ...] = field(default=())

    def __post_init__(self) -> None:
        if not 0 <= self.min_gap_days <= MAX_GAP_DAYS:
            raise ValueError(f"minGapDays must be 0..{MAX_GAP_DAYS}")
        if len(self.holidays) > MAX_HOLIDAYS:
            raise ValueError(f"at most {MAX_HOLIDAYS} holidays")

    @classmethod
    def from_json(cls, data: dict | None) -> Rules:
        if not data:
            return DEFAULT_RULES
        values = dict(data)
        values["holidays"] = tuple(date.fromisoformat(d) for d in values.get("holidays", ()))
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in values.items() if k in names})

    def to_json(self) -> dict:
        data = asdict(self)
        data["holidays"] = [d.isoformat() for d in self.holidays]
        return data

    def to_wire(self) -> dict:
        """As the API shows them (camelCase), for the CLI's and the export's JSON."""
        return {to_camel(name): value for name, value in self.to_json().items()}

    def merged(self, **changes) -> Rules:
        """These rules with some changed; holidays kept sorted and unique."""
        if "holidays" in changes:
            changes["holidays"] = tuple(sorted(set(changes["holidays"])))
        return replace(self, **changes)


DEFAULT_RULES = Rules()
# The recommended switches (the holidays stay the user's own): `Rules.merged(**RECOMMENDED)`.
RECOMMENDED = {
    "thread_by_job": True, "spread_by_company": True, "min_gap_days": SUGGESTED_GAP_DAYS, "stage_aware": True,
}
