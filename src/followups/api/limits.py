"""Guards at the edge: the request body size, and failed-login rate limits."""

from __future__ import annotations

import json
import time

from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from followups.errors import TooManyRequests


class BodySizeLimit:
    """ASGI middleware: a body over `max_bytes` answers 413 at once, from its
    Content-Length or, for a chunked body, as soon as the count passes the limit;
    nothing past the limit is buffered."""

    def __init__(self, app, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    too_big = int(value) > self.max_bytes
                except ValueError:
                    too_big = False
                if too_big:
                    return await self._refuse(send)
        seen = 0
        too_big = False
        refused = False

        async def counting_receive():
            # Past the limit the body is cut short (nothing more is buffered) and the
            # app's answer to the truncated body is replaced by the 413.
            nonlocal seen, too_big
            if too_big:
                return {"type": "http.request", "body": b"", "more_body": False}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    too_big = True
                    return {"type": "http.request", "body": b"", "more_body": False}
            return message

        async def guarded_send(message):
            nonlocal refused
            if not too_big:
                await send(message)
            elif not refused:
                refused = True
                await self._refuse(send)

        await self.app(scope, counting_receive, guarded_send)

    async def _refuse(self, send) -> None:
        body = json.dumps(
            {"error": "PayloadTooLarge", "detail": f"The request body is larger than {self.max_bytes} bytes."}
        ).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


class LoginLimiter:
    """Failed logins per account and per client address, in a moving window.

    In-process memory: with several server processes each keeps its own count (the
    limit is per process); the `limits` library offers shared storages for that case.
    """

    def __init__(self, per_account: str, per_address: str) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._account = parse(per_account)
        self._address = parse(per_address)

    def check(self, account: str, address: str) -> None:
        for item, key in ((self._account, account), (self._address, address)):
            if not self._limiter.test(item, "login", key):
                reset = self._limiter.get_window_stats(item, "login", key).reset_time
                retry = max(int(reset - time.time()) + 1, 1)
                raise TooManyRequests(
                    f"Too many failed sign-ins; try again in {retry} seconds.", retry_after_s=retry
                )

    def failed(self, account: str, address: str) -> None:
        self._limiter.hit(self._account, "login", account)
        self._limiter.hit(self._address, "login", address)

    def succeeded(self, account: str) -> None:
        self._limiter.clear(self._account, "login", account)
