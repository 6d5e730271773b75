"""BatteryPass v1.2 aspect payloads for one pack, computed from the ledger (lineage, buckets,
carbon intensities, attestations, lifecycle events) plus the OEM's master data.

Each function returns one aspect as a JSON-ready dict shaped by the BatteryPass 1.2.0 aspect
schema of the same name; tests validate every payload against those schemas.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from batterytrace.errors import BatterytraceError
from batterytrace.ledger.figures import (
    CarbonFootprint,
    DueDiligence,
    MaterialFigures,
    carbon_footprint,
    due_diligence,
    material_figures,
)
from batterytrace.ledger.trace import BackwardTrace, TraceCache, trace_backward
from batterytrace.model.entities import Lot
from batterytrace.passport.master import PackMasterData
from batterytrace.storage.base import Store
from batterytrace.timeutil import format_time

__all__ = ["ELEMENTS", "PackFacts", "build_aspects", "gather_facts", "recycled_content"]

# element → (BatteryPass material name, CAS number, critical raw material in the EU CRM Act list)
ELEMENTS: dict[str, tuple[str, str, bool]] = {
    "Co": ("Cobalt", "7440-48-4", True),
    "Ni": ("Nickel", "7440-02-0", True),
    "Li": ("Lithium", "7439-93-2", True),
    "Mn": ("Manganese", "7439-96-5", True),
    "Pb": ("Lead", "7439-92-1", False),
}
_STAGE_ENUM = {
    "raw material acquisition and pre-processing": "RawMaterialExtraction",
    "main product production": "MainProduction",
    "distribution": "Distribution",
    "end of life and recycling": "Recycling",
}
_STATUS = {"original": "Original", "repurposed": "Repurposed", "reused": "Reused",
           "remanufactured": "Remanufactured", "waste": "Waste"}


@dataclass(frozen=True)
class PackFacts:
    """Everything the ledger says about one pack, computed once per passport."""

    lot: Lot
    trace: BackwardTrace
    footprint: CarbonFootprint
    materials: MaterialFigures
    diligence: DueDiligence

    @property
    def status(self) -> str:
        history = self.lot.extra.get("lifecycle", [])
        return _STATUS.get(str(history[-1]["status"]) if history else "original", "Original")


def gather_facts(store: Store, pack_id: str, master: PackMasterData, cache: TraceCache | None = None,
                 reveal: Callable[[Lot], Lot] | None = None) -> PackFacts:
    """``reveal`` opens confidential lots (ledger/openings_view.py); a confidential pack's
    lineage cannot be traced without it."""
    lot = store.get_lot(pack_id)
    if lot is None:
        raise BatterytraceError(f"no lot {pack_id}")
    if lot.level < 3 or not lot.gtin or not lot.serial:
        raise BatterytraceError(f"lot {pack_id} is not a serialised pack")
    if lot.status == "spent":
        current = store.get_lots(store.lots_by_serial(lot.gtin, lot.serial)[-1:])
        latest = next(iter(current.values()), lot)
        if latest.status == "spent":
            made = store.get_lots(store.lots_created_by([latest.spent_by or ""]).get(latest.spent_by or "", []))
            if any(x.made_by == "recycle" for x in made.values()):
                raise BatterytraceError(f"the passport of {lot.gtin}/{lot.serial} is closed: the battery was "
                                        f"recycled by event {latest.spent_by}")
        raise BatterytraceError(f"lot {pack_id} was superseded by event {lot.spent_by}; "
                                f"the battery's current lot is {latest.lot_id}")
    if lot.confidential and reveal is None:
        raise BatterytraceError(f"pack {pack_id} is confidential: its passport needs the openings of its lineage")
    capacity = float(lot.extra.get("capacity_kwh", 0))
    trace = trace_backward(store, pack_id, cache, reveal)
    lot = trace.lot
    fp = carbon_footprint(trace, capacity * master.usable_energy_fraction, master.service_years,
                          end_of_life_kgco2e_per_kg=master.end_of_life_kgco2e_per_kg)
    return PackFacts(lot, trace, fp, material_figures(lot.buckets), due_diligence(store, trace, "Co"))


def general_product_information(f: PackFacts, m: PackMasterData, passport_id: str) -> dict[str, Any]:
    made = format_time(f.lot.created_at)
    return {
        "productIdentifier": f"{f.lot.gtin}/{f.lot.serial}",
        "batteryPassportIdentifier": passport_id,
        "batteryCategory": m.category,
        # The 1.2.0 schema's e-mail pattern lost its backslashes ('^[w.-]+@…' admits only the
        # letter w), so no real address validates; the optional field is left out here.
        "manufacturerInformation": m.manufacturer.to_batterypass(with_email=False),
        "operatorInformation": m.operator.to_batterypass(with_email=False),
        "manufacturingPlace": m.manufacturing_place.to_batterypass()["postalAddress"],
        "manufacturingDate": made,
        "puttingIntoService": made,
        "batteryStatus": f.status,
        "batteryMass": round(f.lot.gross_mass_g / 1000, 3),
        "warrentyPeriod": f"--{min(12, max(1, m.warranty_months % 12 or 12)):02d}",
    }


def carbon_footprint_aspect(f: PackFacts, m: PackMasterData) -> dict[str, Any]:
    fp = f.footprint
    return {
        "batteryCarbonFootprint": round(fp.total_kgco2e_per_kwh, 6),
        "absoluteCarbonFootprint": round(fp.total_kgco2e, 3),
        "carbonFootprintPerLifecycleStage": [
            {"lifecycleStage": _STAGE_ENUM[stage], "carbonFootprint": round(v, 6)}
            for stage, v in fp.per_stage_kgco2e_per_kwh.items()
        ],
        "carbonFootprintPerformanceClass": fp.performance_class,
        "carbonFootprintStudy": m.carbon_footprint_study_url,
    }


def recycled_content(mf: MaterialFigures) -> list[dict[str, Any]]:
    """Circularity.recycledContent from the pack's buckets (a passport verifier recomputes it)."""
    return [
        {"recycledMaterial": ELEMENTS[el][0],
         "preConsumerShare": round(mf.recycled_percent.get(el, {}).get("pre", 0.0), 3),
         "postConsumerShare": round(mf.recycled_percent.get(el, {}).get("post", 0.0), 3)}
        for el in ("Co", "Ni", "Li", "Pb") if el in mf.certified_percent  # every element the pack holds
    ]


