"""Request bodies bounded while they are read: a declared ``Content-Length`` above the route's
limit is answered 413 before a byte is read; a body without one (chunked) is counted as it
streams in and refused as soon as it passes the limit, so no route ever buffers more than its
limit plus one network chunk. The request target is bounded too (``MAX_PATH_BYTES``,
``MAX_QUERY_BYTES``: 414), so no identifier in a path or query parameter reaches a decoder at
any length."""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from batterytrace.api.problems import BodyTooLarge, problem_response

__all__ = ["MAX_PATH_BYTES", "MAX_QUERY_BYTES", "BodyLimitMiddleware", "BodyTooLarge", "route_of"]

MAX_PATH_BYTES = 2048
MAX_QUERY_BYTES = 8192

# (method, path) → route name of ApiConfig.body_limit; every other request is "other"
_ROUTES = {
    ("POST", "/events"): "events",
    ("POST", "/events/batch"): "batch",
    ("POST", "/capture"): "capture",
    ("POST", "/passports"): "passports",
    ("POST", "/verify"): "verify",
    ("POST", "/statuslists"): "statuslists",
    ("POST", "/import/csv"): "import",
    ("POST", "/signin"): "signin",
}


def route_of(method: str, path: str) -> str:
    return _ROUTES.get((method.upper(), path.rstrip("/") or "/"), "other")


class BodyLimitMiddleware:
    """``limit_of(route)`` is the byte limit of a route name (``route_of``); ``headers_of(route)``
    extra headers of its 413 answer (the EPCIS capture limits)."""

    def __init__(self, app: ASGIApp, limit_of: Callable[[str], int],
                 headers_of: Callable[[str], dict[str, str]] | None = None) -> None:
        self.app, self.limit_of, self.headers_of = app, limit_of, headers_of

    def _refuse(self, route: str, limit: int, scope: Scope) -> ASGIApp:
        exc = BodyTooLarge(route, limit, self.headers_of(route) if self.headers_of else {})
        return problem_response(413, "body-too-large", "Request body too large", str(exc.detail),
                                scope.get("path"), dict(exc.headers or {}), limit=limit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path, query = scope.get("raw_path") or scope["path"].encode(), scope.get("query_string", b"")
        if len(path) > MAX_PATH_BYTES or len(query) > MAX_QUERY_BYTES:
            target = "path" if len(path) > MAX_PATH_BYTES else "query string"
            limit = MAX_PATH_BYTES if target == "path" else MAX_QUERY_BYTES
            await problem_response(414, "uri-too-long", "Request target too long",
                                   f"the {target} has more than {limit} bytes", None,
                                   limit=limit)(scope, receive, send)
            return
        route = route_of(scope["method"], scope["path"])
        limit = self.limit_of(route)
        declared: int | None = None
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = None
                break
        if declared is not None and declared > limit:
            await self._refuse(route, limit, scope)(scope, receive, send)
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(route, limit, self.headers_of(route) if self.headers_of else {})
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except BodyTooLarge:
            # raised where no problem handler sits between the read and this middleware
            if started:
                raise
            await self._refuse(route, limit, scope)(scope, receive, send)
