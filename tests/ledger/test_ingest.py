"""Parallel ingest gives the same log as sequential submission and reports bad lines by position."""

from __future__ import annotations

from batterytrace.demo.scenario import build_scenario
from batterytrace.ledger.ingest import ingest_wire
from batterytrace.ledger.ledger import Ledger, historical_clock
from batterytrace.storage.memory import MemoryStore
from support import Chain


def test_parallel_ingest_equals_sequential() -> None:
    s = build_scenario(packs=2, legacy_packs=1)
    wire = [ev.wire_bytes() for ev in s.events]
    seq = Ledger(MemoryStore(), s.actors["operator"].did, s.ledger_id, clock=historical_clock)
    assert not seq.submit_batch(s.events).rejected
    par = Ledger(MemoryStore(), s.actors["operator"].did, s.ledger_id, clock=historical_clock)
    result = ingest_wire(par, wire, workers=2, chunk_size=37)
    assert not result.rejected and len(result.accepted) == len(wire)
    assert par.root() == seq.root()


def test_bad_lines_are_reported_by_position_and_nothing_else_is_lost() -> None:
    c = Chain()
    lot = c.s.extract("kasonta", "cobalt_hydroxide", 1_000_000, True, 4.8, True)
    events = c.s.events[-1:]
    good = events[0].wire_bytes()
    tampered = good.replace(b'"gross_mass_g":1000000', b'"gross_mass_g":1000001')
    assert tampered != good
    lines = [b"{not json", tampered, good, good, b'{"event": {}, "signature": "AA"}']
    result = ingest_wire(c.ledger, lines, workers=2, chunk_size=2)
    rules = {r.index: r.rule for r in result.rejected}
    assert rules == {0: "schema", 1: "signature", 3: "replay", 4: "schema"}
    assert [r.lots for r in result.accepted] == [(lot,)]
