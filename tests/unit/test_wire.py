"""followups.api.wire writes plain values exactly as the response model would: the same
bytes as FastAPI's validate-then-dump of the model, for any values the database can hold."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from followups.api.schemas import ContactOut, FollowupOut, JobOut
from followups.api.wire import Answer, plain_dict
from followups.models import FollowupType, Stage
from helpers import as_the_model_writes

# Instants as the database gives them back: aware, UTC, microseconds or none.
instants = st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(9999, 12, 31)).map(
    lambda d: d.replace(tzinfo=UTC)
)
texts = st.text(max_size=40)  # any code point: quotes, controls, U+2028, astral planes
# An id as psycopg reads it (uuid.UUID) or as SQLite's rows are read (the dashed text).
ids = st.uuids().flatmap(lambda u: st.sampled_from([u, str(u)]))


def _in_order_of(model):
    """The service builds its dicts in the answer's order (followups.followups.service), which
    the serialiser keeps: so do these (hypothesis does not keep a dictionary's order)."""
    return lambda record: {name: record[name] for name in model.model_fields}


def _record(model, extra: dict) -> st.SearchStrategy:
    archived_at = st.none() | instants
    return st.fixed_dictionaries({"id": ids, **extra, "archived_at": archived_at, "created_at": instants}).map(
        lambda record: _in_order_of(model)({**record, "archived": record["archived_at"] is not None})
    )


jobs = _record(JobOut, {"company": texts, "role": texts, "url": st.none() | texts,
                        "stage": st.sampled_from([s.value for s in Stage])})
contacts = _record(ContactOut, {"name": texts, "email": st.none() | texts, "company": st.none() | texts,
                                "linkedin_url": st.none() | texts})
followups = st.fixed_dictionaries({
    "id": ids, "job_id": st.none() | ids, "contact_id": st.none() | ids, "outreach_id": st.none() | ids,
    "attempt_no": st.integers(1, 10), "type": st.sampled_from([t.value for t in FollowupType]),
    "due_at": instants, "sent_at": st.none() | instants, "cancelled_at": st.none() | instants,
    "cancel_reason": st.none() | texts, "note": st.none() | texts, "why": st.none() | texts,
    "job": st.none() | jobs, "contact": st.none() | contacts,
}).map(_in_order_of(FollowupOut))


@settings(max_examples=150, deadline=None)
@given(st.lists(followups, max_size=4))
def test_a_list_is_written_as_the_model_writes_it(items):
    assert Answer(FollowupOut, many=True).json(items) == as_the_model_writes(list[FollowupOut], items)


@settings(max_examples=100, deadline=None)
@given(followups)
def test_one_is_written_as_the_model_writes_it(item):
    answer = Answer(FollowupOut).response(item, status_code=200)
    assert answer.body == as_the_model_writes(FollowupOut, item)
    assert answer.media_type == "application/json"


def test_the_plain_shape_keeps_the_models_fields_aliases_and_order():
    for model in (FollowupOut, JobOut, ContactOut):
        assert list(plain_dict(model).__annotations__) == list(model.model_fields)


def test_a_field_with_no_plain_form_is_refused_not_guessed():
    class Odd(BaseModel):
        amounts: set[int]

    with pytest.raises(TypeError, match="no plain form"):
        plain_dict(Odd)


def test_a_value_of_the_wrong_kind_is_loud():
    """The project's tests turn the serialiser's warning into an error (pyproject.toml)."""
    item = {"id": uuid.uuid4(), "job_id": None, "contact_id": None, "outreach_id": None,
            "attempt_no": "one", "type": "STANDARD", "due_at": datetime.now(UTC), "sent_at": None,
            "cancelled_at": None, "cancel_reason": None, "note": None, "why": None, "job": None,
            "contact": None}
    with pytest.raises(UserWarning, match="serializer warnings"):
        Answer(FollowupOut).json(item)
