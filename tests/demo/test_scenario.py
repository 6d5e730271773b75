"""The demo chain is accepted in full and physically plausible."""

from __future__ import annotations

import pytest

from batterytrace.demo.attempts import bad_events
from batterytrace.demo.scenario import FORM_ASSAY_PPM, build_scenario
from batterytrace.errors import RuleViolationError
from batterytrace.ledger.ledger import Ledger, historical_clock
from batterytrace.model.buckets import element_totals
from batterytrace.storage.memory import MemoryStore


@pytest.fixture(scope="module")
def run() -> tuple[Ledger, list[str]]:
    s = build_scenario()
    ledger = Ledger(MemoryStore(), s.actors["operator"].did, s.ledger_id, clock=historical_clock)
    result = ledger.submit_batch(s.events)
    assert not result.rejected
    return ledger, s.packs


def test_twenty_packs_of_about_75_kwh(run: tuple[Ledger, list[str]]) -> None:
    ledger, packs = run
    assert len(packs) >= 20
    for pid in packs:
        lot = ledger.store.get_lot(pid)
        assert lot is not None and lot.form == "pack" and lot.gtin and lot.serial
        assert 70 <= float(lot.extra["capacity_kwh"]) <= 80


def test_cobalt_per_kwh_is_nmc811_like(run: tuple[Ledger, list[str]]) -> None:
    ledger, packs = run
    for pid in packs:
        lot = ledger.store.get_lot(pid)
        assert lot is not None
        co_kg_per_kwh = element_totals(lot.buckets)["Co"] / 1000 / float(lot.extra["capacity_kwh"])
        assert 0.08 <= co_kg_per_kwh <= 0.11


def test_intermediate_assays_are_plausible() -> None:
    assert FORM_ASSAY_PPM["cobalt_hydroxide"]["Co"] == pytest.approx(350_000, rel=0.05)
    assert FORM_ASSAY_PPM["cobalt_sulphate"]["Co"] == pytest.approx(210_000, rel=0.02)  # CoSO4·7H2O


def test_three_kinds_of_drc_mines_and_recycled_cobalt_back_in_cells(run: tuple[Ledger, list[str]]) -> None:
    ledger, packs = run
    drc = [s for s in ledger.store.list_sites() if s.kind == "mine" and s.country == "CD"]
    assert len(drc) >= 3
    recycled = sum(g for pid in packs for k, g in (ledger.store.get_lot(pid) or _none()).buckets.items()
                   if k.startswith("Co/recycled"))
    certified = sum(g for pid in packs for k, g in (ledger.store.get_lot(pid) or _none()).buckets.items()
                    if k.startswith("Co/certified"))
    assert recycled > 0 and certified > 0


def _none() -> object:
    raise AssertionError("missing lot")


def test_demo_attempts_are_all_refused(run: tuple[Ledger, list[str]]) -> None:
    ledger, _ = run
    s = build_scenario()
    expected = ["certified.origin", "attestation.accreditation", "provenance.scrap", "identity.bulk", "custody", "time.backdate", "ledger.domain", "replay", "signature"]
    got = []
    for description, event in bad_events(s):
        with pytest.raises(RuleViolationError) as info:
            ledger.submit(event)
        assert description
        got.append(info.value.rule)
    assert got == expected


def test_a_served_demo_ledger_gets_an_operator_key_of_its_own() -> None:
    """Participants' keys derive from public labels; the operator's may not when the ledger is
    served: build_scenario takes a key of its own, and every operator event is signed with it."""
    from batterytrace.crypto.signing import SigningKey
    from batterytrace.ledger.ledger import Ledger, historical_clock
    from batterytrace.storage.memory import MemoryStore

    own = SigningKey.generate()
    derived = build_scenario(packs=1, legacy_packs=1).actors["operator"].did
    s = build_scenario(packs=1, legacy_packs=1, operator_key=own)
    assert s.actors["operator"].did == own.did != derived
    operator_events = [ev for ev in s.events if ev.actor == own.did]
    assert operator_events and not any(ev.actor == derived for ev in s.events)
    ledger = Ledger(MemoryStore(), own.did, s.ledger_id, clock=historical_clock)
    assert not ledger.submit_batch(s.events).rejected
