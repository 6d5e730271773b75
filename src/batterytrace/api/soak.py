"""A bounded soak of the service on loopback: concurrent writers and public readers against a real
``batterytrace serve`` process, the server killed with SIGKILL in the middle of the writes and
restarted on the same database, then every acknowledged event looked up and the whole log
verified (``verify_log``).

Writers each run their own supply chain (their own mines, refinery and cell plant, registered by
the ledger's operator first) and post it in batches to ``POST /events/batch``. An event counts as
acknowledged when a response listed it as accepted; a batch whose response was lost to the kill is
posted again after the restart, where the events the server had committed come back as
``replay`` (present, so not lost) and the rest are accepted. Readers poll the public endpoints
(tree head, inclusion proofs). Errors are 5xx answers, refusals other than ``replay``, and
failures outside the restart window; the run stops by itself (bounded events and time).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from batterytrace.bench.workload import Workload
from batterytrace.crypto.signing import SigningKey
from batterytrace.ledger.audit import verify_log
from batterytrace.ledger.ledger import Ledger, labelled_ledger_id
from batterytrace.model.events import SignedEvent
from batterytrace.storage.base import open_store
from batterytrace.timeutil import now_us

__all__ = ["SoakResult", "run_benchmarks", "soak"]

BATCH = 25
START_TIMEOUT_S = 60.0


@dataclass
class SoakResult:
    backend: str
    writers: int
    readers: int
    events_sent: int
    acknowledged: int
    replayed_after_restart: int
    events_lost: int
    requests: int
    errors: list[str] = field(default_factory=list)
    read_latencies_ms: list[float] = field(default_factory=list)
    write_latencies_ms: list[float] = field(default_factory=list)
    restart_s: float = 0.0
    seconds: float = 0.0
    log_events: int = 0

    @staticmethod
    def _p95(values: list[float]) -> float:
        if not values:
            return 0.0
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]

    @property
    def read_p95_ms(self) -> float:
        return self._p95(self.read_latencies_ms)

    @property
    def write_p95_ms(self) -> float:
        return self._p95(self.write_latencies_ms)


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class _Server:
    """``batterytrace serve`` in its own process group, so SIGKILL takes every worker with it."""

    def __init__(self, db: str, port: int) -> None:
        self.db, self.port = db, port
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> float:
        src = str(Path(__file__).resolve().parents[2])
        env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
        started = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from batterytrace.cli import main; main()", "serve", "--db", self.db,
             "--port", str(self.port), "--rate", "0"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        while time.monotonic() - started < START_TIMEOUT_S:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode()[-500:] if self.proc.stderr else ""
                raise RuntimeError(f"server exited: {err}")
            try:
                if httpx.get(self.url + "/ledger/head", timeout=2).status_code == 200:
                    return time.monotonic() - started
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("server did not start")

    def kill(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(30)


def _workloads(writers: int, events_per_writer: int, operator: SigningKey, ledger_id: str,
               tag: str) -> tuple[list[SignedEvent], list[list[SignedEvent]]]:
    """Setup events (registrations by the operator, in time order) and each writer's chain."""
    base = now_us() - 2 * 86_400 * 1_000_000  # well inside the 7-day back-dating bound
    setups: list[SignedEvent] = []
    flows: list[list[SignedEvent]] = []
    for i in range(writers):
        w = Workload(mines=2, packs_per_campaign=5, prefix=f"soak-{tag}-{i}", start=base + i * 3_600_000_000,
                     serial_prefix=f"S{tag}{i}-")
        w.operator, w.ledger_id = operator, ledger_id  # one ledger, one operator for every writer
        setups += w.setup()
        flow: list[SignedEvent] = []
        while len(flow) < events_per_writer:
            flow += w.campaign()
        flows.append(flow)
    setups.sort(key=lambda ev: str(ev.body["time"]))
    return setups, flows


