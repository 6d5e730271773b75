"""Query benchmarks: EPCIS SimpleEventQuery pages through the event index at 1M events (100k with
``--quick``), on SQLite and PostgreSQL, and the same queries against the log scan that answered
``GET /events`` before the index (at 20k events, where a scan is still feasible).

**What is measured: the query path only.** Building a 1M-event ledger through the rules takes
far longer than the measurement, so the log is written straight into the store in bulk: synthetic
supply chains (extract → ship → receive → transform → ship → receive, some lifecycle readings)
whose bodies are canonical JSON and whose index entries come from the ledger's own derivation
(``ledger.event_index.index_entry``); signatures are placeholders and no Merkle node is written
(a query never reads either). Each figure is the latency of ``run_query`` (index look-up, event
decoding, EPCIS export) for one page of 30 under the read policy, over queries with random
parameters and random positions in the log.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import orjson

from batterytrace.ledger.epcis import export_event, no_identities
from batterytrace.ledger.epcis_query import EventQuery, run_query
from batterytrace.ledger.event_index import INDEX_META, INDEX_VERSION, index_entry
from batterytrace.ledger.read_policy import Reader
from batterytrace.model.events import SignedEvent
from batterytrace.storage.base import (
    EventIndexEntry,
    Store,
    StoredEvent,
    WriteBatch,
    destroy_store,
    open_store,
)
from batterytrace.storage.sqlite import SQLiteStore
from batterytrace.timeutil import format_time, parse_time

__all__ = ["build_log", "run_benchmarks", "scan_query"]

Metric = dict[str, Any]
LEDGER = "urn:uuid:00000000-0000-4000-8000-00000000beef"
_T0 = parse_time("2025-01-01T00:00:00Z")
_STEP_US = 60_000_000  # one event a minute on average
_ACTORS = 300
_CHUNK = 20_000


def _did(i: int) -> str:
    # placeholder signers: distinct did-shaped strings (no signature is checked on the query path)
    return f"did:key:z6Mk{hashlib.sha256(f'bench-actor-{i}'.encode()).hexdigest()[:40]}"


def _chain(c: int, seq: int, rng: random.Random) -> list[dict[str, Any]]:
    """One synthetic supply chain of 6-7 event bodies starting at log position ``seq``."""
    mine, refiner, oem = rng.randrange(_ACTORS), rng.randrange(_ACTORS), rng.randrange(_ACTORS)
    m, r, o = _did(mine), _did(refiner), _did(oem)
    grams = rng.randrange(10_000, 10_000_000)
    bodies: list[dict[str, Any]] = [
        {"kind": "extract", "actor": m, "site": f"mine:bench-{mine}", "outputs": [{"form": "ore", "grams": grams}]},
        {"kind": "ship", "actor": m, "lots": [], "to": r},
        {"kind": "receive", "actor": r, "lots": [], "outputs": [{"form": "ore", "grams": grams}]},
        {"kind": "transform", "actor": r, "site": f"refinery:bench-{refiner}", "inputs": [],
         "outputs": [{"form": "sulphate", "grams": grams // 3}]},
        {"kind": "ship", "actor": r, "lots": [], "to": o},
        {"kind": "receive", "actor": o, "lots": [], "outputs": [{"form": "sulphate", "grams": grams // 3}]},
    ]
    if c % 4 == 0:
        bodies.append({"kind": "lifecycle", "actor": o, "lot": "", "status": "original", "soh_percent": 97,
                       "cycles": rng.randrange(1000)})
    for i, b in enumerate(bodies):
        jitter = rng.randrange(-86_400_000_000, 86_400_000_000)  # event times ±1 day around log order
        b.update(time=format_time(_T0 + (seq + i) * _STEP_US + jitter), ledger=LEDGER, nonce=f"{c:08x}{i:02x}", v=1)
    return bodies


def _link(bodies: list[dict[str, Any]], hashes: list[str]) -> None:
    """Fill the lot references of body ``i`` from the hashes of the bodies before it."""
    refs = {1: ("lots", 0), 2: ("lots", 0), 3: ("inputs", 2), 4: ("lots", 3), 5: ("lots", 4)}
    i = len(hashes)
    if i in refs:
        name, source = refs[i]
        bodies[i][name] = [f"{hashes[source] if i != 5 else hashes[3]}:0"]
    if i == 6:
        bodies[i]["lot"] = f"{hashes[5]}:0"


def _known(custodian: dict[str, str]) -> Callable[[Sequence[str]], dict[str, str]]:
    return lambda ids: {i: custodian[i] for i in ids if i in custodian}


def _events(n: int, seed: int = 11) -> Iterator[tuple[StoredEvent, EventIndexEntry]]:
    rng = random.Random(seed)
    seq, c = 0, 0
    sig = bytes(64)
    while seq < n:
        bodies = _chain(c, seq, rng)
        hashes: list[str] = []
        custodian: dict[str, str] = {}
        for body in bodies:
            _link(bodies, hashes)
            if seq >= n:
                return
            canonical = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
            digest = hashlib.sha256(canonical).digest()
            ev = SignedEvent(body, sig, canonical, digest)
            t = parse_time(body["time"])
            entry = index_entry(ev, seq, t, _T0 + seq * _STEP_US, _known(custodian), no_identities)  # bulk lots only
            if "outputs" in body:
                custodian[f"{ev.hash_hex}:0"] = ev.actor
            hashes.append(ev.hash_hex)
            yield StoredEvent(seq, digest, canonical, sig, ev.kind, ev.actor, t, _T0 + seq * _STEP_US), entry
            seq += 1
        c += 1


def build_log(store: Store, n: int) -> list[str]:
    """Write ``n`` synthetic events with their index entries straight into ``store``; returns a
    sample of lot URIs for EPC queries."""
    lots: list[str] = []
    rng = random.Random(3)
    batch: list[tuple[StoredEvent, EventIndexEntry]] = []

    def flush(meta: dict[str, str]) -> None:
        with store.write_lock():
            store.apply(WriteBatch(events=[e for e, _ in batch], event_index=[x for _, x in batch], meta=meta))
        batch.clear()

    for stored, entry in _events(n):
        batch.append((stored, entry))
        if entry.epcs and rng.random() < 0.01:
            lots.append(entry.epcs[0][1])
        if len(batch) >= _CHUNK:
            flush({})
    flush({"operator_did": _did(-1), "ledger_id": LEDGER, INDEX_META: INDEX_VERSION})
    # statistics as a running database has them (autovacuum's analyze): without them PostgreSQL
    # plans a participant's filtered page by hashing every row of the filter (≈ 0.9 s at 1M)
    store.analyze()
    return lots


def scan_query(store: Store, query: EventQuery, start: int = 0) -> list[dict[str, Any]]:
    """What ``GET /events`` did before the index: decode and export every event from the page
    position, keep those matching (here ``MATCH_epc`` over the exported EPC lists), stop at a full
    page or at 100,000 events read."""
    wanted = query.lists.get("MATCH_epc", frozenset())
    out: list[dict[str, Any]] = []
    for stored in store.iter_events(start, min(store.size(), start + 100_000)):
        e = export_event(SignedEvent.from_stored(stored.canonical, stored.signature))
        epcs = set(e.get("epcList", [])) | set(e.get("childEPCs", [])) | set(e.get("inputEPCList", [])) | set(
            e.get("outputEPCList", []))
        if epcs & wanted:
            out.append(e)
            if len(out) >= query.per_page:
                break
    return out


def _p95(samples: list[float]) -> float:
    samples = sorted(samples)
    return samples[int(0.95 * (len(samples) - 1))]


def _timed(fn: Callable[[], object], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def _query_figures(store: Store, n: int, lots: list[str], prefix: str, runs: int) -> dict[str, Metric]:
    rng = random.Random(5)
    authority = Reader("authorities")  # every kind but lifecycle readings: a role's real view
    li = Reader("legitimate_interest")

    def page(params: dict[str, str], reader: Reader) -> Callable[[], object]:
        q = EventQuery.from_params({**params, "perPage": "30"})
        return lambda: run_query(store, q, reader=reader)

    def deep(params: dict[str, str], reader: Reader) -> Callable[[], object]:
        """A page from a random position: the first page's token, re-pointed (same query)."""
        q = EventQuery.from_params({**params, "perPage": "30"})
        from batterytrace.encoding import b64u_encode

        token = b64u_encode(q.fingerprint() + (0).to_bytes(8, "big", signed=True) + rng.randrange(n).to_bytes(8, "big"))
        return lambda: run_query(store, q, token, reader=reader)

    kinds: dict[str, Callable[[], Callable[[], object]]] = {
        "epc": lambda: page({"MATCH_epc": rng.choice(lots)}, authority),
        "any_epc": lambda: page({"MATCH_anyEPC": rng.choice(lots)}, authority),
        "biz_step": lambda: deep({"EQ_bizStep": rng.choice(["shipping", "receiving", "commissioning"])}, authority),
        "participant": lambda: deep({}, Reader("participant", _did(rng.randrange(_ACTORS)))),
        "participant_shipping": lambda: deep({"EQ_bizStep": "shipping"},
                                             Reader("participant", _did(rng.randrange(_ACTORS)))),
        "lifecycle_level": lambda: deep({}, li),
        # conditions no event the reader may see can meet (authorities read no lifecycle
        # reading, the only inspections here): an empty answer must not read the log
        "no_visible_match": lambda: deep({"EQ_bizStep": "inspecting"}, authority),
        "event_time": lambda: page(_window(rng, n), authority),
        "record_time": lambda: page(_window(rng, n, "recordTime"), authority),
    }
    out: dict[str, Metric] = {}
    every: list[float] = []
    for name, make in kinds.items():
        samples = [s for _ in range(runs) for s in _timed(make(), 1)]
        every += samples
        out[f"{prefix}_{name}_p95_ms"] = _metric(_p95(samples), "ms", None, f"{runs} pages of 30, random parameters")
    out[f"{prefix}_p95_ms"] = _metric(_p95(every), "ms", 50,
                                      f"all {len(every)} pages above (EPC, bizStep, participant, level, no visible "
                                      f"match, time windows); log written in bulk: the query path only")
    return out


