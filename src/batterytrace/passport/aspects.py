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
from batterytrace.ledger.openings_view import OpeningsError
from batterytrace.ledger.trace import BackwardTrace, TraceCache, trace_backward
from batterytrace.model.entities import Lot
from batterytrace.passport.master import PackMasterData
from batterytrace.storage.base import Store
from batterytrace.timeutil import format_time

__all__ = ["CONDITION_READINGS", "ELEMENTS", "PackFacts", "build_aspects", "gather_facts", "not_recorded",
           "put_into_service_at", "readings", "recycled_content"]

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
        raise OpeningsError("openings.missing", f"pack {pack_id} is confidential: its passport needs the openings "
                            "of its lineage")
    capacity = float(lot.extra.get("capacity_kwh", 0))
    trace = trace_backward(store, pack_id, cache, reveal)
    lot = trace.lot
    fp = carbon_footprint(trace, capacity * master.usable_energy_fraction, master.service_years,
                          end_of_life_kgco2e_per_kg=master.end_of_life_kgco2e_per_kg)
    return PackFacts(lot, trace, fp, material_figures(lot.buckets), due_diligence(store, trace, "Co"))


def _current_life(f: PackFacts) -> list[dict[str, Any]]:
    """The lifecycle records of the battery's current life (since it last changed status)."""
    history: list[dict[str, Any]] = list(f.lot.extra.get("lifecycle", []))
    if not history:
        return []
    status = history[-1].get("status")
    start = len(history)
    while start > 0 and history[start - 1].get("status") == status:
        start -= 1
    return history[start:]


def put_into_service_at(f: PackFacts) -> int | None:
    """When a lifecycle event put the battery into service in its current life (µs), if one did."""
    return next((int(r["time"]) for r in _current_life(f) if r.get("put_into_service")), None)


def general_product_information(f: PackFacts, m: PackMasterData, passport_id: str) -> dict[str, Any]:
    made = format_time(f.lot.created_at)
    out: dict[str, Any] = {
        "productIdentifier": f"{f.lot.gtin}/{f.lot.serial}",
        "batteryPassportIdentifier": passport_id,
        "batteryCategory": m.category,
        # The 1.2.0 schema's e-mail pattern lost its backslashes ('^[w.-]+@…' admits only the
        # letter w), so no real address validates; the optional field is left out here.
        "manufacturerInformation": m.manufacturer.to_batterypass(with_email=False),
        "operatorInformation": m.operator.to_batterypass(with_email=False),
        "manufacturingPlace": m.manufacturing_place.to_batterypass()["postalAddress"],
        "manufacturingDate": made,
        "batteryStatus": f.status,
        "batteryMass": round(f.lot.gross_mass_g / 1000, 3),
        # the 1.2.0 type is xsd:gMonth (1-12): it cannot hold a longer period, so it says "12 or
        # more" and the full period is summary.warranty_months (docs/passport-attributes.md)
        "warrentyPeriod": f"--{min(12, max(1, m.warranty_months)):02d}",
    }
    service = put_into_service_at(f)
    if service is not None:  # the lifecycle event that put the battery into service in this life
        out["puttingIntoService"] = format_time(service)
    return out


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
        "hazardousSubstances": [
            {"hazardousSubstanceClass": h.hazard_class, "hazardousSubstanceName": h.name,
             "hazardousSubstanceConcentration": h.concentration_percent, "hazardousSubstanceImpact": list(h.impacts),
             "hazardousSubstanceLocation": {"componentName": h.location}, "hazardousSubstanceIdentifier": h.cas}
            for h in m.hazardous_substances
        ],
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


def readings(f: PackFacts) -> dict[str, tuple[float, int]]:
    """Every battery-management reading recorded for the battery, its latest value and when (µs):
    the ``bms`` readings and the ``soh_percent``, ``cycles``, ``energy_throughput_kwh`` and
    ``deep_discharge_events`` of its lifecycle records."""
    out: dict[str, tuple[float, int]] = {}
    for rec in f.lot.extra.get("lifecycle", []):
        t = int(rec["time"])
        for name in ("soh_percent", "cycles", "energy_throughput_kwh", "deep_discharge_events"):
            if rec.get(name) is not None:
                out[name] = (float(rec[name]), t)
        for name, value in rec.get("bms", {}).items():
            out[name] = (float(value), t)
    return out