def circularity(f: PackFacts, m: PackMasterData) -> dict[str, Any]:
    recycled = recycled_content(f.materials)
    supplier = m.spare_part_supplier or m.manufacturer
    return {
        "dismantlingAndRemovalInformation": [
            {"documentType": d.kind, "mimeType": d.mime_type, "documentURL": d.url} for d in m.dismantling_documents
        ],
        "sparePartSources": [{
            "nameOfSupplier": supplier.name,
            "addressOfSupplier": supplier.to_batterypass()["postalAddress"],
            "emailAddressOfSupplier": supplier.email or "",
            "supplierWebAddress": supplier.web or "",
            "components": [{"partName": n, "partNumber": p} for n, p in m.spare_parts],
        }],
        "recycledContent": recycled,
        "safetyMeasures": {"safetyInstructions": m.safety_instructions_url,
                           "extinguishingAgent": list(m.extinguishing_agents)},
        "endOfLifeInformation": {"wastePrevention": m.end_of_life_urls[0],
                                 "separateCollection": m.end_of_life_urls[1],
                                 "informationOnCollection": m.end_of_life_urls[2]},
        "renewableContent": m.renewable_content_percent,
    }


def material_composition(f: PackFacts, m: PackMasterData) -> dict[str, Any]:
    return {
        "batteryChemistry": {"shortName": m.chemistry_short, "clearName": m.chemistry_name},
        "batteryMaterials": [
            {"batteryMaterialName": ELEMENTS[el][0], "batteryMaterialIdentifier": ELEMENTS[el][1],
             "batteryMaterialMass": grams / 1000, "isCriticalRawMaterial": ELEMENTS[el][2],
             "batteryMaterialLocation": {"componentName": "Cathode"}}
            for el, grams in f.materials.element_g.items() if el in ELEMENTS
        ],
        "hazardousSubstances": [],
    }


