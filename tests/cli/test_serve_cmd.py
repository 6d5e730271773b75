"""``batterytrace demo --serve`` leaves a working viewer; ``batterytrace token`` issues tokens the
service accepts; ``serve`` refuses a missing ledger."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

import batterytrace

SRC = str(Path(batterytrace.__file__).resolve().parents[1])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _cli(*args: str, log: Path | None = None) -> subprocess.Popen[str]:
    env = {"PATH": "/usr/bin:/bin", "COLUMNS": "300", "PYTHONPATH": SRC}
    out = log.open("w") if log is not None else subprocess.PIPE
    return subprocess.Popen([sys.executable, "-c", "from batterytrace.cli import main; main()", *args],
                            stdout=out, stderr=subprocess.STDOUT, text=True, env=env, start_new_session=True)


def test_serve_refuses_a_missing_ledger(tmp_path: Path) -> None:
    proc = _cli("serve", "--db", str(tmp_path / "none.db"), "--port", str(_free_port()))
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 2 and "no ledger database" in out


def test_demo_serve_opens_a_verified_passport(tmp_path: Path) -> None:
    port = _free_port()
    db = tmp_path / "demo.db"
    log = tmp_path / "demo.log"
    proc = _cli("demo", "--db", str(db), "--fresh", "--packs", "2", "--legacy-packs", "1", "--serve", "--port", str(port),
                log=log)
    try:
        deadline = time.monotonic() + 240
        link = None
        text = ""
        while time.monotonic() < deadline and proc.poll() is None:
            text = log.read_text()
            found = re.search(rf"open (http://127\.0\.0\.1:{port}/01/\d{{14}}/21/\S+)", text)
            if found and "serving" in text:
                link = found.group(1)
                try:
                    r = httpx.get(link, headers={"accept": "text/html"}, timeout=10)
                    break
                except httpx.ConnectError:
                    pass
            time.sleep(0.3)
        assert link is not None, text[-2000:]
        assert r.status_code == 200 and "Verified — issued by" in r.text and "NMC811" in r.text
        assert (tmp_path / "demo-passports" / "qr-last-pack-local.png").exists()
        j = httpx.get(link, headers={"accept": "application/json"}, timeout=10).json()
        assert j["level"] == "public" and all(c["status"] in ("passed", "absent") for c in j["verification"])
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)


def test_serve_with_two_workers(tmp_path: Path) -> None:
    from batterytrace.demo.scenario import build_scenario
    from batterytrace.ledger.ledger import Ledger, historical_clock
    from batterytrace.storage.sqlite import SQLiteStore

    s = build_scenario(packs=1, legacy_packs=1)
    ledger = Ledger(SQLiteStore(str(tmp_path / "w.db")), s.actors["operator"].did, s.ledger_id, clock=historical_clock)
    assert not ledger.submit_batch(s.events).rejected
    ledger.close()
    port = _free_port()
    proc = _cli("serve", "--db", str(tmp_path / "w.db"), "--port", str(port), "--workers", "2", log=tmp_path / "w.log")
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                head = httpx.get(f"http://127.0.0.1:{port}/ledger/head", timeout=5)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline and proc.poll() is None, (tmp_path / "w.log").read_text()
                time.sleep(0.3)
        assert head.status_code == 200 and head.json()["tree_size"] == len(s.events)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)


def test_serve_refuses_a_bad_resolver_and_stores_a_good_one(tmp_path: Path) -> None:
    """``serve --resolver``: a bad base is one line and exit 2 before anything is served; a good
    one is stored as the ledger's resolver and the server answers under its path prefix."""
    from cli_support import run

    db = tmp_path / "l.db"
    run("init", "--db", str(db))
    bad = run("serve", "--db", str(db), "--resolver", "https://u@dpp.example.com/", ok=False)
    assert bad.returncode == 2 and "no user information" in bad.stderr and "Traceback" not in bad.stderr
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", "from batterytrace.cli import main; main()", "serve", "--db", str(db), "--port",
         str(port), "--resolver", "https://dpp.example.com/b"],
        env={**os.environ, "PYTHONPATH": SRC}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/b/01/04099999000753", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.stderr else ""
                time.sleep(0.3)
        assert r.status_code == 404 and "no battery model 04099999000753" in r.json()["detail"]  # routed, empty ledger
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(20)
    from batterytrace.storage.sqlite import SQLiteStore

    store = SQLiteStore(str(db), create=False)
    try:
        assert store.get_meta("passport/resolver") == "https://dpp.example.com/b/"
    finally:
        store.close()
