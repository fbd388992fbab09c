"""Answers serialised straight from plain values, for the hottest endpoints.

A response model makes FastAPI validate the endpoint's value (a model per item, each UUID
and instant parsed again) and then dump it. Where the value is already plain data of the
right shape (the list's rows, mark-sent's answer), `Answer(FollowupOut)` dumps it as the
model would, without the validation step: a TypedDict derived from the model (same field
names, same camelCase aliases, same order; enums as their string values, nested models
likewise) serialised by pydantic-core. The bytes are the model's own for the same values
(tests/unit/test_wire.py); the dicts must hold the fields in the model's order, since a
TypedDict is written in the order of its input.
"""

from __future__ import annotations

import enum
import types
import typing
import uuid
from datetime import datetime
from functools import cache

from fastapi import Response
from pydantic import BaseModel, ConfigDict, TypeAdapter
from typing_extensions import TypedDict

_ATOMS = (str, int, bool, float, datetime, uuid.UUID, type(None))


def _plain(annotation):
    """The annotation of a model's field, for data that is plain already."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return typing.Union[tuple(_plain(arg) for arg in typing.get_args(annotation))]  # noqa: UP007
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return plain_dict(annotation)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return str  # the value as stored; the model would write the member's value
    if origin is typing.Annotated:
        return _plain(typing.get_args(annotation)[0])
    if annotation is uuid.UUID:
        return uuid.UUID | str  # or its text form already (SQLite's list rows: followups.followups.queries)
    if annotation in _ATOMS:
        return annotation
    raise TypeError(f"no plain form for {annotation!r}")  # not needed yet: refuse, never guess


@cache
def plain_dict(model: type[BaseModel]) -> type:
    """A TypedDict with the model's fields, aliases and order."""
    fields = {name: _plain(field.annotation) for name, field in model.model_fields.items()}
    shape = TypedDict(f"{model.__name__}Plain", fields)  # type: ignore[misc]
    config = model.model_config
    shape.__pydantic_config__ = ConfigDict(  # type: ignore[attr-defined]
        alias_generator=config.get("alias_generator"), populate_by_name=True
    )
    return shape


class Answer:
    """Plain values in `model`'s shape (or a list of them: `many`) as a JSON response."""

    def __init__(self, model: type[BaseModel], *, many: bool = False) -> None:
        shape = plain_dict(model)
        self._adapter = TypeAdapter(list[shape] if many else shape)

    def json(self, value) -> bytes:
        return self._adapter.dump_json(value, by_alias=True)

    def response(self, value, status_code: int = 200) -> Response:
        return Response(self.json(value), status_code=status_code, media_type="application/json")
