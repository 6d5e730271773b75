"""The demo's anonymous certified extraction: accepted after the ring setup, received
confidentially by Kivijärvi, who learns (verifiably) which mine it was; the log re-verifies."""

from __future__ import annotations

from batterytrace.demo.anonymous import CO_KEY, anonymous_shipment, ring_setup
from batterytrace.demo.scenario import Scenario
from batterytrace.ledger.anonymous import ring_from_store
from batterytrace.ledger.anonymous_client import verify_origin_disclosure
from batterytrace.ledger.audit import verify_log
from batterytrace.ledger.confidential_client import prove_event
from batterytrace.ledger.ledger import Ledger, historical_clock
from batterytrace.model.policy import DEFAULT_POLICY
from batterytrace.storage.memory import MemoryStore
from batterytrace.storage.openings import OpeningStore
from batterytrace.timeutil import format_time


def _scenario() -> Scenario:
    s = Scenario()
    s.register_all()
    s.attest("rmap", "mine:kasonta", "RMAP", "2024-06-01T00:00:00Z", "2027-06-01T00:00:00Z", level="conformant")
    s.attest("rmap", "mine:mwelu", "RMAP", "2023-01-15T00:00:00Z", "2025-01-15T00:00:00Z", level="conformant")
    s.tick(24)
    return s


def test_anonymous_shipment_on_the_demo_supply_chain() -> None:
    s = _scenario()
    ledger = Ledger(MemoryStore(), s.actors["operator"].did, s.ledger_id, clock=historical_clock)
    assert not ledger.submit_batch(s.events, check_clock=False).rejected
    setup = ring_setup(s)
    assert not ledger.submit_batch(setup.events, check_clock=False).rejected
    refiner = OpeningStore()
    run = anonymous_shipment(s, setup, "mwelu", receiver=refiner)
    assert sorted(run.ring_sites) == ["mine:kasonta", "mine:mwelu"]  # Tujenge holds a key, not a certificate
    result = ledger.submit_batch(run.events, check_clock=False)
    assert not result.rejected, result.rejected
    lot = ledger.store.get_lot(run.lot)
    assert lot is not None and lot.site == "ring:CD" and lot.status == "in_transit" and set(lot.commitments) == {CO_KEY}
    assert verify_origin_disclosure(ledger.store, run.disclosure, s.actors["kivijarvi"].did) == "mine:mwelu"
    # Kivijärvi receives it confidentially with the openings it was handed
    s.tick(48)
    body = {"kind": "receive", "shipment": run.shipment.hash_hex, "lots": [run.lot], "seals": run.shipment.body["seals"],
            "site": "plant:kivijarvi", "time": format_time(s.clock),
            "outputs": [{"form": "cobalt_hydroxide", "gross_mass_g": 1_000_000, "coc_model": "segregated",
                         "buckets": {CO_KEY: 350_000 - 700}}], "loss": {CO_KEY: 700}}
    received = prove_event(body, s.actors["kivijarvi"].signing_key, [refiner.get(run.lot)], DEFAULT_POLICY.tolerance("receive"), ledger=s.ledger_id)
    assert not ledger.submit_batch([received.event], check_clock=False).rejected
    verify_log(ledger.store)


def test_ring_without_a_store_matches_the_ledger() -> None:
    """Without a store the ring comes from the registry the scenario implies: the same ring."""
    s = _scenario()
    ledger = Ledger(MemoryStore(), s.actors["operator"].did, s.ledger_id, clock=historical_clock)
    ledger.submit_batch(s.events, check_clock=False)
    setup = ring_setup(s)
    ledger.submit_batch(setup.events, check_clock=False)
    pure = anonymous_shipment(s, setup)
    assert pure.ring_sites == [m.site_id for m in ring_from_store(ledger.store, "CD", s.clock)]
    run = anonymous_shipment(s, setup, store=ledger.store)
    assert not ledger.submit_batch(pure.events + run.events, check_clock=False).rejected
    assert run.openings[run.lot][CO_KEY].value == 350_000
