"""A short-lived cache of public passport responses (GS1 Digital Link paths), in front of the
application: a page scanned by many phones at once is rendered once per ``ttl`` seconds.

Only anonymous GET requests are cached (no Authorization header, no sign-in cookie), keyed by path,
the negotiated representation and the page language, and only 200 answers; anything with credentials passes
through, so a cached answer is always a public one. Routes that change what is public (a
passport published, a status list that revokes one) bump ``app.state.public_generation``; the
cache then drops every entry, so a revocation is visible at once, not after ``ttl``.
"""

from __future__ import annotations

import time
from collections import OrderedDict

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from batterytrace.web.i18n import negotiate

__all__ = ["PublicPageCache"]

_Entry = tuple[float, list[tuple[bytes, bytes]], bytes]


def _kind(accept: bytes) -> str:
    a = accept.lower()
    if b"linkset" in a:
        return "linkset"
    if b"sd-jwt" in a:
        return "sd-jwt"
    return "html" if b"text/html" in a else "json"


class PublicPageCache:
    def __init__(self, app: ASGIApp, ttl: float, prefix: str = "/01/", max_entries: int = 10_000) -> None:
        self.app, self.ttl, self.prefix, self.max_entries = app, ttl, prefix, max_entries
        self._entries: OrderedDict[tuple[str, str, str], _Entry] = OrderedDict()
        self._generation: object = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (self.ttl <= 0 or scope["type"] != "http" or scope["method"] != "GET"
                or not scope["path"].startswith(self.prefix) or scope.get("query_string")):
            await self.app(scope, receive, send)
            return
        accept, languages, chosen = b"", b"", None
        for name, value in scope["headers"]:
            if name == b"authorization" or (name == b"cookie" and b"bt_token=" in value):
                await self.app(scope, receive, send)
                return
            if name == b"accept":
                accept = value
            elif name == b"accept-language":
                languages = value
            elif name == b"cookie":
                for part in value.decode("latin-1").split(";"):
                    key_, _, val = part.strip().partition("=")
                    chosen = val if key_ == "bt_lang" else chosen
        # the page's language, negotiated as the viewer does (passport_routes._lang)
        key = (scope["path"], _kind(accept), negotiate(None, chosen, languages.decode("latin-1")))
        app_state = getattr(scope.get("app"), "state", None)
        generation = getattr(app_state, "public_generation", 0)
        if generation != self._generation:
            self._entries.clear()
            self._generation = generation
        now = time.monotonic()
        hit = self._entries.get(key)
        if hit is not None and hit[0] > now:
            await send({"type": "http.response.start", "status": 200, "headers": hit[1]})
            await send({"type": "http.response.body", "body": hit[2]})
            return
        status = 0
        headers: list[tuple[bytes, bytes]] = []
        body: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal status, headers
            if message["type"] == "http.response.start":
                status, headers = message["status"], list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                body.append(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, capture)
        if status == 200:
            self._entries[key] = (now + self.ttl, headers, b"".join(body))
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
