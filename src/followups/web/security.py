"""The web session, CSRF and the security headers of every page.

The session is a bearer token of the API (`users.login`, stored hashed in
`api_token`) carried in an HttpOnly, SameSite=Lax cookie, Secure over https.

CSRF: every POST carries a token that is HMAC-SHA256 of a per-browser secret: the
session token once signed in, or, before that (sign-in and registration forms), a
random pre-session cookie. Another site can neither read the cookie nor the page,
so it cannot compute or copy the token. The check runs once, for every POST of
every page route (see routing.WebRoute), before the handler and its transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import parse_qsl

from fastapi import Request
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.responses import Response

SESSION_COOKIE = "followups_session"
PRESESSION_COOKIE = "followups_presession"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
MAX_FORM_FIELDS = 200

CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "font-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    )
)
PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # The calendar link in Settings is a secret: never leak a URL to another site.
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cache-Control": "no-store",
    "Vary": "Cookie, HX-Request",
}


class CsrfRejected(Exception):
    """A POST without the right token: answered 403, nothing runs."""


class FormTooLarge(Exception):
    pass


class UnsupportedForm(Exception):
    pass


def is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def csrf_token(secret: str) -> str:
    return hmac.new(secret.encode(), b"followups-web-csrf-v1", hashlib.sha256).hexdigest()


def browser_secret(request: Request) -> str | None:
    """What this browser's CSRF token derives from: the session, else the pre-session cookie."""
    return request.cookies.get(SESSION_COOKIE) or request.cookies.get(PRESESSION_COOKIE)


def ensure_secret(request: Request) -> tuple[str, str | None]:
    """The browser's secret, and a new pre-session value to set when it has none yet."""
    secret = browser_secret(request)
    if secret:
        return secret, None
    fresh = secrets.token_urlsafe(32)
    return fresh, fresh


class Form:
    """A form body: first value per name, blank values kept; uploaded files by name."""

    def __init__(self, pairs: list[tuple[str, str]], files: dict[str, bytes] | None = None) -> None:
        self._pairs = pairs
        self._files = files or {}

    def file(self, name: str) -> bytes | None:
        """The content of an uploaded file (multipart forms), None when none was chosen."""
        return self._files.get(name)

    def get(self, name: str, default: str = "") -> str:
        for key, value in self._pairs:
            if key == name:
                return value
        return default

    def has(self, name: str) -> bool:
        return any(key == name for key, _ in self._pairs)


async def read_form(request: Request, max_bytes: int) -> Form:
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > max_bytes:
        raise FormTooLarge
    body = await request.body()
    if len(body) > max_bytes:
        raise FormTooLarge
    if not body:
        return Form([])
    header = request.headers.get("content-type", "")
    ctype = header.split(";")[0].strip().lower()
    if ctype == "multipart/form-data":
        return await _multipart(request)
    if ctype != "application/x-www-form-urlencoded":
        raise UnsupportedForm
    try:
        pairs = parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            max_num_fields=MAX_FORM_FIELDS,
            strict_parsing=False,
        )
    except (UnicodeDecodeError, ValueError):
        raise UnsupportedForm from None
    return Form(pairs)


async def _multipart(request: Request) -> Form:
    """A file upload form, read by Starlette's parser (python-multipart) from the body
    already read within max_bytes: text fields as pairs, files by field name."""
    try:
        async with request.form(max_files=MAX_FORM_FIELDS, max_fields=MAX_FORM_FIELDS) as form:
            pairs: list[tuple[str, str]] = []
            files: dict[str, bytes] = {}
            for name, value in form.multi_items():
                if isinstance(value, str):
                    pairs.append((name, value))
                elif content := await value.read():  # an empty file input sends no content
                    files.setdefault(name, content)
    except (MultiPartException, HTTPException, UnicodeDecodeError):  # Starlette wraps the first
        raise UnsupportedForm from None
    return Form(pairs, files)


def check_csrf(request: Request, form: Form) -> None:
    secret = browser_secret(request)
    given = form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER, "")
    if not secret or not given or not hmac.compare_digest(given, csrf_token(secret)):
        raise CsrfRejected


def set_session_cookie(response: Response, request: Request, token: str, max_age_s: int) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=max_age_s,
        path="/",
        httponly=True,
        samesite="lax",
        secure=is_https(request),
    )
    response.delete_cookie(
        PRESESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=is_https(request)
    )


def set_presession_cookie(response: Response, request: Request, value: str) -> None:
    response.set_cookie(
        PRESESSION_COOKIE, value, path="/", httponly=True, samesite="lax", secure=is_https(request)
    )


def clear_session_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=is_https(request)
    )


def add_page_headers(response: Response) -> Response:
    for name, value in PAGE_HEADERS.items():
        response.headers.setdefault(name, value)
    return response