def soak(db: str, *, writers: int = 4, readers: int = 4, events_per_writer: int = 400,
         kill_at: float = 0.4, max_seconds: float = 300.0, backend: str = "sqlite") -> SoakResult:
    """Run the soak against a new ledger at ``db`` (must not exist yet). ``kill_at``: the share of
    all events acknowledged when the server is killed (SIGKILL) and restarted; 0 for no kill."""
    operator = SigningKey.from_label(f"soak/operator/{os.getpid()}/{time.time_ns()}")
    ledger_id = labelled_ledger_id(f"soak/{time.time_ns()}")
    Ledger(open_store(db, create=True), operator.did, ledger_id).close()
    setups, flows = _workloads(writers, events_per_writer, operator, ledger_id, str(time.time_ns() % 100_000))
    total = len(setups) + sum(len(f) for f in flows)
    result = SoakResult(backend, writers, readers, total, 0, 0, 0, 0)
    server = _Server(db, _port())
    server.start()
    acked: set[str] = set()
    lock = threading.Lock()
    up = threading.Event()
    up.set()
    done = threading.Event()
    deadline = time.monotonic() + max_seconds

    def post_batch(client: httpx.Client, batch: list[SignedEvent]) -> None:
        """Post until the server answers (across a restart); record what it acknowledged."""
        body = {"events": [ev.to_wire() for ev in batch]}
        while time.monotonic() < deadline:
            up.wait(timeout=max_seconds)
            started = time.perf_counter()
            try:
                r = client.post(server.url + "/events/batch", json=body, timeout=60)
            except httpx.HTTPError:
                if up.is_set() and server.proc is not None and server.proc.poll() is None:
                    time.sleep(0.05)  # a transient refusal while the server runs: retried, not an error
                else:
                    time.sleep(0.1)
                continue
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                result.requests += 1
                result.write_latencies_ms.append(elapsed)
                if r.status_code >= 500:
                    result.errors.append(f"POST /events/batch answered {r.status_code}: {r.text[:200]}")
                    return
                if r.status_code != 200:
                    result.errors.append(f"POST /events/batch answered {r.status_code}: {r.text[:200]}")
                    return
                answer = r.json()
                acked.update(a["event_hash"] for a in answer["accepted"])
                for refusal in answer["rejected"]:
                    if refusal["rule"] == "replay":  # committed before the kill, its answer lost
                        result.replayed_after_restart += 1
                        acked.add(refusal["event_hash"])
                    else:
                        result.errors.append(f"event refused: {refusal['rule']}: {refusal['message'][:200]}")
            return
        with lock:
            result.errors.append("a batch was still unanswered at the time bound")

    def writer(flow: list[SignedEvent]) -> None:
        with httpx.Client() as client:
            for i in range(0, len(flow), BATCH):
                if done.is_set():
                    return
                post_batch(client, flow[i:i + BATCH])

    def reader() -> None:
        with httpx.Client() as client:
            while not done.is_set() and time.monotonic() < deadline:
                if not up.is_set():
                    up.wait(timeout=1)
                    continue
                with lock:
                    known = next(iter(acked), None)
                started = time.perf_counter()
                try:
                    head = client.get(server.url + "/ledger/head", timeout=30)
                    responses = [head]
                    if known is not None and head.status_code == 200:
                        query = {"event_hash": known, "tree_size": head.json()["tree_size"]}
                        responses.append(client.get(server.url + "/ledger/proofs/inclusion", params=query, timeout=30))
                except httpx.HTTPError as exc:
                    if up.is_set():
                        with lock:
                            result.errors.append(f"public read failed while the server was up: {exc!r}"[:200])
                    time.sleep(0.05)
                    continue
                elapsed = (time.perf_counter() - started) * 1000 / len(responses)
                with lock:
                    for r in responses:
                        result.requests += 1
                        result.read_latencies_ms.append(elapsed)
                        if r.status_code >= 500:
                            result.errors.append(f"GET {r.url.path} answered {r.status_code}")
                time.sleep(0.01)

    began = time.monotonic()
    try:
        with httpx.Client() as client:
            for i in range(0, len(setups), BATCH):  # the operator's registrations, in time order
                post_batch(client, setups[i:i + BATCH])
        threads = [threading.Thread(target=writer, args=(f,), daemon=True) for f in flows]
        threads += [threading.Thread(target=reader, daemon=True) for _ in range(readers)]
        for t in threads:
            t.start()
        if kill_at > 0:
            while time.monotonic() < deadline and any(t.is_alive() for t in threads[:writers]):
                with lock:
                    share = len(acked) / total
                if share >= kill_at:
                    up.clear()  # readers pause: a read failing now is the restart, not an error
                    server.kill()
                    result.restart_s = server.start()
                    up.set()
                    break
                time.sleep(0.005)
        for t in threads[:writers]:
            t.join(max(0.0, deadline - time.monotonic()))
        done.set()
        for t in threads[writers:]:
            t.join(10)
    finally:
        done.set()
        up.set()
        server.stop()
    result.seconds = time.monotonic() - began
    result.acknowledged = len(acked)
    store = open_store(db, create=False)
    try:
        ledger = Ledger(store)
        result.events_lost = sum(1 for h in acked if ledger.event_by_hash(h) is None)
        result.log_events = verify_log(store).events
    finally:
        store.close()
    if result.acknowledged != total:
        result.errors.append(f"{total - result.acknowledged} of {total} events were never acknowledged")
    return result


