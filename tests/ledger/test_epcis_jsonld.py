"""Exported EPCIS documents through a JSON-LD processor (pyld, with the GS1 EPCIS 2.0 context
served from tests/reference): expansion keeps the signed body as a JSON literal, and after an
expand/compact round trip every event's body and signature still verify."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from batterytrace.demo.scenario import build_scenario
from batterytrace.encoding import b64u_decode
from batterytrace.ledger.epcis import (
    BT_NAMESPACE,
    EPCIS_CONTEXT,
    PARENT_LOT,
    epcis_document,
    export_event,
    export_events,
    import_document,
    import_event,
)
from batterytrace.model.events import SignedEvent

jsonld = pytest.importorskip("pyld.jsonld")

CONTEXT_URL = EPCIS_CONTEXT[0]
GS1_CONTEXT = json.loads((Path(__file__).parents[1] / "reference" / "epcis" / "epcis-context.jsonld").read_text())


def _loader(url: str, options: Any = None) -> dict[str, Any]:
    """Only the GS1 context, from the repository: no network, and nothing else may be loaded."""
    if url != CONTEXT_URL:
        raise AssertionError(f"unexpected remote context {url}")
    return {"contextUrl": None, "documentUrl": url, "document": GS1_CONTEXT}


SCENARIO = build_scenario(packs=1, legacy_packs=1)


def _events() -> list[SignedEvent]:
    events = [SignedEvent.from_wire(e) if isinstance(e, dict) else e for e in SCENARIO.events]
    kinds: dict[str, SignedEvent] = {}
    for ev in events:
        kinds.setdefault(ev.kind, ev)  # one of each kind the demo records
    return list(kinds.values())


EVENTS = _events()


def test_expansion_keeps_the_signed_body_as_a_json_literal() -> None:
    doc = epcis_document([export_event(ev) for ev in EVENTS], 0)
    expanded = jsonld.expand(doc, {"documentLoader": _loader})
    body_iri, sig_iri = BT_NAMESPACE + "event", BT_NAMESPACE + "signature"
    (document,) = expanded
    (epcis_body,) = document["https://ref.gs1.org/epcis/epcisBody"]
    expanded_events = epcis_body["https://ref.gs1.org/epcis/eventList"]
    assert len(expanded_events) == len(EVENTS) >= 10
    for ev, node in zip(EVENTS, expanded_events, strict=True):
        (literal,) = node[body_iri]
        assert literal["@type"] == "@json" and literal["@value"] == ev.body, ev.kind
        (sig,) = node[sig_iri]
        assert b64u_decode(sig["@value"]) == ev.signature
        SignedEvent(literal["@value"], b64u_decode(sig["@value"])).verify_signature()


def test_compaction_round_trip_keeps_every_event_verifiable() -> None:
    doc = epcis_document([export_event(ev) for ev in EVENTS], 0)
    expanded = jsonld.expand(doc, {"documentLoader": _loader})
    compacted = jsonld.compact(expanded, {"@context": EPCIS_CONTEXT}, {"documentLoader": _loader})
    events = compacted["epcisBody"]["eventList"]
    events = events if isinstance(events, list) else [events]
    assert len(events) == len(EVENTS)
    for ev, out in zip(EVENTS, events, strict=True):
        assert out["bt:event"] == ev.body, ev.kind
        assert out["id"] == f"urn:batterytrace:event:{ev.hash_hex}"  # eventID compacts to its alias "id"
        again = import_event(out)  # the standard fields still project the signed body
        assert again.hash_hex == ev.hash_hex
        again.verify_signature()


def test_digital_links_survive_expansion_and_compaction() -> None:
    """A whole history, serialised lots named by Digital Link in every event that names them: the
    links expand to IRIs (``@id``) and the compacted document imports without a refusal."""
    exported = export_events(SCENARIO.events)
    doc = epcis_document(exported, 0)
    expanded = jsonld.expand(doc, {"documentLoader": _loader})
    (epcis_body,) = expanded[0]["https://ref.gs1.org/epcis/epcisBody"]
    nodes = epcis_body["https://ref.gs1.org/epcis/eventList"]
    agg = next(i for i, e in enumerate(exported) if e["type"] == "AggregationEvent")
    assert nodes[agg]["https://ref.gs1.org/epcis/parentID"] == [{"@id": exported[agg]["parentID"]}]
    assert nodes[agg][BT_NAMESPACE + "parentLot"] == [{"@id": exported[agg][PARENT_LOT]}]
    compacted = jsonld.compact(expanded, {"@context": EPCIS_CONTEXT}, {"documentLoader": _loader})
    compacted["@context"] = EPCIS_CONTEXT
    accepted, refused = import_document(compacted)
    assert not refused, refused[:1]
    assert [e.hash_hex for e in accepted] == [e.hash_hex for e in SCENARIO.events]


def test_without_the_json_literal_a_processor_drops_the_body() -> None:
    """The mechanism the context fixes: declared as a plain term, the body expands to an empty node."""
    ev = EVENTS[0]
    doc = epcis_document([export_event(ev)], 0)
    doc["@context"] = [CONTEXT_URL, {"bt": BT_NAMESPACE}]
    (document,) = jsonld.expand(doc, {"documentLoader": _loader})
    (epcis_body,) = document["https://ref.gs1.org/epcis/epcisBody"]
    node = epcis_body["https://ref.gs1.org/epcis/eventList"][0]
    assert node[BT_NAMESPACE + "event"] == [{}]
