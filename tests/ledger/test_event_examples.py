"""The event schemas and the ledger agree: every worked example of docs/events.md validates and a
fresh ledger accepts the chain in order; every mutation the field table generates (a required
field dropped, a wrong type, a value out of range, an unknown enum value, a bad pattern, an
unknown member of a closed object) is refused by the schema AND by the ledger, with one of the
rules the table names for that field; and a sample of bodies the ledger refuses under its
``schema`` rule is refused by the schema too."""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest

from batterytrace.canonical import canonical_json
from batterytrace.errors import EncodingError
from batterytrace.ledger.event_examples import (
    EXAMPLE_LEDGER_ID,
    Example,
    example_chain,
    example_key,
)
from batterytrace.ledger.ledger import Ledger, historical_clock
from batterytrace.model.event_spec import COMMON, EVENT_SPECS, Field, schema_errors
from batterytrace.model.events import EVENT_KINDS, SignedEvent, signing_input
from batterytrace.storage.memory import MemoryStore

DROP = object()


@cache
def chain() -> tuple[Example, ...]:
    return tuple(example_chain())


def fresh_ledger(upto: int) -> Ledger:
    ledger = Ledger(MemoryStore(), example_key("operator").did, EXAMPLE_LEDGER_ID, clock=historical_clock)
    for ex in chain()[:upto]:
        ledger.submit(ex.event)
    return ledger


@cache
def ledger_before(kind: str) -> tuple[Ledger, int]:
    """A ledger holding the chain up to the featured example of ``kind`` (exclusive)."""
    index = next(i for i, ex in enumerate(chain()) if ex.featured and ex.event.kind == kind)
    return fresh_ledger(index), index


def signer_of(ev: SignedEvent) -> str:
    names = ("operator", "mine", "refiner", "cell_maker", "oem", "recycler", "auditor")
    return next(n for n in names if example_key(n).did == ev.actor)


def resign(ev: SignedEvent, body: dict[str, Any]) -> SignedEvent:
    """``body`` signed as it is by the example's signer (sign_event would fill in a dropped ledger)."""
    key = example_key(signer_of(ev))
    body = {**body, "actor": key.did}
    return SignedEvent(body, key.sign(signing_input(hashlib.sha256(canonical_json(body)).digest())))


def verdict(kind: str, body: dict[str, Any]) -> str | None:
    """The rule the ledger refuses ``body`` (signed by the example's signer) by; None if accepted;
    ``wire`` when it is not even an event (the API answers 400 before any rule)."""
    ledger, index = ledger_before(kind)
    try:
        ev = resign(chain()[index].event, body)
    except EncodingError:
        return "wire"
    result, _ = ledger.dry_run([ev], check_clock=False)
    return result.rejected[0].rule if result.rejected else None


def test_every_kind_has_a_spec_and_a_worked_example() -> None:
    assert set(EVENT_SPECS) == EVENT_KINDS  # a new kind without a field spec fails here
    featured = [ex.event.kind for ex in chain() if ex.featured]
    assert sorted(featured) == sorted(EVENT_KINDS)  # exactly one worked example per kind


def test_the_example_chain_validates_and_a_fresh_ledger_accepts_it_in_order() -> None:
    ledger = fresh_ledger(0)
    for ex in chain():
        assert schema_errors(ex.event.kind, ex.event.body) == [], ex.caption
        assert schema_errors("signed-event", ex.event.to_wire()) == [], ex.caption
        ledger.submit(ex.event)
    assert ledger.size() == len(chain())


def test_the_chain_is_reproducible() -> None:
    assert [ex.event.wire_bytes() for ex in example_chain()] == [ex.event.wire_bytes() for ex in chain()]


# ------------------------------------------------------------------------ generated mutations
def _inner(f: Field) -> dict[str, Any]:
    return {k: v for k, v in f.value_schema().items() if k != "description"} if not f.nullable else \
        f.value_schema()["anyOf"][0]


def _wrong_type(schema: dict[str, Any]) -> Any:
    return {"string": 12345, "integer": "7", "number": "7", "boolean": "yes", "object": ["x"],
            "array": {"x": 1}}.get(schema.get("type", ""), DROP)


def _bad_values(f: Field, present: Any) -> Iterator[tuple[str, Any]]:
    s = _inner(f)
    wrong = _wrong_type(s)
    if wrong is not DROP:
        yield "wrong type", wrong
    if s.get("const") is True:
        yield "not the constant", False
    if "enum" in s:
        yield "unknown enum value", "no-such-value"
    if "pattern" in s and s.get("type") == "string":
        reserved = re.fullmatch(r"\^\(\?!(.+)\)", s["pattern"])  # ^(?!prefix): a reserved prefix
        yield "pattern", reserved.group(1) + "x" if reserved else "bad value!"
    if "maxLength" in s and "pattern" not in s:
        yield "too long", "x" * (s["maxLength"] + 1)
    if s.get("type") in ("integer", "number"):
        if "maximum" in s and s["maximum"] < 2**52:
            yield "above maximum", s["maximum"] + 1
        if "minimum" in s:
            yield "below minimum", s["minimum"] - 1
    if s.get("type") == "array":
        if s.get("minItems", 0) >= 1:
            yield "empty list", []
        if isinstance(present, list) and present and s.get("maxItems", 10**9) <= 64:
            yield "too many items", [copy.deepcopy(present[0]) for _ in range(s["maxItems"] + 1)]
        if s.get("uniqueItems") and isinstance(present, list) and present:
            yield "duplicate items", [present[0], present[0]]
    if s.get("type") == "object" and "propertyNames" in s:
        yield "bad bucket key", {"Xx/certified/CD": 1}
        if isinstance(present, dict) and present:
            yield "negative grams", {next(iter(present)): -1}
    if s.get("additionalProperties") is False and isinstance(present, dict):
        yield "unknown member", {**present, "unexpected": 1}


