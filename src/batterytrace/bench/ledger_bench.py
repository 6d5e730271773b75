"""Ledger benchmarks: ingest (SQLite, PostgreSQL), backward trace latency, forward recall,
inclusion proofs at large tree sizes, peak RSS."""

from __future__ import annotations

import os
import random
import resource
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import Any

from batterytrace.bench.workload import Workload
from batterytrace.crypto.merkle import CompactTree, inclusion_proof, leaf_hash, verify_inclusion
from batterytrace.ledger.ingest import ingest_wire
from batterytrace.ledger.ledger import Ledger, historical_clock
from batterytrace.ledger.trace import trace_backward, trace_forward
from batterytrace.storage.base import Store, open_store
from batterytrace.storage.rows import node_key
from batterytrace.storage.sqlite import SQLiteStore

__all__ = ["ledger_benchmarks"]

Metric = dict[str, Any]
Say = Callable[[str], None]

ED25519_ANCHOR = "FastFabric 20,000 tps needed a cluster; Ed25519 verify ≈ 61-74 µs/core here → ≈ 27-32k/s ceiling on 2 cores"


def _metric(value: float, unit: str, target: float | None, anchor: str | None = None) -> Metric:
    return {"value": round(value, 4), "unit": unit, "target": target, "anchor": anchor}


class _WireFile:
    """Signed events streamed from a file, one per line."""

    def __init__(self, path: str) -> None:
        self.path = path
        with open(path, "rb") as fh:
            self.count = sum(1 for _ in fh)

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[bytes]:
        with open(self.path, "rb") as fh:
            for line in fh:
                yield line.rstrip(b"\n")


def _ingest(store: Store, wire: _WireFile, operator_did: str, ledger_id: str) -> tuple[float, Ledger]:
    ledger = Ledger(store, operator_did, ledger_id)
    started = time.perf_counter()
    result = ingest_wire(ledger, iter(wire), workers=os.cpu_count() or 2, chunk_size=2000, check_clock=False)
    elapsed = time.perf_counter() - started
    if result.rejected:
        raise RuntimeError(f"benchmark workload rejected: {result.rejected[0].message}")
    return elapsed, ledger


def _pg_reachable(url: str) -> bool:
    try:
        import psycopg

        import batterytrace.storage.postgres  # noqa: F401

        with psycopg.connect(url, connect_timeout=3):
            return True
    except Exception:
        return False


