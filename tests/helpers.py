"""Small factories over the HTTP API, shared by the API tests, and the response models' bytes."""

from __future__ import annotations

from pydantic import TypeAdapter


def as_the_model_writes(model, value) -> bytes:
    """`value` validated through the response model `model` and dumped, as FastAPI writes it."""
    adapter = TypeAdapter(model)
    return adapter.dump_json(adapter.validate_python(value), by_alias=True)


def job(api, headers, company="Acme", role="Backend engineer", **extra) -> dict:
    return api.call("POST", "/jobs", headers, 201, json={"company": company, "role": role, **extra}).json()


def contact(api, headers, name="Grace Hopper", **extra) -> dict:
    return api.call("POST", "/contacts", headers, 201, json={"name": name, **extra}).json()


def outreach(api, headers, **body) -> dict:
    body.setdefault("channel", "EMAIL")
    return api.call("POST", "/outreach", headers, 201, json=body).json()


def followup(api, headers, due_at: str, **body) -> dict:
    return api.call("POST", "/followups", headers, 201, json={"dueAt": due_at, **body}).json()


def bucket(api, headers, due: str) -> list[dict]:
    return api.call("GET", f"/followups?due={due}", headers, 200).json()


def bucket_ids(api, headers, due: str) -> list[str]:
    return [f["id"] for f in bucket(api, headers, due)]


def send(api, headers, followup_id: str, expect: int = 200, **body):
    kwargs = {"json": body} if body else {}
    return api.call("PATCH", f"/followups/{followup_id}/send", headers, expect, **kwargs)
