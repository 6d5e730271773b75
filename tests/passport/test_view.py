"""The viewer model is built from disclosed claims only and explains each verification check."""

from __future__ import annotations

import time

import pytest

from batterytrace.demo.master_data import VOLTARA_VM75
from batterytrace.demo.scenario import build_scenario
from batterytrace.ledger.ledger import Ledger, historical_clock
from batterytrace.passport.issue import IssuedPassport, issue_passport, verify_passport
from batterytrace.passport.view import passport_view, verification_checks
from batterytrace.storage.memory import MemoryStore


@pytest.fixture(scope="module")
def issued() -> tuple[IssuedPassport, str]:
    s = build_scenario(packs=1, legacy_packs=1)
    ledger = Ledger(MemoryStore(), s.actors["operator"].did, s.ledger_id, clock=historical_clock)
    ledger.submit_batch(s.events)
    ledger.sign_tree_head(s.actors["operator"].signing_key)
    p = issue_passport(ledger, s.packs[0], VOLTARA_VM75, s.actors["voltara"].signing_key, int(time.time()))
    return p, ledger.operator_did


def test_public_view_has_figures_and_no_restricted_data(issued: tuple[IssuedPassport, str]) -> None:
    p, operator = issued
    claims = verify_passport(p.present("public"), log_operator=operator).claims
    v = passport_view(claims, "public")
    assert v.identity["chemistry"] == "NMC811" and v.identity["capacity_kwh"] > 70
    assert next(stage for stage, _ in v.carbon_per_stage_kg).startswith("raw material")
    assert sum(kg for _, kg in v.carbon_per_stage_kg) > 1000
    co = next(r for r in v.recycled if r["element"] == "Co")
    assert [t[0] for t in co["targets"]] == ["2031", "2036"] and co["targets"][0][1] == 16.0
    assert dict(v.origin_mix)["Co"] == [("CD", 100.0)]
    assert {d["scheme"] for d in v.diligence} == {"GBA-ChildLabour", "GBA-HumanRights"}
    assert v.certifications and v.restricted == {}


def test_restricted_view_per_level(issued: tuple[IssuedPassport, str]) -> None:
    p, operator = issued
    li = passport_view(verify_passport(p.present("legitimate_interest"), log_operator=operator).claims, "legitimate_interest")
    assert set(li.restricted) == {"state_of_health", "lifetime", "status", "dismantling"}
    assert "stateOfCharge" in li.restricted["state_of_health"]
    co = passport_view(verify_passport(p.present("commission"), log_operator=operator).claims, "commission")
    assert "dismantling" in co.restricted


def test_checks_name_what_was_verified(issued: tuple[IssuedPassport, str]) -> None:
    p, operator = issued
    claims = verify_passport(p.present("public"), log_operator=operator).claims
    checks = {c.name: c for c in verification_checks(claims)}
    assert checks["log inclusion"].status == "passed" and "inclusion proof" in checks["log inclusion"].detail
    assert checks["checkpoint"].status == "passed" and operator in checks["checkpoint"].detail
    assert checks["anchor"].status == "absent" and checks["ZK claims"].status == "absent"
    anchor = {"tree_size": 9, "contract": "0xabc", "chain_id": 1, "block_number": 3, "tx_hash": "0x12"}
    with_anchor = {**claims, "evidence": {**claims["evidence"], "anchor": anchor}}
    checks = {c.name: c for c in verification_checks(with_anchor)}
    assert checks["anchor"].status == "not checked" and checks["ZK claims"].status == "absent"
    zk = {**claims, "evidence": {**claims["evidence"], "zk_figures": {"certified_percent/Co": {"upper": "00"}}}}
    checks = {c.name: c for c in verification_checks(zk)}
    assert checks["ZK claims"].status == "passed" and "1 figures" in checks["ZK claims"].detail
    assert "commitments" in checks["ledger event"].detail
    checks = {c.name: c for c in verification_checks(with_anchor, anchor_checked=True)}
    assert checks["anchor"].status == "passed" and "block 3" in checks["anchor"].detail


def test_view_states_the_primary_data_share_per_stage(issued: tuple[IssuedPassport, str]) -> None:
    """The demo lineage: extraction and refining intensities, measured (primary) at all but the
    artisanal mine, transport estimates at every receipt (secondary); at end of life the
    recycler's measured intensities for the recycled cobalt, beside the OEM's estimate for the
    pack itself (secondary)."""
    p, operator = issued
    v = passport_view(verify_passport(p.present("public"), log_operator=operator).claims, "public")
    shares = v.primary_data_percent_per_stage
    assert list(shares) == [stage for stage, _ in v.carbon_per_stage_kg]
    raw, distribution, end_of_life = (shares[k] for k in ("raw material acquisition and pre-processing",
                                                           "distribution", "end of life and recycling"))
    assert 50.0 < raw < 100.0 and distribution == 0.0 and 0.0 < end_of_life < 100.0
    assert v.primary_data_percent is not None and 0 < v.primary_data_percent < 100