# batteryCondition members and the readings they need (all of them recorded, else the member is
# left out: a reading nobody measured is never stated, not even as 0)
CONDITION_READINGS: dict[str, tuple[str, ...]] = {
    "energyThroughput": ("energy_throughput_kwh",),
    "capacityThroughput": ("capacity_throughput_ah",),
    "numberOfFullCycles": ("cycles",),
    "stateOfCertifiedEnergy": ("state_of_certified_energy_percent|soh_percent",),
    "capacityFade": ("capacity_fade_percent|soh_percent",),
    "remainingEnergy": ("remaining_energy_kwh|soh_percent",),
    "remainingCapacity": ("remaining_capacity_ah|soh_percent",),
    "temperatureInformation": ("time_extreme_high_temp_h", "time_extreme_low_temp_h",
                               "time_extreme_high_temp_charging_h", "time_extreme_low_temp_charging_h"),
    "remainingPowerCapability": ("power_fade_percent",),
    "powerFade": ("power_fade_percent",),
    "roundTripEfficiencyFade": ("round_trip_efficiency_fade_percent",),
    "evolutionOfSelfDischarge": ("current_self_discharge_rate_percent_per_month",),
    "currentSelfDischargingRate": ("current_self_discharge_rate_percent_per_month",),
    "internalResistanceIncrease": ("internal_resistance_increase_percent",),
    "remainingRoundTripEnergyEfficiency": ("remaining_round_trip_efficiency_percent",),
    "stateOfCharge": ("state_of_charge_percent",),
}


def not_recorded(f: PackFacts) -> list[str]:
    """The dynamic attributes (aspect-relative claim paths) the passport leaves out because nothing
    was recorded for them (summary.not_recorded)."""
    have = readings(f)
    missing = [f"PerformanceAndDurability.batteryCondition.{member}" for member, needs in CONDITION_READINGS.items()
               if not all(any(alt in have for alt in need.split("|")) for need in needs)]
    if put_into_service_at(f) is None:
        missing.insert(0, "GeneralProductInformation.puttingIntoService")
    return missing


def _negative_events(f: PackFacts, have: dict[str, tuple[float, int]]) -> list[dict[str, Any]]:
    """Deep-discharge and overcharge counts as last recorded, and every recorded accident."""
    out = []
    for name, label in (("deep_discharge_events", "deep discharge events"), ("overcharge_events", "overcharge events")):
        if name in have:
            value, t = have[name]
            out.append({"negativeEvent": f"{label}: {int(value)}", "lastUpdate": format_time(t)})
    for rec in f.lot.extra.get("lifecycle", []):
        if rec.get("accident"):
            out.append({"negativeEvent": f"accident: {rec['accident']}", "lastUpdate": format_time(int(rec["time"]))})
    return out


