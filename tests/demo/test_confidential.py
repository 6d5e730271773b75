"""The demo's confidential run: accepted by the rules, openings travel, attacks refused."""

from __future__ import annotations

from batterytrace.crypto.zk import decode_commitment, open_commitment
from batterytrace.demo.confidential import (
    CO_KEY,
    ConfidentialRun,
    confidential_attacks,
    confidential_chain,
)
from batterytrace.demo.scenario import Scenario
from batterytrace.ledger.audit import verify_log
from batterytrace.ledger.confidential_client import import_openings
from batterytrace.ledger.ledger import Ledger, historical_clock
from batterytrace.storage.memory import MemoryStore
from batterytrace.storage.openings import OpeningStore


def test_confidential_chain_on_the_demo_supply_chain() -> None:
    s = Scenario()
    s.register_all()
    s.attest("rmap", "mine:kasonta", "RMAP", "2024-06-01T00:00:00Z", "2027-06-01T00:00:00Z", level="conformant")
    s.tick(24)
    ledger = Ledger(MemoryStore(), s.actors["operator"].did, s.ledger_id, clock=historical_clock)
    assert not ledger.submit_batch(s.events, check_clock=False).rejected
    run = ConfidentialRun()
    out = confidential_chain(s, run, co_g=350_000)
    result = ledger.submit_batch(run.events, check_clock=False)
    assert not result.rejected, result.rejected
    lot = ledger.store.get_lot(out)
    assert lot is not None and lot.buckets == {} and set(lot.commitments) == {CO_KEY}
    mine = run.store("kivijarvi").get(out)
    open_commitment(decode_commitment(lot.commitments[CO_KEY]), mine[CO_KEY])
    assert mine[CO_KEY].value == (350_000 - 700) * 97 // 100
    auditor = OpeningStore()
    assert import_openings(ledger.store, auditor, run.store("kivijarvi").export([out])) == [out]
    refused = []
    for _, ev in confidential_attacks(s, run, out):
        r = ledger.submit_batch([ev], check_clock=False)
        assert not r.accepted
        refused.append(r.rejected[0].rule)
    assert refused == ["zk.loss", "zk.balance", "zk.mixed-mode"]
    verify_log(ledger.store)
