"""BatteryPass v1.2 aspects built from the demo ledger validate against the published schemas and
carry the ledger's figures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from batterytrace.demo.master_data import VOLTARA_VM75
from batterytrace.demo.scenario import build_scenario
from batterytrace.ledger.ledger import Ledger, historical_clock
from batterytrace.passport.aspects import build_aspects, gather_facts
from batterytrace.storage.memory import MemoryStore

REFERENCE = Path(__file__).resolve().parents[1] / "reference" / "batterypass"
SCHEMAS = {
    "GeneralProductInformation": "io.BatteryPass.GeneralProductInformation/1.2.0/gen/GeneralProductInformation-schema.json",
    "CarbonFootprintForBatteries": "io.BatteryPass.CarbonFootprint/1.2.0/gen/CarbonFootprintForBatteries-schema.json",
    "Circularity": "io.BatteryPass.Circularity/1.2.0/gen/Circularity-schema.json",
    "MaterialComposition": "io.BatteryPass.MaterialComposition/1.2.0/gen/MaterialComposition-schema.json",
    "SupplyChainDueDiligence": "io.BatteryPass.SupplyChainDueDiligence/1.2.0/gen/SupplyChainDueDiligence-schema.json",
    "PerformanceAndDurability": "io.BatteryPass.Performance/1.2.0/gen/PerformanceAndDurability-schema.json",
    "Labeling": "io.BatteryPass.Labels/1.2.0/gen/Labeling-schema.json",
}


def load_schema(rel: str) -> dict[str, Any]:
    path = REFERENCE / rel
    raw = path.read_bytes()
    for enc in ("utf-8-sig", "utf-16"):
        try:
            data: dict[str, Any] = json.loads(raw.decode(enc))
            return data
        except (UnicodeDecodeError, json.JSONDecodeError):
            continue
    raise AssertionError(f"cannot decode {path}")


@pytest.fixture(scope="module")
def aspects() -> dict[str, dict[str, Any]]:
    s = build_scenario(packs=2, legacy_packs=1)
    ledger = Ledger(MemoryStore(), s.actors["operator"].did, s.ledger_id, clock=historical_clock)
    assert not ledger.submit_batch(s.events).rejected
    facts = gather_facts(ledger.store, s.packs[0], VOLTARA_VM75)
    return build_aspects(facts, VOLTARA_VM75, "urn:batterytrace:0001")


@pytest.mark.parametrize("aspect", sorted(SCHEMAS))
def test_aspect_validates_against_batterypass_schema(aspects: dict[str, dict[str, Any]], aspect: str) -> None:
    schema = load_schema(SCHEMAS[aspect])
    validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(aspects[aspect]), key=str)
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]


@pytest.mark.parametrize("aspect", sorted(SCHEMAS))
def test_schema_rejects_a_broken_aspect(aspects: dict[str, dict[str, Any]], aspect: str) -> None:
    """The validation is real: dropping a required field fails it."""
    schema = load_schema(SCHEMAS[aspect])
    broken = dict(aspects[aspect])
    broken.pop(schema["required"][0])
    assert list(jsonschema.Draft4Validator(schema).iter_errors(broken))


def test_aspects_carry_ledger_figures(aspects: dict[str, dict[str, Any]]) -> None:
    gpi = aspects["GeneralProductInformation"]
    assert gpi["productIdentifier"].startswith("04099999000753/VM75-")
    assert gpi["batteryStatus"] == "Original" and gpi["batteryCategory"] == "ev"
    cf = aspects["CarbonFootprintForBatteries"]
    assert {x["lifecycleStage"] for x in cf["carbonFootprintPerLifecycleStage"]} == {
        "RawMaterialExtraction", "MainProduction", "Distribution", "Recycling"}
    assert sum(x["carbonFootprint"] for x in cf["carbonFootprintPerLifecycleStage"]) == pytest.approx(
        cf["batteryCarbonFootprint"], rel=1e-4)
    rc = {x["recycledMaterial"]: x for x in aspects["Circularity"]["recycledContent"]}
    assert set(rc) == {"Cobalt", "Nickel", "Lithium"}
    assert rc["Cobalt"]["postConsumerShare"] > 0
    mats = {x["batteryMaterialName"]: x["batteryMaterialMass"] for x in aspects["MaterialComposition"]["batteryMaterials"]}
    assert mats["Cobalt"] == pytest.approx(6.912, rel=0.01)  # 192 cells × 36 g
    assert 0 < aspects["SupplyChainDueDiligence"]["supplyChainIndicies"] <= 100
