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
    capture_document,
    epcis_document,
    export_event,
    import_document,
    import_event,
    projected_shape,
    shape_kinds,
)
from batterytrace.ledger.ledger import Ledger, historical_clock
from batterytrace.storage.memory import MemoryStore

REFERENCE = Path(__file__).resolve().parents[1] / "reference" / "epcis"
SCHEMA = REFERENCE / "EPCIS-JSON-Schema.json"
EXAMPLES = sorted((REFERENCE / "JSON").rglob("*.jsonld"))
REASONS = {"unsigned", "error_declaration", "not_material_flow", "unsupported", "malformed", "signature"}


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return build_scenario(packs=1, legacy_packs=1)


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA.read_text())
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def _doc(scenario: Scenario, kinds: set[str] | None = None) -> dict[str, Any]:
    events = [export_event(ev) for ev in scenario.events if kinds is None or ev.kind in kinds]
    return epcis_document(events, 1_700_000_000_000_000)


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
    assert agg["type"] == "AggregationEvent" and agg["action"] == "ADD" and agg["parentID"].startswith("urn:batterytrace:lot:")
    assert by_kind["extract"]["action"] == "ADD" and by_kind["extract"]["bizStep"] == "commissioning"


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