def _window(rng: random.Random, n: int, what: str = "eventTime") -> dict[str, str]:
    start = _T0 + rng.randrange(n) * _STEP_US
    return {f"GE_{what}": format_time(start), f"LT_{what}": format_time(start + 3600 * 1_000_000)}


def _metric(value: float, unit: str, target: float | None, anchor: str | None = None) -> Metric:
    return {"value": round(value, 4), "unit": unit, "target": target, "anchor": anchor}


def _pg_url() -> str | None:
    url = os.environ.get("BATTERYTRACE_TEST_PG_URL") or "postgresql://postgres@127.0.0.1:5432/test"
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception:
        return None
    return url


def run_benchmarks(quick: bool, size: int | None = None, scan_size: int = 20_000,
                   postgres: bool = True) -> dict[str, Metric]:
    n = size or (100_000 if quick else 1_000_000)
    label = f"{n // 1000}k" if n < 1_000_000 else f"{n // 1_000_000}M"
    runs = 40 if quick else 100
    out: dict[str, Metric] = {}
    tmp = tempfile.mkdtemp(prefix="batterytrace-query-bench-")
    try:
        small = SQLiteStore(os.path.join(tmp, "scan.db"))
        lots = build_log(small, scan_size)
        rng = random.Random(9)
        queries = [EventQuery.from_params({"MATCH_epc": rng.choice(lots), "perPage": "30"}) for _ in range(20)]
        scan = [s for q in queries for s in _timed(lambda q=q: scan_query(small, q), 1)]  # type: ignore[misc]
        indexed = [s for q in queries for s in _timed(
            lambda q=q: run_query(small, q, reader=Reader.operator()), 1)]  # type: ignore[misc]
        for q in queries[:3]:  # same answers
            assert [e["eventID"] for e in scan_query(small, q)] == [
                e["eventID"] for e in run_query(small, q, reader=Reader.operator()).events]
        small.close()
        skk = f"{scan_size // 1000}k"
        out[f"query_scan_{skk}_p95_ms"] = _metric(_p95(scan), "ms", None,
                                                  f"MATCH_epc, page of 30: the log scan GET /events ran before the index, {scan_size} events")
        out[f"query_index_{skk}_p95_ms"] = _metric(_p95(indexed), "ms", None, "the same queries through the index")

        store = SQLiteStore(os.path.join(tmp, "query.db"))
        t0 = time.perf_counter()
        lots = build_log(store, n)
        out[f"query_sqlite_{label}_bulk_load_s"] = _metric(time.perf_counter() - t0, "s", None,
                                                           "bulk write of events and index rows (not ingest)")
        out.update(_query_figures(store, n, lots, f"query_sqlite_{label}", runs))
        store.close()
        url = _pg_url() if postgres else None
        if url is not None:
            sep = "&" if "?" in url else "?"
            pg_url = f"{url}{sep}schema=bench_query_{os.getpid()}"
            pg = open_store(pg_url)
            try:
                lots = build_log(pg, n)
                pg.close()
                pg = open_store(pg_url)
                out.update(_query_figures(pg, n, lots, f"query_postgres_{label}", runs))
            finally:
                pg.close()
                destroy_store(pg_url)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out
