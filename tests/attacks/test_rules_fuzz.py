"""Invariant 5 (issue 12), the fuzzer: mutated, re-signed plain and confidential events never raise
an unexpected exception inside the rules and never create mass, certified or recycled material.

Bounded: a fixed number of mutants per event and a time budget (``BATTERYTRACE_FUZZ_SECONDS``,
default 60 s per mode); the seed is fixed for repeatable runs (``BATTERYTRACE_FUZZ_SEED`` picks
another)."""

from __future__ import annotations

import os
import time

from batterytrace.demo.scenario import Scenario, build_scenario
from batterytrace.ledger.ledger import Ledger
from batterytrace.storage.memory import MemoryStore
from conf_pack_support import conf_world
from fuzz_support import FuzzReport, fuzz_events

SEED = int(os.environ.get("BATTERYTRACE_FUZZ_SEED", "20261203"))
BUDGET_S = float(os.environ.get("BATTERYTRACE_FUZZ_SECONDS", "60"))


def _keys(s: Scenario) -> dict[str, object]:
    return {a.did: a.signing_key for a in s.actors.values()}


def _summary(report: FuzzReport) -> str:
    return f"{report.judged} mutants judged, {report.accepted} accepted, refusals by rule {report.rules}"


def test_plain_mutants_are_refused_by_name_or_keep_every_invariant() -> None:
    s = build_scenario(packs=1, legacy_packs=1)
    ledger = Ledger(MemoryStore(), s.actors["operator"].did, s.ledger_id)
    # the demo's events were signed in 2025: imported as history (each at its own time)
    report = fuzz_events(ledger, s.events, _keys(s), seed=SEED, per_event=40,  # type: ignore[arg-type]
                         deadline=time.monotonic() + BUDGET_S, check_clock=False)
    print(_summary(report))
    assert not report.failures, "\n".join(report.failures[:5]) + "\n" + _summary(report)
    # the fuzzer really ran: many mutants judged, refused under many different rules
    assert report.judged >= 150, _summary(report)
    assert len(report.rules) >= 12, _summary(report)
    assert "internal" not in report.rules


def test_confidential_mutants_are_refused_by_name_or_keep_every_invariant() -> None:
    world = conf_world()  # the plain demo chain, confidential cobalt chains and a confidential pack
    s = world.s
    ledger = Ledger(MemoryStore(), s.actors["operator"].did, s.ledger_id)
    assert not ledger.submit_batch(s.events, check_clock=False).rejected
    report = fuzz_events(ledger, world.run.events, _keys(s), seed=SEED + 1, per_event=24,  # type: ignore[arg-type]
                         deadline=time.monotonic() + BUDGET_S, check_clock=False)
    print(_summary(report))
    assert not report.failures, "\n".join(report.failures[:5]) + "\n" + _summary(report)
    assert report.judged >= 200, _summary(report)
    assert any(rule.startswith("zk.") for rule in report.rules), _summary(report)
