"""EPCIS 2.0 import/export: our events export schema-valid and round-trip; the GS1 examples import
or are refused with a reason; tampered EPCIS events are refused naming the defect."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from batterytrace.demo.scenario import Scenario, build_scenario
from batterytrace.errors import EncodingError, VerificationError
from batterytrace.ledger.epcis import (
    PARENT_LOT,
    ProjectionError,
    capture_document,
    epcis_document,
    export_event,
    export_events,
    import_document,
    import_event,
    item_uri,
    lot_uri,
    output_identities,
    projected_shape,
    shape_kinds,
)
from batterytrace.ledger.event_index import stored_identities
from batterytrace.ledger.ledger import Ledger, historical_clock
from batterytrace.model.events import SignedEvent
from batterytrace.storage.memory import MemoryStore

REFERENCE = Path(__file__).resolve().parents[1] / "reference" / "epcis"
SCHEMA = REFERENCE / "EPCIS-JSON-Schema.json"
EXAMPLES = sorted((REFERENCE / "JSON").rglob("*.jsonld"))
REASONS = {"unsigned", "error_declaration", "not_material_flow", "unsupported", "malformed", "signature",
           "epcis.epc", "epcis.projection"}


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return build_scenario(packs=1, legacy_packs=1)


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA.read_text())
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def _doc(scenario: Scenario, kinds: set[str] | None = None) -> dict[str, Any]:
    events = export_events(ev for ev in scenario.events if kinds is None or ev.kind in kinds)
    return epcis_document(events, 1_700_000_000_000_000)


def _identities(scenario: Scenario) -> dict[str, tuple[str, str]]:
    """Every serialised lot of the scenario: lot id → (GTIN, serial)."""
    return {lid: ident for ev in scenario.events for lid, ident in output_identities(ev).items()}


def _epcs(e: dict[str, Any]) -> set[str]:
    named = [*e.get("epcList", []), *e.get("childEPCs", []), *e.get("inputEPCList", []), *e.get("outputEPCList", [])]
    return set(named) | {e[k] for k in ("parentID", PARENT_LOT) if k in e}


def test_every_exported_event_is_schema_valid(scenario: Scenario, validator: jsonschema.protocols.Validator) -> None:
    doc = _doc(scenario)
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]]
    types = {e["type"] for e in doc["epcisBody"]["eventList"]}
    assert types == {"ObjectEvent", "AggregationEvent", "TransformationEvent"}
    query = epcis_document(doc["epcisBody"]["eventList"][:5], 0, query=True)
    assert not list(validator.iter_errors(query))
    broken = copy.deepcopy(doc)
    del broken["epcisBody"]["eventList"][0]["action"]  # the validator does check events
    assert list(validator.iter_errors(broken))


def test_single_exported_event_with_context_is_schema_valid(scenario: Scenario,
                                                            validator: jsonschema.protocols.Validator) -> None:
    ev = export_event(scenario.events[-1])
    ev["@context"] = epcis_document([], 0)["@context"]
    assert not list(validator.iter_errors(ev))


def test_export_import_round_trip(scenario: Scenario) -> None:
    events, refused = import_document(json.loads(json.dumps(_doc(scenario))))
    assert not refused
    assert [e.event_hash for e in events] == [e.event_hash for e in scenario.events]


def test_type_action_and_step_are_fixed_by_the_kind(scenario: Scenario) -> None:
    """Queries turn eventType / EQ_action / EQ_bizStep into the kinds they allow
    (``shape_kinds``): exact only while every exported event's three fields are its kind's."""
    kinds = set()
    for ev in scenario.events:
        x = export_event(ev)
        assert (x["type"], x.get("action"), x["bizStep"]) == projected_shape(ev.kind), ev.kind
        kinds.add(ev.kind)
        assert ev.kind in (shape_kinds(frozenset({x["type"]}), None, None) or set())
        assert ev.kind in (shape_kinds(None, frozenset({x.get("action")}) if x.get("action") else None,
                                       frozenset({x["bizStep"]})) or set())
    assert len(kinds) >= 10  # the scenario exercises most kinds
    assert shape_kinds(None, None, None) is None
    assert shape_kinds(frozenset({"ObjectEvent"}), frozenset({"DELETE"}), None) == frozenset()
    assert shape_kinds(None, None, frozenset({"shipping"})) == {"ship"}


def test_material_flow_is_projected(scenario: Scenario) -> None:
    by_kind = {ev.kind: export_event(ev) for ev in scenario.events}
    assert by_kind["ship"]["bizStep"] == "shipping" and by_kind["ship"]["destinationList"]
    assert by_kind["transform"]["type"] == "TransformationEvent"
    assert by_kind["transform"]["inputEPCList"] and by_kind["transform"]["outputEPCList"]
    agg = by_kind["aggregate"]
    parent = next(ev for ev in scenario.events if ev.kind == "aggregate" and ev.hash_hex in agg["eventID"])
    spec = parent.body["outputs"][0]
    # a serialised parent: parentID is its canonical GS1 Digital Link, the lot URI in bt:parentLot
    assert agg["type"] == "AggregationEvent" and agg["action"] == "ADD"
    assert agg["parentID"] == f"https://id.gs1.org/01/{spec['gtin']}/21/{spec['serial']}"
    assert agg[PARENT_LOT] == lot_uri(f"{parent.hash_hex}:0")
    assert by_kind["extract"]["action"] == "ADD" and by_kind["extract"]["bizStep"] == "commissioning"
    assert all(uri.startswith("urn:batterytrace:lot:") for uri in by_kind["extract"]["epcList"])  # bulk: lot only
    receipt = by_kind["receive"]
    assert (receipt["type"], receipt["action"], receipt["bizStep"], receipt["disposition"]) == (
        "ObjectEvent", "OBSERVE", "receiving", "in_progress")
    assert not {"inputEPCList", "outputEPCList"} & receipt.keys()


def test_receipts_are_schema_valid_object_events(scenario: Scenario, validator: jsonschema.protocols.Validator) -> None:
    receipts = [e for e in _doc(scenario)["epcisBody"]["eventList"] if e["bizStep"] == "receiving"]
    assert len(receipts) == sum(ev.kind == "receive" for ev in scenario.events) > 5
    for e in receipts:
        assert e["type"] == "ObjectEvent"
        ev = import_event(e)
        shipped, created = ev.body["lots"], [f"{ev.hash_hex}:{i}" for i in range(len(ev.body["outputs"]))]
        assert e["epcList"][:len(shipped) + len(created)] == [lot_uri(x) for x in shipped + created]
    cells = next(e for e in receipts if any(u.startswith("https://id.gs1.org/") for u in e["epcList"]))
    links = [u for u in cells["epcList"] if u.startswith("https://")]
    assert len(links) == len(cells["bt:event"]["lots"])  # a received item keeps its Digital Link: named once
    doc = epcis_document(receipts, 0)
    assert not list(validator.iter_errors(doc))
    doc["epcisBody"]["eventList"][0]["action"] = "RECEIVE"  # the schema does check ObjectEvent actions
    assert list(validator.iter_errors(doc))


def test_a_serialised_lot_is_named_by_its_digital_link_wherever_it_is_named(scenario: Scenario) -> None:
    identities = _identities(scenario)
    events = export_events(scenario.events)
    for lot_id, (gtin, serial) in list(identities.items())[::37]:
        link = item_uri(gtin, serial)
        assert link == f"https://id.gs1.org/01/{gtin}/21/{serial}"
        # every event that creates, ships, receives, aggregates, observes… a lot with this identity
        naming = {ev.hash_hex for ev in scenario.events
                  if any(identities.get(x) == (gtin, serial) for x in [*output_identities(ev), *_named(ev)])}
        found = {e["eventID"].rsplit(":", 1)[1] for e in events if link in _epcs(e)}
        assert found == naming and len(found) >= 2, lot_id
    cell = next(lid for lid, (_, serial) in identities.items() if serial.startswith("NC811"))
    kinds = [e["bt:event"]["kind"] for e in events if item_uri(*identities[cell]) in _epcs(e)]
    assert kinds == ["transform", "ship", "receive", "aggregate"]


def _named(ev: SignedEvent) -> list[str]:
    from batterytrace.ledger.event_index import named_lots

    return named_lots(ev)


def test_digital_links_of_other_documents_lots_need_the_ledger(scenario: Scenario) -> None:
    """An event naming a serialised lot created elsewhere carries its Digital Link only as the
    ledger knows it: without the ledger it is refused (epcis.epc), with it accepted; the form
    without Digital Links of consumed lots (an exporter that did not know them) stays acceptable."""
    identities = _identities(scenario)
    look_up = lambda ids: {i: identities[i] for i in ids if i in identities}  # noqa: E731
    ship = next(ev for ev in scenario.events if ev.kind == "ship" and ev.body["lots"][0] in identities)
    full = export_event(ship, look_up)
    assert sum(u.startswith("https://id.gs1.org/") for u in full["epcList"]) == len(ship.body["lots"])
    with pytest.raises(ProjectionError, match=r"\[epcis.epc\].*names 'https://id.gs1.org/") as caught:
        import_event(copy.deepcopy(full))
    assert caught.value.rule == "epcis.epc"
    assert import_event(copy.deepcopy(full), identities=look_up).hash_hex == ship.hash_hex
    assert import_event(export_event(ship), identities=look_up).hash_hex == ship.hash_hex
    _, refused = import_document(epcis_document([full], 0))
    assert [r.reason for r in refused] == ["epcis.epc"]
    accepted, refused = import_document(epcis_document([full], 0), look_up)
    assert not refused and accepted[0].hash_hex == ship.hash_hex


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_gs1_examples_import_or_are_refused_with_reason(path: Path) -> None:
    doc = json.loads(path.read_text())
    if doc.get("type") not in ("EPCISDocument", "EPCISQueryDocument"):
        with pytest.raises(EncodingError, match="not an EPCISDocument"):
            import_document(doc)
        return
    events, refused = import_document(doc)
    # none of the GS1 examples is signed by a participant of this ledger: all are refused
    assert not events
    assert refused
    for r in refused:
        assert r.reason in REASONS and len(r.message) > 20
    reasons = {r.reason for r in refused}
    if "ErrorDeclaration" in path.name or "error-declaration" in path.name:
        assert "error_declaration" in reasons
    if path.parent.name == "AssociationEvent":
        assert reasons <= {"not_material_flow", "error_declaration"}


def test_reference_examples_are_present() -> None:
    assert len(EXAMPLES) > 30


def _exported(scenario: Scenario, kind: str) -> dict[str, Any]:
    return copy.deepcopy(export_event(next(ev for ev in scenario.events if ev.kind == kind)))


def test_tampered_epcis_fields_are_refused(scenario: Scenario) -> None:
    e = _exported(scenario, "ship")
    e["epcList"] = ["urn:batterytrace:lot:" + "0" * 64 + ":0"]
    with pytest.raises(VerificationError, match="epcList"):
        import_event(e)
    e = _exported(scenario, "ship")
    e["bizStep"] = "receiving"
    with pytest.raises(VerificationError, match="bizStep"):
        import_event(e)
    e = _exported(scenario, "transform")
    e["eventTime"] = "2020-01-01T00:00:00Z"
    with pytest.raises(VerificationError, match="eventTime"):
        import_event(e)


def _serialised(scenario: Scenario, kind: str) -> tuple[SignedEvent, dict[str, Any], Any]:
    identities = _identities(scenario)
    look_up = lambda ids: {i: identities[i] for i in ids if i in identities}  # noqa: E731
    ev = next(ev for ev in scenario.events if ev.kind == kind
              and any(x in identities for x in [*_named(ev), *output_identities(ev)]))
    return ev, export_event(ev, look_up), look_up


def test_a_digital_link_that_is_not_the_signed_lots_is_refused(scenario: Scenario) -> None:
    identities = _identities(scenario)
    other_links = sorted({u for i in identities.values() if (u := item_uri(*i))})
    # a shipment of cells whose epcList names another cell (swapped, or added)
    ship, e, look_up = _serialised(scenario, "ship")
    links = [u for u in e["epcList"] if u.startswith("https://")]
    stranger = next(u for u in other_links if u not in links)
    for forged in ([*e["epcList"][:-1], stranger], [*e["epcList"], stranger],
                   [*e["epcList"], "https://id.gs1.org/01/04099999000753/21/FORGED"]):
        with pytest.raises(ProjectionError, match=r"\[epcis.epc\] EPCIS field epcList names") as caught:
            import_event({**e, "epcList": forged}, identities=look_up)
        assert caught.value.rule == "epcis.epc"
    # a bulk lot named by a Digital Link
    bulk = export_event(next(ev for ev in scenario.events if ev.kind == "extract"))
    with pytest.raises(ProjectionError, match=r"epcis.epc"):
        import_event({**bulk, "epcList": [*bulk["epcList"], other_links[0]]}, identities=look_up)
    # an assembly whose parent is another pack, or whose parent lot is another lot
    agg, a, _ = _serialised(scenario, "aggregate")
    with pytest.raises(ProjectionError, match=r"\[epcis.epc\] EPCIS field parentID"):
        import_event({**a, "parentID": next(u for u in other_links if u != a["parentID"])}, identities=look_up)
    with pytest.raises(ProjectionError, match=r"\[epcis.epc\] EPCIS field bt:parentLot"):
        import_event({**a, PARENT_LOT: lot_uri("0" * 64 + ":0")}, identities=look_up)
    without = {k: v for k, v in a.items() if k != PARENT_LOT}
    with pytest.raises(ProjectionError, match=r"bt:parentLot"):
        import_event(without, identities=look_up)
    # through a document: refused by reason, the rest of the document imported
    doc = epcis_document([{**e, "epcList": [*e["epcList"], stranger]}, a], 0)
    accepted, refused = import_document(doc, look_up)
    assert [r.reason for r in refused] == ["epcis.epc"] and [x.hash_hex for x in accepted] == [agg.hash_hex]
    assert import_event(e, identities=look_up).hash_hex == ship.hash_hex  # the untouched export imports


def test_a_relabelled_receipt_is_refused(scenario: Scenario) -> None:
    receive, e, look_up = _serialised(scenario, "receive")
    created = [lot_uri(f"{receive.hash_hex}:{i}") for i in range(len(receive.body["outputs"]))]
    shipped = [lot_uri(x) for x in receive.body["lots"]]
    # the TransformationEvent form of a receipt (index version 1)
    old = {k: v for k, v in e.items() if k not in ("action", "epcList")}
    old.update(type="TransformationEvent", disposition="active", inputEPCList=shipped, outputEPCList=created)
    with pytest.raises(ProjectionError, match=r"\[epcis.projection\] EPCIS field type") as caught:
        import_event(old, identities=look_up)
    assert caught.value.rule == "epcis.projection"
    for name, value in (("bizStep", "commissioning"), ("bizStep", "shipping"), ("action", "ADD"),
                        ("disposition", "active")):
        with pytest.raises(ProjectionError, match=rf"\[epcis.projection\] EPCIS field {name}"):
            import_event({**e, name: value}, identities=look_up)
    with pytest.raises(ProjectionError, match=r"epcis.epc"):  # only the new lots, not the shipped ones
        import_event({**e, "epcList": [u for u in e["epcList"] if u not in shipped]}, identities=look_up)
    _, refused = import_document(epcis_document([old], 0), look_up)
    assert [r.reason for r in refused] == ["epcis.projection"]


def test_capture_checks_digital_links_against_the_ledger(scenario: Scenario) -> None:
    """A second document names cells the first created: the ledger's identities verify it."""
    ledger = _ledger(scenario)
    cut = next(i for i, ev in enumerate(scenario.events) if ev.kind == "ship" and ev.body["lots"][0] in _identities(scenario))
    first = capture_document(ledger, epcis_document(export_events(scenario.events[:cut]), 0))
    assert first.success
    rest = export_events(scenario.events[cut:], stored_identities(ledger.store))
    assert any(u.startswith("https://id.gs1.org/") for u in rest[0]["epcList"])
    forged = copy.deepcopy(rest)
    forged[0]["epcList"][-1] = "https://id.gs1.org/01/07350999001087/21/FORGED"
    out = capture_document(ledger, epcis_document(forged, 0))
    assert not out.success and out.errors[0]["reason"] == "epcis.epc" and ledger.size() == cut
    out = capture_document(ledger, epcis_document(rest, 0))
    assert out.success and ledger.size() == len(scenario.events)


