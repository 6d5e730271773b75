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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from batterytrace.errors import EncodingError, VerificationError
from batterytrace.ledger.figures import (
    ART8_TARGETS_PERCENT,
    DEFAULT_PERFORMANCE_CLASSES,
    LIFECYCLE_STAGES,
    carbon_footprint,
    due_diligence,
)
from batterytrace.ledger.ledger import Ledger
from batterytrace.ledger.trace import BackwardTrace, trace_backward
from batterytrace.model.buckets import element_totals, parse_bucket_key
from batterytrace.model.entities import Lot, lot_id
from batterytrace.model.identifiers import passport_version
from batterytrace.passport.zk_figures import verify_material_masses
from batterytrace.timeutil import format_time, parse_time

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
_T = TypeVar("_T")
_STAGE_ENUM = {  # BatteryPass lifecycleStage values, in LIFECYCLE_STAGES order
    "raw material acquisition and pre-processing": "RawMaterialExtraction",
    "main product production": "MainProduction",
    "distribution": "Distribution",
    "end of life and recycling": "Recycling",
}
_MATERIALS = {"Cobalt": "Co", "Nickel": "Ni", "Lithium": "Li", "Manganese": "Mn", "Lead": "Pb"}
DECLARED = "declared by the manufacturer (master data no evidence binds)"
_READINGS = "declared by the manufacturer (its latest lifecycle readings, not carried as evidence)"
_EOL = LIFECYCLE_STAGES["end_of_life"]
_LIFETIME_INPUTS = ("usable_energy_kwh", "cycles_per_year", "service_years", "end_of_life_kgco2e_per_kg")
# Sanity bounds on the declared footprint inputs: they keep the lifetime energy a positive finite
# number (no division by zero, no overflow) and a figure within what a battery can be. They do not
# make a declared input verified: every figure computed from one is reported declared.
MAX_CAPACITY_KWH = 10_000.0
MIN_USABLE_FRACTION = 0.5
MIN_SERVICE_YEARS, MAX_SERVICE_YEARS = 1.0, 100.0
MAX_EOL_KGCO2E_PER_KG = 1_000.0
MAX_STAGE_KGCO2E = 1e9