def performance(f: PackFacts, m: PackMasterData) -> dict[str, Any]:
    """Static values from the data sheet; dynamic values from the battery's recorded lifecycle
    (BMS) readings, each with the time it was recorded. A value derived from a reading (capacity
    fade from the state of health) is dated with it; a member whose readings were never recorded
    is left out and named in summary.not_recorded."""
    t = m.technical
    if t is None:
        raise BatterytraceError("the master data has no technical data sheet")
    rated_kwh = float(f.lot.extra.get("capacity_kwh", 0))
    have = readings(f)

    def at(name: str) -> str:
        return format_time(have[name][1])

    def val(name: str) -> float:
        return have[name][0]

    def either(name: str, derived: Callable[[float], float]) -> tuple[float, str] | None:
        if name in have:
            return val(name), at(name)
        if "soh_percent" in have:
            return round(derived(val("soh_percent")), 3), at("soh_percent")
        return None

    cond: dict[str, Any] = {}
    if "energy_throughput_kwh" in have:
        cond["energyThroughput"] = val("energy_throughput_kwh")
    if "capacity_throughput_ah" in have:
        cond["capacityThroughput"] = {"capacityThroughputValue": val("capacity_throughput_ah"),
                                      "lastUpdate": at("capacity_throughput_ah")}
    if "cycles" in have:
        cond["numberOfFullCycles"] = {"numberOfFullCyclesValue": val("cycles"), "lastUpdate": at("cycles")}
    derived = {
        "stateOfCertifiedEnergy": ("state_of_certified_energy_percent", "stateOfCertifiedEnergyValue", lambda soh: soh),
        "capacityFade": ("capacity_fade_percent", "capacityFadeValue", lambda soh: 100.0 - soh),
        "remainingEnergy": ("remaining_energy_kwh", "remainingEnergyalue", lambda soh: rated_kwh * soh / 100),
        "remainingCapacity": ("remaining_capacity_ah", "remainingCapacityValue", lambda soh: t.rated_capacity_ah * soh / 100),
    }
    for member, (reading, key, fn) in derived.items():
        got = either(reading, fn)
        if got is not None:
            cond[member] = {key: got[0], "lastUpdate": got[1]}
    cond["negativeEvents"] = _negative_events(f, have)  # none recorded: an empty list, not a zero
    temps = ("time_extreme_high_temp_h", "time_extreme_low_temp_h", "time_extreme_high_temp_charging_h",
             "time_extreme_low_temp_charging_h")
    if all(n in have for n in temps):
        cond["temperatureInformation"] = {
            "timeExtremeHighTemp": val(temps[0]), "timeExtremeLowTemp": val(temps[1]),
            "timeExtremeHighTempCharging": val(temps[2]), "timeExtremeLowTempCharging": val(temps[3]),
            "lastUpdate": max(at(n) for n in temps),
        }
    if "power_fade_percent" in have:
        fade, when = val("power_fade_percent"), at("power_fade_percent")
        # remaining power at the data sheet's states of charge, reduced by the measured power fade
        cond["remainingPowerCapability"] = [
            {"remainingPowerCapabilityValue": {"atSoC": soc, "rPCLastUpdated": when,
                                               "powerCapabilityAt": round(kw * (1 - fade / 100), 3)},
             "lastUpdate": when}
            for soc, kw in t.original_power_capability_kw
        ]
        cond["powerFade"] = fade
    if "round_trip_efficiency_fade_percent" in have:
        cond["roundTripEfficiencyFade"] = val("round_trip_efficiency_fade_percent")
    rate = "current_self_discharge_rate_percent_per_month"
    if rate in have:
        cond["evolutionOfSelfDischarge"] = {"evolutionOfSelfDischargeEntityValue": val(rate)}
        cond["currentSelfDischargingRate"] = {"currentSelfDischargingRateEntity": val(rate), "lastUpdate": at(rate)}
    if "internal_resistance_increase_percent" in have:
        cond["internalResistanceIncrease"] = [{"internalResistanceIncreaseValue": val("internal_resistance_increase_percent"),
                                               "lastUpdate": at("internal_resistance_increase_percent"),
                                               "batteryComponent": "pack"}]
    cond["roundTripEfficiencyat50PerCentCycleLife"] = t.round_trip_efficiency_at_50pct_cycle_life_percent
    if "remaining_round_trip_efficiency_percent" in have:
        cond["remainingRoundTripEnergyEfficiency"] = {
            "remainingRoundTripEnergyEfficiencyValue": val("remaining_round_trip_efficiency_percent"),
            "lastUpdate": at("remaining_round_trip_efficiency_percent")}
    if "state_of_charge_percent" in have:
        cond["stateOfCharge"] = {"stateOfChargeValue": val("state_of_charge_percent"), "lastUpdate": at("state_of_charge_percent")}
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
        "batteryCondition": cond,
    }


def labeling(f: PackFacts, m: PackMasterData) -> dict[str, Any]:
    t = m.technical
    if t is None:
        raise BatterytraceError("the master data has no technical data sheet")
    lead_g = f.materials.element_g.get("Pb", 0)
    if f.lot.gross_mass_g and lead_g * 1_000_000 > 40 * f.lot.gross_mass_g:
        declared = dict(m.declared_hazardous_ppm).get("lead")
        if declared is not None and declared <= 40:
            raise BatterytraceError(f"the master data declares {declared} ppm lead, but the pack's buckets hold "
                                    f"{lead_g} g of lead in {f.lot.gross_mass_g} g: above 0.004 %, the battery "
                                    "must carry the Pb symbol (Art. 13(4))")
    return {
        "declarationOfConformity": t.declaration_of_conformity_url,
        "resultOfTestReport": t.test_report_url,
        "labels": [{"labelingSubject": subj, "labelingSymbol": url, "labelingMeaning": {"en": meaning}}
                   for subj, url, meaning in t.labels],
    }
