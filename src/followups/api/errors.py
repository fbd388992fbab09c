"""The one map from failures to HTTP answers: {"error", "detail"[, "fields"]}."""

from __future__ import annotations

import logging

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg.errors import LockNotAvailable, QueryCanceled
from psycopg_pool import PoolTimeout as HotPoolTimeout
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from followups.api import deps
from followups.db import DeadlineExceeded, unavailable
from followups.errors import Conflict, Forbidden, Invalid, NotFound, TooManyRequests, Unauthorized, Unavailable
from followups.users import tokens

log = logging.getLogger(__name__)
# Seconds a client waits before trying again after a 503 of the database.
RETRY_AFTER_S = "1"

KINDS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    413: "PayloadTooLarge",
    415: "UnsupportedMediaType",
    422: "ValidationError",
    429: "TooManyRequests",
    500: "InternalError",
    502: "BadGateway",
    503: "ServiceUnavailable",
}


# FastAPI's detail when reading the JSON body failed other than as a JSON syntax error.
BODY_NOT_PARSED = "There was an error parsing the body"


def error_response(status: int, detail: str, fields=None, headers=None) -> JSONResponse:
    body = {"error": KINDS.get(status, "Error"), "detail": detail}
    if fields is not None:
        body["fields"] = fields
    return JSONResponse(body, status_code=status, headers=headers)


def _field_name(loc: tuple) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or str(loc[0] if loc else "body")


def _message(err: dict) -> str:
    msg = err.get("msg", "is invalid")
    return msg.removeprefix("Value error, ")


async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    if deps.signs_in_late(request) and await deps.token_refused(request):
        return _refused(Unauthorized(tokens.NO_USER))  # without a valid token: 401, first
    fields = []
    for err in exc.errors():
        if err.get("type") == "json_invalid":
            fields.append({"field": "body", "message": "is not valid JSON"})
        else:
            fields.append({"field": _field_name(tuple(err.get("loc", ()))), "message": _message(err)})
    detail = "; ".join(f"{f['field']}: {f['message']}" for f in fields) or "The request is invalid."
    return error_response(422, detail, fields)


def _refused(exc: Unauthorized) -> JSONResponse:
    return error_response(401, exc.detail, headers={"WWW-Authenticate": "Bearer"})


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _allowed(request: Request) -> str:
    """Every method the address answers: Starlette's 405 names only those of the first
    route that matched the path, and each method of an address is a route of its own here."""
    routes = request.app.router.routes
    return ", ".join(
        method for method in _METHODS
        if any(route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes)
    )


def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    detail = exc.detail if isinstance(exc.detail, str) else "The request failed."
    if exc.status_code == 405:
        return error_response(405, detail, headers={"Allow": _allowed(request)})
    if exc.status_code == 400 and detail == BODY_NOT_PARSED:
        # FastAPI's answer to a body it could not decode (not UTF-8, too deep): bad
        # input like malformed JSON, so the same documented 422.
        message = "is not valid JSON (UTF-8 text)"
        return error_response(422, f"body: {message}", [{"field": "body", "message": message}])
    if exc.status_code == 404 and detail == "Not Found":
        detail = "There is nothing at this address."
    return error_response(exc.status_code, detail, headers=getattr(exc, "headers", None))


def _integrity(exc: IntegrityError) -> JSONResponse:
    # A unique key caught a race that the conditional updates did not.
    log.info("integrity conflict: %s", type(exc.orig).__name__)
    return error_response(409, "The change conflicts with the current state; nothing was written.")


def _database(exc: DBAPIError) -> JSONResponse:
    if isinstance(exc, DataError):
        # A value the database cannot store (e.g. NUL in text) that validation let by.
        return error_response(422, "The request contains a value that cannot be stored.")
    if unavailable(exc):
        return _unavailable_database(exc)
    log.error("database error", exc_info=exc)
    return error_response(500, "An internal error occurred.")


def _driver(exc: psycopg.Error) -> JSONResponse:
    # psycopg's own failures, without SQLAlchemy around them (followups.api.hot on the
    # event loop): answered as `_database` answers the same failures wrapped.
    if isinstance(exc, psycopg.OperationalError):
        return _unavailable_database(exc)
    log.error("database error", exc_info=exc)
    return error_response(500, "An internal error occurred.")


def _unexpected(exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return error_response(500, "An internal error occurred.")


# Every failure that is not about the request's form, by kind: its answer.
_ANSWERS = {
    NotFound: lambda exc: error_response(404, exc.detail),
    Conflict: lambda exc: error_response(409, exc.detail),
    Forbidden: lambda exc: error_response(403, exc.detail),
    Invalid: lambda exc: error_response(
        422, exc.detail, [{"field": f.field, "message": f.message} for f in exc.fields]),
    Unavailable: lambda exc: error_response(502, exc.detail),
    TooManyRequests: lambda exc: error_response(429, exc.detail, headers={"Retry-After": str(exc.retry_after_s)}),
    Unauthorized: _refused,
    IntegrityError: _integrity,
    DBAPIError: _database,
    PoolTimeout: lambda exc: _unavailable_database(exc),
    HotPoolTimeout: lambda exc: _unavailable_database(exc),
    psycopg.Error: _driver,
    Exception: _unexpected,
}


def answer(exc: Exception) -> JSONResponse:
    """The answer to `exc`, as the app's handlers give it (the nearest kind in its MRO):
    for the routes answered before FastAPI's own handlers (followups.api.hot)."""
    return next(_ANSWERS[kind] for kind in type(exc).__mro__ if kind in _ANSWERS)(exc)


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    for kind in _ANSWERS:
        app.add_exception_handler(kind, lambda _request, exc: answer(exc))


# What a database that cannot serve now answers (followups.db.unavailable), by cause.
_UNAVAILABLE = (
    ((PoolTimeout, HotPoolTimeout), "The server is busy; try again shortly."),
    ((QueryCanceled, LockNotAvailable, DeadlineExceeded), "The database did not answer in time; try again shortly."),
)


def _unavailable_database(exc: Exception) -> JSONResponse:
    cause = getattr(exc, "orig", exc)
    detail = next((d for kind, d in _UNAVAILABLE if isinstance(cause, kind)),
                  "The database is unavailable; try again shortly.")
    log.warning("database unavailable: %s", type(cause).__name__)
    return error_response(503, detail, headers={"Retry-After": RETRY_AFTER_S})
