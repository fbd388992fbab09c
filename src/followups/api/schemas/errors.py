"""The error body every route answers with, and its OpenAPI entries."""

from __future__ import annotations

from pydantic import BaseModel


class FieldErrorOut(BaseModel):
    field: str
    message: str


class ErrorOut(BaseModel):
    error: str
    detail: str
    fields: list[FieldErrorOut] | None = None


def error_responses(*codes: int) -> dict:
    """OpenAPI entries for the error answers a route can give, all with ErrorOut."""
    text = {
        401: "No valid bearer token.",
        403: "Registration is closed on this server (FOLLOWUPS_REGISTRATION).",
        404: "Not found, or owned by another user.",
        409: "Not allowed in the record's current state.",
        413: "The request body is too large.",
        422: "Invalid input; `fields` names each bad field.",
        429: "Too many failed sign-ins.",
        502: "The user's own mail server refused the message or could not be reached; nothing changed.",
        503: "The database is unavailable.",
    }
    return {code: {"model": ErrorOut, "description": text[code]} for code in codes}