def ledger_benchmarks(quick: bool, pg_url: str | None, say: Say) -> dict[str, Metric]:
    out: dict[str, Metric] = {}
    tmp = tempfile.mkdtemp(prefix="batterytrace-bench-")
    try:
        n_ingest = 20_000 if quick else 200_000
        say(f"generating {n_ingest} signed events")
        w = Workload(10, 50, prefix="ingest")
        # the signed events wait in a file, one per line, and are streamed from it: the ingest
        # process never holds the whole workload in memory
        wire_path = os.path.join(tmp, "wire.jsonl")
        with open(wire_path, "wb") as fh:
            for ev in w.events(n_ingest):
                fh.write(ev.wire_bytes() + b"\n")
        wire = _WireFile(wire_path)
        say("ingest into SQLite")
        secs, _ = _ingest(SQLiteStore(os.path.join(tmp, "ingest.db")), wire, w.operator.did, w.ledger_id)
        out["ingest_sqlite_events_per_s"] = _metric(len(wire) / secs, "events/s", 20_000, ED25519_ANCHOR)
        if not (pg_url and _pg_reachable(pg_url)):
            say(f"PostgreSQL not reachable at {pg_url}: no PostgreSQL ingest figure")
        elif pg_url:
            say("ingest into PostgreSQL")
            schema = f"bench_{os.getpid()}"
            sep = "&" if "?" in pg_url else "?"
            store = open_store(f"{pg_url}{sep}schema={schema}")
            try:
                secs, _ = _ingest(store, wire, w.operator.did, w.ledger_id)
                out["ingest_postgres_events_per_s"] = _metric(len(wire) / secs, "events/s", 10_000, ED25519_ANCHOR)
            finally:
                store.close()
                import psycopg

                with psycopg.connect(pg_url, autocommit=True) as conn:
                    conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        del wire

        n_trace = 100_000 if quick else 1_000_000
        say(f"building a {n_trace}-event ledger for trace benchmarks")
        w = Workload(10, 50, prefix="trace")
        ledger = Ledger(SQLiteStore(os.path.join(tmp, "trace.db")), w.operator.did, w.ledger_id, clock=historical_clock)
        batch: list[bytes] = []
        for ev in w.events(n_trace):
            batch.append(ev.wire_bytes())
            if len(batch) >= 50_000:
                ingest_wire(ledger, batch, check_clock=False)
                batch = []
        if batch:
            ingest_wire(ledger, batch, check_clock=False)
        size = ledger.size()
        out["trace_ledger_events"] = _metric(size, "events", None)
        store = ledger.store
        rows = _pack_ids(store)
        rng = random.Random(7)
        sample = rng.sample(rows, min(200, len(rows)))
        times = []
        for lid in sample:
            t0 = time.perf_counter()
            trace_backward(store, lid)
            times.append((time.perf_counter() - t0) * 1000)
        times.sort()
        out["trace_backward_p50_ms"] = _metric(statistics.median(times), "ms", None)
        out["trace_backward_p95_ms"] = _metric(times[int(0.95 * (len(times) - 1))], "ms", 20)
        # recall: a site and a time window covering enough of mine 0's lots to reach ≈ 100k packs
        # (10k in --quick), then the whole history of that mine (every pack of the ledger)
        target_packs = 10_000 if quick else 100_000
        extracted = sorted(store.get_lots(store.lots_at_site("mine:trace-0", 0, 2**62)).values(),
                           key=lambda lot: lot.created_at)
        k = min(len(extracted), -(-target_packs // w.packs_per_campaign))
        end_us = extracted[k - 1].created_at + 1
        t0 = time.perf_counter()
        fwd = trace_forward(store, site="mine:trace-0", start_us=0, end_us=end_us)
        out["forward_recall_ms"] = _metric((time.perf_counter() - t0) * 1000, "ms", 1000)
        out["forward_recall_packs"] = _metric(len(fwd.pack_ids), "packs", None)
        out["forward_recall_lots"] = _metric(fwd.lot_count, "lots", None)
        t0 = time.perf_counter()
        fwd = trace_forward(store, site="mine:trace-0", start_us=0, end_us=2**62)
        out["forward_recall_all_history_ms"] = _metric((time.perf_counter() - t0) * 1000, "ms", None)
        out["forward_recall_all_history_packs"] = _metric(len(fwd.pack_ids), "packs", None)
        del fwd, extracted
        out["peak_rss_mb"] = _metric(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "MB", 500)

        leaves = 1_000_000 if quick else 10_000_000
        say(f"building a {leaves}-leaf Merkle tree in SQLite for inclusion proofs")
        out.update(_inclusion_bench(os.path.join(tmp, "merkle.db"), leaves))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def _pack_ids(store: Store) -> list[str]:
    if isinstance(store, SQLiteStore):
        rows = store._conn().execute("SELECT lot_id FROM lots WHERE gtin IS NOT NULL").fetchall()
        return [r[0] for r in rows]
    return [lot.lot_id for lot in store.iter_lots() if lot.level >= 3]


def _inclusion_bench(path: str, leaves: int) -> dict[str, Metric]:
    store = SQLiteStore(path)
    conn = store._conn()
    tree = CompactTree()
    pending: list[tuple[int, bytes]] = []
    conn.execute("BEGIN")
    for i in range(leaves):
        for level, index, h in tree.append(leaf_hash(i.to_bytes(8, "big"))):
            pending.append((node_key(level, index), h))
        if len(pending) >= 200_000:
            conn.executemany("INSERT INTO nodes(id, hash) VALUES (?,?)", pending)
            pending.clear()
    conn.executemany("INSERT INTO nodes(id, hash) VALUES (?,?)", pending)
    conn.execute("COMMIT")
    root = tree.root()
    rng = random.Random(11)
    times = []
    for _ in range(1000):
        i = rng.randrange(leaves)
        t0 = time.perf_counter()
        path_ = inclusion_proof(store.get_node, i, leaves)
        times.append((time.perf_counter() - t0) * 1000)
        verify_inclusion(leaf_hash(i.to_bytes(8, "big")), i, leaves, path_, root)
    times.sort()
    store.close()
    label = f"{leaves // 1_000_000}M"
    return {
        f"inclusion_proof_{label}_leaves_p50_ms": _metric(statistics.median(times), "ms", None),
        f"inclusion_proof_{label}_leaves_p95_ms": _metric(times[949], "ms", 1),
    }
