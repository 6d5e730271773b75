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
from batterytrace.passport.issue import ACCESS_LEVELS, issue_passport, verify_passport
from batterytrace.storage.memory import MemoryStore

ROOT = Path(__file__).resolve().parents[2]
LONGLIST = ROOT / "tests" / "reference" / "batterypass" / "docs" / "2025_Battery_Passport_Data_Attributes_V1.2.longlist.csv"
RIGHTS = {
    "Public": "public",
    "persons with a legitimate interest": "legitimate_interest",
    "persons with a legitimate interest and the Commission": "commission",
    "Notified bodies, market surveillance authorities and the Commission": "authorities",
}


def test_matches_the_longlist_and_its_access_rights() -> None:
    with LONGLIST.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(ATTRIBUTES) == 93
    for row, attr in zip(rows, ATTRIBUTES, strict=True):
        assert int(row["#"]) == attr.number
        assert RIGHTS[row["Access rights (Battery Regulation)"]] == attr.level, (attr.number, attr.name)


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


def test_every_attribute_reaches_its_level_and_no_lower(presentations: dict[str, dict[str, Any]]) -> None:
    for attr in ATTRIBUTES:
        rank = ACCESS_LEVELS.index(attr.level)
        for level in ACCESS_LEVELS[rank:]:
            assert lookup(presentations[level], attr.path), (attr.number, attr.name, level)
        for level in ACCESS_LEVELS[:rank]:
            assert not lookup(presentations[level], attr.path), (attr.number, attr.name, level)


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
