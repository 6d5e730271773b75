"""The attribute table covers the BatteryPass v1.2 longlist with its access rights, every path is
present in an issued passport at its level and absent below it, and the doc is up to date."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from batterytrace.demo.master_data import VOLTARA_VM75
from batterytrace.demo.scenario import build_scenario
from batterytrace.ledger.ledger import Ledger, historical_clock
from batterytrace.passport.attributes import ATTRIBUTES, render_markdown
from batterytrace.passport.issue import ACCESS_LEVELS, AUDIENCES, issue_passport, verify_passport
from batterytrace.storage.memory import MemoryStore

ROOT = Path(__file__).resolve().parents[2]
LONGLIST = ROOT / "tests" / "reference" / "batterypass" / "docs" / "2025_Battery_Passport_Data_Attributes_V1.2.longlist.csv"
# The longlist's wording of each access right → the token roles it names (public: everyone).
# Derived from the words, not from our table: "persons with a legitimate interest" is the
# legitimate_interest role, "the Commission" the commission role, "notified bodies" and "market
# surveillance authorities" the authorities role.
def roles_of(wording: str) -> frozenset[str]:
    if wording == "Public":
        return frozenset(ACCESS_LEVELS)
    text = wording.lower()
    roles = set()
    if "legitimate interest" in text:
        roles.add("legitimate_interest")
    if "commission" in text:
        roles.add("commission")
    if "notified bodies" in text or "market surveillance" in text:
        roles.add("authorities")
    assert roles, wording
    return frozenset(roles)


def longlist() -> list[dict[str, str]]:
    with LONGLIST.open(newline="") as fh:
        return list(csv.DictReader(fh))


def test_matches_the_longlist_and_its_access_rights() -> None:
    rows = longlist()
    assert len(rows) == len(ATTRIBUTES) == 93
    for row, attr in zip(rows, ATTRIBUTES, strict=True):
        assert int(row["#"]) == attr.number
        assert roles_of(row["Access rights (Battery Regulation)"]) == AUDIENCES[attr.level], (attr.number, attr.name)


def lookup(claims: dict[str, Any], path: str) -> bool:
    node: Any = claims
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return node is not None


@pytest.fixture(scope="module")
def presentations() -> dict[str, dict[str, Any]]:
    s = build_scenario(packs=1, legacy_packs=1)
    ledger = Ledger(MemoryStore(), s.actors["operator"].did, s.ledger_id, clock=historical_clock)
    assert not ledger.submit_batch(s.events).rejected
    ledger.sign_tree_head(s.actors["operator"].signing_key)
    p = issue_passport(ledger, s.packs[0], VOLTARA_VM75, s.actors["voltara"].signing_key, issued_at=1_790_000_000)
    return {level: verify_passport(p.present(level), log_operator=ledger.operator_did).claims for level in ACCESS_LEVELS}


def test_each_role_reads_exactly_what_the_longlist_gives_it(presentations: dict[str, dict[str, Any]]) -> None:
    """Per role, the disclosure set expected from the longlist CSV (not from our table) is what
    that role's presentation discloses: a repairer (legitimate interest) reads the dismantling
    information, the Commission the test reports, and no role reads what is not its own."""
    for row, attr in zip(longlist(), ATTRIBUTES, strict=True):
        readers = roles_of(row["Access rights (Battery Regulation)"])
        for level in ACCESS_LEVELS:
            assert lookup(presentations[level], attr.path) == (level in readers), (attr.number, attr.name, level)
    li, com, auth = (presentations[r]["aspects"] for r in ("legitimate_interest", "commission", "authorities"))
    assert "dismantlingAndRemovalInformation" in li["Circularity"] and "resultOfTestReport" not in li["Labeling"]
    assert "resultOfTestReport" in com["Labeling"] and "stateOfCharge" not in com["PerformanceAndDurability"]["batteryCondition"]
    assert "resultOfTestReport" in auth["Labeling"] and "dismantlingAndRemovalInformation" not in auth["Circularity"]


def test_doc_is_current() -> None:
    assert (ROOT / "docs" / "passport-attributes.md").read_text() == render_markdown()


def test_requirements_per_category_match_the_longlist() -> None:
    from batterytrace.passport.attributes import CATEGORIES, REQUIREMENTS, requirement

    columns = ("EV", "LMT", "Other industrial >2kWh", "Stationary >2kWh")
    words = {"x": "mandatory", "o": "voluntary", "": "not applicable"}
    with LONGLIST.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(REQUIREMENTS) == len(rows) == 93
    for row in rows:
        for column, category in zip(columns, CATEGORIES, strict=True):
            assert requirement(int(row["#"]), category) == words[row[column].strip()], (row["#"], category)
    with pytest.raises(ValueError, match="unknown battery category"):
        requirement(1, "bicycle")
