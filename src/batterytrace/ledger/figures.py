"""Passport figures computed from a pack's lineage: carbon footprint per lifecycle stage (Art. 7),
recycled content against the Art. 8 targets, origin mix, certified share, and due-diligence indices.

Nothing here is typed in: every figure is derived from lot buckets, per-lot carbon intensities and
attestations recorded on the ledger. Footprints allocate each contributing lot's intensities by the
share of its contained metal that ended up in the pack (mass allocation, as the trace does).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from batterytrace.errors import BatterytraceError
from batterytrace.ledger.trace import BackwardTrace
from batterytrace.model.buckets import element_totals, parse_bucket_key
from batterytrace.model.entities import Attestation
from batterytrace.storage.base import Store

__all__ = [
    "ART8_TARGETS_PERCENT",
    "DEFAULT_PERFORMANCE_CLASSES",
    "LIFECYCLE_STAGES",
    "CarbonFootprint",
    "DueDiligence",
    "MaterialFigures",
    "carbon_footprint",
    "due_diligence",
    "material_figures",
]

# Ledger carbon stages → the lifecycle stages of the Commission's carbon-footprint method.
LIFECYCLE_STAGES: dict[str, str] = {
    "raw_material": "raw material acquisition and pre-processing",
    "production": "main product production",
    "distribution": "distribution",
    "end_of_life": "end of life and recycling",
}

# Regulation (EU) 2023/1542 Art. 8(2): minimum recycled content from 18 Aug 2031 and 18 Aug 2036.
ART8_TARGETS_PERCENT: dict[str, dict[str, float]] = {
    "Co": {"2031": 16.0, "2036": 26.0},
    "Pb": {"2031": 85.0, "2036": 85.0},
    "Li": {"2031": 6.0, "2036": 12.0},
    "Ni": {"2031": 6.0, "2036": 15.0},
}

# Upper bounds in kg CO2e per kWh of lifetime energy, best class first. The delegated act that fixes
# the classes is not adopted; these are configuration, not law.
DEFAULT_PERFORMANCE_CLASSES: tuple[tuple[str, float], ...] = (
    ("A", 0.08), ("B", 0.12), ("C", 0.16), ("D", 0.20), ("E", float("inf")),
)


@dataclass(frozen=True)
class CarbonFootprint:
    per_stage_kgco2e: dict[str, float]
    total_kgco2e: float
    lifetime_energy_kwh: float
    per_stage_kgco2e_per_kwh: dict[str, float]
    total_kgco2e_per_kwh: float
    primary_data_share_percent: float
    performance_class: str
    contributing_lots: int
    # stage → % of that stage's kg CO2e that rests on primary data (mass-weighted over the lots)
    primary_data_share_percent_per_stage: dict[str, float] = field(default_factory=dict)


def carbon_footprint(
    trace: BackwardTrace,
    usable_energy_kwh: float,
    service_years: float,
    cycles_per_year: float = 60.0,
    end_of_life_kgco2e_per_kg: float | None = None,
    classes: tuple[tuple[str, float], ...] = DEFAULT_PERFORMANCE_CLASSES,
) -> CarbonFootprint:
    """Footprint of the traced lot. ``end_of_life_kgco2e_per_kg`` is the manufacturer's estimate for
    the pack's own end of life (secondary data, applied to the pack's gross mass)."""
    if usable_energy_kwh <= 0 or service_years <= 0 or cycles_per_year <= 0:
        raise BatterytraceError("lifetime energy needs positive usable energy, service years and cycles per year")
    per_stage = dict.fromkeys(LIFECYCLE_STAGES, 0.0)
    primary_per_stage = dict.fromkeys(LIFECYCLE_STAGES, 0.0)
    lots = trace.lots
    counted = _outside_supplier_footprints(trace)
    for lot_id, grams in trace.attributed_g.items():
        if not grams or lot_id not in counted:
            continue
        lot = lots[lot_id]
        carbon = lot.carbon
        if not carbon:
            continue
        contained = sum(lot.buckets.values())
        if not contained:
            continue
        attributed_kg = lot.gross_mass_g / 1000 * min(1.0, grams / contained)
        for entry in carbon:
            kg = float(entry["kgco2e_per_kg"]) * attributed_kg
            per_stage[str(entry["stage"])] += kg
            primary_per_stage[str(entry["stage"])] += kg * _primary_fraction(entry)
    if end_of_life_kgco2e_per_kg is not None:
        per_stage["end_of_life"] += end_of_life_kgco2e_per_kg * trace.lot.gross_mass_g / 1000
    total = sum(per_stage.values())
    primary = sum(primary_per_stage.values())
    energy = usable_energy_kwh * cycles_per_year * service_years
    per_kwh = total / energy
    label = next(name for name, bound in classes if per_kwh <= bound)
    return CarbonFootprint(
        per_stage_kgco2e={LIFECYCLE_STAGES[k]: round(v, 3) for k, v in per_stage.items()},
        total_kgco2e=round(total, 3),
        lifetime_energy_kwh=energy,
        per_stage_kgco2e_per_kwh={LIFECYCLE_STAGES[k]: v / energy for k, v in per_stage.items()},
        total_kgco2e_per_kwh=per_kwh,
        primary_data_share_percent=100.0 * primary / total if total else 0.0,
        performance_class=label,
        contributing_lots=len(trace.attributed_g),
        primary_data_share_percent_per_stage={
            LIFECYCLE_STAGES[k]: round(100.0 * primary_per_stage[k] / v, 2) if v else 0.0 for k, v in per_stage.items()
        },
    )


def _outside_supplier_footprints(trace: BackwardTrace) -> set[str]:
    """The lineage's lots whose carbon entries count: all but those reached only through a lot
    carrying a supplier's PACT footprint. A PCF is cradle-to-gate, so the lots upstream of it
    are inside it; a lot that also reaches the traced lot by another path still counts in full
    (never under-reported)."""
    counted: set[str] = set()
    frontier = [trace.lot.lot_id]
    while frontier:
        lot_id = frontier.pop()
        if lot_id in counted or lot_id not in trace.lots:
            continue
        counted.add(lot_id)
        if any("pact" in entry for entry in trace.lots[lot_id].carbon):
            continue
        frontier.extend(trace.made_from.get(lot_id, ()))
    return counted


def _primary_fraction(entry: Mapping[str, object]) -> float:
    """The share of a carbon entry's kg CO2e that rests on primary data: its
    ``primary_data_share_percent`` (a supplier's PCF states one), else all or nothing by ``primary``."""
    share = entry.get("primary_data_share_percent")
    if isinstance(share, int | float) and not isinstance(share, bool):
        return float(share) / 100.0
    return 1.0 if entry.get("primary") else 0.0


@dataclass(frozen=True)
class MaterialFigures:
    element_g: dict[str, int]
    # element → {"pre": %, "post": %, "total": %} of that element's mass
    recycled_percent: dict[str, dict[str, float]]
    # element → {"2031": {"target": %, "met": bool}, "2036": ...} for the Art. 8 elements present
    art8: dict[str, dict[str, dict[str, float | bool]]]
    # element → country → % of the element's primary (mined) mass
    origin_mix_percent: dict[str, dict[str, float]]
    certified_percent: dict[str, float]  # element → % of the whole element mass


def material_figures(buckets: Mapping[str, int]) -> MaterialFigures:
    totals = element_totals(buckets)
    rec: dict[str, dict[str, float]] = {}
    origin: dict[str, dict[str, float]] = {}
    cert: dict[str, float] = {}
    mined: dict[str, int] = {}
    for key, grams in sorted(buckets.items()):  # sorted: the same figures whatever the key order
        k = parse_bucket_key(key)
        total = totals[k.element]
        if not total:
            continue
        r = rec.setdefault(k.element, {"pre": 0.0, "post": 0.0, "total": 0.0})
        if k.recycled:
            part = "pre" if k.origin == "recycled-pre" else "post"
            r[part] += 100.0 * grams / total
            r["total"] += 100.0 * grams / total
        else:
            mined[k.element] = mined.get(k.element, 0) + grams
            o = origin.setdefault(k.element, {})
            o[k.country] = o.get(k.country, 0.0) + grams
        if k.origin == "certified":
            cert[k.element] = cert.get(k.element, 0.0) + 100.0 * grams / total
    for el, countries in list(origin.items()):
        if mined[el]:
            origin[el] = {c: 100.0 * g / mined[el] for c, g in sorted(countries.items())}
        else:  # only empty mined buckets: no origin mix to state
            del origin[el]
    art8: dict[str, dict[str, dict[str, float | bool]]] = {}
    for el, targets in ART8_TARGETS_PERCENT.items():
        if el in totals:
            share = rec.get(el, {}).get("total", 0.0)
            art8[el] = {year: {"target": t, "met": share >= t} for year, t in targets.items()}
    return MaterialFigures(
        element_g=dict(sorted(totals.items())),
        recycled_percent=rec,
        art8=art8,
        origin_mix_percent=origin,
        certified_percent={el: cert.get(el, 0.0) for el in totals},
    )


@dataclass(frozen=True)
class IndexScore:
    scheme: str
    score: float  # mass-weighted over the covered mines, 0–100
    coverage_percent: float  # share of the mined element mass whose mine holds a valid index
    questions_answered: int
    questions_total: int
    companies_covered: int


@dataclass(frozen=True)
class DueDiligence:
    element: str
    indices: dict[str, IndexScore]
    assurances: list[dict[str, object]] = field(default_factory=list)  # scheme, level, site, validity


INDEX_SCHEMES = ("GBA-ChildLabour", "GBA-HumanRights")


def due_diligence(store: Store, trace: BackwardTrace, element: str = "Co") -> DueDiligence:
    """GBA indices and third-party assurances of the mines that supplied ``element``, weighted by
    the grams each mine contributed and evaluated at the traced lot's creation time."""
    at = trace.lot.created_at
    weights: dict[str, float] = {}
    for site, buckets in trace.origins.items():
        grams = sum(g for key, g in buckets.items()
                    if parse_bucket_key(key).element == element and not parse_bucket_key(key).recycled)
        if grams > 0:
            weights[site] = grams
    total = sum(weights.values())
    valid: dict[str, list[Attestation]] = {
        site: [a for a in store.attestations_for(site) if a.valid_at(at)] for site in weights
    }
    indices: dict[str, IndexScore] = {}
    for scheme in INDEX_SCHEMES:
        covered = 0.0
        weighted = 0.0
        answered = asked = companies = 0
        for site, w in weights.items():
            found = [a for a in valid[site] if a.scheme == scheme and a.score is not None]
            if not found:
                continue
            a = max(found, key=lambda x: x.issued_at)
            assert a.score is not None
            covered += w
            weighted += w * a.score
            answered += a.questions_answered or 0
            asked += a.questions_total or 0
            companies += a.companies_covered or 0
        if covered:
            indices[scheme] = IndexScore(scheme, weighted / covered, 100.0 * covered / total,
                                         answered, asked, companies)
    assurances: list[dict[str, object]] = [
        {"scheme": a.scheme, "level": a.level, "site": site, "valid_from": a.valid_from,
         "valid_until": a.valid_until, "auditor": a.auditor, "attestation": a.attestation_id}
        for site in sorted(valid) for a in valid[site] if a.scheme not in INDEX_SCHEMES
    ]
    return DueDiligence(element, indices, assurances)