def supply_chain_due_diligence(f: PackFacts, m: PackMasterData) -> dict[str, Any]:
    indices = [i.score for i in f.diligence.indices.values()]
    out: dict[str, Any] = {
        "supplyChainDueDiligenceReport": m.due_diligence_report_url,
        "thirdPartyAussurances": m.third_party_assurances_url,
    }
    if indices:
        out["supplyChainIndicies"] = round(min(indices), 1)  # the weaker of the GBA indices
    return out


def build_aspects(f: PackFacts, m: PackMasterData, passport_id: str) -> dict[str, dict[str, Any]]:
    return {
        "GeneralProductInformation": general_product_information(f, m, passport_id),
        "CarbonFootprintForBatteries": carbon_footprint_aspect(f, m),
        "Circularity": circularity(f, m),
        "MaterialComposition": material_composition(f, m),
        "SupplyChainDueDiligence": supply_chain_due_diligence(f, m),
        "PerformanceAndDurability": performance(f, m),
        "Labeling": labeling(f, m),
    }


def _latest_bms(f: PackFacts) -> tuple[dict[str, float], int, dict[str, Any]]:
    """The latest lifecycle record's BMS readings (merged over history), its time, and the record."""
    readings: dict[str, float] = {}
    history = f.lot.extra.get("lifecycle", [])
    for rec in history:
        readings.update(rec.get("bms", {}))
    last = history[-1] if history else {"time": f.lot.created_at}
    return readings, int(last["time"]), last


