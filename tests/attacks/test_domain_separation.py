"""Invariant 9, domain separation: an event, a tree head or a proof of one ledger is never valid on
another, even when the other ledger registered the very same keys (same operator, same
participants). Every signed event names its ledger (body field ``ledger``, rule
``ledger.domain``); tree heads sign the ledger id (``Checkpoint.ledger``)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from api_support import serve
from batterytrace.canonical import canonical_json
from batterytrace.crypto.signing import SigningKey
from batterytrace.demo.scenario import Scenario
from batterytrace.errors import ConfigError, RuleViolationError, VerificationError
from batterytrace.ledger.audit import verify_log
from batterytrace.ledger.checkpoint import Checkpoint
from batterytrace.ledger.epcis import epcis_document, export_event
from batterytrace.ledger.ledger import Ledger, new_ledger_id
from batterytrace.model.events import SignedEvent, signing_input
from batterytrace.model.policy import DEFAULT_POLICY
from batterytrace.storage.base import TreeHeadRecord, WriteBatch
from batterytrace.storage.memory import MemoryStore
from batterytrace.timeutil import format_time
from conf_support import ConfChain, hydroxide
from support import Chain, resign

EXTRACT = {"kind": "extract", "site": "mine:kasonta", "outputs": [hydroxide({"Co/certified/CD": 350_000})]}


def _twin_ledgers() -> tuple[Chain, Chain]:
    """Ledger A (the demo id) and ledger B (a fresh id) run by the same operator key with the same
    registered participants, sites and attestations."""
    a, b = Chain(), Chain(ledger_id=new_ledger_id())
    assert a.ledger.ledger_id != b.ledger.ledger_id and a.operator.did == b.operator.did
    return a, b


def _refused_unchanged(chain: Chain, ev: SignedEvent) -> RuleViolationError:
    lots = sorted(lot.lot_id for lot in chain.ledger.store.iter_lots())
    err = chain.reject(ev)  # asserts that the size and root did not change
    assert sorted(lot.lot_id for lot in chain.ledger.store.iter_lots()) == lots
    return err


def _signed_raw(body: dict[str, Any], key: SigningKey) -> SignedEvent:
    """Sign ``body`` exactly as given (no ``ledger`` filled in), as a hand-rolled client would."""
    return SignedEvent(body, key.sign(signing_input(hashlib.sha256(canonical_json(body)).digest())))


def test_an_extraction_accepted_by_one_ledger_is_refused_by_its_twin() -> None:
    a, b = _twin_ledgers()
    ev = a.sign("kasonta", EXTRACT)
    a.accept(ev)
    b.s.clock = a.s.clock  # the twins' clocks agree
    err = _refused_unchanged(b, ev)
    assert err.rule == "ledger.domain" and a.ledger.ledger_id in str(err)
    # the same body signed for B is accepted there: the refusal is about the domain alone
    b.accept(resign(ev, b.s.actors["kasonta"].signing_key, ledger=b.ledger.ledger_id))


def test_registry_and_policy_events_do_not_cross_ledgers() -> None:
    a, b = _twin_ledgers()
    newcomer = SigningKey.from_label("test/domain/newcomer")
    for body in (
        {"kind": "register_participant", "did": newcomer.did, "role": "refiner", "legal_name": "Newcomer Oy",
         "country": "FI"},
        {"kind": "set_policy", "policy": {**DEFAULT_POLICY.to_dict(), "max_clock_skew_s": 10}},
    ):
        ev = a.sign("operator", body)
        a.accept(ev)
        b.s.clock = a.s.clock
        assert _refused_unchanged(b, ev).rule == "ledger.domain"
    policy = b.ledger.policy()
    assert b.ledger.store.get_participant(newcomer.did) is None and policy is not None and policy.max_clock_skew_s != 10


def test_a_confidential_event_is_bound_to_its_ledger() -> None:
    a = ConfChain()
    b = ConfChain(ledger_id=new_ledger_id())
    proved = a.conf_extract_event("kasonta")
    a.keep(proved)
    b.s.clock = a.s.clock
    assert _refused_unchanged(b, proved.event).rule == "ledger.domain"
    # relabelling the ledger breaks the signature; re-signing it breaks the proofs, which bind the body
    relabelled = SignedEvent({**proved.event.body, "ledger": b.ledger.ledger_id}, proved.event.signature)
    assert _refused_unchanged(b, relabelled).rule == "signature"
    resigned = resign(proved.event, b.s.actors["kasonta"].signing_key, ledger=b.ledger.ledger_id)
    assert _refused_unchanged(b, resigned).rule.startswith("zk.")


@pytest.mark.parametrize("ledger", [None, "", 7, ["urn"], "urn:uuid:00000000-0000-4000-8000-000000000000"])
def test_an_event_naming_no_or_a_foreign_ledger_is_refused(ledger: Any) -> None:
    c = Chain()
    key = c.s.actors["kasonta"].signing_key
    body: dict[str, Any] = {**EXTRACT, "time": format_time(c.s.clock), "actor": key.did, "nonce": "n-1", "v": 1}
    if ledger is not None:
        body["ledger"] = ledger
    assert _refused_unchanged(c, _signed_raw(body, key)).rule == "ledger.domain"
    body["ledger"] = c.ledger.ledger_id
    c.accept(_signed_raw(body, key))  # positive control


def test_the_ledger_id_is_fixed_at_creation() -> None:
    store = MemoryStore()
    operator = SigningKey.from_label("test/domain/operator").did
    ledger = Ledger(store, operator, "urn:uuid:11111111-1111-4111-8111-111111111111")
    assert Ledger(store).ledger_id == ledger.ledger_id == store.get_meta("ledger_id")
    with pytest.raises(ConfigError):
        Ledger(store, None, "urn:uuid:22222222-2222-4222-8222-222222222222")
    with pytest.raises(ConfigError):
        Ledger(MemoryStore(), operator, "has spaces in it")
    fresh, other = Ledger(MemoryStore(), operator), Ledger(MemoryStore(), operator)
    assert fresh.ledger_id.startswith("urn:uuid:") and fresh.ledger_id != other.ledger_id


def test_replay_into_a_twin_through_the_http_api(tmp_path: Path) -> None:
    a, b = Scenario(), Scenario(ledger_id=new_ledger_id())
    a.register_all()
    b.register_all()
    served = serve(b, tmp_path, chain=False)
    r = served.client.post("/events", json=a.events[0].to_wire())
    assert r.status_code == 422 and r.json()["rule"] == "ledger.domain"
    r = served.client.post("/events/batch", json={"events": [ev.to_wire() for ev in a.events[:3]]})
    assert r.json()["accepted"] == [] and {x["rule"] for x in r.json()["rejected"]} == {"ledger.domain"}
    assert served.ledger.size() == 0
    # EPCIS capture embeds the signed body, ledger id included: A's events are refused there too
    doc = epcis_document([export_event(ev) for ev in a.events[:3]], 0)
    job = served.client.post("/capture", json=doc, headers={"GS1-Capture-Error-Behaviour": "proceed"}).json()
    assert job["eventsRecorded"] == 0 and len(job["errors"]) == 3 and served.ledger.size() == 0
    assert all("ledger.domain" in json.dumps(e) for e in job["errors"])
    assert served.client.post("/events", json=b.events[0].to_wire()).status_code == 201
    assert served.client.get("/ledger/head").json()["ledger"] == b.ledger_id
    proof = served.client.get("/ledger/proofs/inclusion", params={"event_hash": b.events[0].hash_hex}).json()
    assert proof["ledger"] == b.ledger_id


def test_a_tree_head_of_one_ledger_is_not_a_tree_head_of_its_twin() -> None:
    a, b = _twin_ledgers()
    key = a.operator.signing_key
    head_a = a.ledger.sign_tree_head(key)
    head_a.verify(a.operator.did, a.ledger.ledger_id)
    with pytest.raises(VerificationError):
        head_a.verify(b.operator.did, b.ledger.ledger_id)
    relabelled = dataclasses.replace(head_a, ledger=b.ledger.ledger_id)
    with pytest.raises(VerificationError):
        relabelled.verify(b.operator.did)
    assert Checkpoint.from_dict(head_a.to_dict()) == head_a and head_a.to_dict()["ledger"] == a.ledger.ledger_id
    # an insider copies A's head into B's store (same operator key): log verify of B refuses it
    verify_log(b.ledger.store)
    b.ledger.store.apply(WriteBatch(tree_heads=[TreeHeadRecord(
        head_a.tree_size, head_a.root_hash, head_a.timestamp, head_a.signature, head_a.log_id)]))
    with pytest.raises(VerificationError, match="signature"):
        verify_log(b.ledger.store)


def test_a_passport_of_a_twin_ledger_fails_where_the_ledger_is_pinned(tmp_path: Path) -> None:
    """The same operator key runs ledgers A and B. A passport issued from B (its checkpoint signed
    by that key) is refused by a verifier pinning A, offline (``ledger_id``, CLI ``--ledger-id``)
    and against A's ledger; verified against B, it passes."""
    import time

    from typer.testing import CliRunner

    from batterytrace.cli import app as cli_app
    from batterytrace.cli import passport_cmd  # noqa: F401  (registers the command)
    from batterytrace.demo.master_data import VOLTARA_VM75
    from batterytrace.demo.scenario import build_scenario
    from batterytrace.ledger.ledger import historical_clock
    from batterytrace.passport.issue import issue_passport, verify_passport

    s_a = build_scenario(packs=1, legacy_packs=1)
    s_b = build_scenario(packs=1, legacy_packs=1, ledger_id=new_ledger_id())
    ledgers = []
    for s in (s_a, s_b):
        ledger = Ledger(MemoryStore(), s.actors["operator"].did, s.ledger_id, clock=historical_clock)
        assert not ledger.submit_batch(s.events).rejected
        ledger.sign_tree_head(s.actors["operator"].signing_key)
        ledgers.append(ledger)
    a, b = ledgers
    now = int(time.time())
    from_b = issue_passport(b, s_b.packs[0], VOLTARA_VM75, s_b.actors["voltara"].signing_key, now).present("public")
    operator = a.operator_did
    assert verify_passport(from_b, log_operator=operator, now=now, ledger_id=b.ledger_id)
    assert verify_passport(from_b, log_operator=operator, now=now, ledger=b)
    with pytest.raises(VerificationError, match="not the pinned ledger"):
        verify_passport(from_b, log_operator=operator, now=now, ledger_id=a.ledger_id)
    with pytest.raises(VerificationError, match="not the pinned ledger"):
        verify_passport(from_b, log_operator=operator, now=now, ledger=a)
    path = tmp_path / "b.public.sd-jwt"
    path.write_text(from_b)
    out = CliRunner().invoke(cli_app, ["passport", "verify", str(path), "--operator", operator,
                                       "--ledger-id", a.ledger_id], env={"COLUMNS": "200"})
    assert out.exit_code == 1 and "not the pinned ledger" in out.output, out.output
