"""Reading a CSV file of jobs, contacts and past outreach: the first pass of the import.

`parse_csv` reads and checks every row without the database: any bad row makes the whole
file rejected, each problem reported as `line N: field: message`. Headers are matched by
their usual names (transfer/columns.py); the delimiter is guessed from the first line.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from followups import clock
from followups.models import Channel, Outcome, Stage
from followups.transfer import columns, values


@dataclass(slots=True)
class Row:
    line: int
    company: str | None
    role: str | None
    url: str | None
    stage: Stage | None
    sent_at: datetime | None
    contact: str | None
    email: str | None
    note: str | None
    channel: Channel
    outcome: Outcome
    resume_on: date | None


@dataclass(frozen=True)
class RowError:
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.field}: {self.message}"


@dataclass
class Parsed:
    rows: list[Row] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    ignored_columns: tuple[str, ...] = ()


class ImportRejected(Exception):
    """The file has bad rows: nothing was written."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(f"{len(errors)} problem(s)")
        self.errors = errors


def _delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def parse_csv(
    lines: Iterable[str], *, tz: ZoneInfo, now: datetime, day_first: bool = False
) -> Parsed:
    """Read and check every row. Blank rows are skipped; line numbers are the file's.
    An outreach dated after `now` is refused, as every edge refuses it (clock.sent_by)."""
    it = iter(lines)
    parsed = Parsed()
    first = next(it, None)
    if first is None:
        parsed.errors.append(RowError(1, "header", "the file is empty"))
        return parsed

    def chained() -> Iterator[str]:
        yield first
        yield from it

    reader = csv.reader(chained(), delimiter=_delimiter(first))
    try:
        header = next(reader)
        mapping = columns.map_header(header)
        parsed.ignored_columns = mapping.ignored
        idx = mapping.index
        if not ({"company", "role"} <= idx.keys() or idx.keys() & {"contact", "email"}):
            parsed.errors.append(RowError(1, "header", _no_columns_message(header)))
            return parsed
        dropped = 0
        while True:
            start = reader.line_num + 1
            cells = next(reader, None)
            if cells is None:
                break
            if not any(c.strip() for c in cells):
                continue
            if len(cells) > len(header) and any(c.strip() for c in cells[len(header) :]):
                parsed.errors.append(
                    RowError(
                        start,
                        "row",
                        f"has {len(cells)} cells but the header has {len(header)}"
                        " (a comma in an unquoted value?)",
                    )
                )
                continue
            row = _row(start, cells, idx, tz, now, day_first, parsed.errors)
            if row is None:
                continue
            if row.sent_at is None and (
                row.note
                or _cell(cells, idx, "channel").strip()
                or _cell(cells, idx, "outcome").strip()
            ):
                dropped += 1
                if dropped <= 5:
                    parsed.warnings.append(
                        f"line {start}: no date applied, so notes, channel and outcome"
                        " are not recorded "
                        "(they belong to an outreach)"
                    )
            parsed.rows.append(row)
        if dropped > 5:
            parsed.warnings.append(f"... and {dropped - 5} more rows without a date applied")
    except csv.Error as exc:
        parsed.errors.append(RowError(reader.line_num, "row", f"unreadable CSV: {exc}"))
    return parsed


def _no_columns_message(header: list[str]) -> str:
    seen = ", ".join(repr(h) for h in header) or "nothing"
    return (
        f"found {seen}; need Company and Role columns (or a Contact / Email column). "
        f"Known headers: {', '.join(columns.EXPORT_HEADER)} and their usual aliases"
    )


def _cell(cells: list[str], idx: dict[str, int], name: str) -> str:
    col = idx.get(name)
    return cells[col] if col is not None and col < len(cells) else ""


def _row(
    line: int,
    cells: list[str],
    idx: dict[str, int],
    tz: ZoneInfo,
    now: datetime,
    day_first: bool,
    errors: list[RowError],
) -> Row | None:
    before = len(errors)

    def check(name: str, fn: Callable[[str], object]):
        raw = _cell(cells, idx, name)
        try:
            return fn(raw)
        except ValueError as exc:
            errors.append(RowError(line, columns.LABELS[name], str(exc)))
            return None

    company = check("company", lambda r: values.text(r, values.NAME_MAX))
    role = check("role", lambda r: values.text(r, values.NAME_MAX))
    url = check("url", lambda r: values.text(r, values.URL_MAX))
    contact = check("contact", lambda r: values.text(r, values.NAME_MAX))
    email = check(
        "email", lambda r: values.email(v) if (v := values.text(r, values.EMAIL_MAX)) else None
    )
    note = check("notes", lambda r: values.text(r, values.NOTE_MAX, multiline=True))
    stage = check("status", lambda r: _lookup(columns.STATUS, r, "status", Stage.APPLIED))
    channel = check(
        "channel", lambda r: _lookup(columns.CHANNEL, r, "channel", Channel.OTHER)
    )
    outcome = check(
        "outcome", lambda r: _lookup(columns.OUTCOME, r, "outcome", Outcome.NONE)
    )
    sent_at = check(
        "date", lambda r: values.when(r, tz, day_first=day_first) if r.strip() else None
    )
    if sent_at is not None and not clock.sent_by(sent_at, now):
        errors.append(RowError(line, columns.LABELS["date"], "is in the future: an outreach is recorded once sent"))
    resume_on = check(
        "resume",
        lambda r: clock.local_date(values.when(r, tz, day_first=day_first), tz) if r.strip() else None,
    )
    if len(errors) > before:
        return None
    if resume_on is not None and outcome != Outcome.LATER:
        errors.append(RowError(line, "resume on", "is only taken with outcome LATER"))
        return None
    if role and not company:
        errors.append(RowError(line, "company", "is required with a role"))
        return None
    if company and not role and not (contact or email):
        errors.append(
            RowError(line, "role", "is required (a row is a job, company and role, or a contact)")
        )
        return None
    if not (company or contact or email):
        errors.append(RowError(line, "row", "has neither company and role nor a contact"))
        return None
    # A contact known only by email is named after it.
    return Row(
        line, company, role, url, stage, sent_at, contact or email, email, note, channel, outcome,
        resume_on,
    )


def _lookup(table: dict, raw: str, what: str, default):
    if not raw.strip():
        return default
    value = columns.lookup(table, raw)
    if value is None:
        names = ", ".join(dict.fromkeys(m.value for m in table.values()))
        raise ValueError(
            f"{raw.strip()!r} is not a known {what} (use one of {names} or a usual synonym)"
        )
    return value
