"""Benchmarks of confidential mode (group ``confidential`` of ``batterytrace bench``).

Workload: confidential chains on the demo supply chain (extract → ship → receive with a committed
transit loss → refine with a committed loss), proved here for real; then the same events are
ingested into a fresh in-memory ledger and timed. Ingest includes signature checks, the rules and
the proof verification (one batched multi-scalar multiplication per event). Medians of real runs;
nothing is extrapolated.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from batterytrace.demo.anonymous import anonymous_shipment, ring_setup
from batterytrace.demo.confidential import ConfidentialRun, confidential_chain
from batterytrace.demo.confidential_pack import PackDesign, confidential_packs
from batterytrace.demo.master_data import VOLTARA_VM75
from batterytrace.demo.scenario import Scenario, build_scenario
from batterytrace.ledger.ledger import Ledger, historical_clock
from batterytrace.model.events import SignedEvent
from batterytrace.passport.issue import issue_passport, verify_passport
from batterytrace.storage.memory import MemoryStore

__all__ = ["run_benchmarks"]

_ANCHOR = "plain-mode ingest: see ledger_ingest_* (tens of thousands of events/s); Monero verifies ≈ 4.5 ms per range proof natively"


def _metric(value: float, unit: str, target: float | None = None, anchor: str | None = None) -> dict[str, Any]:
    return {"value": round(value, 3), "unit": unit, "target": target, "anchor": anchor}


def _setup() -> tuple[Scenario, list[SignedEvent]]:
    s = Scenario()
    s.register_all()
    s.attest("rmap", "mine:kasonta", "RMAP", "2024-06-01T00:00:00Z", "2027-06-01T00:00:00Z", level="conformant")
    s.tick(24)
    return s, list(s.events)


def _anonymous(quick: bool) -> dict[str, dict[str, Any]]:
    """Anonymous certified extractions (ring of the demo's two certified CD mines) with their
    shipments: proving, then ingesting them in one batch (membership proofs batch-verified)."""
    count = 4 if quick else 20
    s, registry = _setup()
    setup = ring_setup(s)
    registry += setup.events
    ledger = Ledger(MemoryStore(), s.actors["operator"].did, s.ledger_id, clock=historical_clock)
    if ledger.submit_batch(registry, check_clock=False).rejected:
        raise RuntimeError("benchmark ring setup rejected")
    started = time.perf_counter()
    runs = [anonymous_shipment(s, setup, ("kasonta", "mwelu")[i % 2], 300_000 + i, store=ledger.store) for i in range(count)]
    prove_s = time.perf_counter() - started
    extractions = [r.extraction.event for r in runs]
    t0 = time.perf_counter()
    result = ledger.submit_batch(extractions, check_clock=False)
    ingest_s = time.perf_counter() - t0
    if result.rejected:
        raise RuntimeError(f"anonymous workload rejected: {result.rejected[0].message}")
    ring = len(runs[0].ring_sites)
    return {
        "anonymous_extract_prove_ms": _metric(
            prove_s * 1000 / count, "ms", None,
            f"one-time key + commitments + range, contained and membership proofs (ring of {ring})",
        ),
        "anonymous_extract_ingest_ms": _metric(
            ingest_s * 1000 / count, "ms", None,
            f"{count} anonymous extractions in one batch, ring of {ring}: rules, ring rebuilt from the registry, batched proofs",
        ),
    }


def run_benchmarks(quick: bool) -> dict[str, dict[str, Any]]:
    chains = 6 if quick else 40
    s, registry = _setup()
    run = ConfidentialRun()
    started = time.perf_counter()
    for i in range(chains):
        confidential_chain(s, run, co_g=300_000 + 1_000 * i)
    prove_s = time.perf_counter() - started
    proved = [ev for ev in run.events if "proofs" in ev.body]
    rates: list[float] = []
    for _ in range(1 if quick else 3):
        ledger = Ledger(MemoryStore(), s.actors["operator"].did, s.ledger_id, clock=historical_clock)
        result = ledger.submit_batch(registry, check_clock=False)
        if result.rejected:
            raise RuntimeError(f"benchmark registry rejected: {result.rejected[0].message}")
        t0 = time.perf_counter()
        result = ledger.submit_batch(run.events, check_clock=False)
        elapsed = time.perf_counter() - t0
        if result.rejected:
            raise RuntimeError(f"confidential workload rejected: {result.rejected[0].message}")
        rates.append(len(run.events) / elapsed)
    return {
        **_pack_benchmarks(quick),
        "confidential_ingest_events_per_s": _metric(
            statistics.median(rates), "events/s", None,
            f"{len(run.events)} events ({len(proved)} with proofs, rest plain shipments); {_ANCHOR}",
        ),
        "confidential_prove_ms_per_proved_event": _metric(
            prove_s * 1000 / len(proved), "ms", None, "participant side: commitments + proofs + signature"
        ),
        **_anonymous(quick),
    }


def _pack_benchmarks(quick: bool) -> dict[str, dict[str, Any]]:
    """A confidential pack end to end (``demo/confidential_pack.py``): proving from refined
    sulphate to pack, ingesting those events, issuing its passport with zero-knowledge figures
    and verifying a presentation. ``--quick`` builds a 2 × 3-cell pack, the full run the VM75
    (8 × 24 cells)."""
    design = PackDesign(2, 3) if quick else PackDesign()
    # the full VM75 needs the cathode maker's stock left over from the demo's 20-pack series
    s = build_scenario(packs=2, legacy_packs=2) if quick else build_scenario()
    ledger = Ledger(MemoryStore(), s.actors["operator"].did, s.ledger_id, clock=historical_clock)
    if ledger.submit_batch(s.events).rejected:
        raise RuntimeError("benchmark scenario rejected")
    run = ConfidentialRun()
    for i in range(2):
        confidential_chain(s, run, co_g=320_000 + 10_000 * i)
    if ledger.submit_batch(run.events, check_clock=False).rejected:
        raise RuntimeError("confidential chains rejected")
    done = len(run.events)
    t0 = time.perf_counter()
    [pack] = confidential_packs(s, run, 1, design)
    prove_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    result = ledger.submit_batch(run.events[done:], check_clock=False)
    ingest_s = time.perf_counter() - t0
    if result.rejected:
        raise RuntimeError(f"confidential pack rejected: {result.rejected[0].message}")
    ledger.sign_tree_head(s.actors["operator"].signing_key)
    now = int(time.time())
    t0 = time.perf_counter()
    p = issue_passport(ledger, pack, VOLTARA_VM75, s.actors["voltara"].signing_key, issued_at=now,
                       openings=run.store("voltara"))
    issue_ms = (time.perf_counter() - t0) * 1000
    text = p.present("public")
    times = []
    for _ in range(3 if quick else 10):
        t0 = time.perf_counter()
        claims = verify_passport(text, log_operator=ledger.operator_did, now=now).claims
        times.append((time.perf_counter() - t0) * 1000)
    proofs = sum(len(v) for v in claims["evidence"]["zk_figures"].values())
    shape = f"{design.modules}×{design.cells_per_module}-cell pack, {len(run.events) - done} events"
    return {
        "confidential_pack_prove_s": _metric(prove_s, "s", None, f"{shape}, refined sulphate → pack (participants' side)"),
        "confidential_pack_ingest_s": _metric(ingest_s, "s", None, f"{shape}, every proof verified"),
        "passport_confidential_issue_ms": _metric(issue_ms, "ms", None, f"{proofs} range proofs over the pack's commitments, "
                                                  "trace of the opened lineage, SD-JWT"),
        "passport_confidential_verify_ms": _metric(statistics.median(times), "ms", None,
                                                   f"median; {proofs} figure proofs batched; plain passports: passport_verify_p50_ms"),
    }
