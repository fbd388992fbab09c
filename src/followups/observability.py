"""Request ids, structured JSON logs, Prometheus metrics and readiness.

Every request gets an id (a sane incoming X-Request-ID, or a new one) that is sent back
and attached, with the signed-in user's id, to every log line written while it runs.
Tokens, passwords and bodies are never logged: the access line carries method, route
template, status and duration only.

All of it runs on every request, so it is kept cheap (bench/RESULTS.md): one pure ASGI
middleware, the histogram's child per route looked up in a dict of our own, and log lines
written by orjson with no caller lookup (half the cost of a generic JSON formatter).
"""

from __future__ import annotations

import logging
import os
import re
import time
from contextvars import ContextVar
from datetime import UTC, datetime

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import and_, func, select, text
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from followups.db import Database
from followups.migrate import is_at_head
from followups.models import Delivery, FollowUp, Notification

# One mutable record per request: sync dependencies and endpoints run in copies of the
# context (thread pool), so they fill in the same dict rather than setting variables.
_request: ContextVar[dict | None] = ContextVar("followups_request", default=None)


def set_user(user_id: str) -> None:
    current = _request.get()
    if current is not None:
        current["user_id"] = user_id
access_log = logging.getLogger("followups.access")
_SANE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        current = _request.get() or {}
        record.request_id = current.get("request_id")
        record.user_id = current.get("user_id")
        return True


# A LogRecord's own attributes: the others are the `extra` fields of the call.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}


class JsonLines(logging.Formatter):
    """One JSON object a line: time, level, logger name, message, then the call's `extra`
    fields and the request's ids (ContextFilter), and the traceback of an exception."""

    def format(self, record: logging.LogRecord) -> str:
        line = {"time": self.formatTime(record), "level": record.levelname, "name": record.name,
                "message": record.getMessage()}
        for key, value in record.__dict__.items():
            if key not in _STANDARD:
                line[key] = value
        if record.exc_info:
            line["exc_info"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exc_info"] = record.exc_text
        if record.stack_info:
            line["stack_info"] = self.formatStack(record.stack_info)
        return orjson.dumps(line, default=str).decode()


def configure_logging(level: str = "INFO") -> None:
    """JSON lines on stderr, each with the request id and user id when there is one."""
    # Nothing the lines carry is looked up per call: the caller's frame, thread, process.
    logging._srcfile = None  # documented in the logging HOWTO's "Optimization"
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLines())
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True  # our access line replaces it
    # httpx logs every webhook POST at INFO; the worker logs the failures itself.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def _request_id(headers) -> str:
    """A sane incoming X-Request-ID, or 32 random hex digits (a uuid4 spent more on
    building the UUID than on the randomness)."""
    for name, value in headers:
        if name == b"x-request-id":
            incoming = value.decode("latin-1")
            if _SANE_ID.match(incoming):
                return incoming
            break
    return os.urandom(16).hex()


class Observe:
    """ASGI middleware: request id, access log line and latency histogram by route."""

    def __init__(self, app, registry: CollectorRegistry) -> None:
        self.app = app
        self.latency = Histogram(
            "followups_request_seconds", "Request latency by route template",
            ["method", "route", "status"], registry=registry,
            buckets=(0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        # The histogram's child of each (method, route, status): `labels()` takes a lock and
        # checks its arguments on every call. Bounded by the app's routes.
        self._by_route: dict[tuple[str, str, int], object] = {}

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        rid = _request_id(scope["headers"])
        header = (b"x-request-id", rid.encode())
        token = _request.set({"request_id": rid, "user_id": None})
        status = 500
        start = time.perf_counter()

        async def send_with_id(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - start
            method = scope["method"]
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            key = (method, route, status)
            child = self._by_route.get(key)
            if child is None:
                child = self._by_route[key] = self.latency.labels(method, route, str(status))
            child.observe(elapsed)
            access_log.info("request", extra={"method": method, "route": route, "status": status,
                                              "duration_ms": round(elapsed * 1000, 2)})
            _request.reset(token)


class QueueCollector:
    """Gauges read from the database at scrape time."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self):
        now = datetime.now(UTC)
        with self.db.transaction(write=False) as s:
            oldest = s.scalar(select(func.min(FollowUp.remind_at)).where(
                FollowUp.sent_at.is_(None), FollowUp.cancelled_at.is_(None), FollowUp.reminded_at.is_(None),
                FollowUp.remind_at <= now))
            pending = s.scalar(select(func.count()).select_from(Notification).where(
                Notification.presented_at.is_(None), Notification.cancelled_at.is_(None), Notification.due_at <= now))
            queued = s.scalar(select(func.count()).select_from(Delivery).where(
                and_(Delivery.delivered_at.is_(None), Delivery.dead_at.is_(None))))
            dead = s.scalar(select(func.count()).select_from(Delivery).where(Delivery.dead_at.is_not(None)))
        lag = GaugeMetricFamily("followups_sweep_lag_seconds",
                                "Age of the oldest due follow-up still without a reminder (0: none)")
        lag.add_metric([], (now - oldest).total_seconds() if oldest else 0.0)
        yield lag
        yield GaugeMetricFamily("followups_notifications_pending", "Due notifications not yet presented",
                                value=pending)
        yield GaugeMetricFamily("followups_deliveries_queued", "Deliveries waiting to be sent", value=queued)
        yield GaugeMetricFamily("followups_deliveries_dead", "Deliveries given up after their last try", value=dead)


def install(app, db: Database) -> None:
    registry = CollectorRegistry()
    registry.register(QueueCollector(db))
    app.add_middleware(Observe, registry=registry)

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/ready", include_in_schema=False)
    def ready(request: Request) -> JSONResponse:
        """Ready: the database answers and its schema is at the newest migration."""
        try:
            with db.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            if not is_at_head(db.engine):
                return JSONResponse({"status": "migrations pending"}, status_code=503)
        except Exception:  # noqa: BLE001 - any failure to reach the database means not ready
            return JSONResponse({"status": "database unreachable"}, status_code=503)
        return JSONResponse({"status": "ready"})
