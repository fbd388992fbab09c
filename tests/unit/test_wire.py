"""followups.api.wire writes rows exactly as the response model would: the same bytes as
FastAPI's validate-then-dump of the model, for any values the database can hold."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from followups.api import wire
from followups.api.routes.followups import ANSWER
from followups.api.schemas import FollowupOut, JobOut
from followups.chains import queries
from followups.models import FollowupType, Stage
from helpers import as_the_model_writes

# Instants as the database gives them back: aware, UTC, microseconds or none.
instants = st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(9999, 12, 31)).map(
    lambda d: d.replace(tzinfo=UTC)
)
texts = st.text(max_size=40)  # any code point: quotes, controls, U+2028, astral planes
# An id as psycopg reads it (uuid.UUID) or as SQLite's rows are read (the dashed text).
ids = st.uuids().flatmap(lambda u: st.sampled_from([u, str(u)]))


def _record(extra: dict) -> st.SearchStrategy:
    archived_at = st.none() | instants
    return st.fixed_dictionaries({"id": ids, **extra, "archived_at": archived_at, "created_at": instants}).map(
        lambda record: {**record, "archived": record["archived_at"] is not None}
    )


jobs = _record( {"company": texts, "role": texts, "url": st.none() | texts,
                        "stage": st.sampled_from([s.value for s in Stage])})
contacts = _record({"name": texts, "email": st.none() | texts, "company": st.none() | texts,
                                "linkedin_url": st.none() | texts})
followups = st.fixed_dictionaries({
    "id": ids, "job_id": st.none() | ids, "contact_id": st.none() | ids, "outreach_id": st.none() | ids,
    "attempt_no": st.integers(1, 10), "type": st.sampled_from([t.value for t in FollowupType]),
    "due_at": instants, "sent_at": st.none() | instants, "cancelled_at": st.none() | instants,
    "cancel_reason": st.none() | texts, "note": st.none() | texts, "why": st.none() | texts,
    "job": st.none() | jobs, "contact": st.none() | contacts,
})


def _row(item: dict) -> tuple:
    """The follow-up as the database gives it: a row of the list's columns."""
    def record(value, columns):
        return tuple(value[c.key] for c in columns) if value else (None,) * len(columns)

    return (*record(item, queries.FOLLOWUP_COLUMNS), *record(item["job"], queries.JOB_COLUMNS),
            *record(item["contact"], queries.CONTACT_COLUMNS))


@settings(max_examples=150, deadline=None)
@given(st.lists(followups, max_size=4))
def test_a_list_is_written_as_the_model_writes_it(items):
    assert wire.json([ANSWER(_row(item)) for item in items]) == as_the_model_writes(list[FollowupOut], items)


@settings(max_examples=100, deadline=None)
@given(followups)
def test_one_is_written_as_the_model_writes_it(item):
    answer = wire.response(ANSWER(_row(item)), status_code=200)
    assert answer.body == as_the_model_writes(FollowupOut, item)
    assert answer.media_type == "application/json"


def test_a_record_whose_columns_are_not_the_models_fields_is_refused():
    """The row's columns must be the model's fields, in its order: checked as the app starts."""
    keys = [c.key for c in queries.JOB_COLUMNS]
    with pytest.raises(TypeError, match="not JobOut's fields"):
        wire.Record(JobOut, [keys[1], keys[0], *keys[2:]])
    with pytest.raises(TypeError, match="not JobOut's fields"):
        wire.Record(JobOut, keys[:-1])

    class Odd(BaseModel):
        archived: bool
        id: uuid.UUID
        archived_at: datetime | None

    with pytest.raises(TypeError, match="archived is not just before archived_at"):
        wire.Record(Odd, ["id", "archived_at"])
