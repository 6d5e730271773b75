"""The 93 attributes of the BatteryPass v1.2 longlist: where each lives in our passport, where its
value comes from, and who may read it. ``docs/passport-attributes.md`` is rendered from this table
and a test checks it against the longlist itself."""

from __future__ import annotations

from typing import NamedTuple

from batterytrace.passport.labels import BC, CF, CI, DD, FIELDS, GPI, GROUPS, LB, MC, TP, group_of

__all__ = ["ATTRIBUTES", "CATEGORIES", "REQUIREMENTS", "Attribute", "render_markdown", "requirement"]


LEDGER, MASTER, LIFECYCLE, ATTEST, ISSUE = "ledger lineage", "OEM master data", "lifecycle events", "attestations", "issuance"
# audiences (passport/issue.py AUDIENCES): the longlist's access rights, as the roles that read them
P, LI, LIC, AUTH = "public", "legitimate_interest", "legitimate_interest+commission", "authorities+commission"


class Attribute(NamedTuple):
    number: int
    name: str
    path: str
    source: str
    level: str


_ROWS: list[tuple[str, str, str, str]] = [
    ("Battery passport identifier", "passport_id", ISSUE, P),
    ("Battery identifier", f"{GPI}.productIdentifier", LEDGER, P),
    ("Operator identifier and information", f"{GPI}.operatorInformation", MASTER, P),
    ("Manufacturer identifier and information", f"{GPI}.manufacturerInformation", MASTER, P),
    ("Manufacturing place", f"{GPI}.manufacturingPlace", MASTER, P),
    ("Manufacturing date", f"{GPI}.manufacturingDate", LEDGER, P),
    ("Date of putting the battery into service", f"{GPI}.puttingIntoService", LEDGER, LI),
    ("Warranty period of the battery", f"{GPI}.warrentyPeriod", MASTER, P),
    ("Battery category", f"{GPI}.batteryCategory", MASTER, P),
    ("Battery mass", f"{GPI}.batteryMass", LEDGER, P),
    ("Battery status", f"{GPI}.batteryStatus", LIFECYCLE, LI),
    ("Separate collection symbol", f"{LB}.labels", MASTER, P),
    ("Symbols for cadmium and lead", f"{LB}.labels", MASTER, P),
    ("Carbon footprint label", f"{LB}.labels", MASTER, P),
    ("Extinguishing agent", f"{LB}.labels", MASTER, P),
    ("Meaning of labels and symbols", f"{LB}.labels", MASTER, P),
    ("EU declaration of conformity", f"{LB}.declarationOfConformity", MASTER, P),
    ("Results of test reports proving compliance", f"{LB}.resultOfTestReport", MASTER, AUTH),
    ("Battery carbon footprint per functional unit", f"{CF}.batteryCarbonFootprint", LEDGER, P),
    ("Contribution of raw material acquisition and pre-processing", f"{CF}.carbonFootprintPerLifecycleStage", LEDGER, P),
    ("Contribution of main product production", f"{CF}.carbonFootprintPerLifecycleStage", LEDGER, P),
    ("Contribution of distribution", f"{CF}.carbonFootprintPerLifecycleStage", LEDGER, P),
    ("Contribution of end of life and recycling", f"{CF}.carbonFootprintPerLifecycleStage", LEDGER, P),
    ("Carbon footprint performance class", f"{CF}.carbonFootprintPerformanceClass", LEDGER, P),
    ("Web link to public carbon footprint study", f"{CF}.carbonFootprintStudy", MASTER, P),
    ("General battery and manufacturer information", f"{GPI}.manufacturerInformation", MASTER, P),
    ("Absolute battery carbon footprint", f"{CF}.absoluteCarbonFootprint", LEDGER, P),
    ("Information of due diligence report", f"{DD}.supplyChainDueDiligenceReport", MASTER, P),
    ("Third party assurances of recognised schemes", f"{DD}.thirdPartyAussurances", MASTER, P),
    ("Supply chain indices", f"{DD}.supplyChainIndicies", ATTEST, P),
    ("Battery chemistry", f"{MC}.batteryChemistry", LEDGER, P),
    ("Critical raw materials", "summary.critical_raw_materials", LEDGER, P),
    ("Materials used in cathode, anode and electrolyte", f"{MC}.batteryMaterials", LEDGER, LIC),
    ("Hazardous substances", f"{MC}.hazardousSubstances", MASTER, P),
    ("Impact of substances on environment, human health, safety, persons", f"{MC}.hazardousSubstances", MASTER, P),
    ("Dismantling information", f"{CI}.dismantlingAndRemovalInformation", MASTER, LIC),
    ("Part numbers for components", f"{CI}.sparePartSources", MASTER, LIC),
    ("Information on sources of spare parts", f"{CI}.sparePartSources", MASTER, LIC),
    ("Safety measures", f"{CI}.safetyMeasures", MASTER, LIC),
    *[(f"{stage}-consumer recycled {el} share",
       "summary.art8_not_applicable" if el == "lead" else f"{CI}.recycledContent", LEDGER, P)
      for stage in ("Pre", "Post") for el in ("nickel", "cobalt", "lithium", "lead")],
    ("Renewable content share", f"{CI}.renewableContent", MASTER, P),
    ("Role of end-users in waste prevention", f"{CI}.endOfLifeInformation", MASTER, P),
    ("Role of end-users in separate collection", f"{CI}.endOfLifeInformation", MASTER, P),
    ("Information on battery collection and second life", f"{CI}.endOfLifeInformation", MASTER, P),
    ("Rated capacity", f"{TP}.ratedCapacity", MASTER, P),
    ("Remaining capacity", f"{BC}.remainingCapacity", LIFECYCLE, LI),
    ("Capacity fade", f"{BC}.capacityFade", LIFECYCLE, LI),
    ("Certified usable battery energy", f"{TP}.ratedEnergy", LEDGER, P),
    ("Remaining usable battery energy", f"{BC}.remainingEnergy", LIFECYCLE, LI),
    ("State of certified energy (SOCE)", f"{BC}.stateOfCertifiedEnergy", LIFECYCLE, LI),
    ("State of charge (SoC)", f"{BC}.stateOfCharge", LIFECYCLE, LI),
    ("Minimum voltage", f"{TP}.minimumVoltage", MASTER, P),
    ("Maximum voltage", f"{TP}.maximumVoltage", MASTER, P),
    ("Nominal voltage", f"{TP}.nominalVoltage", MASTER, P),
    ("Original power capability", f"{TP}.originalPowerCapability", MASTER, P),
    ("Remaining power capability", f"{BC}.remainingPowerCapability", LIFECYCLE, LI),
    ("Power fade", f"{BC}.powerFade", LIFECYCLE, LI),
    ("Maximum permitted battery power", f"{TP}.ratedMaximumPower", MASTER, P),
    ("Ratio between nominal battery power and battery energy", f"{TP}.powerCapabilityRatio", MASTER, P),
    ("Initial round trip energy efficiency", f"{TP}.roundtripEfficiency", MASTER, P),
    ("Round trip energy efficiency at 50% of cycle life", f"{BC}.roundTripEfficiencyat50PerCentCycleLife", MASTER, P),
    ("Remaining round trip energy efficiency", f"{BC}.remainingRoundTripEnergyEfficiency", LIFECYCLE, LI),
    ("Energy round trip efficiency fade", f"{BC}.roundTripEfficiencyFade", LIFECYCLE, LI),
    ("Initial self-discharge rate", f"{TP}.initialSelfDischarge", MASTER, LI),
    ("Current self-discharge rate", f"{BC}.currentSelfDischargingRate", LIFECYCLE, LI),
    ("Evolution of self-discharge rates", f"{BC}.evolutionOfSelfDischarge", LIFECYCLE, LI),
    ("Initial internal resistance of battery cell and pack", f"{TP}.initialInternalResistance", MASTER, P),
    ("Internal resistance increase of pack", f"{BC}.internalResistanceIncrease", LIFECYCLE, LI),
    ("Expected lifetime in calendar years", f"{TP}.expectedLifetime", MASTER, LI),
    ("Expected lifetime: number of charge-discharge cycles", f"{TP}.expectedNumberOfCycles", MASTER, P),
    ("Number of full charging and discharging cycles", f"{BC}.numberOfFullCycles", LIFECYCLE, LI),
    ("Cycle-life reference test", f"{TP}.lifetimeReferenceTest", MASTER, P),
    ("C-rate of relevant cycle-life test", f"{TP}.cRateLifeCycleTest", MASTER, P),
    ("Energy throughput", f"{BC}.energyThroughput", LIFECYCLE, LI),
    ("Capacity throughput", f"{BC}.capacityThroughput", LIFECYCLE, LI),
    ("Capacity threshold for exhaustion", f"{TP}.capacityThresholdForExhaustion", MASTER, P),
    ("Temperature information", f"{BC}.temperatureInformation", LIFECYCLE, LI),
    ("Temperature range idle state, lower boundary", f"{TP}.temperatureRangeIdleState", MASTER, P),
    ("Temperature range idle state, upper boundary", "summary.temperature_range_idle_c", MASTER, P),
    ("Time spent in extreme temperatures above boundary", f"{BC}.temperatureInformation", LIFECYCLE, LI),
    ("Time spent in extreme temperatures below boundary", f"{BC}.temperatureInformation", LIFECYCLE, LI),
    ("Time spent charging during extreme temperatures above boundary", f"{BC}.temperatureInformation", LIFECYCLE, LI),
    ("Time spent charging during extreme temperatures below boundary", f"{BC}.temperatureInformation", LIFECYCLE, LI),
    ("Number of deep discharge events", f"{BC}.negativeEvents", LIFECYCLE, LI),
    ("Number of overcharge events", f"{BC}.negativeEvents", LIFECYCLE, LI),
    ("Information on accidents", f"{BC}.negativeEvents", LIFECYCLE, LI),
]