def mutations(fields: tuple[Field, ...], value: dict[str, Any], path: str) -> Iterator[tuple[str, Field, Any]]:
    """(description, field, mutated copy of ``value``) for every field of ``fields``."""
    for f in fields:
        present = value.get(f.name, DROP)
        if f.required:
            yield f"{path}{f.name}: dropped", f, {k: v for k, v in value.items() if k != f.name}
        for what, bad in _bad_values(f, present):
            yield f"{path}{f.name}: {what}", f, {**value, f.name: bad}
        if f.fields and present is not DROP:
            items = present if f.many else [present]
            if items and isinstance(items[0], dict):
                for what, inner_f, inner in mutations(f.fields, items[0], f"{path}{f.name}{'[0]' if f.many else ''}."):
                    yield what, inner_f, {**value, f.name: [inner, *items[1:]] if f.many else inner}


def _allowed(rule_text: str, rule: str) -> bool:
    for allowed in rule_text.split(", "):
        if allowed == rule or (allowed.endswith("*") and rule.startswith(allowed[:-1])):
            return True
    return False


SKIP_COMMON = {"kind", "actor", "nonce", "v"}  # decoding, signature and replay: not body rules


@pytest.mark.parametrize("kind", sorted(EVENT_KINDS))
def test_what_the_schema_refuses_the_ledger_refuses_by_the_documented_rule(kind: str) -> None:
    ex = next(e for e in chain() if e.featured and e.event.kind == kind)
    body = {k: v for k, v in ex.event.body.items() if k != "actor"}
    fields = tuple(f for f in (*COMMON, *EVENT_SPECS[kind].fields) if f.name not in SKIP_COMMON)
    checked, problems = 0, []
    for what, f, mutated in mutations(fields, body, ""):
        mutated = {**mutated, "kind": kind}
        if not schema_errors(kind, {**mutated, "actor": ex.event.actor}):
            problems.append(f"{what}: the schema accepts it")
            continue
        rule = verdict(kind, mutated)
        if rule is None or not _allowed(f.rule, rule):
            problems.append(f"{what}: ledger says {rule!r}, the table names {f.rule!r}")
        checked += 1
    assert not problems, "\n".join(problems)
    assert checked >= 5


# --------------------------------------------------- ledger refusals under "schema": schema too
def _featured(kind: str) -> dict[str, Any]:
    ex = next(e for e in chain() if e.featured and e.event.kind == kind)
    return copy.deepcopy({k: v for k, v in ex.event.body.items() if k != "actor"})


def _sample() -> Iterator[tuple[str, str, dict[str, Any]]]:
    b = _featured("extract")
    yield "extract with inputs", "extract", {**b, "inputs": [b["outputs"][0]["assay_cert_sha256"] + ":0"]}
    b = _featured("extract")
    b["outputs"][0]["carbon"] = [{"stage": "use", "kgco2e_per_kg": 1, "primary": True}]
    yield "carbon stage unknown", "extract", b
    b = _featured("extract")
    b["outputs"][0]["assay_ppm"] = {"Co": 1_000_001}
    yield "assay above 10^6 ppm", "extract", b
    b = _featured("aggregate")
    yield "two parents", "aggregate", {**b, "outputs": b["outputs"] * 2}
    b = _featured("register_participant")
    yield "accreditations on a mine", "register_participant", {**b, "accreditations": [{"scheme": "RMAP"}]}
    b = _featured("accredit")
    yield "withdrawal with validity", "accredit", {**b, "withdraw": True}
    b = _featured("lifecycle")
    yield "unknown BMS reading", "lifecycle", {**b, "bms": {"mood": 1}}
    b = _featured("recycle")
    yield "recycling loss in a mined bucket", "recycle", {**b, "loss": {"Co/certified/CD": 4}}
    b = _featured("register_site")
    yield "reserved site prefix", "register_site", {**b, "site_id": "ring:CD"}
    b = _featured("incident")
    yield "severity unknown", "incident", {**b, "severity": "catastrophic"}
    b = _featured("set_policy")
    b["policy"]["sourcing"] = [[{"scheme": "RMAP", "colour": "green"}]]
    yield "unknown requirement member", "set_policy", b
    b = _featured("ship")
    yield "seal too long", "ship", {**b, "seals": ["s" * 129]}
    b = _featured("attest")
    yield "score 101", "attest", {**b, "score": 101}


@pytest.mark.parametrize(("what", "kind", "body"), list(_sample()), ids=[s[0] for s in _sample()])
def test_bodies_the_ledger_refuses_as_malformed_the_schema_refuses(what: str, kind: str, body: dict[str, Any]) -> None:
    rule = verdict(kind, body)
    assert rule is not None and rule in ("schema", "accreditation", "policy", "evidence.seals"), rule
    assert schema_errors(kind, {**body, "actor": example_key("operator").did}) != []
