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

from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from batterytrace.web.i18n import negotiate

__all__ = ["LINKSET_TYPE", "SD_JWT_TYPES", "PublicPageCache", "representation"]

_Entry = tuple[float, list[tuple[bytes, bytes]], bytes]
SD_JWT_TYPES = ("application/dc+sd-jwt", "application/vc+sd-jwt")
LINKSET_TYPE = "application/linkset+json"
_TOKEN_COOKIE = "bt_token"  # api.auth.TOKEN_COOKIE (auth imports the ledger; this module stays light)


def representation(accept: str) -> str:
    """The representation an ``Accept`` header asks of a passport link: the viewer answers it
    (passport_routes) and the cache keys on it, so both must read it the same way."""
    a = accept.lower()
    if any(t in a for t in SD_JWT_TYPES):
        return "sd-jwt"
    if LINKSET_TYPE in a:
        return "linkset"
    return "html" if "text/html" in a else "json"


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
        # the application reads the first of a repeated header (starlette's Headers.get), and
        # cookies as starlette parses them: the key must be made of exactly what it reads
        first: dict[bytes, str] = {}
        for name, value in scope["headers"]:
            text = value.decode("latin-1")
            if name == b"authorization" or (name == b"cookie" and _TOKEN_COOKIE in cookie_parser(text)):
                await self.app(scope, receive, send)
                return
            first.setdefault(name, text)
        chosen = cookie_parser(first.get(b"cookie", "")).get("bt_lang")
        # the page's language, negotiated as the viewer does (passport_routes._lang)
        key = (scope["path"], representation(first.get(b"accept", "")),
               negotiate(None, chosen, first.get(b"accept-language", "")))
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