def test_tampered_signed_body_is_refused(scenario: Scenario) -> None:
    e = _exported(scenario, "ship")
    e["bt:event"]["gross_mass_g"] += 1
    with pytest.raises(VerificationError, match="signature"):
        import_event(e)
    e = _exported(scenario, "ship")
    e["bt:signature"] = e["bt:signature"][:-4] + ("AAAA" if not e["bt:signature"].endswith("AAAA") else "BBBB")
    with pytest.raises(VerificationError):
        import_event(e)


def test_unsigned_and_malformed_events_are_refused(scenario: Scenario) -> None:
    e = _exported(scenario, "extract")
    del e["bt:signature"]
    with pytest.raises(EncodingError, match=r"^unsigned"):
        import_event(e)
    e = _exported(scenario, "extract")
    e["bt:signature"] = "not base64!"
    with pytest.raises(EncodingError, match=r"^malformed"):
        import_event(e)
    e = _exported(scenario, "extract")
    e["bt:event"] = {"kind": "extract"}
    with pytest.raises(EncodingError, match=r"^malformed"):
        import_event(e)
    e = _exported(scenario, "extract")
    e["errorDeclaration"] = {"declarationTime": "2025-01-01T00:00:00Z"}
    with pytest.raises(EncodingError, match=r"^error_declaration"):
        import_event(e)
    with pytest.raises(EncodingError, match=r"^malformed"):
        import_event(["not", "an", "event"])
    with pytest.raises(EncodingError, match="eventList"):
        import_document({"type": "EPCISDocument", "epcisBody": {}})


