"""The Catena-X BatteryPass 6.1.0 export validates against its schema and carries ledger figures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from batterytrace.demo.master_data import VOLTARA_VM75
from batterytrace.demo.scenario import build_scenario
from batterytrace.errors import BatterytraceError
from batterytrace.ledger.ledger import Ledger, historical_clock
from batterytrace.passport.aspects import gather_facts
from batterytrace.passport.catenax import catenax_battery_pass
from batterytrace.storage.memory import MemoryStore

SCHEMA = (Path(__file__).resolve().parents[1] / "reference" / "catenax"
          / "io.catenax.battery.battery_pass" / "6.1.0" / "gen" / "BatteryPass-schema.json")


@pytest.fixture(scope="module")
def export() -> dict[str, Any]:
    s = build_scenario(packs=1, legacy_packs=1)
    ledger = Ledger(MemoryStore(), s.actors["operator"].did, s.ledger_id, clock=historical_clock)
    assert not ledger.submit_batch(s.events).rejected
    facts = gather_facts(ledger.store, s.packs[0], VOLTARA_VM75)
    return catenax_battery_pass(facts, VOLTARA_VM75, "urn:uuid:6f1f1a3e-1d2b-4c3d-9e8f-0a1b2c3d4e5f", 1,
                                1_790_000_000, 2_263_000_000)


def schema() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SCHEMA.read_text(encoding="utf-8-sig"))
    return data


def test_validates_against_catenax_6_1(export: dict[str, Any]) -> None:
    validator = jsonschema.Draft4Validator(schema(), format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(export), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message[:160]}" for e in errors[:8]]


def test_broken_export_is_refused(export: dict[str, Any]) -> None:
    broken = {k: v for k, v in export.items() if k != "identification"}
    assert list(jsonschema.Draft4Validator(schema()).iter_errors(broken))


def test_carries_ledger_figures(export: dict[str, Any]) -> None:
    cf = {x["lifecycle"]: x["value"] for x in export["sustainability"]["carbonFootprint"]}
    assert set(cf) == {"raw material extraction", "main product production", "distribution", "recycling"}
    assert export["materials"]["active"]["cobalt"]["recycled"] > 0
    assert export["identification"]["identification"]["serial"][0]["value"].startswith("VM75-")


def test_export_from_the_ledger_validates_and_is_stable(tmp_path: Path) -> None:
    from batterytrace.passport.catenax import catenax_passport_uuid, export_catenax

    s = build_scenario(packs=1, legacy_packs=1)
    ledger = Ledger(MemoryStore(), s.actors["operator"].did, s.ledger_id, clock=historical_clock)
    assert not ledger.submit_batch(s.events).rejected
    doc = export_catenax(ledger, s.packs[0], VOLTARA_VM75, issued_at=1_790_000_000)
    assert not list(jsonschema.Draft4Validator(schema()).iter_errors(doc))
    again = export_catenax(ledger, s.packs[0], VOLTARA_VM75, issued_at=1_790_000_000)
    assert doc["metadata"]["passportIdentifier"] == again["metadata"]["passportIdentifier"]
    assert catenax_passport_uuid("urn:batterytrace:a") != catenax_passport_uuid("urn:batterytrace:b")
    ore = ledger.store.lots_at_site("mine:tujenge", 0, 2**62)[0]
    with pytest.raises(BatterytraceError, match="not a serialised pack"):
        export_catenax(ledger, ore, VOLTARA_VM75, issued_at=1)
    with pytest.raises(BatterytraceError, match="no lot"):
        export_catenax(ledger, "ff" * 32 + ":0", VOLTARA_VM75, issued_at=1)