def _rests_on(checked: str, *inputs: str) -> str:
    names = ", ".join(f"summary.carbon_lifetime.{i}" for i in inputs)
    return f"{checked}, but computed from the declared {names}"


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
    signer: str  # the did:key that signed the passport (its header's ``kid``, else its issuer)

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
    """A finite JSON number (an int too large for a float is refused, not an OverflowError)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FigureError(name, f"{str(value)[:40]!r} is not a number")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise FigureError(name, f"{str(value)[:40]!r} is not a finite number")
    return number


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
    assembled_at: Any = None  # the assembly event's signed time (its body's RFC 3339 ``time``)
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
        self.identity()
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

    def identity(self) -> None:
        """What the assembly event itself binds: the product identifier (GTIN/serial), the
        manufacturing date (the event's signed time) and the chemistry's short name."""
        source = "the pack's signed assembly event"
        gpi = "aspects.GeneralProductInformation"
        ident = self.aspect("GeneralProductInformation", "productIdentifier")
        if ident is not None:
            if ident != f"{self.out.get('gtin')}/{self.out.get('serial')}":
                raise FigureError(f"{gpi}.productIdentifier", f"states {ident!r}, {source} names "
                                  f"{self.out.get('gtin')}/{self.out.get('serial')}")
            self.add(f"{gpi}.productIdentifier", "verified", source + " (GTIN/serial)")
        made = self.aspect("GeneralProductInformation", "manufacturingDate")
        if made is not None:
            if not isinstance(self.assembled_at, str) or made != format_time(parse_time(self.assembled_at)):
                raise FigureError(f"{gpi}.manufacturingDate", f"states {made!r}, not the time of {source}")
            self.add(f"{gpi}.manufacturingDate", "verified", source + " (its signed time)")
        chem = self.aspect("MaterialComposition", "batteryChemistry")
        if chem is not None:
            name = "aspects.MaterialComposition.batteryChemistry"
            if not isinstance(chem, dict) or set(chem) != {"shortName", "clearName"} \
                    or not isinstance(chem["clearName"], str):
                raise FigureError(name, "is not {shortName, clearName}")
            if chem["shortName"] != self.out.get("chemistry"):
                raise FigureError(f"{name}.shortName", f"states {chem['shortName']!r}, {source} says "
                                  f"{self.out.get('chemistry')!r}")
            self.add(f"{name}.shortName", "verified", source)
            self.add(f"{name}.clearName", "declared", DECLARED)

    # -- the passport's place in the battery's lifecycle -----------------------------------------
    def lineage(self, lot: Lot | None) -> None:
        """``passport_version`` counts the battery's repurposings, which only the ledger's signed
        lifecycle records know; ``passport_id`` and ``predecessor`` follow from it (the caller
        checked that derivation). With the ledger the version must be the battery's current one."""
        version = self.claims.get("passport_version")
        derived = "derived from the GTIN, serial and passport_version"
        if self.ledger is None or lot is None:
            self.add("passport_version", "declared", "the issuer's count of repurposings: verify with the ledger, "
                     "whose lifecycle records fix it")
            status: FigureStatus = "declared"
        else:
            assert lot.gtin is not None and lot.serial is not None
            ids = self.ledger.store.lots_by_serial(lot.gtin, lot.serial)
            latest = self.ledger.store.get_lot(ids[-1]) if ids else None
            current = passport_version(latest.extra.get("lifecycle", []) if latest is not None else [])
            if version != current:
                raise FigureError("passport_version", f"states version {version!r}; the battery's lifecycle on the "
                                  f"ledger makes it version {current}")
            self.add("passport_version", "verified", "the battery's lifecycle records on the ledger")
            status = "verified"
        self.add("passport_id", status, derived)
        if "passport_uuid" in self.claims:
            self.add("passport_uuid", status, "derived from passport_id (RFC 9562 name-based UUID)")
        if "predecessor" in self.claims:
            self.add("predecessor", status, derived)

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
        """A figure is at best as good as its weakest input. The ledger fixes each stage's kg from
        the lineage's carbon entries, but the issuer declares the lifetime energy (usable energy,
        service years) and its own end-of-life estimate: every figure computed from a declared
        input is reported ``declared``, naming the inputs it rests on, however it was checked."""
        s = self.summary
        inputs = s.get("carbon_lifetime")
        if not isinstance(inputs, dict):
            raise FigureError("summary.carbon_lifetime", "the passport states no lifetime energy for its footprint")
        if set(inputs) != set(_LIFETIME_INPUTS):
            raise FigureError("summary.carbon_lifetime", f"states {sorted(inputs)}; a footprint rests on exactly "
                              f"{sorted(_LIFETIME_INPUTS)}")
        usable = _num(inputs.get("usable_energy_kwh"), "summary.carbon_lifetime.usable_energy_kwh")
        years = _num(inputs.get("service_years"), "summary.carbon_lifetime.service_years")
        cycles = _num(inputs.get("cycles_per_year"), "summary.carbon_lifetime.cycles_per_year")
        eol = _num(inputs.get("end_of_life_kgco2e_per_kg"), "summary.carbon_lifetime.end_of_life_kgco2e_per_kg")
        capacity = _num(self.out.get("capacity_kwh"), "summary.capacity_kwh")
        if cycles != self.cycles_per_year:
            raise FigureError("summary.carbon_lifetime.cycles_per_year",
                              f"states {cycles!r}; the footprint method fixes {self.cycles_per_year!r}")
        if not 0 < capacity <= MAX_CAPACITY_KWH:
            raise FigureError("summary.capacity_kwh", f"{capacity!r} kWh is not a battery's rated energy")
        if not MIN_USABLE_FRACTION * capacity <= usable <= capacity:
            raise FigureError("summary.carbon_lifetime.usable_energy_kwh",
                              f"{usable!r} kWh is not within {MIN_USABLE_FRACTION:.0%}–100 % of the pack's rated "
                              f"{capacity!r} kWh")
        if not MIN_SERVICE_YEARS <= years <= MAX_SERVICE_YEARS:
            raise FigureError("summary.carbon_lifetime.service_years",
                              f"{years!r} is not within {MIN_SERVICE_YEARS}–{MAX_SERVICE_YEARS} years")
        if not 0 <= eol <= MAX_EOL_KGCO2E_PER_KG:
            raise FigureError("summary.carbon_lifetime.end_of_life_kgco2e_per_kg",
                              f"{eol!r} kg CO2e/kg is not within 0–{MAX_EOL_KGCO2E_PER_KG}")
        for part in ("usable_energy_kwh", "service_years", "end_of_life_kgco2e_per_kg"):
            self.add(f"summary.carbon_lifetime.{part}", "declared", DECLARED)
        self.add("summary.carbon_lifetime.cycles_per_year", "verified", "the footprint method (pinned by the verifier)")
        energy = usable * cycles * years  # bounded above: > 0 and finite
        stages = s.get("carbon_kgco2e_per_stage")
        if not isinstance(stages, dict) or set(stages) != set(LIFECYCLE_STAGES.values()):
            raise FigureError("summary.carbon_kgco2e_per_stage", f"must state the stages {sorted(LIFECYCLE_STAGES.values())}")
        kg = {k: _num(v, f"summary.carbon_kgco2e_per_stage.{k}") for k, v in stages.items()}
        for k, v in kg.items():
            if not 0 <= v <= MAX_STAGE_KGCO2E:
                raise FigureError(f"summary.carbon_kgco2e_per_stage.{k}", f"{v!r} kg CO2e is not within 0–{MAX_STAGE_KGCO2E:g}")
        stage_status = self._carbon_from_ledger(lot, kg, usable, years, eol)
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
        checked = ("verified against the lineage's carbon entries on the ledger" if stage_status == "verified"
                   else "consistent with the stated stages")
        # the per-kWh figures divide by the declared lifetime energy, and sum the end-of-life stage
        per_energy = _rests_on(checked, "usable_energy_kwh", "service_years", "end_of_life_kgco2e_per_kg")
        for where in ("summary.carbon_kgco2e_per_kwh", "summary.carbon_performance_class",
                      "aspects.CarbonFootprintForBatteries.batteryCarbonFootprint",
                      "aspects.CarbonFootprintForBatteries.carbonFootprintPerformanceClass"):
            self.add(where, "declared", per_energy)
        for stage, enum in _STAGE_ENUM.items():
            rests = ("usable_energy_kwh", "service_years") + (("end_of_life_kgco2e_per_kg",) if stage == _EOL else ())
            self.add(f"{name}.{enum}", "declared", _rests_on(checked, *rests))
        self.add("aspects.CarbonFootprintForBatteries.absoluteCarbonFootprint", "declared",
                 _rests_on(checked, "end_of_life_kgco2e_per_kg"))

    def _carbon_from_ledger(self, lot: Lot | None, kg: dict[str, float], usable: float, years: float,
                            eol: float) -> FigureStatus:
        """Bind the stages' kg and the primary-data share; return the status of the stages the
        ledger alone fixes (every stage but end of life)."""
        primary = "summary.carbon_primary_data_percent"
        per_stage = self.summary.get("carbon_primary_data_percent_per_stage")
        stage_share = "summary.carbon_primary_data_percent_per_stage"
        if not isinstance(per_stage, dict) or sorted(per_stage) != sorted(kg):
            raise FigureError(stage_share, f"must state the primary-data share of each stage {sorted(kg)}")
        for stage in kg:
            if not 0 <= _num(per_stage[stage], f"{stage_share}.{stage}") <= 100:
                raise FigureError(f"{stage_share}.{stage}", "is not a percentage")
        if lot is None or self.confidential:
            why = ("a confidential lineage's grams are not public" if lot is not None
                   else "verified offline: give the ledger to re-derive it from the lineage's carbon entries")
            if not 0 <= _num(self.summary.get("carbon_primary_data_percent"), primary) <= 100:
                raise FigureError(primary, "is not a percentage")
            self.add(primary, "declared", f"the issuer's figure ({why})")
            for stage in kg:
                self.add(f"summary.carbon_kgco2e_per_stage.{stage}", "declared", f"the issuer's figure ({why})")
                self.add(f"{stage_share}.{stage}", "declared", f"the issuer's figure ({why})")
            return "declared"
        fp = carbon_footprint(self.trace(lot), usable, years, self.cycles_per_year, eol, self.classes)
        for stage, value in fp.per_stage_kgco2e.items():
            _near(kg[stage], value, 0.0005, f"summary.carbon_kgco2e_per_stage.{stage}",
                  "the lineage's carbon entries on the ledger")
        _near(self.summary.get("carbon_primary_data_percent"), round(fp.primary_data_share_percent, 2), 0.005, primary,
              "the lineage's carbon entries on the ledger")
        ledger = "the lineage's carbon entries on the ledger (mass-allocated)"
        for stage in kg:  # the end-of-life stage also holds the issuer's declared estimate
            if stage == _EOL:
                self.add(f"{stage_share}.{stage}", "declared",
                         _rests_on(f"verified against {ledger}", "end_of_life_kgco2e_per_kg"))
                continue
            _near(per_stage[stage], fp.primary_data_share_percent_per_stage[stage], 0.005, f"{stage_share}.{stage}",
                  "the lineage's carbon entries on the ledger")
            self.add(f"{stage_share}.{stage}", "verified", ledger)
        self.add(primary, "declared", _rests_on(f"verified against {ledger}", "end_of_life_kgco2e_per_kg"))
        for stage in kg:
            if stage == _EOL:
                self.add(f"summary.carbon_kgco2e_per_stage.{stage}", "declared",
                         _rests_on(f"verified against {ledger}", "end_of_life_kgco2e_per_kg"))
            else:
                self.add(f"summary.carbon_kgco2e_per_stage.{stage}", "verified", ledger)
        return "verified"

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
    def statements(self) -> None:
        """What the passport says it cannot state: the Art. 8 materials the pack holds none of
        (re-derived from the assembly event's buckets) and the dynamic attributes nothing was
        recorded for (none of which may then be disclosed)."""
        name = "summary.art8_not_applicable"
        stated = self.summary.get("art8_not_applicable")
        if stated is not None:
            if self.confidential:
                expected: list[str] = []  # the grams are private: nothing is stated
            else:
                buckets = self.out.get("buckets")
                totals = element_totals(buckets) if isinstance(buckets, dict) else {}
                expected = [el for el in ART8_TARGETS_PERCENT if totals.get(el, 0) == 0]
            if stated != expected:
                raise FigureError(name, f"states {stated!r}, the pack's buckets in its signed assembly event give {expected!r}")
            self.add(name, "verified", "the pack's buckets in its signed assembly event")
        name = "summary.not_recorded"
        stated = self.summary.get("not_recorded")
        if stated is not None:
            if not isinstance(stated, list) or len(stated) > 100 or not all(isinstance(x, str) for x in stated):
                raise FigureError(name, "must be a list of attribute paths")
            for path in stated:
                node: Any = self.claims.get("aspects")
                for part in path.split("."):
                    node = node.get(part) if isinstance(node, dict) else None
                if node is not None:
                    raise FigureError(name, f"states {path} was never recorded, yet the passport discloses it")
            self.add(name, "declared", "the manufacturer's statement; none of these is disclosed")

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
                 cycles_per_year: float = CARBON_CYCLES_PER_YEAR, assembled_at: Any = None) -> list[FigureResult]:
    """Bind every figure of ``claims`` besides the bucket shares: product data and mass to the
    assembly event ``out`` (or the ``ledger``'s lot), material masses to its buckets, the carbon
    footprint and due-diligence indices to the ledger when one is given (consistency only
    otherwise, reported as declared), and list the remaining master data as declared. Raises
    ``FigureError`` naming the first figure that differs."""
    b = _Binder(claims, out, event_hash, ledger, classes, cycles_per_year, [], assembled_at)
    lot = _bound("battery.lot", b.lot)
    for name in ("recycled_percent", "art8_targets", "origin_mix_percent", "certified_percent"):
        b.add(f"summary.{name}", "verified", "proved against the pack's commitments" if b.confidential
              else "the pack's buckets in its signed assembly event")
    b.add("summary.element_g", "verified", "none stated: the grams are confidential" if b.confidential
          else "the pack's buckets in its signed assembly event")
    b.add("aspects.Circularity.recycledContent", "verified", "the recycled shares above")
    _bound("passport_version", lambda: b.lineage(lot))
    _bound("aspects.GeneralProductInformation", lambda: b.product(lot))
    _bound("aspects.MaterialComposition.batteryMaterials", b.materials)
    _bound("summary.carbon_lifetime", lambda: b.carbon(lot))
    _bound("summary.due_diligence_indices", lambda: b.diligence(lot))
    _bound("summary.not_recorded", b.statements)
    _bound("summary", b.declared)
    return b.figures


def _bound(section: str, step: Callable[[], _T]) -> _T:
    """Run one binding step: whatever the claims hold, it ends in a result or a ``FigureError``
    (an arithmetic or type error on an odd number is the figure's failure, never a crash)."""
    try:
        return step()
    except VerificationError:
        raise
    except (ArithmeticError, ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError,
            EncodingError) as exc:  # not a storage or service error: those are no verdict on the passport
        raise FigureError(section, f"cannot be bound ({type(exc).__name__}: {str(exc)[:120]})") from exc
