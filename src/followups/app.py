"""The application factory: settings in, ASGI app out. Nothing happens at import."""

from __future__ import annotations

import gc
import os
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from fastapi import FastAPI
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from followups import __version__, hot_db, observability, web
from followups.api import docs, errors
from followups.api.headers import JsonHeaders
from followups.api.hot import HotRoutes
from followups.api.limits import BodySizeLimit, LoginLimiter
from followups.api.routes import (
    auth,
    calendar,
    contacts,
    drafts,
    followups,
    jobs,
    mailbox,
    notifications,
    outreach,
    sending,
    stats,
)
from followups.config import Settings
from followups.db import Database
from followups.mailbox import secret
from followups.migrate import upgrade


def create_app(settings: Settings | None = None, *, db: Database | None = None, migrate: bool | None = None) -> FastAPI:
    settings = settings or Settings()
    database = db or Database(settings, bounded=True)
    secret.configure(settings)  # the key of the stored mailbox passwords: its file is made now
    # The embedded default needs no set-up: it migrates itself on start.
    if migrate if migrate is not None else settings.is_sqlite:
        upgrade(database.engine)

    def db_threads() -> ThreadPoolExecutor:
        # The threads of the hot routes' database work (api.deps.Unit): as many as the pool
        # has connections.
        return ThreadPoolExecutor(settings.db_pool_size + settings.db_max_overflow, "followups-db")

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        # Start-up's objects live as long as the process: frozen, the collector no longer
        # scans them, and a larger first generation makes it run less often (less CPU per
        # request, bench/RESULTS.md). Undone at shutdown, for processes (tests) that make
        # many apps.
        _app.state.db_threads = db_threads()  # anew: an app may be started again (tests)
        # The list's connections on the event loop (api.hot), opened in this loop: on
        # PostgreSQL, where no replica may have to serve the read instead.
        if not settings.is_sqlite and database.replica is None:
            _app.state.hot_pool = hot_db.Pool(settings, database.engine)
            await _app.state.hot_pool.open()
        gc.freeze()
        threshold = gc.get_threshold()
        gc.set_threshold(50_000, 20, 20)
        yield
        _app.state.db_threads.shutdown(wait=True)  # the server's requests are done: nothing cut short
        if _app.state.hot_pool is not None:
            await _app.state.hot_pool.close()
            _app.state.hot_pool = None
        gc.set_threshold(*threshold)
        gc.unfreeze()
        if db is None:
            database.dispose()

    app = FastAPI(
        title="followups",
        version=__version__,
        description="A follow-up engine for job-search outreach.",
        lifespan=lifespan,
        docs_url=None,  # /docs and /redoc come from docs.install, on the package's own assets
        redoc_url=None,
        telemetry=_opentelemetry(),
    )
    app.state.settings = settings
    app.state.db = database
    app.state.db_threads = db_threads()  # threads start when first used; for apps run without lifespan
    app.state.login_limiter = LoginLimiter.from_settings(settings)
    app.state.hot_pool = None  # until the lifespan opens it
    errors.install(app)
    docs.install(app)
    app.add_middleware(HotRoutes, api=app)  # innermost: every middleware below is around it
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(JsonHeaders)
    observability.install(app, database)
    if settings.trusted_proxy_list:
        # Outermost: the logs, the limits and the cookies' Secure flag all see the client
        # the trusted proxy forwarded for. Without proxies the peer is the client.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxy_list)

    @app.get("/health", tags=["health"])
    async def health() -> dict:  # async: a sync endpoint costs a hop to a worker thread
        return {"status": "ok"}

    for module in (followups, auth, jobs, contacts, outreach, notifications, calendar, stats, mailbox, drafts, sending):
        app.include_router(module.router)
    app.include_router(web.router)
    app.mount("/static", web.static_files(), name="static")
    return app


def _opentelemetry() -> dict | None:
    """FastAPI's own OpenTelemetry spans and metrics, on when the process is set up for
    OpenTelemetry (an `OTEL_...` variable, or FastAPI's auto-configuration asked for).
    Otherwise off: FastAPI would look up the three global providers on every request to
    find them unconfigured, about 1 % of a list's CPU (bench/RESULTS.md). Request ids, the
    JSON access log and the Prometheus metrics (followups.observability) are ours, always."""
    if os.environ.get("FASTAPI_OTEL_AUTO_CONFIGURE") or any(name.startswith("OTEL_") for name in os.environ):
        return None  # FastAPI's defaults
    return {"tracing": False, "metrics": False, "logs": False}


def create_served_app() -> FastAPI:
    """The factory each process of `followups serve --workers N` calls: JSON logs, settings
    from the environment, and no migration (the command migrated the embedded default once,
    before starting the processes)."""
    observability.configure_logging()
    return create_app(migrate=False)
