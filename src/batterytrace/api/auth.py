"""Who is asking: the access level of a request (bearer token or sign-in cookie) and the
per-client rate limit."""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from typing import Any

from fastapi import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from batterytrace.api.problems import ProblemError, problem_response
from batterytrace.errors import VerificationError
from batterytrace.ledger.access import PARTICIPANT_ROLE, AccessGrant
from batterytrace.ledger.credentials import verify_credential

__all__ = ["TOKEN_COOKIE", "RateLimitMiddleware", "access_level", "grant_of", "require_grant"]

TOKEN_COOKIE = "bt_token"


def grant_of(request: Request) -> AccessGrant | None:
    """The verified grant of the request's bearer token or sign-in cookie; none for public
    requests. A token that fails verification is refused (401), never silently downgraded."""
    header = request.headers.get("authorization")
    token = None
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise ProblemError(401, "unauthorized", "Unauthorized", "use Authorization: Bearer <token>",
                          {"WWW-Authenticate": "Bearer"})
        token = value.strip()
    elif TOKEN_COOKIE in request.cookies:
        token = request.cookies[TOKEN_COOKIE]
    if token is None:
        return None
    ledger = request.app.state.ledger
    try:  # signature by the ledger's token key, audience, lifetime, registry (not revoked)
        return verify_credential(ledger.store, ledger.ledger_id, token, int(time.time()))
    except VerificationError as exc:
        raise ProblemError(401, "unauthorized", "Unauthorized", str(exc),
                      {"WWW-Authenticate": 'Bearer error="invalid_token"'}) from exc


def access_level(request: Request) -> str:
    """The passport access level: a participant credential reads passports as the public."""
    grant = grant_of(request)
    return "public" if grant is None or grant.role == PARTICIPANT_ROLE else grant.role


def require_grant(request: Request) -> AccessGrant:
    grant = grant_of(request)
    if grant is None:
        raise ProblemError(401, "unauthorized", "Unauthorized", "this resource needs an operator-issued bearer token",
                      {"WWW-Authenticate": "Bearer"})
    return grant


class RateLimitMiddleware:
    """Token bucket per client address: ``rate`` requests per second, bursts up to ``burst``.
    Excess requests get 429 with Retry-After. Tracks at most ``max_clients`` addresses (LRU)."""

    def __init__(self, app: ASGIApp, rate: float, burst: int, max_clients: int = 100_000) -> None:
        self.app, self.rate, self.burst, self.max_clients = app, rate, burst, max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def _take(self, client: str) -> float:
        """0 when allowed, else seconds until a request would be."""
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.pop(client, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            wait = 0.0
            if tokens >= 1.0:
                tokens -= 1.0
            else:
                wait = (1.0 - tokens) / self.rate
            self._buckets[client] = (tokens, now)
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
        return wait

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.rate <= 0:
            await self.app(scope, receive, send)
            return
        client: Any = scope.get("client")
        wait = self._take(str(client[0]) if client else "unknown")
        if wait > 0:
            response = problem_response(429, "rate-limited", "Too many requests",
                                        f"at most {self.rate:g} requests per second per client",
                                        scope.get("path"), {"Retry-After": str(max(1, math.ceil(wait)))})
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
