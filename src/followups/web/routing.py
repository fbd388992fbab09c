"""The route class of every page: CSRF before the handler, HTML (never JSON) after it.

Handlers signal their outcome with exceptions where the transaction must roll back:
`Rendered` carries a page rendered inside the handler (a form with its errors),
`LoginRequired` sends the browser to sign in. The API's JSON error map never sees a
page's failure.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from sqlalchemy.exc import IntegrityError
from starlette.responses import RedirectResponse, Response

from followups.db import roll_back, unavailable
from followups.errors import Conflict, Invalid, NotFound
from followups.web.render import render_error
from followups.web.security import (
    CsrfRejected,
    FormTooLarge,
    UnsupportedForm,
    add_page_headers,
    check_csrf,
    read_form,
)

log = logging.getLogger(__name__)

LOGIN_PATH = "/app/login"


class LoginRequired(Exception):
    pass


class Rendered(Exception):  # noqa: N818 - it carries a response, it is not an error
    """A response made inside the handler, answered after the transaction rolled back."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def redirect(request: Request, url: str) -> Response:
    """303 to `url`; htmx follows HX-Redirect instead of swapping the target page in."""
    if is_htmx(request):
        return Response(status_code=200, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def local_path(value: str | None, default: str) -> str:
    """A redirect target from the browser, kept to this site's pages."""
    if (
        value
        and value.startswith("/app/")
        and value.isprintable()
        and not any(bad in value for bad in ("//", "\\", " "))
    ):
        return value
    return default


def _login_redirect(request: Request) -> Response:
    url = LOGIN_PATH
    if request.method == "GET" and request.url.path.startswith("/app/"):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        url += "?next=" + quote(target, safe="")
    return redirect(request, url)


def _error(request: Request, status: int, title: str, message: str) -> Response:
    response = render_error(request, status, title, message)
    if is_htmx(request):
        # htmx does not swap an error answer: reload so the page shows the current state.
        response.headers["HX-Refresh"] = "true"
    return response


def _failure(request: Request, exc: Exception) -> Response:
    if isinstance(exc, LoginRequired):
        return _login_redirect(request)
    if isinstance(exc, Rendered):
        return exc.response
    if isinstance(exc, CsrfRejected):
        return _error(
            request,
            403,
            "Form expired",
            "This form has expired or did not come from this site. Reload the page and try again.",
        )
    if isinstance(exc, FormTooLarge):
        return _error(request, 413, "Too large", "The form is too large.")
    if isinstance(exc, UnsupportedForm):
        return _error(request, 415, "Unsupported form", "The form could not be read.")
    if isinstance(exc, NotFound):
        return _error(request, 404, "Not found", "There is nothing here, or it is not yours.")
    if isinstance(exc, (Conflict, IntegrityError)):
        detail = exc.detail if isinstance(exc, Conflict) else "It changed meanwhile."
        return _error(request, 409, "Conflict", f"{detail} Nothing was changed.")
    if isinstance(exc, (Invalid, RequestValidationError)):
        return _error(request, 400, "Bad request", "The request is not valid.")
    if unavailable(exc):  # down, frozen, a lock or statement timeout, the pool exhausted
        response = _error(request, 503, "Busy", "The database is busy; try again in a moment.")
        response.headers["Retry-After"] = "1"
        return response
    log.exception("page failed", exc_info=exc)
    return _error(request, 500, "Something went wrong", "An internal error occurred.")


class WebRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        inner = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                if request.method == "POST":
                    max_bytes = request.app.state.settings.max_body_bytes
                    form = await read_form(request, max_bytes)
                    check_csrf(request, form)
                    request.state.form = form
                response = await inner(request)
            except Exception as exc:  # noqa: BLE001 - every failure becomes a page
                # The request's transaction ends after this handler returns, without the
                # exception: tell it to roll back what the handler wrote before failing.
                session = getattr(request.state, "db_session", None)
                if session is not None:
                    roll_back(session)
                response = _failure(request, exc)
            return add_page_headers(response)

        return handler
