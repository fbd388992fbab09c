"""Templates and the per-request page context."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from importlib import resources
from zoneinfo import ZoneInfo

from fastapi import Request
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy.orm import Session
from starlette.responses import HTMLResponse

from followups import clock, input_limits
from followups.models import User
from followups.web import queries
from followups.web.security import CSRF_FIELD, set_presession_cookie

env = Environment(
    loader=PackageLoader("followups.web", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


@lru_cache(maxsize=16)
def asset(name: str) -> str:
    """A static file's URL with a content hash, so a new release is never served stale."""
    data = resources.files("followups.web").joinpath("static", name).read_bytes()
    return f"/static/{name}?v={hashlib.sha256(data).hexdigest()[:12]}"


env.globals["asset"] = asset
env.globals["csrf_field"] = CSRF_FIELD
env.globals["day_time"] = clock.DAY_TIME_TEXT
env.globals["limits"] = input_limits


@dataclass
class Ctx:
    """What every page needs: the request, its transaction, the clock and the user."""

    request: Request
    session: Session
    now: datetime
    user: User | None
    csrf: str
    # A new pre-session secret (sign-in, registration) that the response must set.
    new_presession: str | None = None

    @property
    def tz(self) -> ZoneInfo:
        return self.user.zone if self.user else ZoneInfo("UTC")

    @property
    def htmx(self) -> bool:
        """A partial request from htmx (a history restore wants the whole page)."""
        headers = self.request.headers
        return (
            headers.get("HX-Request") == "true"
            and headers.get("HX-History-Restore-Request") != "true"
        )


def render(ctx: Ctx, template: str, status: int = 200, **values) -> HTMLResponse:
    bell = None
    if ctx.user is not None:
        bell = queries.unseen_count(ctx.session, ctx.user, ctx.now)
    html = env.get_template(template).render(
        csrf=ctx.csrf, user=ctx.user, bell=bell, path=ctx.request.url.path, **values
    )
    response = HTMLResponse(html, status_code=status)
    if ctx.new_presession:
        set_presession_cookie(response, ctx.request, ctx.new_presession)
    return response


def render_error(request: Request, status: int, title: str, message: str) -> HTMLResponse:
    """An error page that needs no database (the transaction may be gone)."""
    html = env.get_template("error.html").render(
        csrf="",
        user=None,
        bell=None,
        path=request.url.path,
        title=title,
        message=message,
        status=status,
    )
    return HTMLResponse(html, status_code=status)
