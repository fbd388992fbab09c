"""Nothing the app serves loads from another host: the pages, /docs and /redoc work offline."""

from __future__ import annotations

import re
from importlib import resources
from urllib.parse import urlsplit

from playwright.sync_api import expect

# What a page loads: scripts, stylesheets, icons, images, frames, CSS url(...) and @import.
LOADED = re.compile(
    r"""<(?:script|img|iframe|source|embed)\b[^>]*?\bsrc=["']([^"']+)["']"""
    r"""|<link\b[^>]*?\bhref=["']([^"']+)["']"""
    r"""|url\(\s*["']?([^"')]+)"""
    r"""|@import\s+["']([^"']+)["']""",
    re.IGNORECASE,
)


def elsewhere(text: str) -> list[str]:
    """The addresses on another host that a page or a style sheet loads."""
    found = [next(g for g in m.groups() if g) for m in LOADED.finditer(text)]
    return [u for u in found if urlsplit(u.strip()).netloc]


def test_the_loader_sees_a_foreign_address():
    assert elsewhere('<script src="https://cdn.example/x.js"></script><link rel="icon" href="//a.b/f.png">'
                     "<style>p{background:url('https://c.d/i.png')}</style>") == [
        "https://cdn.example/x.js", "//a.b/f.png", "https://c.d/i.png"]
    assert elsewhere('<script src="/static/app.js"></script><a href="https://acme.example">job</a>') == []


def test_no_page_and_no_asset_loads_from_another_host(web):
    pages = ["/", "/app/register", "/app/login", "/docs", "/redoc", "/docs/oauth2-redirect"]
    seen = {}
    for path in pages:
        r = web.get(path)
        assert r.status_code in (200, 303), (path, r.status_code)
        seen[path] = r.text
    web.register()
    for path in ["/app/today", "/app/record", "/app/jobs", "/app/contacts", "/app/stats",
                 "/app/notifications", "/app/settings"]:
        r = web.get(path)
        assert r.status_code == 200, path
        seen[path] = r.text
    assert "/static/swagger-ui-bundle.js" in seen["/docs"] and "/static/redoc.standalone.js" in seen["/redoc"]
    for path, html in seen.items():
        assert elsewhere(html) == [], path
    static = resources.files("followups.web") / "static"
    for sheet in static.iterdir():
        if sheet.name.endswith(".css"):
            assert elsewhere(sheet.read_text()) == [], sheet.name


def test_docs_and_redoc_render_with_every_other_host_unreachable(chromium, live_server):
    """Chromium with every request to another host refused: what the pages need is local."""
    own = urlsplit(live_server).netloc
    context = chromium.new_context()
    refused: list[str] = []

    def only_ours(route):
        if urlsplit(route.request.url).netloc == own:
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    context.route("**/*", only_ours)
    page = context.new_page()
    page.goto(live_server + "/docs")
    expect(page.locator(".swagger-ui .opblock-summary-path").first).to_be_visible(timeout=20_000)
    expect(page.locator(".swagger-ui")).to_contain_text("/auth/register")
    assert page.locator(".swagger-ui .validator").count() == 0  # no badge from the public validator
    page.goto(live_server + "/redoc")
    expect(page.locator("redoc")).to_contain_text("/auth/register", timeout=20_000)
    context.close()
    assert refused == []
