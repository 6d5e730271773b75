"""Attacks on the Digital Links of exported EPCIS events: a signed event whose EPCIS fields name a
product it does not carry, relabel a receipt or smuggle odd values is refused naming
``epcis.epc`` / ``epcis.projection``, on the self-signed and the credential capture paths, and
nothing of a rolled-back document is recorded."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from batterytrace.demo.scenario import Scenario, build_scenario
from batterytrace.ledger.epcis import (
    capture_document,
    epcis_document,
    export_events,
    lot_uri,
    output_identities,
)
from batterytrace.ledger.epcis_capture import capture_custodial
from batterytrace.ledger.event_index import stored_identities
from batterytrace.ledger.ledger import Ledger, historical_clock
from batterytrace.storage.memory import MemoryStore


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return build_scenario(packs=1, legacy_packs=1)


def _split(scenario: Scenario) -> tuple[Ledger, list[dict[str, Any]], int]:
    """A ledger holding the history up to the first shipment of cells, and the rest exported
    with that ledger's identities (the cells named by their Digital Links)."""
    ledger = Ledger(MemoryStore(), scenario.actors["operator"].did, scenario.ledger_id, clock=historical_clock)
    cells = {lid for ev in scenario.events if ev.kind == "transform" for lid in output_identities(ev)}
    cut = next(i for i, ev in enumerate(scenario.events) if ev.kind == "ship" and set(ev.body["lots"]) & cells)
    assert capture_document(ledger, epcis_document(export_events(scenario.events[:cut]), 0)).success
    return ledger, export_events(scenario.events[cut:], stored_identities(ledger.store)), cut


def _links(e: dict[str, Any]) -> list[str]:
    return [u for u in e["epcList"] if u.startswith("https://id.gs1.org/")]


def _forgeries(rest: list[dict[str, Any]]) -> list[tuple[str, int, dict[str, Any], str]]:
    ship, receipt = rest[0], rest[1]
    assert ship["bizStep"] == "shipping" and receipt["bizStep"] == "receiving"
    a, b = _links(ship)[:2]
    shipped = [lot_uri(x) for x in receipt["bt:event"]["lots"]]
    created = [u for u in receipt["epcList"] if u.startswith("urn:") and u not in shipped]
    out = [
        # the shipment claims a cell of another production run (a serial the lot does not carry)
        ("another serial", 0, {**ship, "epcList": [u.replace(a, a[:-3] + "999") for u in ship["epcList"]]}, "epcis.epc"),
        # one cell's link in place of the other's: the same count, the wrong product
        ("swapped link", 0, {**ship, "epcList": [u if u != a else b for u in ship["epcList"]]}, "epcis.epc"),
        # the receipt presents a product that was not shipped
        ("receipt adds a product", 1,
         {**receipt, "epcList": [*receipt["epcList"], "https://id.gs1.org/01/04099999000753/21/VM75-STOLEN"]}, "epcis.epc"),
        # the receipt as version 1 exported it: a TransformationEvent
        ("transformation receipt", 1,
         {**{k: v for k, v in receipt.items() if k not in ("action", "epcList")}, "type": "TransformationEvent",
          "disposition": "active", "inputEPCList": shipped, "outputEPCList": created}, "epcis.projection"),
        ("receipt relabelled as commissioning", 1, {**receipt, "bizStep": "commissioning"}, "epcis.projection"),
        ("receipt without the shipped lots", 1,
         {**receipt, "epcList": [u for u in receipt["epcList"] if u not in shipped]}, "epcis.epc"),
        # odd values where EPC lists go: no crash, a named refusal
        ("epcList of objects", 0, {**ship, "epcList": [{"id": a}]}, "epcis.epc"),
        ("epcList as text", 0, {**ship, "epcList": a}, "epcis.epc"),
        ("oversized link", 0, {**ship, "epcList": [*ship["epcList"], "https://id.gs1.org/" + "9" * 100_000]},
         "epcis.epc"),
    ]
    return out


def test_forged_digital_links_and_relabelled_receipts_are_refused(scenario: Scenario) -> None:
    ledger, rest, cut = _split(scenario)
    for name, i, forged, rule in _forgeries(rest):
        events = copy.deepcopy(rest)
        events[i] = forged
        out = capture_document(ledger, epcis_document(events, 0))
        assert not out.success and ledger.size() == cut, name
        assert (out.errors[0]["index"], out.errors[0]["reason"]) == (i, rule), (name, out.errors[0])
        # a refused receipt creates no lots: later events naming them by Digital Link are refused too
        assert all(e["index"] > i and e["reason"] == "epcis.epc" for e in out.errors[1:]), name
        assert out.errors[0]["message"].startswith(f"[{rule}] EPCIS field"), name
        assert len(out.errors[0]["message"]) < 1000, name  # an oversized value is not echoed whole
    assert capture_document(ledger, epcis_document(rest, 0)).success  # the genuine history is accepted


def test_the_credential_capture_path_checks_signed_events_alike(scenario: Scenario) -> None:
    ledger, rest, cut = _split(scenario)
    for name, i, forged, rule in _forgeries(rest)[:4]:
        events = copy.deepcopy(rest)
        events[i] = forged
        out = capture_custodial(ledger, epcis_document(events, 0), participant=scenario.actors["voltara"].did,
                                credential_id="c1", key_for=lambda did: None)
        assert (out.errors[0]["index"], out.errors[0]["reason"]) == (i, rule), (name, out.errors[0])
        assert ledger.size() == cut
    out = capture_custodial(ledger, epcis_document(rest, 0), participant=scenario.actors["voltara"].did,
                            credential_id="c1", key_for=lambda did: None)
    assert out.success and ledger.size() == len(scenario.events)
