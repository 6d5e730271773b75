"""HTTP benchmarks on loopback, each server a separate ``batterytrace serve`` process:

* ``passport_page_p95_ms_200conn``: wrk with 200 connections on a passport page (HTML, public;
  ``serve --workers 2``), 95th percentile latency from wrk's own histogram (a Lua ``done`` hook);
  needs Debian's ``wrk`` (scripts/system-deps.sh), else the figure is left out and said so;
* ``capture_http_events_per_s``: signed events recorded per second through ``POST /capture``
  (EPCIS documents of 5,000 events, sent one after another over one keep-alive connection).

Bounded: wrk runs 5 s (quick) or 15 s; capture sends 20,000 (quick) or 100,000 events.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from batterytrace.bench.workload import Workload
from batterytrace.demo.master_data import VOLTARA_VM75
from batterytrace.demo.scenario import build_scenario
from batterytrace.keys import save_key
from batterytrace.ledger.epcis import epcis_document, export_event
from batterytrace.ledger.ledger import Ledger, historical_clock
from batterytrace.passport.master import master_to_dict
from batterytrace.passport.registry import PassportDesk, PassportIssuer
from batterytrace.storage.sqlite import SQLiteStore
from batterytrace.timeutil import now_us

__all__ = ["run_benchmarks"]

Metric = dict[str, Any]
_WRK_LUA = """
done = function(summary, latency, requests)
  io.write(string.format("BT p95_us %d p50_us %d requests %d errors %d\\n", latency:percentile(95),
    latency:percentile(50), summary.requests, summary.errors.status + summary.errors.connect
    + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"""


def _metric(value: float, unit: str, target: float, anchor: str) -> Metric:
    return {"value": round(value, 3), "unit": unit, "target": target, "anchor": anchor}


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class _Server:
    """``batterytrace serve`` in its own process; stopped on exit."""

    def __init__(self, *args: str) -> None:
        self.port = _port()
        src = str(Path(__file__).resolve().parents[2])
        env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from batterytrace.cli import main; main()", "serve", "--port", str(self.port),
             "--rate", "0", *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> _Server:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.proc.stderr.read().decode()[-500:] if self.proc.stderr else ''}")
            try:
                httpx.get(self.url + "/ledger/head", timeout=2)
                return self
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("server did not start")

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.wait(30)


def _passport_page(tmp: Path, quick: bool, workers: int = 2) -> Metric | None:
    wrk = shutil.which("wrk")
    if wrk is None:
        return None
    s = build_scenario(packs=5, legacy_packs=1)
    db = str(tmp / "viewer.db")
    ledger = Ledger(SQLiteStore(db), s.actors["operator"].did, s.ledger_id, clock=historical_clock)
    ledger.submit_batch(s.events)
    ledger.sign_tree_head(s.actors["operator"].signing_key)
    desk = PassportDesk(ledger, tmp / "passports", [PassportIssuer(s.actors["voltara"].signing_key, VOLTARA_VM75)])
    lot = ledger.store.get_lot(s.packs[-1])
    assert lot is not None and lot.gtin and lot.serial
    desk.presentation(lot.gtin, lot.serial, "public")
    ledger.close()
    save_key(s.actors["voltara"].signing_key, tmp / "oem.key")
    (tmp / "master.json").write_text(json.dumps(master_to_dict(VOLTARA_VM75)))
    (tmp / "p95.lua").write_text(_WRK_LUA)
    with _Server("--db", db, "--passports", str(tmp / "passports"), "--workers", str(workers)) as server:
        page = f"{server.url}/01/{lot.gtin}/21/{lot.serial}"
        assert httpx.get(page, headers={"accept": "text/html"}).status_code == 200
        seconds = 5 if quick else 15
        out = subprocess.run([wrk, "-t2", "-c200", f"-d{seconds}s", "--timeout", "5s", "-H", "Accept: text/html",
                              "-s", str(tmp / "p95.lua"), page], capture_output=True, text=True, timeout=seconds + 60)
    found = re.search(r"BT p95_us (\d+) p50_us (\d+) requests (\d+) errors (\d+)", out.stdout)
    if found is None:
        raise RuntimeError(f"wrk gave no result: {out.stdout[-400:]} {out.stderr[-400:]}")
    p95_ms, requests, errors = int(found.group(1)) / 1000, int(found.group(3)), int(found.group(4))
    if errors:
        raise RuntimeError(f"wrk saw {errors} errors in {requests} requests")
    return _metric(p95_ms, "ms", 50.0, f"wrk -t2 -c200 -d{seconds}s on loopback, {requests / seconds:.0f} req/s; serve --workers "
                   f"{workers}; 2 shared cores run wrk and the server")


def _capture(tmp: Path, quick: bool) -> Metric:
    n = 20_000 if quick else 100_000
    # a server stamps captures with its clock: date the events in the last n seconds (max_backdate_s)
    w = Workload(10, 50, prefix="capture", start=now_us() - (n + 1000) * 1_000_000)
    events = list(w.events(n))
    db = str(tmp / "capture.db")
    Ledger(SQLiteStore(db), w.operator.did, w.ledger_id).close()
    per_doc = 5000
    docs = [json.dumps(epcis_document([export_event(ev) for ev in events[i:i + per_doc]], 0)).encode()
            for i in range(0, len(events), per_doc)]
    with _Server("--db", db) as server, httpx.Client(timeout=300) as client:
        started = time.perf_counter()
        recorded = 0
        for doc in docs:
            r = client.post(server.url + "/capture", content=doc, headers={"content-type": "application/ld+json"})
            job = r.json()
            if r.status_code != 202 or not job.get("success"):
                raise RuntimeError(f"capture failed: {r.status_code} {str(job)[:300]}")
            recorded += int(job["eventsRecorded"])
        secs = time.perf_counter() - started
    return _metric(recorded / secs, "events/s", 5000.0,
                   f"{recorded} events in EPCIS documents of {per_doc}, signature-checked and rule-checked, SQLite")


def run_benchmarks(quick: bool) -> dict[str, Metric]:
    out: dict[str, Metric] = {}
    tmp = Path(tempfile.mkdtemp(prefix="batterytrace-api-bench-"))
    try:
        page = _passport_page(tmp, quick)
        if page is None:
            print("wrk is not installed: no passport page latency figure (apt-get install wrk)", file=sys.stderr)
        else:
            out["passport_page_p95_ms_200conn"] = page
        out["capture_http_events_per_s"] = _capture(tmp, quick)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out