def _metric(value: float, unit: str, target: float | None, anchor: str) -> dict[str, Any]:
    return {"value": round(value, 3), "unit": unit, "target": target, "anchor": anchor}


def run_benchmarks(quick: bool) -> dict[str, dict[str, Any]]:
    """The soak on SQLite and, when reachable, PostgreSQL: figures per backend."""
    import shutil
    import tempfile
    import uuid

    from batterytrace.storage.base import destroy_store

    out: dict[str, dict[str, Any]] = {}
    per_writer = 200 if quick else 1000
    tmp = Path(tempfile.mkdtemp(prefix="batterytrace-soak-"))
    targets = [("sqlite", str(tmp / "soak.db"))]
    pg = os.environ.get("BATTERYTRACE_TEST_PG_URL") or "postgresql://postgres@127.0.0.1:5432/test"
    try:
        import psycopg

        with psycopg.connect(pg, connect_timeout=3):
            pass
        targets.append(("postgres", f"{pg}{'&' if '?' in pg else '?'}schema=bt_soak_{uuid.uuid4().hex[:12]}"))
    except Exception as exc:  # the figure is left out and said so
        print(f"PostgreSQL unreachable ({type(exc).__name__}): no PostgreSQL soak figures", file=sys.stderr)
    try:
        for backend, db in targets:
            r = soak(db, writers=4, readers=4, events_per_writer=per_writer, backend=backend)
            if backend == "postgres":
                destroy_store(db)
            how = (f"{r.writers} writers + {r.readers} public readers, {r.events_sent} events in batches of {BATCH}, "
                   f"server SIGKILLed at 40 % and restarted ({r.restart_s:.1f} s), {r.seconds:.0f} s, {backend}")
            out[f"soak_{backend}_requests"] = _metric(r.requests, "requests", None, how)
            out[f"soak_{backend}_read_p95_ms"] = _metric(r.read_p95_ms, "ms", None, how)
            out[f"soak_{backend}_write_batch_p95_ms"] = _metric(r.write_p95_ms, "ms", None, how)
            out[f"soak_{backend}_errors"] = _metric(len(r.errors), "errors", 0, how + ("; " + r.errors[0] if r.errors else ""))
            out[f"soak_{backend}_events_lost"] = _metric(r.events_lost, "lost events", 0, how + "; every acknowledged event "
                                                         f"looked up, log verified ({r.log_events} events)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out