ATTRIBUTES: list[Attribute] = [Attribute(i, *row) for i, row in enumerate(_ROWS, start=1)]

# Whether each attribute is mandatory (x), voluntary (o) or not applicable (-) per battery category,
# in the longlist's column order (EV, LMT, other industrial > 2 kWh, stationary > 2 kWh); attribute
# n is REQUIREMENTS[n - 1]. tests/passport/test_attributes.py checks it against the longlist.
CATEGORIES = ("ev", "lmt", "industrial", "stationary")
REQUIREMENTS = (
    "xxxx", "xxxx", "oooo", "xxxx", "xxxx", "xxxx", "-x-x", "xxxx", "xxxx", "xxxx",
    "xxxx", "xxxx", "xxxx", "oooo", "xxxx", "xxxx", "xxxx", "xxxx", "xxxx", "xxxx",
    "xxxx", "xxxx", "xxxx", "xxxx", "xxxx", "xxxx", "oooo", "xxxx", "oooo", "oooo",
    "xxxx", "xxxx", "xxxx", "xxxx", "xxxx", "xxxx", "xxxx", "xxxx", "xxxx", "xxxx",
    "xxxx", "xxxx", "xxxx", "xxxx", "xxxx", "xxxx", "xxxx", "xxxx", "xxxx", "xxxx",
    "xxxx", "xxxx", "oxox", "xxxx", "o---", "o---", "x---", "xxxx", "xxxx", "xxxx",
    "xxxx", "xxxx", "oxox", "xxxx", "xxxx", "oooo", "xxxx", "xxxx", "-x-x", "xxxx",
    "-o-o", "-o-o", "---x", "xxxx", "xxxx", "xxxx", "xxxx", "xxxx", "xxxx", "xxxx",
    "-x-x", "-x-x", "x---", "xxxx", "xxxx", "xxxx", "-xxx", "-xxx", "-xxx", "-xxx",
    "oxox", "oooo", "xxxx",
)


