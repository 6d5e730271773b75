"""The demo OEM's master data for its VM75 pack (fictional company, example.com addresses)."""

from __future__ import annotations

from batterytrace.demo.scenario import PACK_MASTER_DATA
from batterytrace.passport.master import (
                   Contact,
                   Document,
                   HazardousSubstance,
                   PackMasterData,
                   TechnicalData,
)

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
    declared_hazardous_ppm=(("cadmium", 0.0), ("mercury", 0.0), ("lead", 0.0)),  # none added intentionally
    # the electrolyte's hazardous constituents (docs/data-sources.md: composition and CLP classification)
    hazardous_substances=(
        HazardousSubstance("Lithium hexafluorophosphate", "21324-40-3", "AcuteToxicity", 0.8, "Cell electrolyte (conducting salt)",
                           ("H301 Toxic if swallowed", "H314 Causes severe skin burns and eye damage",
                            "H372 Causes damage to organs (bone, teeth) through prolonged or repeated exposure",
                            "Releases hydrogen fluoride in contact with water or in a fire")),
        HazardousSubstance("Ethylene carbonate", "96-49-1", "EyeDamageOrIrritation", 2.0, "Cell electrolyte (solvent)",
                           ("H302 Harmful if swallowed", "H319 Causes serious eye irritation",
                            "H373 May cause damage to organs (kidney) through prolonged or repeated exposure")),
    ),
    backup_url="https://backup.passport-host.example.com/voltara",
    manufacturer_bpnl="BPNL00000VOLTARA",  # fictional, like the company
    manufacturing_site_bpna="BPNA0000VOLTSTGT",
    # 192 cells of 108 Ah / 3.63 V in 96s2p: 216 Ah, 348 V nominal, 240–403 V window
    technical=TechnicalData(
        rated_capacity_ah=216.0, nominal_voltage_v=348.5, minimum_voltage_v=240.0, maximum_voltage_v=403.2,
        rated_maximum_power_kw=200.0, original_power_capability_kw=((80.0, 210.0), (20.0, 150.0)),
        expected_cycles=1500, expected_lifetime_years=10.0, initial_self_discharge_percent_per_month=2.0,
        initial_round_trip_efficiency_percent=95.0, round_trip_efficiency_at_50pct_cycle_life_percent=93.0,
        initial_internal_resistance_mohm=(("pack", 92.0), ("cell", 0.6)),
        capacity_threshold_for_exhaustion_percent=70.0,
        lifetime_reference_test_url=f"{_DOCS}/cycle-life-test-iec-62660-1.pdf", c_rate_life_cycle_test=0.33,
        temperature_range_idle_lower_c=-20.0, temperature_range_idle_upper_c=45.0,
        declaration_of_conformity_url=f"{_DOCS}/eu-declaration-of-conformity.pdf",
        test_report_url=f"{_DOCS}/test-reports.pdf",
        labels=(
            ("SeparateCollection", f"{_DOCS}/symbols/crossed-out-bin.svg", "Collect separately; do not discard with household waste"),
            ("CarbonFootPrint", f"{_DOCS}/symbols/carbon-footprint-class.svg", "Carbon footprint performance class of this battery"),
            ("ExtinguishingAgent", f"{_DOCS}/symbols/extinguishing-agent.svg", "Use large quantities of water to cool a burning pack"),
            ("HazardousMaterial", f"{_DOCS}/symbols/cadmium-lead.svg", "No Cd/Pb symbol: Cd < 0.002 %, Pb < 0.004 % (Art. 13(4))"),
        ),
    ),
)