def performance(f: PackFacts, m: PackMasterData) -> dict[str, Any]:
    """Static values from the data sheet; dynamic values from the latest lifecycle (BMS) readings,
    or, before any reading, the battery's initial values (as placed on the market)."""
    t = m.technical
    if t is None:
        raise BatterytraceError("the master data has no technical data sheet")
    rated_kwh = float(f.lot.extra.get("capacity_kwh", 0))
    bms, at, last = _latest_bms(f)
    when = format_time(at)
    soh = float(last.get("soh_percent", 100.0))
    cycles = float(last.get("cycles", 0))

    def val(name: str, default: float) -> float:
        return float(bms.get(name, default))

    return {
        "batteryTechicalProperties": {
            "originalPowerCapability": [{"atSoC": soc, "powerCapabilityAt": kw} for soc, kw in t.original_power_capability_kw],
            "ratedMaximumPower": t.rated_maximum_power_kw,
            "powerCapabilityRatio": round(t.rated_maximum_power_kw / rated_kwh, 4) if rated_kwh else 0.0,
            "ratedEnergy": rated_kwh,
            "expectedNumberOfCycles": t.expected_cycles,
            "initialSelfDischarge": t.initial_self_discharge_percent_per_month,
            "roundtripEfficiency": t.initial_round_trip_efficiency_percent,
            "ratedCapacity": t.rated_capacity_ah,
            "initialInternalResistance": [{"batteryComponent": c, "ohmicResistance": r} for c, r in t.initial_internal_resistance_mohm],
            "expectedLifetime": t.expected_lifetime_years,
            "nominalVoltage": t.nominal_voltage_v,
            "minimumVoltage": t.minimum_voltage_v,
            "maximumVoltage": t.maximum_voltage_v,
            "capacityThresholdForExhaustion": t.capacity_threshold_for_exhaustion_percent,
            "lifetimeReferenceTest": t.lifetime_reference_test_url,
            "cRateLifeCycleTest": t.c_rate_life_cycle_test,
            "temperatureRangeIdleState": t.temperature_range_idle_lower_c,
        },
        "batteryCondition": {
            "energyThroughput": val("energy_throughput_kwh", 0.0),
            "capacityThroughput": {"capacityThroughputValue": val("capacity_throughput_ah", 0.0), "lastUpdate": when},
            "numberOfFullCycles": {"numberOfFullCyclesValue": cycles, "lastUpdate": when},
            "stateOfCertifiedEnergy": {"stateOfCertifiedEnergyValue": val("state_of_certified_energy_percent", soh), "lastUpdate": when},
            "capacityFade": {"capacityFadeValue": val("capacity_fade_percent", 100.0 - soh), "lastUpdate": when},
            "remainingEnergy": {"remainingEnergyalue": val("remaining_energy_kwh", rated_kwh * soh / 100), "lastUpdate": when},
            "remainingCapacity": {"remainingCapacityValue": val("remaining_capacity_ah", t.rated_capacity_ah * soh / 100), "lastUpdate": when},
            "negativeEvents": [
                {"negativeEvent": f"deep discharge events: {int(last.get('deep_discharge_events', 0))}", "lastUpdate": when},
                {"negativeEvent": f"overcharge events: {int(val('overcharge_events', 0))}", "lastUpdate": when},
            ],
            "temperatureInformation": {
                "timeExtremeHighTemp": val("time_extreme_high_temp_h", 0.0),
                "timeExtremeLowTemp": val("time_extreme_low_temp_h", 0.0),
                "timeExtremeHighTempCharging": val("time_extreme_high_temp_charging_h", 0.0),
                "timeExtremeLowTempCharging": val("time_extreme_low_temp_charging_h", 0.0),
                "lastUpdate": when,
            },
            # remaining power at the data sheet's states of charge, reduced by the measured power fade
            "remainingPowerCapability": [
                {"remainingPowerCapabilityValue": {"atSoC": soc, "rPCLastUpdated": when,
                                                   "powerCapabilityAt": round(kw * (1 - val("power_fade_percent", 0.0) / 100), 3)},
                 "lastUpdate": when}
                for soc, kw in t.original_power_capability_kw
            ],
            "powerFade": val("power_fade_percent", 0.0),
            "roundTripEfficiencyFade": val("round_trip_efficiency_fade_percent", 0.0),
            "evolutionOfSelfDischarge": {"evolutionOfSelfDischargeEntityValue": val("current_self_discharge_rate_percent_per_month", t.initial_self_discharge_percent_per_month)},
            "currentSelfDischargingRate": {"currentSelfDischargingRateEntity": val("current_self_discharge_rate_percent_per_month", t.initial_self_discharge_percent_per_month), "lastUpdate": when},
            "internalResistanceIncrease": [{"internalResistanceIncreaseValue": val("internal_resistance_increase_percent", 0.0), "lastUpdate": when, "batteryComponent": "pack"}],
            "roundTripEfficiencyat50PerCentCycleLife": t.round_trip_efficiency_at_50pct_cycle_life_percent,
            "remainingRoundTripEnergyEfficiency": {"remainingRoundTripEnergyEfficiencyValue": val("remaining_round_trip_efficiency_percent", t.initial_round_trip_efficiency_percent), "lastUpdate": when},
            "stateOfCharge": {"stateOfChargeValue": _required(bms, "state_of_charge_percent"), "lastUpdate": when},
        },
    }


def _required(bms: dict[str, float], name: str) -> float:
    if name not in bms:
        raise BatterytraceError(f"no {name} reading has been recorded for this battery (lifecycle bms data)")
    return float(bms[name])


def labeling(f: PackFacts, m: PackMasterData) -> dict[str, Any]:
    t = m.technical
    if t is None:
        raise BatterytraceError("the master data has no technical data sheet")
    return {
        "declarationOfConformity": t.declaration_of_conformity_url,
        "resultOfTestReport": t.test_report_url,
        "labels": [{"labelingSubject": subj, "labelingSymbol": url, "labelingMeaning": {"en": meaning}}
                   for subj, url, meaning in t.labels],
    }