def requirement(number: int, category: str) -> str:
    """``mandatory``, ``voluntary`` or ``not applicable``: the longlist's requirement of attribute
    ``number`` for a battery ``category`` (ev, lmt, industrial, stationary)."""
    if category not in CATEGORIES:
        raise ValueError(f"unknown battery category {category!r}; one of {', '.join(CATEGORIES)}")
    code = REQUIREMENTS[number - 1][CATEGORIES.index(category)]
    return {"x": "mandatory", "o": "voluntary", "-": "not applicable"}[code]


def render_markdown() -> str:
    counts: dict[str, int] = {}
    for a in ATTRIBUTES:
        counts[a.level] = counts.get(a.level, 0) + 1
    lines = [
        "# Passport attributes",
        "",
        "The 93 attributes of the BatteryPass v1.2 longlist (DIN DKE SPEC 99100), where each sits in a",
        "batterytrace passport (claim path; `aspects.*` follow the BatteryPass 1.2.0 aspect schemas), where",
        "its value comes from, and who may read it, as the longlist words its access rights (Battery",
        "Regulation Art. 77(2)). Generated from `src/batterytrace/passport/attributes.py`;",
        "`tests/passport/test_attributes.py` derives each role's disclosure set from the longlist CSV",
        "itself and checks it against issued passports.",
        "",
        "## Who gets which token",
        "",
        "A reader above the public level signs in with a token the ledger operator issues",
        "(`batterytrace token --role ROLE --subject NAME`). The audiences do not nest: each role reads",
        "exactly what the longlist gives it.",
        "",
        "| reader | token role | reads, besides the public attributes |",
        "|---|---|---|",
        "| anyone scanning the label, a car buyer | none (public) | nothing more |",
        "| a repairer, a second-life operator, a sorter, dismantler or recycler (persons with a legitimate interest, Art. 77(2)(b)) | `legitimate_interest` | the attributes for *persons with a legitimate interest* (battery status and condition, putting into service, expected lifetime, self-discharge) and those for *persons with a legitimate interest and the Commission* (materials of cathode, anode and electrolyte; dismantling information; part numbers; spare-part sources; safety measures) |",
        "| the European Commission | `commission` | the attributes for *persons with a legitimate interest and the Commission* and those for *notified bodies, market surveillance authorities and the Commission* (results of test reports) |",
        "| a notified body, a market surveillance authority (Art. 77(2)(c)) | `authorities` | the attributes for *notified bodies, market surveillance authorities and the Commission* (results of test reports) |",
        "",
        "Audiences (the access column): `public`; `legitimate_interest` (persons with a legitimate",
        "interest only); `legitimate_interest+commission`; `authorities+commission` (notified bodies,",
        "market surveillance authorities and the Commission). Counts: "
        + ", ".join(f"{k} {v}" for k, v in counts.items()) + ".",
        "",
        "Sources: *ledger lineage* — computed from the pack's buckets, trace and per-lot carbon data;",
        "*lifecycle events* — signed lifecycle updates with BMS readings; *attestations* — auditor events",
        "valid at the pack's creation; *OEM master data* — the economic operator's model data sheet and",
        "documents; *issuance* — assigned when the passport is issued.",
        "",
        "In plain mode the pack's creating event, embedded as evidence and public on the log, reveals its",
        "element buckets; confidential mode (commitments instead of grams) removes that exposure: a",
        "confidential pack's passport states its recycled, certified and origin shares to 0.01 point,",
        "each proved in zero knowledge against those commitments (`evidence.zk_figures`, docs/zk.md",
        "§14), and `summary.element_g` is null; the other ledger-lineage figures are computed by the",
        "issuer from the lineage openings it holds.",
        "",
        "What a verifier re-derives (`verify_passport`, `passport/verification.py`): each figure comes back",
        "`verified` or `declared`, and a figure that differs from its re-derivation fails the passport",
        "(`FigureError` naming it). A figure is at best as good as its weakest input: one computed from a",
        "declared input is `declared`, and its source names the inputs it rests on. Re-derived from the",
        "evidence the passport carries: the bucket shares and `Circularity.recycledContent` (plain: the",
        "assembly event's buckets; confidential: the zero-knowledge proofs), `summary.element_g`,",
        "`MaterialComposition.batteryMaterials` (plain: the buckets; confidential: threshold proofs against",
        "the commitments, disclosed with the masses to the same audience as `material_proofs`),",
        "`summary.capacity_kwh`, `summary.chemistry`, `batteryChemistry.shortName`, `ratedEnergy`,",
        "`productIdentifier` (GTIN/serial) and `manufacturingDate` (the assembly event's signed time) from",
        "the assembly event, `batteryMass` (its gross mass while the pack is its assembled lot, else the",
        "ledger's lot), `passport_id` and `predecessor` from GTIN, serial and version. Re-derived only when",
        "the verifier is given the ledger (`passport verify --db`, the API always): `passport_version` (the",
        "battery's lifecycle records), the raw-material, production and distribution stages of the carbon",
        "footprint (the lineage's carbon entries) and the primary-data share of each of these stages",
        "(`summary.carbon_primary_data_percent_per_stage`: the share of the stage's kg CO2e that rests on",
        "primary data, mass-weighted over the lineage's lots; a supplier's PACT footprint counts with its",
        "own `primaryDataShare`, docs/pact.md), and the due-diligence indices and assurances (the",
        "attestations). Always `declared`, with or without the ledger: the footprint's lifetime inputs",
        "(`summary.carbon_lifetime`: usable energy, 50–100 % of the rated energy; service years, 1–100; the",
        "end-of-life estimate, 0–1000 kg CO2e/kg; only the method's 60 cycles a year is pinned) and so every",
        "figure computed from them: the end-of-life stage, the primary-data share, per kWh, the per-stage",
        "per-kWh values, the absolute footprint and the performance class. They must still be consistent",
        "(per kWh = Σ stages ÷ lifetime energy, the class from the verifier's own class bounds), so a",
        "declared footprint cannot carry a class its declared inputs do not earn. Offline, and for a",
        "confidential lineage whose grams are private, the stages and indices are `declared` too",
        "(`supplyChainIndicies` must be the weaker stated index). All other attributes (OEM master data,",
        "`batteryChemistry.clearName`, lifecycle readings) are reported `declared` by the manufacturer.",
        "Claims outside this list (another top-level or `battery` claim, another lifetime input) are",
        "refused, not ignored.",
        "",
        "## Values the BatteryPass 1.2.0 model cannot hold, and what is never recorded",
        "",
        "* `summary.*` carries what the 1.2.0 aspects have no place for: the full warranty period",
        "  (`summary.warranty_months`; `warrentyPeriod` is an xsd:gMonth, 1–12, so it says `--12` for a",
        "  warranty of 12 months or more), both bounds of the idle temperature range",
        "  (`summary.temperature_range_idle_c`; the aspect holds one number), the critical raw materials",
        "  by name for the public (`summary.critical_raw_materials`; `batteryMaterials` is restricted), the",
        "  third-party assurances found on the ledger (`summary.assurances`, besides the report URL in",
        "  `thirdPartyAussurances`) and each GBA index (`summary.due_diligence_indices`, besides the weaker",
        "  one in `supplyChainIndicies`).",
        "* Art. 8 recycled content of a material the battery holds none of (lead in a lithium-ion pack)",
        "  has no share to state: `summary.art8_not_applicable` names those materials, re-derived by the",
        "  verifier from the pack's buckets (#43, #47). A battery holding lead states its shares in",
        "  `Circularity.recycledContent`.",
        "* The date of putting into service (#7) is the time of the lifecycle event that put the battery",
        "  into service in its current life (`put_into_service: true`); before that it is left out.",
        "* Dynamic readings (performance and durability) are stated only as recorded by lifecycle events,",
        "  each dated with its record. What nobody recorded is left out and named in",
        "  `summary.not_recorded`, never stated as 0; a verifier refuses a passport that names a disclosed",
        "  attribute there. The 1.2.0 schema makes every `batteryCondition` member required, so such a",
        "  passport is schema-incomplete on purpose. Negative events (#91-#93) list the deep-discharge and",
        "  overcharge counts as last recorded and every recorded accident.",
        "",
        "The viewer shows each attribute under the label and group of `src/batterytrace/passport/labels.py`",
        "(English here; German and French in the same table).",
        "",
        "| # | attribute | viewer label | group | claim path | source | access |",
        "|---:|---|---|---|---|---|---|",
    ]
    for a in ATTRIBUTES:
        shown, group = FIELDS[a.path].labels[0], GROUPS[group_of(a.path)][0]
        lines.append(f"| {a.number} | {a.name} | {shown} | {group} | `{a.path}` | {a.source} | {a.level} |")
    return "\n".join(lines) + "\n"
