"""Answers written straight from database rows, for the hottest endpoints.

A response model makes FastAPI validate the endpoint's value (a model per item, each UUID
and instant parsed again) and then dump it. Where the value is a row of plain columns
already (the list's rows, mark-sent's answer), `Record` turns it into the answer's dict
(keyed by the model's aliases, in its field order, embedded records nested) and `json`
writes that with orjson: the bytes are the model's own for the same values
(tests/unit/test_wire.py), about a fifth of the serialiser's time for a list of 50
(bench/RESULTS.md). orjson writes the values as they come (it checks no type against the
model): a row's columns are the model's fields, which `Record` checks once, as it is made.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import itemgetter

import orjson
from fastapi import Response
from pydantic import BaseModel

# Instants in UTC end in "Z", as pydantic writes them.
_OPTIONS = orjson.OPT_UTC_Z
# A field the row does not hold: true when the record's `archived_at` is set.
ARCHIVED = "archived"


def aliases(model: type[BaseModel]) -> dict[str, str]:
    """The name each field of `model` is written under."""
    generate = model.model_config.get("alias_generator")
    return {
        name: field.serialization_alias or field.alias or (generate(name) if callable(generate) else name)
        for name, field in model.model_fields.items()
    }


class Record:
    """A row's columns as `model`'s answer: `columns` are the keys of the row's first columns,
    the model's own fields in their order (without `archived`, derived from `archived_at`);
    the columns of each embedded record (`embedded`, a field of the model each) follow, in
    the model's order. An embedded record whose first column (its id) is NULL is None.

    Checked once, as it is made, and turned into readers with the columns' places fixed:
    a call picks each record's columns at once (`operator.itemgetter`) and zips them with
    its keys, half the time of slicing the row record by record (50 rows: 122 against
    228 us)."""

    def __init__(self, model: type[BaseModel], columns: Sequence[str], **embedded: Record) -> None:
        fields = list(model.model_fields)
        own = [name for name in fields if name not in embedded]
        if ARCHIVED in own:  # written just before archived_at
            at = own.index(ARCHIVED)
            if own[at + 1 : at + 2] != ["archived_at"]:
                raise TypeError(f"{model.__name__}: {ARCHIVED} is not just before archived_at")
            own.remove(ARCHIVED)
        if list(columns) != own or [name for name in fields if name in embedded] != list(embedded):
            raise TypeError(
                f"the columns {list(columns)} and {list(embedded)} are not {model.__name__}'s fields {fields}"
            )
        names = aliases(model)
        self._columns = list(columns)
        self._names = names
        self._embedded = embedded
        self.width = len(columns) + sum(record.width for record in embedded.values())
        self._read = self._reader(0)

    def _reader(self, start: int) -> Callable[[Sequence], dict]:
        """The answer of the record whose columns start at `start` in the row."""
        keys, picks = [], []
        for i, column in enumerate(self._columns):
            if column == "archived_at" and ARCHIVED in self._names:
                keys.append(self._names[ARCHIVED])  # archived_at picked twice: the flag's place
                picks.append(start + i)
            keys.append(self._names[column])
            picks.append(start + i)
        flag = self._names.get(ARCHIVED)
        pick = itemgetter(*picks) if len(picks) > 1 else (lambda row, i=picks[0]: (row[i],))
        nested = []
        at = start + len(self._columns)
        for field, record in self._embedded.items():
            # None where the row has no such record (an outer join's NULLs, its id first).
            nested.append((self._names[field], at, record._reader(at)))
            at += record.width

        def read(row: Sequence) -> dict:
            answer = dict(zip(keys, pick(row), strict=True))
            if flag is not None:
                answer[flag] = answer[flag] is not None  # keeps its place, before archivedAt
            for key, first, inner in nested:
                answer[key] = None if row[first] is None else inner(row)
            return answer

        return read

    def __call__(self, row: Sequence, start: int = 0) -> dict:
        return (self._read if start == 0 else self._reader(start))(row)


def json(value) -> bytes:
    """Answers as `Record` builds them (one, or a list) as JSON."""
    return orjson.dumps(value, option=_OPTIONS)


def response(value, status_code: int = 200) -> Response:
    return Response(json(value), status_code=status_code, media_type="application/json")
