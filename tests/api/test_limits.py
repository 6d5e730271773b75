"""Request bodies are bounded per route while they are read: a declared Content-Length is judged
before a byte is read, a chunked upload is counted as it streams and refused once it passes the
limit (413 problem details); the server keeps serving afterwards."""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from api_support import Served, live_server, serve
from batterytrace.api.config import BODY_LIMIT_DEFAULTS, ApiConfig
from batterytrace.api.limits import route_of
from batterytrace.demo.scenario import Scenario
from batterytrace.errors import ConfigError

PROBLEM = "application/problem+json"
SMALL = {"events": 4096, "batch": 8192, "capture": 16384, "passports": 8192, "verify": 4096, "statuslists": 4096, "import": 4096, "signin": 2048,
         "other": 2048}
ROUTES = [("POST", "/events", "events"), ("POST", "/events/batch", "batch"), ("POST", "/capture", "capture"),
          ("POST", "/passports", "passports"), ("POST", "/verify", "verify"), ("POST", "/signin", "signin"),
          ("POST", "/statuslists", "statuslists"), ("POST", "/import/csv", "import"),
          ("GET", "/ledger/head", "other"), ("POST", "/signout", "other")]


@pytest.fixture(scope="module")
def small(scenario: Scenario, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    s = serve(scenario, tmp_path_factory.mktemp("limits"), body_limits=SMALL)
    yield s
    s.client.close()


def _too_large(r: Any, route: str) -> None:
    assert r.status_code == 413, (route, r.status_code, r.text[:200])
    assert r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    assert body["type"].endswith("/body-too-large") and body["limit"] == SMALL[route]
    assert f"at most {SMALL[route]} bytes per {route} request body" in body["detail"]


def test_route_names() -> None:
    for method, path, route in ROUTES:
        assert route_of(method, path) == route
    assert route_of("POST", "/events/") == "events" and route_of("PUT", "/events") == "other"


@pytest.mark.parametrize(("method", "path", "route"), ROUTES)
def test_declared_length_over_the_limit_is_refused_before_reading(small: Served, method: str, path: str,
                                                                  route: str) -> None:
    client = TestClient(small.app, raise_server_exceptions=False)
    r = client.request(method, path, content=b"{" + b" " * SMALL[route] + b"}",
                       headers={"content-type": "application/json"})
    _too_large(r, route)
    size = small.ledger.size()
    assert small.ledger.size() == size


@pytest.mark.parametrize(("method", "path", "route"), ROUTES[:7])
def test_chunked_body_over_the_limit_is_refused(small: Served, method: str, path: str, route: str) -> None:
    """Routes that read a body (a route that never reads one ignores it: nothing is buffered;
    ``/import/csv`` asks for a credential before it reads)."""
    sent = 0

    def chunks() -> Iterator[bytes]:
        nonlocal sent
        yield b'{"event": "'
        for _ in range(200):
            sent += 1024
            yield b"a" * 1024
        yield b'"}'

    client = TestClient(small.app, raise_server_exceptions=False)
    r = client.request(method, path, content=chunks(), headers={"content-type": "application/json"})
    _too_large(r, route)


def test_within_the_limit_still_works(small: Served, scenario: Scenario) -> None:
    client = TestClient(small.app, raise_server_exceptions=False)
    r = client.post("/events", json=scenario.events[0].to_wire())  # a replay, judged by the rules
    assert r.status_code == 422 and r.json()["rule"] == "replay"


def test_capture_413_names_the_epcis_limits(small: Served) -> None:
    client = TestClient(small.app, raise_server_exceptions=False)
    r = client.post("/capture", content=b"{" + b" " * 20_000 + b"}", headers={"content-type": "application/ld+json"})
    _too_large(r, "capture")
    assert r.headers["GS1-EPCIS-Capture-File-Size-Limit"] == str(SMALL["capture"])
    assert client.options("/capture").headers["GS1-EPCIS-Capture-File-Size-Limit"] == str(SMALL["capture"])


def _raw_chunked(base: str, path: str, chunk: bytes, max_bytes: int) -> tuple[bytes, int]:
    """POST an endless chunked body over a socket until the server answers; (answer, bytes sent)."""
    url = urlsplit(base)
    sock = socket.create_connection((url.hostname or "127.0.0.1", url.port or 80), timeout=10)
    sent = 0
    answer = b""
    try:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: {url.netloc}\r\nContent-Type: application/json\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n".encode())
        frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
        deadline = time.monotonic() + 30
        while sent < max_bytes and time.monotonic() < deadline:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                break
            try:
                sock.sendall(frame)
            except OSError:  # the server closed the connection after answering
                break
            sent += len(chunk)
        sock.settimeout(10)
        while b"\r\n\r\n" not in answer:
            data = sock.recv(65536)
            if not data:
                break
            answer += data
    finally:
        sock.close()
    return answer, sent


@pytest.mark.parametrize(("path", "route"), [("/events", "events"), ("/capture", "capture"),
                                             ("/events/batch", "batch"), ("/verify", "verify")])
def test_real_server_stops_an_endless_chunked_upload(scenario: Scenario, tmp_path: Path, path: str,
                                                     route: str) -> None:
    """uvicorn on loopback: the upload never ends, the server answers 413 once the limit is
    passed (the client has sent little more than the limit), and it keeps serving."""
    s = serve(scenario, tmp_path, body_limits=SMALL)
    with live_server(s.app) as base:
        answer, sent = _raw_chunked(base, path, b"[" * 1024, max_bytes=64 * 1024 * 1024)
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        assert sent < SMALL[route] + 4 * 1024 * 1024, sent  # refused while streaming, not after
        import httpx

        assert httpx.get(base + "/ledger/head", timeout=10).status_code == 200


def test_defaults_and_configuration() -> None:
    cfg = ApiConfig.load(env={})
    assert cfg.body_limit("events") == BODY_LIMIT_DEFAULTS["events"] == 1024 * 1024
    assert cfg.body_limit("capture") == cfg.capture_bytes
    assert ApiConfig.load(env={"BATTERYTRACE_CAPTURE_BYTES": "4096"}).body_limit("capture") == 4096
    assert ApiConfig.load(env={}, body_limits={"events": 2048}).body_limit("events") == 2048
    with pytest.raises(ConfigError, match="body_limits"):
        ApiConfig.load(env={}, body_limits={"everything": 2048})
    with pytest.raises(ConfigError, match="1024 bytes"):
        ApiConfig.load(env={}, body_limits={"events": 10})
