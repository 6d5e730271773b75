"""The server process survives hostile bodies: ``batterytrace serve`` in its own process on
loopback gets bodies nested 100,000 levels deep on every route that reads one, and chunked
uploads that never end; each is answered 4xx and afterwards the process is alive and serving."""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import batterytrace

SRC = str(Path(batterytrace.__file__).resolve().parents[1])
BODY_ROUTES = ["/events", "/events/batch", "/capture", "/passports", "/verify", "/signin", "/statuslists"]


def _cli(*args: str, log: Path) -> subprocess.Popen[str]:
    env = {"PATH": "/usr/bin:/bin", "COLUMNS": "300", "PYTHONPATH": SRC}
    return subprocess.Popen([sys.executable, "-c", "from batterytrace.cli import main; main()", *args],
                            stdout=log.open("w"), stderr=subprocess.STDOUT, text=True, env=env, start_new_session=True)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    tmp = tmp_path_factory.mktemp("hostile")
    db = tmp / "ledger.db"
    init = _cli("init", "--db", str(db), log=tmp / "init.log")
    assert init.wait(120) == 0, (tmp / "init.log").read_text()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (tmp / "config.json").write_text('{"body_limits": {"events": 262144, "batch": 1048576, "capture": 1048576}, '
                                     '"rate_per_s": 0}')
    proc = _cli("serve", "--db", str(db), "--port", str(port), "--config", str(tmp / "config.json"),
                log=tmp / "serve.log")
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(base + "/ledger/head", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert proc.poll() is None, (tmp / "serve.log").read_text()
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.2)
    yield base, proc
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(30)


def _alive(base: str, proc: subprocess.Popen[str]) -> None:
    assert proc.poll() is None, f"the server process died (exit {proc.returncode})"
    assert httpx.get(base + "/ledger/head", timeout=10).status_code == 200


@pytest.mark.parametrize("path", BODY_ROUTES)
def test_deeply_nested_bodies(server: tuple[str, subprocess.Popen[str]], path: str) -> None:
    base, proc = server
    for depth in (1_000, 100_000):
        for body in (b"[" * depth + b"]" * depth, b'{"event": ' + b'{"a": ' * depth + b"1" + b"}" * depth + b"}",
                     b'{"presentations": ' + b"[" * depth + b"]" * depth + b"}"):
            r = httpx.post(base + path, content=body, headers={"content-type": "application/json"}, timeout=60)
            assert 400 <= r.status_code < 500, (path, depth, r.status_code, r.text[:200])
    _alive(base, proc)


def _endless_chunked(base: str, path: str, chunk: bytes) -> bytes:
    """Send chunks until the server answers (or 512 MiB went out); the answer's head."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n".encode())
        frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
        sent = 0
        while sent < 512 * 1024 * 1024 and not select.select([sock], [], [], 0)[0]:
            try:
                sock.sendall(frame)
            except OSError:  # the server answered and closed the connection
                break
            sent += len(chunk)
        answer = b""
        while b"\r\n\r\n" not in answer:
            data = sock.recv(65536)
            if not data:
                break
            answer += data
    return answer


@pytest.mark.parametrize("path", BODY_ROUTES)
def test_huge_chunked_bodies(server: tuple[str, subprocess.Popen[str]], path: str) -> None:
    base, proc = server
    answer = _endless_chunked(base, path, b"[" * 65536)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    _alive(base, proc)