def _ledger(scenario: Scenario) -> Ledger:
    return Ledger(MemoryStore(), scenario.actors["operator"].did, scenario.ledger_id, clock=historical_clock)


def test_capture_rollback_records_nothing_on_any_error(scenario: Scenario) -> None:
    ledger = _ledger(scenario)
    doc = _doc(scenario)
    doc["epcisBody"]["eventList"].insert(3, {"type": "AssociationEvent", "eventTime": "2025-01-01T00:00:00Z"})
    out = capture_document(ledger, doc, "rollback")
    assert not out.success and out.accepted == [] and ledger.size() == 0
    assert out.errors[0]["index"] == 3 and out.errors[0]["reason"] == "not_material_flow"
    # a ledger-rule rejection also rolls the whole document back
    doc = _doc(scenario)
    events = doc["epcisBody"]["eventList"]
    events.append(copy.deepcopy(events[-1]))  # a replay of the last event
    out = capture_document(ledger, doc, "rollback")
    assert not out.success and ledger.size() == 0
    assert out.errors[0]["index"] == len(events) - 1 and out.errors[0]["reason"].startswith("rule/")


def test_capture_proceed_records_the_acceptable_events(scenario: Scenario) -> None:
    ledger = _ledger(scenario)
    doc = _doc(scenario)
    doc["epcisBody"]["eventList"].insert(3, {"type": "AssociationEvent", "eventTime": "2025-01-01T00:00:00Z"})
    out = capture_document(ledger, doc, "proceed")
    assert len(out.accepted) == len(scenario.events) == ledger.size()
    assert [e["index"] for e in out.errors] == [3]
    with pytest.raises(EncodingError, match="rollback or proceed"):
        capture_document(ledger, doc, "ignore")


def test_capture_rollback_commits_a_clean_document(scenario: Scenario) -> None:
    ledger = _ledger(scenario)
    out = capture_document(ledger, _doc(scenario), "rollback")
    assert out.success and ledger.size() == len(scenario.events)


def test_namespace_prefix_follows_the_context(scenario: Scenario) -> None:
    """JSON-LD compact IRIs: another prefix bound to our namespace works; a redefined ``bt`` does not."""
    doc = _doc(scenario, {"extract"})
    renamed = copy.deepcopy(doc)
    renamed["@context"] = [renamed["@context"][0], {"trace": "https://batterytrace.example/ns/epcis#"}]
    for e in renamed["epcisBody"]["eventList"]:
        e["trace:event"], e["trace:signature"] = e.pop("bt:event"), e.pop("bt:signature")
    events, refused = import_document(renamed)
    assert len(events) == len(doc["epcisBody"]["eventList"]) and not refused
    hijacked = copy.deepcopy(doc)
    hijacked["@context"] = [hijacked["@context"][0], {"bt": "https://example.com/other#"}]
    events, refused = import_document(hijacked)
    assert not events and {r.reason for r in refused} == {"unsigned"}
