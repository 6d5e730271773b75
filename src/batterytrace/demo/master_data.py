"""The demo OEM's master data for its VM75 pack (fictional company, example.com addresses)."""

from __future__ import annotations

from batterytrace.demo.scenario import PACK_MASTER_DATA
from batterytrace.passport.master import Contact, Document, PackMasterData

__all__ = ["VOLTARA_VM75"]

_VOLTARA = Contact("Voltara Motors AG", "DE-EORI-DE123456789012", "Motorenstraße 7", "70469", "DE",
                   "passport@voltara.example.com", "https://voltara.example.com")
_NORDCELL = Contact("Nordcell Batteries AB", "SE-EORI-SE5566778899", "Batterivägen 1", "93136", "SE",
                    "parts@nordcell.example.com", "https://nordcell.example.com")
_DOCS = "https://voltara.example.com/docs/vm75"

VOLTARA_VM75 = PackMasterData(
    category="ev",
    chemistry_short="NMC811",
    chemistry_name="Lithium nickel manganese cobalt oxide (Ni:Mn:Co 8:1:1) / graphite",
    manufacturer=_VOLTARA,
    operator=_VOLTARA,
    manufacturing_place=Contact("Voltara pack plant Stuttgart", "plant:voltara", "Werkstraße 12", "70435", "DE"),
    warranty_months=96,
    usable_energy_fraction=PACK_MASTER_DATA["usable_energy_fraction"],
    service_years=PACK_MASTER_DATA["service_years"],
    end_of_life_kgco2e_per_kg=PACK_MASTER_DATA["end_of_life_kgco2e_per_kg"],
    carbon_footprint_study_url=f"{_DOCS}/carbon-footprint-study.pdf",
    due_diligence_report_url=f"{_DOCS}/due-diligence-report-2025.pdf",
    third_party_assurances_url=f"{_DOCS}/assurances.pdf",
    dismantling_documents=(
        Document("DismantlingManual", "application/pdf", f"{_DOCS}/dismantling-manual.pdf"),
        Document("BillOfMaterial", "text/csv", f"{_DOCS}/bom.csv"),
        Document("RemovalManual", "application/pdf", f"{_DOCS}/removal-manual.pdf"),
    ),
    spare_part_supplier=_NORDCELL,
    spare_parts=(("Module M24", "NC-M24-811"), ("Battery management unit", "VM-BMU-3")),
    safety_instructions_url=f"{_DOCS}/safety.pdf",
    extinguishing_agents=("Water (large quantities)", "Class D powder for cell fires is ineffective"),
    end_of_life_urls=(f"{_DOCS}/waste-prevention", f"{_DOCS}/separate-collection", f"{_DOCS}/take-back"),
    renewable_content_percent=0.0,
)
