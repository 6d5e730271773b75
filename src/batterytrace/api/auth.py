"""Who is asking: the access level of a request (bearer token or sign-in cookie) and the
per-client rate limit."""

from __future__ import annotations

import ipaddress
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

__all__ = ["TOKEN_COOKIE", "RateLimitMiddleware", "access_level", "client_key", "grant_of", "require_grant"]

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


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _forwarded_for(value: str) -> list[str]:
    """The ``for=`` nodes of an RFC 7239 ``Forwarded`` header, in order, without port or brackets."""
    nodes = []
    for element in value.split(","):
        for pair in element.split(";"):
            name, _, node = pair.strip().partition("=")
            if name.strip().lower() != "for":
                continue
            node = node.strip().strip('"')
            if node.startswith("["):
                node = node[1:].partition("]")[0]
            elif node.count(":") == 1:
                node = node.partition(":")[0]
            nodes.append(node)
    return nodes


def client_key(peer: str, headers: list[tuple[bytes, bytes]],
               trusted: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()) -> str:
    """Whom a request counts against: the TCP peer, or, when the peer is a trusted proxy, the
    right-most address of ``X-Forwarded-For`` (else ``Forwarded``) that is not a trusted proxy
    (entries left of it are whatever the client wrote, so never believed). IPv4-mapped IPv6 counts
    as IPv4; IPv6 counts per /64 (one subscriber's prefix)."""
    address = _ip(peer)
    if address is not None and trusted and any(address in net for net in trusted):
        chain: list[str] = []
        for name, value in headers:
            if name == b"x-forwarded-for":
                chain += [v.strip() for v in value.decode("latin-1").split(",")]
        if not chain:
            for name, value in headers:
                if name == b"forwarded":
                    chain += _forwarded_for(value.decode("latin-1"))
        hop = address
        for entry in reversed(chain):
            candidate = _ip(entry)
            if candidate is None:
                break  # a proxy we trust wrote no address here: stay with the last trusted hop
            hop = candidate
            if not any(candidate in net for net in trusted):
                break
        address = hop
    if address is None:
        return peer
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class RateLimitMiddleware:
    """Token bucket per client (``client_key``): ``rate`` requests per second, bursts up to
    ``burst``. Excess requests get 429 with Retry-After. Tracks at most ``max_clients`` clients
    (LRU). Forwarding headers count only from ``trusted_proxies`` (CIDRs)."""

    def __init__(self, app: ASGIApp, rate: float, burst: int, max_clients: int = 100_000,
                 trusted_proxies: tuple[str, ...] = ()) -> None:
        self.app, self.rate, self.burst, self.max_clients = app, rate, burst, max_clients
        self.trusted = tuple(ipaddress.ip_network(p, strict=False) for p in trusted_proxies)
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
        wait = self._take(client_key(str(client[0]) if client else "unknown", scope["headers"], self.trusted))
        if wait > 0:
            response = problem_response(429, "rate-limited", "Too many requests",
                                        f"at most {self.rate:g} requests per second per client",
                                        scope.get("path"), {"Retry-After": str(max(1, math.ceil(wait)))})
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
