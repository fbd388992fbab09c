"""Headers of the API's JSON answers: never cached, never sniffed as another type."""

from __future__ import annotations

_JSON = b"application/json"
_CACHE = b"cache-control"
_NOSNIFF = b"x-content-type-options"
# An answer holds a user's records or a bearer token (the sign-in): no cache, shared or
# private, may keep it (RFC 9111 no-store; RFC 6749 asks it of token answers).
_ADDED = ((_CACHE, b"no-store"), (_NOSNIFF, b"nosniff"))


class JsonHeaders:
    """ASGI middleware: `Cache-Control: no-store` and `X-Content-Type-Options: nosniff` on
    every JSON answer that does not set them itself. The pages, the static files and the
    calendar feed set their own."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = message.get("headers") or []
                json = cache = sniff = False
                for name, value in headers:
                    if name == b"content-type":
                        json = value.startswith(_JSON)
                    elif name == _CACHE:
                        cache = True
                    elif name == _NOSNIFF:
                        sniff = True
                if json and not cache and not sniff:
                    message["headers"] = [*headers, *_ADDED]
                elif json and not (cache and sniff):
                    message["headers"] = [*headers, _ADDED[1] if cache else _ADDED[0]]
            await send(message)

        await self.app(scope, receive, send_with_headers)
