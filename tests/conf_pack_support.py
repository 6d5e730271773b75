"""A small confidential pack on the demo supply chain, built once per test session (proving
takes seconds): the plain scenario, three confidential cobalt chains, and one confidential pack
of 2 modules × 3 cells with its passport issuer's openings."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from batterytrace.demo.confidential import ConfidentialRun, confidential_chain
from batterytrace.demo.confidential_pack import PackDesign, confidential_packs
from batterytrace.demo.scenario import Scenario, build_scenario
from batterytrace.ledger.ledger import Ledger, historical_clock
from batterytrace.storage.memory import MemoryStore

SMALL = PackDesign(modules=2, cells_per_module=3)


@dataclass
class ConfWorld:
    s: Scenario
    ledger: Ledger
    run: ConfidentialRun
    packs: list[str]


@functools.cache
def conf_world() -> ConfWorld:
    s = build_scenario(packs=2, legacy_packs=2)
    ledger = Ledger(MemoryStore(), s.actors["operator"].did, s.ledger_id, clock=historical_clock)
    assert not ledger.submit_batch(s.events).rejected
    run = ConfidentialRun()
    for i in range(2):
        confidential_chain(s, run, co_g=320_000 + 10_000 * i)
    packs = confidential_packs(s, run, 1, SMALL)
    result = ledger.submit_batch(run.events, check_clock=False)
    assert not result.rejected, result.rejected[0].message
    ledger.sign_tree_head(s.actors["operator"].signing_key)
    return ConfWorld(s, ledger, run, packs)
