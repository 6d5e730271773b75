"""Readiness of a pack's passport before issuing it (``batterytrace passport check``).

For each of the 93 BatteryPass attributes (attributes.py): would the passport state it, and on
what ground? ``verified`` — a verifier given the ledger re-derives it (the same classification
``verify_passport`` reports, computed by its ``bind_figures`` over the claims the issuer would
sign); ``declared`` — stated by the economic operator (master data) or by the custodian's
lifecycle readings, which no verifier can re-derive; ``defaulted`` — stated, but from a default
rather than from data (an initial value before any reading, the manufacturing date for the date
of putting into service, the manufacturer standing in for a spare-part supplier); ``missing`` —
absent or empty. Whether an attribute is mandatory comes from the longlist for the battery's
category. Nothing is signed and nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from batterytrace.errors import BatterytraceError
from batterytrace.ledger.ledger import Ledger
from batterytrace.model.identifiers import passport_id_for, passport_version
from batterytrace.passport.aspects import (
    PackFacts,
    carbon_footprint_aspect,
    circularity,
    gather_facts,
    general_product_information,
    labeling,
    material_composition,
    performance,
    supply_chain_due_diligence,
)
from batterytrace.passport.attributes import ATTRIBUTES, CATEGORIES, Attribute, requirement
from batterytrace.passport.issue import _assembled, _summary
from batterytrace.passport.master import PackMasterData
from batterytrace.passport.verification import FigureResult, bind_figures
from batterytrace.timeutil import format_time

__all__ = ["STATUSES", "AttributeReadiness", "ReadinessReport", "check_readiness"]

STATUSES = ("verified", "declared", "defaulted", "missing")

# the lifecycle reading(s) each dynamic attribute is computed from (ledger/rules_registry.py
# BMS_FIELDS, or a lifecycle record's own field); without one the passport states an initial value
_READINGS: dict[int, tuple[str, ...]] = {
    53: ("remaining_capacity_ah", "soh_percent"), 54: ("capacity_fade_percent", "soh_percent"),
    56: ("remaining_energy_kwh", "soh_percent"), 57: ("state_of_certified_energy_percent", "soh_percent"),
    58: ("state_of_charge_percent",), 63: ("power_fade_percent",), 64: ("power_fade_percent",),
    69: ("remaining_round_trip_efficiency_percent",), 70: ("round_trip_efficiency_fade_percent",),
    72: ("current_self_discharge_rate_percent_per_month",), 73: ("current_self_discharge_rate_percent_per_month",),
    75: ("internal_resistance_increase_percent",), 78: ("cycles",), 81: ("energy_throughput_kwh",),
    82: ("capacity_throughput_ah",), 84: ("time_extreme_high_temp_h", "time_extreme_low_temp_h"),
    87: ("time_extreme_high_temp_h",), 88: ("time_extreme_low_temp_h",),
    89: ("time_extreme_high_temp_charging_h",), 90: ("time_extreme_low_temp_charging_h",),
    91: ("deep_discharge_events",), 92: ("overcharge_events",),
}
# attributes stated as one label of Labeling.labels: the BatteryPass labelingSubject that carries it
_LABELS = {12: "SeparateCollection", 13: "HazardousMaterial", 14: "CarbonFootPrint", 15: "ExtinguishingAgent"}
# recycled-content attributes: (element, pre- or post-consumer)
_RECYCLED = {40 + i: (el, stage) for i, (stage, el) in enumerate(
    (s, e) for s in ("preConsumerShare", "postConsumerShare") for e in ("Nickel", "Cobalt", "Lithium", "Lead"))}


@dataclass(frozen=True)
class AttributeReadiness:
    number: int
    name: str
    path: str
    level: str  # who may read it
    requirement: str  # mandatory | voluntary | not applicable (for this battery's category)
    status: str  # verified | declared | defaulted | missing
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class ReadinessReport:
    gtin: str
    serial: str
    lot_id: str
    category: str
    attributes: tuple[AttributeReadiness, ...]

    @property
    def missing_mandatory(self) -> list[AttributeReadiness]:
        return [a for a in self.attributes if a.status == "missing" and a.requirement == "mandatory"]

    @property
    def ready(self) -> bool:
        return not self.missing_mandatory

    def counts(self) -> dict[str, int]:
        return {s: sum(a.status == s for a in self.attributes) for s in STATUSES}

    def to_dict(self) -> dict[str, Any]:
        return {"gtin": self.gtin, "serial": self.serial, "lot": self.lot_id, "category": self.category,
                "ready": self.ready, "counts": self.counts(),
                "missing_mandatory": [a.number for a in self.missing_mandatory],
                "attributes": [a.to_dict() for a in self.attributes]}


def _get(claims: dict[str, Any], path: str) -> Any:
    node: Any = claims
    for part in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _empty(value: Any) -> bool:
    if value is None or value == "" or value == [] or value == {}:
        return True
    if isinstance(value, dict):
        return all(_empty(v) for v in value.values())
    if isinstance(value, list):
        return all(_empty(v) for v in value)
    return False


def _figure_status(path: str, figures: list[FigureResult]) -> str | None:
    """verified when every figure a verifier binds at or below (or above) ``path`` is verified."""
    related = [f for f in figures if f.name == path or f.name.startswith(path + ".") or path.startswith(f.name + ".")]
    if not related:
        return None
    return "verified" if all(f.status == "verified" for f in related) else "declared"


def _build(f: PackFacts, m: PackMasterData, pid: str, made_at: int) -> tuple[dict[str, Any], dict[str, str]]:
    """The aspects the issuer would sign, each built on its own: one that cannot be built (no
    technical data sheet, no state-of-charge reading) is reported, not fatal."""
    builders: dict[str, Callable[[], dict[str, Any]]] = {
        "GeneralProductInformation": lambda: {**general_product_information(f, m, pid),
                                              "manufacturingDate": format_time(made_at)},
        "CarbonFootprintForBatteries": lambda: carbon_footprint_aspect(f, m),
        "Circularity": lambda: circularity(f, m),
        "MaterialComposition": lambda: material_composition(f, m),
        "SupplyChainDueDiligence": lambda: supply_chain_due_diligence(f, m),
        "PerformanceAndDurability": lambda: performance(f, m),
        "Labeling": lambda: labeling(f, m),
    }
    built: dict[str, Any] = {}
    failed: dict[str, str] = {}
    for name, build in builders.items():
        try:
            built[name] = build()
        except BatterytraceError as exc:
            failed[name] = str(exc)
    return built, failed


def check_readiness(ledger: Ledger, pack_id: str, master: PackMasterData) -> ReadinessReport:
    """The readiness of the passport of pack ``pack_id`` with ``master`` data. Raises
    ``BatterytraceError`` when no passport can be issued at all (not a current serialised pack,
    a recycled battery, a confidential pack — its figures need the lineage openings —, an unknown
    battery category)."""
    if master.category not in CATEGORIES:
        raise BatterytraceError(f"master data: unknown battery category {master.category!r}; one of "
                                f"{', '.join(CATEGORIES)}")
    lot = ledger.store.get_lot(pack_id)
    if lot is not None and lot.confidential:
        raise BatterytraceError(f"pack {pack_id} is confidential: passport check does not open its lineage "
                                "(issue it with passport issue --openings)")
    f = gather_facts(ledger.store, pack_id, master)
    assert f.lot.gtin is not None and f.lot.serial is not None
    history = f.lot.extra.get("lifecycle", [])
    version = passport_version(history)
    pid = passport_id_for(f.lot.gtin, f.lot.serial, version)
    assembled = _assembled(ledger, f)
    found = ledger.event_by_hash(assembled.event)
    if found is None or found[1].kind != "aggregate":
        raise BatterytraceError(f"the aggregation that assembled {assembled.lot_id} is not in the log")
    event = found[1]
    built, failed = _build(f, master, pid, assembled.created_at)
    claims: dict[str, Any] = {
        "passport_id": pid, "passport_version": version,
        "battery": {"gtin": f.lot.gtin, "serial": f.lot.serial, "lot": f.lot.lot_id},
        "aspects": built, "summary": _summary(f, master),
    }
    if version > 1:
        claims["predecessor"] = passport_id_for(f.lot.gtin, f.lot.serial, version - 1)
    outputs = event.body.get("outputs")
    out = outputs[0] if isinstance(outputs, list) and outputs and isinstance(outputs[0], dict) else {}
    figures = bind_figures(claims, out, event.hash_hex, ledger=ledger, assembled_at=event.body.get("time"))
    readings: dict[str, Any] = {}
    for record in history:
        readings.update({k: v for k, v in record.items() if k not in ("event", "time", "status", "bms")})
        readings.update(record.get("bms", {}))
    rows = tuple(_assess(a, claims, failed, figures, readings, master, bool(history)) for a in ATTRIBUTES)
    return ReadinessReport(f.lot.gtin, f.lot.serial, f.lot.lot_id, master.category, rows)


def _assess(a: Attribute, claims: dict[str, Any], failed: dict[str, str], figures: list[FigureResult],
            readings: dict[str, Any], m: PackMasterData, has_history: bool) -> AttributeReadiness:
    def row(status: str, detail: str) -> AttributeReadiness:
        return AttributeReadiness(a.number, a.name, a.path, a.level, requirement(a.number, m.category), status, detail)

    aspect = a.path.split(".")[1] if a.path.startswith("aspects.") else None
    if aspect in failed:
        return row("missing", f"{aspect} cannot be built: {failed[aspect]}")
    value = _get(claims, a.path)
    if a.number in _LABELS:
        subject = _LABELS[a.number]
        labels = value if isinstance(value, list) else []
        if not any(isinstance(x, dict) and x.get("labelingSubject") == subject for x in labels):
            return row("missing", f"no {subject} label in the master data (technical.labels)")
        return row("declared", f"the {subject} label of the master data")
    if a.number == 16 and (not value or any(not (x.get("labelingMeaning") or {}).get("en") for x in value)):
        return row("missing", "a label without its meaning in the master data (technical.labels)")
    if a.number in _RECYCLED:
        element, stage = _RECYCLED[a.number]
        symbol = {"Nickel": "Ni", "Cobalt": "Co", "Lithium": "Li", "Lead": "Pb"}[element]
        if symbol in (_get(claims, "summary.art8_not_applicable") or []):
            return row("verified", f"not applicable: the pack holds no {element.lower()} (re-derived from its buckets, "
                       "summary.art8_not_applicable)")
        recycled = _get(claims, "aspects.Circularity.recycledContent")
        entry = next((x for x in recycled or [] if isinstance(x, dict) and x.get("recycledMaterial") == element), None)
        if entry is None:
            return row("missing", f"no recycled {element.lower()} share is stated")
        return row("verified", f"{stage} {entry[stage]} %, re-derived from the pack's buckets")
    if a.number in (91, 92, 93):
        return _negative_event(a.number, readings, row)
    if a.number == 7 and value is None:
        return row("missing", "no lifecycle event puts the battery into service (put_into_service) in its current life")
    if a.number in _READINGS and not any(n in readings for n in _READINGS[a.number]):
        return row("missing", f"no {' / '.join(_READINGS[a.number])} reading recorded: left out (summary.not_recorded), "
                   "never stated as 0")
    if _empty(value):
        return row("missing", "absent" if value is None else "empty")
    if a.number in _READINGS:
        names = _READINGS[a.number]
        return row("declared", f"lifecycle reading {' / '.join(n for n in names if n in readings)}")
    if a.number == 7:
        return row("declared", "the time of the lifecycle event that put the battery into service")
    if a.number == 37 and not m.spare_parts:
        return row("missing", "no spare parts (part name, part number) in the master data")
    if a.number == 38 and m.spare_part_supplier is None:
        return row("defaulted", "no spare-part supplier in the master data: the manufacturer is stated")
    if a.number == 11 and not has_history:
        return row("defaulted", "no lifecycle event recorded: Original is stated")
    if a.number == 48 and m.renewable_content_percent == 0.0:
        return row("defaulted", "renewable_content_percent not given in the master data: 0 % is stated")
    status = _figure_status(a.path, figures) or "declared"
    source = {"verified": "re-derived by a verifier from the ledger", "declared": f"stated from {a.source}"}[status]
    return row(status, source)


def _negative_event(number: int, readings: dict[str, Any],
                    row: Callable[[str, str], AttributeReadiness]) -> AttributeReadiness:
    if number == 93:
        if "accident" in readings:
            return row("declared", "accidents recorded by lifecycle events")
        if readings:
            return row("declared", "no accident recorded by the battery's lifecycle events: the passport lists none")
        return row("missing", "no lifecycle event recorded for this battery")
    name = "deep_discharge_events" if number == 91 else "overcharge_events"
    if name not in readings:
        return row("missing", f"no {name} reading recorded: left out (summary.not_recorded), never stated as 0")
    return row("declared", f"lifecycle reading {name}")
