"""BatteryPass v1.2 aspect payloads for one pack, computed from the ledger (lineage, buckets,
carbon intensities, attestations, lifecycle events) plus the OEM's master data.

Each function returns one aspect as a JSON-ready dict shaped by the BatteryPass 1.2.0 aspect
schema of the same name; tests validate every payload against those schemas.
"""

from __future__ import annotations

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
from batterytrace.ledger.trace import BackwardTrace, trace_backward
from batterytrace.model.entities import Lot
from batterytrace.passport.master import PackMasterData
from batterytrace.storage.base import Store
from batterytrace.timeutil import format_time

__all__ = ["ELEMENTS", "PackFacts", "build_aspects", "gather_facts"]

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


def gather_facts(store: Store, pack_id: str, master: PackMasterData) -> PackFacts:
    lot = store.get_lot(pack_id)
    if lot is None:
        raise BatterytraceError(f"no lot {pack_id}")
    if lot.level < 3 or not lot.gtin or not lot.serial:
        raise BatterytraceError(f"lot {pack_id} is not a serialised pack")
    capacity = float(lot.extra.get("capacity_kwh", 0))
    trace = trace_backward(store, pack_id)
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


def circularity(f: PackFacts, m: PackMasterData) -> dict[str, Any]:
    recycled = [
        {"recycledMaterial": ELEMENTS[el][0],
         "preConsumerShare": round(f.materials.recycled_percent.get(el, {}).get("pre", 0.0), 3),
         "postConsumerShare": round(f.materials.recycled_percent.get(el, {}).get("post", 0.0), 3)}
        for el in ("Co", "Ni", "Li", "Pb") if el in f.materials.element_g
    ]
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
    }
