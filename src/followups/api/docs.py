"""/docs (Swagger UI) and /redoc (ReDoc) from the package's own files: they work offline
and make no request to another host (web/static/*.VERSION.txt say where each file comes
from). A Content-Security-Policy holds them to this host: ReDoc 2's sidebar shows a logo
from Redocly's CDN, which the policy keeps from loading (the image hides itself)."""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse

STATIC = "/static"
FAVICON = f"{STATIC}/favicon.svg"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def _policy(html: str) -> str:
    """This host only; the page's own inline scripts by their hash; inline styles, data:
    images and fonts, and blob: workers, which Swagger UI and ReDoc make at run time."""
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'"
        for s in _INLINE_SCRIPT.findall(html)
    )
    return "; ".join((
        "default-src 'self'",
        f"script-src 'self' {hashes}".strip(),
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "worker-src 'self' blob:",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ))


def _page(response: HTMLResponse):
    """A route's answer: the page, made once, with its policy."""
    html = response.body.decode()
    headers = {"Content-Security-Policy": _policy(html), "X-Content-Type-Options": "nosniff"}

    async def page() -> HTMLResponse:
        return HTMLResponse(html, headers=headers)

    return page


def install(app: FastAPI) -> None:
    """The routes FastAPI makes with `docs_url` and `redoc_url`, on local assets (create the
    app with `docs_url=None, redoc_url=None`). Each page is the same for every request:
    made once."""
    openapi_url = app.openapi_url or "/openapi.json"
    swagger = _page(get_swagger_ui_html(
        openapi_url=openapi_url,
        title=f"{app.title} - Swagger UI",
        swagger_js_url=f"{STATIC}/swagger-ui-bundle.js",
        swagger_css_url=f"{STATIC}/swagger-ui.css",
        swagger_favicon_url=FAVICON,
        oauth2_redirect_url="/docs/oauth2-redirect",
        # No badge from the public validator (a request to swagger.io).
        swagger_ui_parameters={"validatorUrl": None},
    ))
    redirect = _page(get_swagger_ui_oauth2_redirect_html())
    redoc = _page(get_redoc_html(
        openapi_url=openapi_url,
        title=f"{app.title} - ReDoc",
        redoc_js_url=f"{STATIC}/redoc.standalone.js",
        redoc_favicon_url=FAVICON,
        with_google_fonts=False,
    ))
    app.get("/docs", include_in_schema=False)(swagger)
    app.get("/docs/oauth2-redirect", include_in_schema=False)(redirect)
    app.get("/redoc", include_in_schema=False)(redoc)
