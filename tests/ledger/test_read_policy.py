"""The read policy per audience: public, participant, auditor and the token levels, on every store.

Participant grants are constructed here (``Grant`` is any object with ``subject`` and ``role``);
the expected views are computed from the scenario's events independently of the event index."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from batterytrace.demo.scenario import Scenario, build_scenario
from batterytrace.ledger.epcis_query import EventQuery, run_query
from batterytrace.ledger.ledger import Ledger, historical_clock
from batterytrace.ledger.read_policy import (
    LIFECYCLE_ROLES,
    ROLE_KINDS,
    AccessDeniedError,
    Reader,
    may_read_event,
    may_see_job,
    may_trace,
)
from batterytrace.model.events import SignedEvent
from batterytrace.passport.attributes import ATTRIBUTES, LIFECYCLE
from batterytrace.passport.issue import AUDIENCES
from batterytrace.storage.base import Store
from batterytrace.timeutil import parse_time


@dataclass(frozen=True)
class FakeGrant:
    subject: str
    role: str


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return build_scenario(packs=1, legacy_packs=1)


@pytest.fixture
def ledger(store: Store, scenario: Scenario) -> Iterator[Ledger]:
    ledger = Ledger(store, scenario.actors["operator"].did, scenario.ledger_id, clock=historical_clock)
    assert not ledger.submit_batch(scenario.events).rejected
    yield ledger


def _seen(ledger: Ledger, reader: Reader, params: dict[str, str] | None = None) -> list[str]:
    q = EventQuery.from_params({**(params or {}), "perPage": "5"})
    out: list[str] = []
    token = None
    while True:
        page = run_query(ledger.store, q, token, reader=reader)
        out += [str(e["eventID"]).rsplit(":", 1)[-1] for e in page.events]
        token = page.next_token
        if token is None:
            return out


def _reader(ledger: Ledger, scenario: Scenario, name: str) -> Reader:
    return Reader.of(FakeGrant(scenario.actors[name].did, "participant"), ledger.store)


def _parties(scenario: Scenario) -> dict[str, set[str]]:
    """event hash → the dids that may read it as participants, from the events alone."""
    creator: dict[str, str] = {}
    out: dict[str, set[str]] = {}
    for ev in scenario.events:
        b = ev.body
        named: set[str] = set()
        for field in ("inputs", "lots"):
            if isinstance(b.get(field), list):
                named.update(x for x in b[field] if isinstance(x, str))
        if isinstance(b.get("lot"), str):
            named.add(b["lot"])
        parties = {ev.actor} | {creator[x] for x in named if x in creator}
        for field in ("to", "did", "auditor", "owner", "subject"):
            if isinstance(b.get(field), str) and b[field].startswith("did:"):
                parties.add(b[field])
        out[ev.hash_hex] = parties
        outputs = b.get("outputs")
        for i in range(len(outputs) if isinstance(outputs, list) else 0):
            creator[f"{ev.hash_hex}:{i}"] = ev.actor
    return out


def _by_kind(scenario: Scenario, kinds: frozenset[str] | None = None) -> list[str]:
    return [ev.hash_hex for ev in scenario.events if kinds is None or ev.kind in kinds]


def test_public_reads_no_event_body(ledger: Ledger) -> None:
    public = Reader.of(None, ledger.store)
    assert public.is_public
    with pytest.raises(AccessDeniedError, match="bearer token") as exc:
        run_query(ledger.store, EventQuery.from_params({}), reader=public)
    assert exc.value.needs_token
    with pytest.raises(AccessDeniedError, match="bearer token"):
        may_read_event(ledger.store, public, 0)


def test_token_roles_see_kinds_by_role(ledger: Ledger, scenario: Scenario) -> None:
    li = _seen(ledger, Reader.of(FakeGrant("repairer", "legitimate_interest"), ledger.store))
    lifecycle = _by_kind(scenario, frozenset({"lifecycle"}))
    assert li == lifecycle and lifecycle  # lifecycle readings, nothing else
    commission = _seen(ledger, Reader.of(FakeGrant("ec", "commission"), ledger.store))
    assert commission == _by_kind(scenario, ROLE_KINDS["commission"]) and commission
    kinds = {ev.hash_hex: ev.kind for ev in scenario.events}
    assert {"incident", "register_participant", "register_site", "set_policy", "lifecycle"}.isdisjoint(
        kinds[h] for h in commission)
    authorities = _seen(ledger, Reader.of(FakeGrant("msa", "authorities"), ledger.store))
    assert authorities == [h for h in _by_kind(scenario) if kinds[h] != "lifecycle"]
    assert {"incident", "register_participant", "set_policy"} <= {kinds[h] for h in authorities}


def test_lifecycle_readings_go_to_the_audience_of_the_attributes_they_feed() -> None:
    audiences = {a.level for a in ATTRIBUTES if a.source == LIFECYCLE}
    assert len(audiences) == 1
    assert AUDIENCES[audiences.pop()] == LIFECYCLE_ROLES
    assert {role for role, kinds in ROLE_KINDS.items() if "lifecycle" in kinds} == LIFECYCLE_ROLES


def test_a_participant_sees_its_events_and_those_on_lots_it_held(ledger: Ledger, scenario: Scenario) -> None:
    parties = _parties(scenario)
    by_hash = {ev.hash_hex: ev for ev in scenario.events}
    for name in ("kasonta", "kivijarvi", "voltara", "circulon"):
        did = scenario.actors[name].did
        seen = _seen(ledger, _reader(ledger, scenario, name))
        assert seen == [h for h in _by_kind(scenario) if did in parties[h]], name
    kasonta, kivijarvi = scenario.actors["kasonta"].did, scenario.actors["kivijarvi"].did
    seen = set(_seen(ledger, _reader(ledger, scenario, "kasonta")))
    # the refiner's receipt of the mine's lots is the mine's business; its later processing is not
    receipts = [ev for ev in scenario.events if ev.kind == "receive" and ev.actor == kivijarvi
                and kasonta in parties[ev.hash_hex]]
    assert receipts and all(ev.hash_hex in seen for ev in receipts)
    assert any(ev.kind == "transform" and ev.actor == kivijarvi for ev in scenario.events)
    assert not any(by_hash[h].kind == "transform" and by_hash[h].actor == kivijarvi for h in seen)
    # another mine's extraction and the pack's lifecycle readings are hidden from this mine
    mwelu = scenario.actors["mwelu"].did
    assert not any(by_hash[h].actor == mwelu for h in seen)
    assert not any(by_hash[h].kind == "lifecycle" for h in seen)
    # query filters combine with the policy
    ships = _seen(ledger, _reader(ledger, scenario, "kasonta"), {"EQ_bizStep": "shipping"})
    assert ships == [h for h in _by_kind(scenario, frozenset({"ship"})) if kasonta in parties[h]] and ships


def test_lifecycle_readings_reach_the_battery_holder_only(ledger: Ledger, scenario: Scenario) -> None:
    readings = _by_kind(scenario, frozenset({"lifecycle"}))
    assert set(readings) <= set(_seen(ledger, _reader(ledger, scenario, "voltara")))  # signer and custodian
    for name in ("kasonta", "kivijarvi", "nordcell", "rmap"):
        assert not set(readings) & set(_seen(ledger, _reader(ledger, scenario, name))), name
        for h in readings:
            seq = ledger.store.event_seq(bytes.fromhex(h))
            assert seq is not None and not may_read_event(ledger.store, _reader(ledger, scenario, name), seq)


def test_an_auditor_sees_what_it_attests_within_the_attested_period(ledger: Ledger, scenario: Scenario) -> None:
    rmap = _reader(ledger, scenario, "rmap")
    assert rmap.audience == "auditor" and rmap.windows
    seen = set(_seen(ledger, rmap))
    parties = _parties(scenario)
    expected = set()
    atts = [ev.body for ev in scenario.events if ev.kind == "attest" and ev.actor == rmap.did]
    lookback_us = 365 * 86_400_000_000  # the default policy's audit_lookback_s
    for ev in scenario.events:
        t = parse_time(ev.body["time"])
        for a in atts:
            subject = a["subject"]
            here = ev.actor == subject or ev.body.get("site") == subject
            start = max(parse_time(a["valid_from"]), parse_time(a["time"]) - lookback_us)
            if here and start <= t < parse_time(a["valid_until"]) and ev.kind != "lifecycle":
                expected.add(ev.hash_hex)
        if rmap.did in parties[ev.hash_hex]:
            expected.add(ev.hash_hex)
    assert seen == expected
    kasonta_extracts = {ev.hash_hex for ev in scenario.events if ev.kind == "extract"
                        and ev.actor == scenario.actors["kasonta"].did}
    assert kasonta_extracts and kasonta_extracts <= seen  # the attested mine site
    others = {ev.hash_hex for ev in scenario.events if ev.kind == "transform"}
    assert not others & seen


def test_unknown_readers_are_refused(ledger: Ledger, scenario: Scenario) -> None:
    with pytest.raises(AccessDeniedError, match="not a registered participant"):
        Reader.of(FakeGrant("did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK", "participant"), ledger.store)
    with pytest.raises(AccessDeniedError, match="grants no read access"):
        Reader.of(FakeGrant(scenario.actors["kasonta"].did, "operator"), ledger.store)


def test_event_reads_and_traces_follow_the_policy(ledger: Ledger, scenario: Scenario) -> None:
    kasonta = _reader(ledger, scenario, "kasonta")
    own = next(ev for ev in scenario.events if ev.actor == kasonta.did)
    other = next(ev for ev in scenario.events if ev.actor == scenario.actors["mwelu"].did)
    seq_own, seq_other = (ledger.store.event_seq(ev.event_hash) for ev in (own, other))
    assert seq_own is not None and seq_other is not None
    assert may_read_event(ledger.store, kasonta, seq_own) and not may_read_event(ledger.store, kasonta, seq_other)
    own_lot = ledger.store.get_lot(f"{own.hash_hex}:0")
    other_lot = ledger.store.get_lot(f"{other.hash_hex}:0")
    assert own_lot is not None and other_lot is not None
    assert may_trace(kasonta, own_lot) and not may_trace(kasonta, other_lot)
    assert may_trace(Reader("legitimate_interest"), other_lot)
    with pytest.raises(AccessDeniedError):
        may_trace(Reader.public(), own_lot)


def test_capture_jobs_are_their_submitters() -> None:
    a, b = FakeGrant("did:key:a", "participant"), FakeGrant("did:key:b", "participant")
    assert may_see_job(a, "did:key:a") and not may_see_job(b, "did:key:a")
    assert not may_see_job(None, None) and not may_see_job(a, None)
    assert may_see_job(FakeGrant("msa", "authorities"), None)


def test_relabelled_events_do_not_widen_a_view(ledger: Ledger, scenario: Scenario) -> None:
    """A participant cannot make another's event its own: only accepted, signed events are indexed,
    and an event naming a lot makes its custodian a party, never its signer's choice of reader."""
    kasonta = scenario.actors["kasonta"]
    victim = next(ev for ev in scenario.events if ev.actor == scenario.actors["mwelu"].did)
    body: dict[str, Any] = dict(victim.body)
    body["actor"] = kasonta.did
    forged = SignedEvent(body, victim.signature)  # mwelu's signature under kasonta's name
    result = ledger.submit_batch([forged])
    assert result.rejected and result.rejected[0].rule == "signature"
    assert victim.hash_hex not in _seen(ledger, _reader(ledger, scenario, "kasonta"))
