"""The action center: server-rendered pages at /app/ over the same services as the API.

`create_app` includes `router` and mounts `static_files()` at /static.
"""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from followups.web.pages import (
    answers,
    auth,
    jobs_contacts,
    mailbox,
    missing,
    notifications,
    outreach,
    sending,
    settings,
    stats,
    today,
)

router = APIRouter(include_in_schema=False)
_PAGES = (auth, today, sending, outreach, jobs_contacts, answers, notifications, settings, mailbox, stats, missing)
for _module in _PAGES:
    router.include_router(_module.router)


class _StaticFiles(StaticFiles):
    """The vendored and hand-written assets, never sniffed as another type."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-content-type-options", b"nosniff"),
                    (b"cache-control", b"public, max-age=3600"),
                ]
            await send(message)

        await super().__call__(scope, receive, send_with_headers)


def static_files() -> StaticFiles:
    return _StaticFiles(directory=str(resources.files("followups.web") / "static"))


__all__ = ["router", "static_files"]
