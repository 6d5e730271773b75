"""What ``verify_passport`` established, check by check and figure by figure, and the binding of
every figure a passport states that is not a bucket share (those are checked in issue.py and
zk_figures.py).

Each figure ends in one of three states:

* ``verified``: re-derived by the verifier from signed evidence (the pack's assembly event in the
  passport, or the ledger the verifier was given) and found equal;
* ``declared``: the issuer's statement, which no evidence the verifier holds can confirm (master
  data such as nominal voltage or warranty; the lineage figures of an offline check). Derived
  figures are still checked for consistency with each other and with the verifier's pinned
  constants, so a declared footprint cannot carry a class it does not earn;
* ``failed``: re-derived and found different. A failed figure never comes back in a result:
  ``verify_passport`` raises ``FigureError`` (a ``VerificationError``) naming it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from batterytrace.errors import VerificationError
from batterytrace.ledger.figures import (
    DEFAULT_PERFORMANCE_CLASSES,
    LIFECYCLE_STAGES,
    carbon_footprint,
    due_diligence,
)
from batterytrace.ledger.ledger import Ledger
from batterytrace.ledger.trace import BackwardTrace, trace_backward
from batterytrace.model.buckets import element_totals, parse_bucket_key
from batterytrace.model.entities import Lot, lot_id
from batterytrace.passport.zk_figures import verify_material_masses

__all__ = [
    "CARBON_CYCLES_PER_YEAR",
    "CheckResult",
    "CheckStatus",
    "FigureError",
    "FigureResult",
    "FigureStatus",
    "PassportVerification",
    "bind_figures",
]

FigureStatus = Literal["verified", "declared", "failed"]
CheckStatus = Literal["passed", "failed", "absent", "not checked"]
# Lifetime energy = usable energy × cycles per year × service years; the cycles are fixed by the
# footprint method for the category (60 a year for an electric vehicle), not chosen by the issuer.
CARBON_CYCLES_PER_YEAR = 60.0
_STAGE_ENUM = {  # BatteryPass lifecycleStage values, in LIFECYCLE_STAGES order
    "raw material acquisition and pre-processing": "RawMaterialExtraction",
    "main product production": "MainProduction",
    "distribution": "Distribution",
    "end of life and recycling": "Recycling",
}
_MATERIALS = {"Cobalt": "Co", "Nickel": "Ni", "Lithium": "Li", "Manganese": "Mn", "Lead": "Pb"}
DECLARED = "declared by the manufacturer (master data no evidence binds)"
_READINGS = "declared by the manufacturer (its latest lifecycle readings, not carried as evidence)"


@dataclass(frozen=True)
class CheckResult:
    """One link of the verification chain (issuer signature, inclusion proof, anchor...)."""

    name: str
    status: CheckStatus
    detail: str


@dataclass(frozen=True)
class FigureResult:
    """One stated figure, named by its claim path (``summary.carbon_kgco2e_per_kwh``,
    ``aspects.GeneralProductInformation.batteryMass``), and what it was checked against."""

    name: str
    status: FigureStatus
    source: str


@dataclass(frozen=True)
class PassportVerification:
    """The result of a successful ``verify_passport``: the disclosed claims, the checks that
    passed, and every figure with its status (never ``failed``: that raises)."""

    claims: dict[str, Any]
    checks: tuple[CheckResult, ...]
    figures: tuple[FigureResult, ...]

    def figure(self, name: str) -> FigureResult:
        for f in self.figures:
            if f.name == name:
                return f
        raise KeyError(name)

    def by_status(self, status: FigureStatus) -> list[FigureResult]:
        return [f for f in self.figures if f.status == status]

    def to_dict(self) -> dict[str, Any]:
        return {"checks": [c.__dict__ for c in self.checks], "figures": [f.__dict__ for f in self.figures]}


class FigureError(VerificationError):
    """A stated figure differs from the one the verifier re-derived. ``figure`` names it."""

    def __init__(self, figure: str, message: str) -> None:
        super().__init__(f"{figure}: {message}")
        self.figure = figure


def _num(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise FigureError(name, f"{value!r} is not a number")
    return float(value)


def _near(claimed: Any, value: float, tol: float, name: str, source: str) -> None:
    got = _num(claimed, name)
    if abs(got - value) > tol + 1e-9 * abs(value):
        raise FigureError(name, f"states {got!r}, {source} gives {value!r}")


def _get(tree: Any, *path: str) -> Any:
    for name in path:
        tree = tree.get(name) if isinstance(tree, dict) else None
    return tree


def class_for(per_kwh: float, classes: tuple[tuple[str, float], ...]) -> str:
    return next(name for name, bound in classes if per_kwh <= bound)


@dataclass
class _Binder:
    claims: dict[str, Any]
    out: dict[str, Any]  # the pack's output in its signed assembly event
    event_hash: str
    ledger: Ledger | None
    classes: tuple[tuple[str, float], ...]
    cycles_per_year: float
    figures: list[FigureResult]
    _trace: BackwardTrace | None = None

    @property
    def summary(self) -> dict[str, Any]:
        s = self.claims.get("summary")
        return s if isinstance(s, dict) else {}

    @property
    def confidential(self) -> bool:
        return "commitments" in self.out

    def aspect(self, *path: str) -> Any:
        return _get(self.claims.get("aspects"), *path)

    def add(self, name: str, status: FigureStatus, source: str) -> None:
        self.figures.append(FigureResult(name, status, source))

    # -- the lot the passport describes, from the ledger when one is given ---------------------
    def lot(self) -> Lot | None:
        if self.ledger is None:
            return None
        battery = self.claims.get("battery")
        battery = battery if isinstance(battery, dict) else {}
        ref = battery.get("lot")
        lot = self.ledger.store.get_lot(ref) if isinstance(ref, str) else None
        if lot is None or (lot.gtin, lot.serial) != (battery.get("gtin"), battery.get("serial")):
            raise FigureError("battery.lot", f"{ref!r} is not a lot of this battery on the given ledger")
        return lot

    def trace(self, lot: Lot) -> BackwardTrace:
        assert self.ledger is not None
        if self._trace is None:
            self._trace = trace_backward(self.ledger.store, lot.lot_id)
        return self._trace

    # -- product data of the assembly event ------------------------------------------------------
    def product(self, lot: Lot | None) -> None:
        source = "the pack's signed assembly event"
        for name in ("capacity_kwh", "chemistry"):
            stated = self.summary.get(name)
            if stated != self.out.get(name):
                raise FigureError(f"summary.{name}", f"states {stated!r}, {source} says {self.out.get(name)!r}")
            self.add(f"summary.{name}", "verified", source)
        rated = self.aspect("PerformanceAndDurability", "batteryTechicalProperties", "ratedEnergy")
        if rated is not None:
            _near(rated, _num(self.out.get("capacity_kwh"), "summary.capacity_kwh"), 0, "aspects.PerformanceAndDurability."
                  "batteryTechicalProperties.ratedEnergy", source)
            self.add("aspects.PerformanceAndDurability.batteryTechicalProperties.ratedEnergy", "verified", source)
        name = "aspects.GeneralProductInformation.batteryMass"
        mass = self.aspect("GeneralProductInformation", "batteryMass")
        battery = self.claims.get("battery")
        if lot is not None:
            _near(mass, round(lot.gross_mass_g / 1000, 3), 0, name, "the pack's lot on the ledger")
            self.add(name, "verified", "the pack's lot on the ledger (gross mass)")
        elif isinstance(battery, dict) and battery.get("lot") == lot_id(self.event_hash, 0):
            _near(mass, round(_num(self.out.get("gross_mass_g"), name) / 1000, 3), 0, name, source)
            self.add(name, "verified", source + " (gross mass)")
        else:  # the pack was weighed again at a receipt after its assembly
            _num(mass, name)
            self.add(name, "declared", "the pack's current lot postdates its assembly event: verify with the ledger")

    # -- material masses -------------------------------------------------------------------------
    def materials(self) -> None:
        listed = self.aspect("MaterialComposition", "batteryMaterials")
        if listed is None:
            return  # not disclosed at this level
        name = "aspects.MaterialComposition.batteryMaterials"
        if not isinstance(listed, list) or not all(isinstance(m, dict) for m in listed):
            raise FigureError(name, "is not a list of materials")
        stated: dict[str, float] = {}
        for m in listed:
            el = _MATERIALS.get(str(m.get("batteryMaterialName")))
            if el is None or el in stated:
                raise FigureError(name, f"names an unknown or repeated material {m.get('batteryMaterialName')!r}")
            stated[el] = _num(m.get("batteryMaterialMass"), f"{name}.{el}")
        if self.confidential:
            commitments = self.out["commitments"]
            held = {parse_bucket_key(k).element for k in commitments if isinstance(k, str)} & set(_MATERIALS.values())
            grams = {el: round(kg * 1000) for el, kg in stated.items()}
            if stated.keys() != held or any(abs(kg * 1000 - grams[el]) > 1e-6 for el, kg in stated.items()):
                raise FigureError(name, f"lists {sorted(stated)} in kg to the gram; the pack's commitments hold {sorted(held)}")
            try:
                verify_material_masses(commitments, grams, self.claims.get("material_proofs"), self.event_hash,
                                       str(self.claims.get("passport_id")))
            except VerificationError as exc:
                raise FigureError(name, f"the masses are not those of the pack's commitments: {exc}") from exc
            self.add(name, "verified", "proved against the pack's commitments (zero-knowledge threshold proofs)")
            return
        totals = element_totals(self.out["buckets"])
        expected = {el: g / 1000 for el, g in totals.items() if el in _MATERIALS.values()}
        if stated.keys() != expected.keys():
            raise FigureError(name, f"lists {sorted(stated)}, the pack's buckets hold {sorted(expected)}")
        for el, kg in expected.items():
            _near(stated[el], kg, 1e-9, f"{name}.{el}", "the pack's buckets")
        self.add(name, "verified", "the pack's buckets in its signed assembly event")

    # -- carbon footprint ------------------------------------------------------------------------
    def carbon(self, lot: Lot | None) -> None:
        s = self.summary
        inputs = s.get("carbon_lifetime")
        if not isinstance(inputs, dict):
            raise FigureError("summary.carbon_lifetime", "the passport states no lifetime energy for its footprint")
        usable = _num(inputs.get("usable_energy_kwh"), "summary.carbon_lifetime.usable_energy_kwh")
        years = _num(inputs.get("service_years"), "summary.carbon_lifetime.service_years")
        cycles = _num(inputs.get("cycles_per_year"), "summary.carbon_lifetime.cycles_per_year")
        eol = _num(inputs.get("end_of_life_kgco2e_per_kg"), "summary.carbon_lifetime.end_of_life_kgco2e_per_kg")
        capacity = _num(self.out.get("capacity_kwh"), "summary.capacity_kwh")
        if cycles != self.cycles_per_year:
            raise FigureError("summary.carbon_lifetime.cycles_per_year",
                              f"states {cycles!r}; the footprint method fixes {self.cycles_per_year!r}")
        if not 0 < usable <= capacity:
            raise FigureError("summary.carbon_lifetime.usable_energy_kwh",
                              f"{usable!r} kWh is not within the pack's rated {capacity!r} kWh")
        if not 0 < years <= 100 or eol < 0:
            raise FigureError("summary.carbon_lifetime", "service years or end-of-life estimate out of range")
        for part in ("usable_energy_kwh", "service_years", "end_of_life_kgco2e_per_kg"):
            self.add(f"summary.carbon_lifetime.{part}", "declared", DECLARED)
        self.add("summary.carbon_lifetime.cycles_per_year", "verified", "the footprint method (pinned by the verifier)")
        energy = usable * cycles * years
        stages = s.get("carbon_kgco2e_per_stage")
        if not isinstance(stages, dict) or set(stages) != set(LIFECYCLE_STAGES.values()):
            raise FigureError("summary.carbon_kgco2e_per_stage", f"must state the stages {sorted(LIFECYCLE_STAGES.values())}")
        kg = {k: _num(v, f"summary.carbon_kgco2e_per_stage.{k}") for k, v in stages.items()}
        if any(v < 0 for v in kg.values()):
            raise FigureError("summary.carbon_kgco2e_per_stage", "a stage emits less than nothing")
        status, source = self._carbon_from_ledger(lot, kg, usable, years, eol)
        total = sum(kg.values())
        per_kwh = total / energy
        slack = 0.0005 * len(kg) / energy + 1e-6  # per-stage kg are stated to 3 decimals, per kWh to 6
        _near(s.get("carbon_kgco2e_per_kwh"), per_kwh, slack, "summary.carbon_kgco2e_per_kwh",
              "the stated stages over the lifetime energy")
        _near(self.aspect("CarbonFootprintForBatteries", "batteryCarbonFootprint"), per_kwh, slack,
              "aspects.CarbonFootprintForBatteries.batteryCarbonFootprint", "the stated stages over the lifetime energy")
        _near(self.aspect("CarbonFootprintForBatteries", "absoluteCarbonFootprint"), total, 0.0005 * (len(kg) + 1),
              "aspects.CarbonFootprintForBatteries.absoluteCarbonFootprint", "the sum of the stated stages")
        listed = self.aspect("CarbonFootprintForBatteries", "carbonFootprintPerLifecycleStage")
        name = "aspects.CarbonFootprintForBatteries.carbonFootprintPerLifecycleStage"
        if not isinstance(listed, list) or [_get(x, "lifecycleStage") for x in listed] != list(_STAGE_ENUM.values()):
            raise FigureError(name, f"must list the stages {list(_STAGE_ENUM.values())} in order")
        for entry, stage in zip(listed, _STAGE_ENUM, strict=True):
            _near(entry.get("carbonFootprint"), kg[stage] / energy, slack, f"{name}.{_STAGE_ENUM[stage]}",
                  "the stated stage over the lifetime energy")
        allowed = {class_for(max(0.0, per_kwh - slack), self.classes), class_for(per_kwh + slack, self.classes)}
        for where, value in (("summary.carbon_performance_class", s.get("carbon_performance_class")),
                             ("aspects.CarbonFootprintForBatteries.carbonFootprintPerformanceClass",
                              self.aspect("CarbonFootprintForBatteries", "carbonFootprintPerformanceClass"))):
            if value not in allowed:
                raise FigureError(where, f"states class {value!r}; {per_kwh:.6f} kg CO2e/kWh is class "
                                  f"{' or '.join(sorted(allowed))} under the verifier's class bounds")
        for where in ("summary.carbon_kgco2e_per_stage", "summary.carbon_kgco2e_per_kwh",
                      "summary.carbon_performance_class", "aspects.CarbonFootprintForBatteries.batteryCarbonFootprint",
                      "aspects.CarbonFootprintForBatteries.absoluteCarbonFootprint", name,
                      "aspects.CarbonFootprintForBatteries.carbonFootprintPerformanceClass"):
            self.add(where, status, source)

    def _carbon_from_ledger(self, lot: Lot | None, kg: dict[str, float], usable: float, years: float,
                            eol: float) -> tuple[FigureStatus, str]:
        primary = "summary.carbon_primary_data_percent"
        if lot is None or self.confidential:
            why = ("a confidential lineage's grams are not public" if lot is not None
                   else "verified offline: give the ledger to re-derive it from the lineage's carbon entries")
            if not 0 <= _num(self.summary.get("carbon_primary_data_percent"), primary) <= 100:
                raise FigureError(primary, "is not a percentage")
            self.add(primary, "declared", f"the issuer's figure ({why})")
            return "declared", f"the issuer's figure, consistent with its stages, lifetime energy and class ({why})"
        fp = carbon_footprint(self.trace(lot), usable, years, self.cycles_per_year, eol, self.classes)
        for stage, value in fp.per_stage_kgco2e.items():
            _near(kg[stage], value, 0.0005, f"summary.carbon_kgco2e_per_stage.{stage}",
                  "the lineage's carbon entries on the ledger")
        _near(self.summary.get("carbon_primary_data_percent"), round(fp.primary_data_share_percent, 2), 0.005, primary,
              "the lineage's carbon entries on the ledger")
        self.add(primary, "verified", "the lineage's carbon entries on the ledger")
        return "verified", "the lineage's carbon entries on the ledger (mass-allocated) over the declared lifetime energy"

    # -- due diligence ---------------------------------------------------------------------------
    def diligence(self, lot: Lot | None) -> None:
        s = self.summary
        indices = s.get("due_diligence_indices")
        name = "summary.due_diligence_indices"
        if not isinstance(indices, dict) or not all(isinstance(v, dict) for v in indices.values()):
            raise FigureError(name, "is not an object of index scores")
        scores = [_num(v.get("score"), f"{name}.{k}.score") for k, v in indices.items()]
        for k, v in indices.items():
            for part in ("score", "coverage_percent"):
                if not 0 <= _num(v.get(part), f"{name}.{k}.{part}") <= 100:
                    raise FigureError(f"{name}.{k}.{part}", "is not within 0–100")
        weakest = "aspects.SupplyChainDueDiligence.supplyChainIndicies"
        stated = self.aspect("SupplyChainDueDiligence", "supplyChainIndicies")
        if scores:
            _near(stated, round(min(scores), 1), 0, weakest, "the weaker of the stated indices")
        elif stated is not None:
            raise FigureError(weakest, "states an index the passport has no score for")
        if lot is None or self.confidential:
            why = ("a confidential lineage's grams are not public" if lot is not None
                   else "verified offline: give the ledger to re-derive them from the attestations")
            for where in (name, "summary.assurances", weakest):
                self.add(where, "declared", f"the issuer's figures ({why})")
            return
        assert self.ledger is not None
        dd = due_diligence(self.ledger.store, self.trace(lot), "Co")
        expected = {
            scheme: {"score": round(i.score, 1), "coverage_percent": round(i.coverage_percent, 1),
                     "questions_answered": i.questions_answered, "questions_total": i.questions_total,
                     "companies_covered": i.companies_covered}
            for scheme, i in dd.indices.items()
        }
        if indices != expected:
            raise FigureError(name, f"states {indices!r}, the attestations on the ledger give {expected!r}")
        assurances = [{k: v for k, v in a.items() if k != "auditor"} for a in dd.assurances]
        if s.get("assurances") != assurances:
            raise FigureError("summary.assurances", "differ from the valid attestations on the ledger")
        for where in (name, "summary.assurances", weakest):
            self.add(where, "verified", "the attestations of the lineage's mines on the ledger")

    # -- master data -----------------------------------------------------------------------------
    def declared(self) -> None:
        bound = {f.name for f in self.figures}
        for name in self.summary:
            path = f"summary.{name}"
            if path not in bound and not any(b.startswith(path + ".") for b in bound) and name not in _SHARES:
                self.add(path, "declared", DECLARED)
        for path in _aspect_paths(self.claims.get("aspects")):
            if path not in bound and not any(b.startswith(path + ".") or path.startswith(b + ".") for b in bound):
                self.add(path, "declared", _READINGS if ".batteryCondition." in path else DECLARED)


_SHARES = ("element_g", "recycled_percent", "art8_targets", "origin_mix_percent", "certified_percent", "confidential")
_DEEP = ("PerformanceAndDurability",)  # aspects listed field by field one level further down


def _aspect_paths(aspects: Any) -> Iterator[str]:
    if not isinstance(aspects, dict):
        return
    for aspect, fields in sorted(aspects.items()):
        if not isinstance(fields, dict):
            continue
        for name, value in fields.items():
            if aspect in _DEEP and isinstance(value, dict):
                yield from (f"aspects.{aspect}.{name}.{sub}" for sub in value)
            else:
                yield f"aspects.{aspect}.{name}"


def bind_figures(claims: dict[str, Any], out: dict[str, Any], event_hash: str, *, ledger: Ledger | None = None,
                 classes: tuple[tuple[str, float], ...] = DEFAULT_PERFORMANCE_CLASSES,
                 cycles_per_year: float = CARBON_CYCLES_PER_YEAR) -> list[FigureResult]:
    """Bind every figure of ``claims`` besides the bucket shares: product data and mass to the
    assembly event ``out`` (or the ``ledger``'s lot), material masses to its buckets, the carbon
    footprint and due-diligence indices to the ledger when one is given (consistency only
    otherwise, reported as declared), and list the remaining master data as declared. Raises
    ``FigureError`` naming the first figure that differs."""
    b = _Binder(claims, out, event_hash, ledger, classes, cycles_per_year, [])
    lot = b.lot()
    for name in ("recycled_percent", "art8_targets", "origin_mix_percent", "certified_percent"):
        b.add(f"summary.{name}", "verified", "proved against the pack's commitments" if b.confidential
              else "the pack's buckets in its signed assembly event")
    b.add("summary.element_g", "verified", "none stated: the grams are confidential" if b.confidential
          else "the pack's buckets in its signed assembly event")
    b.add("aspects.Circularity.recycledContent", "verified", "the recycled shares above")
    b.product(lot)
    b.materials()
    b.carbon(lot)
    b.diligence(lot)
    b.declared()
    return b.figures
