"""The generated event schemas: valid draft 2020-12, complete, their patterns agree with the
parsers the rules use, and the confidential and anonymous events the demo's provers make match
their variant (and not the plain one)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from batterytrace.demo.anonymous import anonymous_shipment, ring_setup
from batterytrace.demo.confidential import ConfidentialRun, confidential_chain
from batterytrace.demo.scenario import Scenario
from batterytrace.errors import EncodingError
from batterytrace.ledger.ledger import Ledger, historical_clock
from batterytrace.model import event_spec as spec
from batterytrace.model.buckets import ELEMENTS, ORIGIN_CLASSES, parse_bucket_key
from batterytrace.model.events import EVENT_KINDS
from batterytrace.model.identifiers import GS1_CSET82, IdentifierError, check_serial, normalise_gtin
from batterytrace.storage.memory import MemoryStore


@pytest.mark.parametrize("kind", sorted(EVENT_KINDS))
def test_each_kind_has_a_valid_draft_2020_12_schema(kind: str) -> None:
    schema = spec.event_schema(kind)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].endswith(f"/events/{kind}.json")


def test_no_kind_without_a_spec_and_the_wire_schema_names_them_all() -> None:
    assert spec.kinds_without_spec() == []
    Draft202012Validator.check_schema(spec.wire_schema())
    refs = {r["$ref"] for r in spec.wire_schema()["properties"]["event"]["oneOf"]}
    assert refs == {f"events/{k}.json" for k in EVENT_KINDS}
    assert set(spec.schema_index()["event_kinds"]) == EVENT_KINDS


def test_unknown_schema_name_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        spec.event_schema("rotate_everything")
    with pytest.raises(KeyError):
        spec.schema_errors("rotate_everything", {})


def test_the_wire_form_is_closed_and_needs_a_64_byte_signature() -> None:
    assert any("signature" in e for e in spec.schema_errors("signed-event", {"event": {}, "signature": "AAAA"}))
    assert any("extra" in e for e in spec.schema_errors("signed-event", {"event": {}, "signature": "A" * 86,
                                                                          "extra": 1}))


# ------------------------------------------------------------ patterns vs the rules' parsers
def _matches(pattern: str, value: str) -> bool:
    """ECMA-262 semantics, as JSON Schema means them: ``$`` is the end (Python's also matches
    before a final newline, which JSON Schema validators built on ``re`` inherit)."""
    return re.search(pattern.removesuffix("$") + r"\Z", value) is not None


@settings(max_examples=300, deadline=None)
@given(st.one_of(
    st.builds(lambda e, o, c: f"{e}/{o}/{c}", st.sampled_from([*sorted(ELEMENTS), "Xx", "co"]),
              st.sampled_from([*ORIGIN_CLASSES, "mined"]), st.sampled_from(["CD", "—", "cd", "C1", "XYZ"])),
    st.text(max_size=20),
))
def test_bucket_key_pattern_agrees_with_parse_bucket_key(key: str) -> None:
    try:
        parse_bucket_key(key)
        parsed = True
    except EncodingError:
        parsed = False
    assert _matches(spec.BUCKET_KEY_PATTERN, key) == parsed


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789a", min_size=7, max_size=15))
def test_gtin_pattern_admits_every_gtin_the_rules_take(gtin: str) -> None:
    try:
        normalise_gtin(gtin)
    except IdentifierError:
        return  # the check digit is the rules' (identity.format); the pattern is the syntax
    assert _matches(spec.GTIN_PATTERN, gtin)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="".join(sorted(GS1_CSET82)) + " éé\n", max_size=22))
def test_serial_pattern_agrees_with_check_serial(serial: str) -> None:
    try:
        check_serial(serial)
        ok = True
    except IdentifierError:
        ok = False
    assert _matches(spec.SERIAL_PATTERN, serial) == ok


@pytest.mark.parametrize(("value", "ok"), [("CD", True), ("A1", False), ("cd", False), ("CDX", False), ("É1", False)])
def test_country_is_one_check(value: str, ok: bool) -> None:
    assert spec.is_country(value) == ok == _matches(spec.COUNTRY_PATTERN, value)


# ---------------------------------------------------- confidential and anonymous variants
def _variant(kind: str, body: dict[str, Any]) -> list[str]:
    schema = spec.event_schema(kind)
    matched = []
    for name, sub in schema.get("$defs", {}).items():
        if not list(Draft202012Validator(sub).iter_errors(body)):
            matched.append(name)
    return matched


def test_the_demo_confidential_and_anonymous_events_match_their_variant_only() -> None:
    s = Scenario()
    s.register_all()
    s.attest("rmap", "mine:kasonta", "RMAP", "2024-06-01T00:00:00Z", "2027-06-01T00:00:00Z", level="conformant")
    s.attest("rmap", "mine:mwelu", "RMAP", "2024-01-15T00:00:00Z", "2027-01-15T00:00:00Z", level="conformant")
    s.tick(24)
    ledger = Ledger(MemoryStore(), s.actors["operator"].did, s.ledger_id, clock=historical_clock)
    assert not ledger.submit_batch(s.events, check_clock=False).rejected
    setup = ring_setup(s)
    assert not ledger.submit_batch(setup.events, check_clock=False).rejected
    anonymous = anonymous_shipment(s, setup, "mwelu")
    run = ConfidentialRun()
    confidential_chain(s, run, co_g=350_000)
    events = [*setup.events, *anonymous.events, *run.events]
    assert not ledger.submit_batch([*anonymous.events, *run.events], check_clock=False).rejected
    seen: dict[str, set[str]] = {}
    for ev in events:
        assert spec.schema_errors(ev.kind, ev.body) == [], (ev.kind, [
            (n, [e.message[:300] for e in Draft202012Validator(d).iter_errors(ev.body)])
            for n, d in spec.event_schema(ev.kind).get("$defs", {}).items()])
        assert spec.schema_errors("signed-event", ev.to_wire()) == []
        if "$defs" in spec.event_schema(ev.kind):
            matched = _variant(ev.kind, ev.body)
            assert len(matched) == 1, (ev.kind, matched)
            seen.setdefault(ev.kind, set()).update(matched)
    assert seen["extract"] == {"anonymous", "confidential"}
    assert seen["receive"] == seen["transform"] == {"confidential"}
    assert {ev.kind for ev in setup.events} >= {"register_ring_key"}
