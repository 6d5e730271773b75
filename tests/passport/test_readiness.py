"""Passport readiness (``passport check``): each of the 93 attributes verified, declared,
defaulted or missing, the same verdicts as the verifier gives the issued passport, and a thin
master data file reported attribute by attribute."""

from __future__ import annotations

from dataclasses import replace

import pytest

from batterytrace.demo.master_data import VOLTARA_VM75
from batterytrace.demo.scenario import Scenario, build_scenario
from batterytrace.errors import BatterytraceError
from batterytrace.ledger.ledger import Ledger, historical_clock
from batterytrace.passport.issue import ACCESS_LEVELS, issue_passport, verify_passport
from batterytrace.passport.readiness import AttributeReadiness, ReadinessReport, check_readiness
from batterytrace.storage.memory import MemoryStore

NOW = 1_790_000_000
# the demo passports state every mandatory attribute (issue 15 item 1: the Cd/Pb statement, the
# hazardous substances, lead "not applicable" from the buckets, accidents from lifecycle events)
DEMO_MISSING: list[int] = []


@pytest.fixture(scope="module")
def world() -> tuple[Scenario, Ledger]:
    s = build_scenario(packs=1, legacy_packs=1)
    ledger = Ledger(MemoryStore(), s.actors["operator"].did, s.ledger_id, clock=historical_clock)
    assert not ledger.submit_batch(s.events).rejected
    ledger.sign_tree_head(s.actors["operator"].signing_key)
    return s, ledger


def test_demo_pack_report(world: tuple[Scenario, Ledger]) -> None:
    s, ledger = world
    report = check_readiness(ledger, s.packs[0], VOLTARA_VM75)
    assert len(report.attributes) == 93 and [a.number for a in report.attributes] == list(range(1, 94))
    assert [a.number for a in report.missing_mandatory] == DEMO_MISSING and report.ready
    by = {a.number: a for a in report.attributes}
    assert by[7].status == "declared" and "put the battery into service" in by[7].detail
    assert by[64].status == "declared" and "power_fade_percent" in by[64].detail  # recorded at hand-over
    assert by[58].status == "declared"  # the state-of-charge reading of its lifecycle event
    assert by[13].status == "declared" and "HazardousMaterial label" in by[13].detail
    assert by[43].requirement == "mandatory" and by[43].status == "verified" and "no lead" in by[43].detail
    assert sum(report.counts().values()) == 93 and report.counts()["verified"] >= 10
    doc = report.to_dict()
    assert doc["missing_mandatory"] == DEMO_MISSING and doc["ready"] is True and len(doc["attributes"]) == 93


def test_verified_and_declared_agree_with_the_verifier(world: tuple[Scenario, Ledger]) -> None:
    """Readiness says verified exactly where verifying the issued passport against the ledger
    re-derives every figure of that attribute's claim."""
    s, ledger = world
    report = check_readiness(ledger, s.packs[0], VOLTARA_VM75)
    p = issue_passport(ledger, s.packs[0], VOLTARA_VM75, s.actors["voltara"].signing_key, issued_at=NOW)
    # the levels are audiences, not nested: each attribute is judged in the presentations that disclose it
    figures = [f for level in ACCESS_LEVELS for f in verify_passport(
        p.present(level), log_operator=ledger.operator_did, now=NOW, ledger=ledger).figures]
    for a in report.attributes:
        related = [f for f in figures if f.name == a.path or f.name.startswith(a.path + ".")
                   or a.path.startswith(f.name + ".")]
        if a.status == "verified":
            assert related and all(f.status == "verified" for f in related), a
        elif a.status == "declared":
            assert not related or any(f.status == "declared" for f in related), a


def test_a_thin_master_data_file_is_reported_attribute_by_attribute(world: tuple[Scenario, Ledger]) -> None:
    s, ledger = world
    thin = replace(VOLTARA_VM75, technical=None, dismantling_documents=(), spare_parts=(), spare_part_supplier=None,
                   safety_instructions_url="", extinguishing_agents=(), end_of_life_urls=("", "", ""),
                   renewable_content_percent=0.0, carbon_footprint_study_url="")
    report = check_readiness(ledger, s.packs[0], thin)
    by = {a.number: a for a in report.attributes}
    for n in (52, 59, 60, 61, 74, 76, 83):  # the data sheet's attributes
        assert by[n].status == "missing" and "no technical data sheet" in by[n].detail, by[n]
    for n in (12, 15, 16, 17, 18):  # labels and documents are on the data sheet too
        assert by[n].status == "missing", by[n]
    for n in (25, 36, 37, 39, 49, 50, 51):
        assert by[n].status == "missing", by[n]
    assert by[38].status == "defaulted" and "manufacturer is stated" in by[38].detail
    assert by[48].status == "defaulted" and "0 %" in by[48].detail
    assert by[2].status == by[6].status == by[10].status == "verified"  # the ledger's part is unchanged
    assert len(report.missing_mandatory) > 30 and not report.ready


def test_ready_only_when_no_mandatory_attribute_is_missing() -> None:
    def row(n: int, status: str, req: str) -> AttributeReadiness:
        return AttributeReadiness(n, "x", "p", "public", req, status, "")

    assert ReadinessReport("g", "s", "l", "ev", (row(1, "verified", "mandatory"), row(2, "missing", "voluntary"))).ready
    assert not ReadinessReport("g", "s", "l", "ev", (row(1, "missing", "mandatory"),)).ready


def test_refusals(world: tuple[Scenario, Ledger]) -> None:
    s, ledger = world
    with pytest.raises(BatterytraceError, match="unknown battery category 'bike'"):
        check_readiness(ledger, s.packs[0], replace(VOLTARA_VM75, category="bike"))
    with pytest.raises(BatterytraceError, match=r"closed|superseded"):
        check_readiness(ledger, s.legacy_packs[0], VOLTARA_VM75)  # recycled
    with pytest.raises(BatterytraceError, match="no lot"):
        check_readiness(ledger, "00" * 32 + ":0", VOLTARA_VM75)
