"""The rate limit holds: keyed on the TCP peer unless it is a configured trusted proxy (then the
right-most untrusted forwarded address), IPv6 per /64, IPv4-mapped IPv6 as IPv4; forwarding
headers from anyone else change nothing, through a real uvicorn server too."""

from __future__ import annotations

import asyncio
import ipaddress
from pathlib import Path
from typing import Any

import httpx
import pytest

from api_support import live_server, serve
from batterytrace.api.auth import RateLimitMiddleware, client_key
from batterytrace.api.config import ApiConfig
from batterytrace.demo.scenario import Scenario
from batterytrace.errors import ConfigError

TRUSTED = (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("2001:db8:ffff::/48"))


def _h(**headers: str) -> list[tuple[bytes, bytes]]:
    return [(k.replace("_", "-").lower().encode(), v.encode()) for k, v in headers.items()]


def test_forwarding_headers_from_untrusted_peers_are_ignored() -> None:
    for peer in ("127.0.0.1", "::1", "203.0.113.9"):
        for headers in (_h(x_forwarded_for="198.51.100.1"), _h(forwarded="for=198.51.100.1"),
                        _h(x_forwarded_for="10.0.0.1, 198.51.100.1")):
            assert client_key(peer, headers, TRUSTED) == (peer if ":" not in peer else "::/64")
            assert client_key(peer, headers) == (peer if ":" not in peer else "::/64")


def test_ipv6_per_64_and_mapped_ipv4() -> None:
    a = client_key("2001:db8:1:2::1", [])
    assert a == "2001:db8:1:2::/64"
    assert client_key("2001:db8:1:2:ffff:ffff:ffff:ffff", []) == a  # rotating within the /64
    assert client_key("2001:db8:1:3::1", []) != a
    assert client_key("::ffff:203.0.113.9", []) == "203.0.113.9" == client_key("203.0.113.9", [])
    assert client_key("testclient", []) == "testclient"  # not an address: itself


def test_trusted_proxy_chains() -> None:
    # the proxy saw 198.51.100.7; whatever the client prepended is not believed
    xff = _h(x_forwarded_for="1.2.3.4, 198.51.100.7")
    assert client_key("10.1.1.1", xff, TRUSTED) == "198.51.100.7"
    # two trusted proxies in a row: the right-most untrusted address
    assert client_key("10.1.1.1", _h(x_forwarded_for="5.5.5.5, 198.51.100.7, 10.2.2.2"), TRUSTED) == "198.51.100.7"
    # spoofing a trusted address on the left does not skip past the real client
    assert client_key("10.1.1.1", _h(x_forwarded_for="10.9.9.9, 198.51.100.7"), TRUSTED) == "198.51.100.7"
    # the client's own X-Forwarded-For entries cannot rotate its identity behind the proxy
    keys = {client_key("10.1.1.1", _h(x_forwarded_for=f"192.0.2.{i}, 198.51.100.7"), TRUSTED) for i in range(50)}
    assert keys == {"198.51.100.7"}
    # only trusted hops: the left-most; garbage where an address belongs: the last trusted hop
    assert client_key("10.1.1.1", _h(x_forwarded_for="10.3.3.3, 10.2.2.2"), TRUSTED) == "10.3.3.3"
    assert client_key("10.1.1.1", _h(x_forwarded_for="198.51.100.7, nonsense, 10.2.2.2"), TRUSTED) == "10.2.2.2"
    # RFC 7239 Forwarded, with ports and IPv6 brackets; IPv6 clients behind the proxy per /64
    assert client_key("10.1.1.1", _h(forwarded='for=1.1.1.1, for="198.51.100.7:4711";proto=https'),
                      TRUSTED) == "198.51.100.7"
    assert client_key("2001:db8:ffff::5", _h(forwarded='for="[2001:db8:cafe::17]:4711"'),
                      TRUSTED) == "2001:db8:cafe::/64"
    assert client_key("2001:db8:ffff::5", _h(x_forwarded_for="::ffff:198.51.100.7"), TRUSTED) == "198.51.100.7"
    assert client_key("10.1.1.1", [], TRUSTED) == "10.1.1.1"


def _statuses(mw: RateLimitMiddleware, requests: list[tuple[str, list[tuple[bytes, bytes]]]]) -> list[int]:
    async def ok(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    mw.app = ok
    out: list[int] = []

    async def run() -> None:
        for peer, headers in requests:
            sent: list[dict[str, Any]] = []

            async def send(message: Any, sent: list[dict[str, Any]] = sent) -> None:
                sent.append(message)

            async def receive() -> Any:
                return {"type": "http.request", "body": b"", "more_body": False}

            scope = {"type": "http", "method": "GET", "path": "/", "headers": headers, "client": (peer, 1234)}
            await mw(scope, receive, send)
            out.append(sent[0]["status"])

    asyncio.run(run())
    return out


def test_middleware_holds_against_rotation() -> None:
    def mw(trusted: tuple[str, ...] = ()) -> RateLimitMiddleware:
        return RateLimitMiddleware(None, rate=1e-6, burst=3, trusted_proxies=trusted)  # type: ignore[arg-type]

    spoofed = [("127.0.0.1", _h(x_forwarded_for=f"198.51.100.{i}")) for i in range(6)]
    assert _statuses(mw(), spoofed) == [200, 200, 200, 429, 429, 429]
    rotating = [(f"2001:db8:1:2::{i:x}", []) for i in range(6)]
    assert _statuses(mw(), rotating) == [200, 200, 200, 429, 429, 429]
    other_prefixes = [(f"2001:db8:1:{i:x}::1", []) for i in range(6)]
    assert _statuses(mw(), other_prefixes) == [200] * 6
    behind_proxy = [("10.0.0.1", _h(x_forwarded_for=f"192.0.2.{i // 3}")) for i in range(6)]
    assert _statuses(mw(("10.0.0.0/8",)), behind_proxy) == [200] * 6  # two clients, three each
    assert _statuses(mw(), behind_proxy) == [200, 200, 200, 429, 429, 429]  # proxy not trusted: one client


def test_real_server_ignores_forwarded_for_from_loopback(scenario: Scenario, tmp_path: Path) -> None:
    """uvicorn's default rewrote the client address from X-Forwarded-For for loopback peers, so
    a local attacker (or anything behind a local reverse proxy) picked a fresh identity per request."""
    s = serve(scenario, tmp_path, rate_per_s=0.001, rate_burst=3)
    with live_server(s.app) as base:
        statuses = [httpx.get(base + "/ledger/head", headers={"X-Forwarded-For": f"198.51.100.{i}",
                                                             "Forwarded": f"for=198.51.100.{i}"}, timeout=10).status_code
                    for i in range(6)]
    assert statuses == [200, 200, 200, 429, 429, 429]


def test_trusted_proxies_configuration() -> None:
    cfg = ApiConfig.load(env={"BATTERYTRACE_TRUSTED_PROXIES": "10.0.0.0/8, 2001:db8::/32,127.0.0.1"})
    assert cfg.trusted_proxies == ("10.0.0.0/8", "2001:db8::/32", "127.0.0.1/32")
    with pytest.raises(ConfigError, match="invalid configuration value"):
        ApiConfig.load(env={"BATTERYTRACE_TRUSTED_PROXIES": "proxy.example"})
