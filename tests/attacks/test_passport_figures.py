"""Invariant 6: every figure a passport states is re-derived by the verifier, or visibly outside
"verified". The attacker is the battery's economic operator: it holds the issuer key and re-signs
its own passport with better figures (a lower carbon footprint, a better class, a lighter
battery, other material masses, better due-diligence indices). Each forged figure is refused by
name; a figure the verifier cannot re-derive is reported ``declared``, never ``verified``."""

from __future__ import annotations

import contextlib
import copy
import time
from collections.abc import Callable
from typing import Any

import pytest

from batterytrace.crypto.sdjwt import issue_sd_jwt
from batterytrace.crypto.signing import SigningKey
from batterytrace.demo.master_data import VOLTARA_VM75
from batterytrace.demo.scenario import build_scenario
from batterytrace.errors import VerificationError
from batterytrace.ledger.figures import (
    DEFAULT_PERFORMANCE_CLASSES,
    LIFECYCLE_STAGES,
    carbon_footprint,
)
from batterytrace.ledger.ledger import Ledger
from batterytrace.ledger.trace import trace_backward
from batterytrace.model.identifiers import passport_id_for, passport_uuid_for
from batterytrace.passport.issue import VCT, PassportVerification, issue_passport, verify_passport
from batterytrace.passport.publish import MAX_ISSUANCE_SKEW_S
from batterytrace.passport.verification import FigureError, class_for
from batterytrace.storage.memory import MemoryStore
from conf_pack_support import ConfWorld, conf_world

NOW = 1_790_000_000
Change = Callable[[dict[str, Any]], None]
STAGES = "carbon_kgco2e_per_stage"


@pytest.fixture(scope="module")
def plain() -> tuple[Ledger, SigningKey, dict[str, Any]]:
    s = build_scenario(packs=1, legacy_packs=1)
    ledger = Ledger(MemoryStore(), s.actors["operator"].did, s.ledger_id)
    assert not ledger.submit_batch(s.events, check_clock=False).rejected  # the demo's 2025 history
    ledger.sign_tree_head(s.actors["operator"].signing_key)
    key = s.actors["voltara"].signing_key
    p = issue_passport(ledger, s.packs[0], VOLTARA_VM75, key, issued_at=NOW)
    return ledger, key, verify_passport(p.present_all(), log_operator=ledger.operator_did, now=NOW).claims


@pytest.fixture(scope="module")
def confidential() -> tuple[ConfWorld, SigningKey, dict[str, Any]]:
    world = conf_world()
    key = world.s.actors["voltara"].signing_key
    p = issue_passport(world.ledger, world.packs[0], VOLTARA_VM75, key, issued_at=NOW,
                       openings=world.run.store("voltara"))
    return world, key, verify_passport(p.present_all(), log_operator=world.ledger.operator_did,
                                       now=NOW).claims


def world(mode: str, plain: tuple[Ledger, SigningKey, dict[str, Any]],
          confidential: tuple[ConfWorld, SigningKey, dict[str, Any]]) -> tuple[Ledger, SigningKey, dict[str, Any]]:
    """The ledger, issuer key and genuine claims of the plain or the confidential pack."""
    if mode == "plain":
        return plain
    conf_world, key, claims = confidential
    return conf_world.ledger, key, claims


def resign(key: SigningKey, claims: dict[str, Any], change: Change) -> str:
    """The economic operator signs altered claims with its own key."""
    forged = copy.deepcopy({k: v for k, v in claims.items() if k not in ("iss", "iat", "exp", "vct")})
    change(forged)
    return issue_sd_jwt(key, forged, vct=VCT, issued_at=NOW, expires_at=NOW + 86400).present([])


def verify(ledger: Ledger, text: str, with_ledger: bool) -> PassportVerification:
    return verify_passport(text, log_operator=ledger.operator_did, now=NOW, ledger=ledger if with_ledger else None)


def cf(c: dict[str, Any]) -> dict[str, Any]:
    return c["aspects"]["CarbonFootprintForBatteries"]  # type: ignore[no-any-return]


def scale_footprint(factor: float) -> Change:
    """Every carbon figure scaled alike, so the passport stays self-consistent."""
    def change(c: dict[str, Any]) -> None:
        s = c["summary"]
        s[STAGES] = {k: round(v * factor, 3) for k, v in s[STAGES].items()}
        s["carbon_kgco2e_per_kwh"] = round(s["carbon_kgco2e_per_kwh"] * factor, 6)
        a = cf(c)
        a["batteryCarbonFootprint"] = s["carbon_kgco2e_per_kwh"]
        a["absoluteCarbonFootprint"] = round(a["absoluteCarbonFootprint"] * factor, 3)
        for entry in a["carbonFootprintPerLifecycleStage"]:
            entry["carbonFootprint"] = round(entry["carbonFootprint"] * factor, 6)
        s["carbon_performance_class"] = a["carbonFootprintPerformanceClass"] = "A"
    return change


def cheat_footprint_class_and_mass(c: dict[str, Any]) -> None:
    """The issue's example: a 10x lower footprint, class A and a 1 kg battery."""
    scale_footprint(0.1)(c)
    lighter(c)


def better_class(c: dict[str, Any]) -> None:
    c["summary"]["carbon_performance_class"] = cf(c)["carbonFootprintPerformanceClass"] = "A"


def lower_per_kwh(c: dict[str, Any]) -> None:
    c["summary"]["carbon_kgco2e_per_kwh"] /= 10
    cf(c)["batteryCarbonFootprint"] /= 10


def lighter(c: dict[str, Any]) -> None:
    c["aspects"]["GeneralProductInformation"]["batteryMass"] = 1.0


def more_cycles(c: dict[str, Any]) -> None:  # a larger lifetime energy divides the footprint
    c["summary"]["carbon_lifetime"]["cycles_per_year"] = 600.0


def more_usable_energy(c: dict[str, Any]) -> None:
    c["summary"]["carbon_lifetime"]["usable_energy_kwh"] = c["summary"]["capacity_kwh"] * 10


def bigger_capacity(c: dict[str, Any]) -> None:
    c["summary"]["capacity_kwh"] *= 2


def material_mass(c: dict[str, Any]) -> None:
    c["aspects"]["MaterialComposition"]["batteryMaterials"][0]["batteryMaterialMass"] *= 0.5


def weakest_index(c: dict[str, Any]) -> None:
    c["aspects"]["SupplyChainDueDiligence"]["supplyChainIndicies"] = 99.0


def better_indices(c: dict[str, Any]) -> None:
    for index in c["summary"]["due_diligence_indices"].values():
        index["score"] = 99.0
    c["aspects"]["SupplyChainDueDiligence"]["supplyChainIndicies"] = 99.0


def fake_assurance(c: dict[str, Any]) -> None:
    c["summary"]["assurances"].append({"scheme": "IRMA", "level": "IRMA 100", "site": "mine:tujenge",
                                       "valid_from": 0, "valid_until": 2**40, "attestation": "0" * 64})


def primary_data(c: dict[str, Any]) -> None:
    c["summary"]["carbon_primary_data_percent"] = 100.0


# (name, change, figure named by the refusal, refused offline too)
PLAIN_ATTACKS = [
    ("10x lower footprint, class A, 1 kg", cheat_footprint_class_and_mass, "batteryMass", True),
    ("10x lower footprint, class A", scale_footprint(0.1), "summary.carbon_kgco2e_per_stage", False),
    ("class A alone", better_class, "carbon_performance_class", True),
    ("lower footprint per kWh", lower_per_kwh, "summary.carbon_kgco2e_per_kwh", True),
    ("lifetime of 600 cycles a year", more_cycles, "cycles_per_year", True),
    ("usable energy above the rated", more_usable_energy, "usable_energy_kwh", True),
    ("rated capacity doubled", bigger_capacity, "summary.capacity_kwh", True),
    ("1 kg battery", lighter, "aspects.GeneralProductInformation.batteryMass", True),
    ("half the cobalt", material_mass, "aspects.MaterialComposition.batteryMaterials", True),
    ("weakest index raised alone", weakest_index, "supplyChainIndicies", True),
    ("every index raised", better_indices, "summary.due_diligence_indices", False),
    ("invented assurance", fake_assurance, "summary.assurances", False),
    ("all primary data", primary_data, "summary.carbon_primary_data_percent", False),
]


@pytest.mark.parametrize(("name", "change", "figure", "offline"), PLAIN_ATTACKS, ids=[a[0] for a in PLAIN_ATTACKS])
def test_plain_forged_figures_are_refused_by_name(plain: tuple[Ledger, SigningKey, dict[str, Any]], name: str,
                                                  change: Change, figure: str, offline: bool) -> None:
    ledger, key, claims = plain
    verify(ledger, resign(key, claims, lambda c: None), True)  # the honest re-signature passes
    forged = resign(key, claims, change)
    with pytest.raises(FigureError, match=figure.replace(".", r"\.")):
        verify(ledger, forged, True)
    if offline:
        with pytest.raises(FigureError, match=figure.replace(".", r"\.")):
            verify(ledger, forged, False)
    else:  # offline it cannot be re-derived: it verifies, but visibly as the issuer's declaration
        result = verify(ledger, forged, False)
        name_of = {"summary.carbon_kgco2e_per_stage": "summary.carbon_kgco2e_per_kwh"}.get(figure, figure)
        assert result.figure(name_of).status == "declared"
        assert result.figure("aspects.CarbonFootprintForBatteries.carbonFootprintPerformanceClass").status == "declared"


def test_plain_figures_with_the_ledger_are_verified_and_master_data_declared(
        plain: tuple[Ledger, SigningKey, dict[str, Any]]) -> None:
    ledger, key, claims = plain
    result = verify(ledger, resign(key, claims, lambda c: None), True)
    for name in ("summary.carbon_kgco2e_per_stage.main product production", "summary.due_diligence_indices",
                 "aspects.GeneralProductInformation.batteryMass", "aspects.MaterialComposition.batteryMaterials",
                 "summary.certified_percent", "summary.recycled_percent", "summary.capacity_kwh"):
        assert result.figure(name).status == "verified", name
    for name in ("aspects.PerformanceAndDurability.batteryTechicalProperties.nominalVoltage",
                 "aspects.GeneralProductInformation.warrentyPeriod", "summary.carbon_lifetime.service_years"):
        assert result.figure(name).status == "declared", name
    assert not result.by_status("failed")
    assert {c.name for c in result.checks} >= {"ledger", "figures", "log inclusion"}


def test_a_passport_whose_lot_is_not_the_battery_is_refused(plain: tuple[Ledger, SigningKey, dict[str, Any]]) -> None:
    """Pointing ``battery.lot`` at another lot would re-derive another battery's figures."""
    ledger, key, claims = plain
    other = next(lot.lot_id for lot in ledger.store.iter_lots() if lot.gtin is None)
    forged = resign(key, claims, lambda c: c["battery"].update(lot=other))
    with pytest.raises(FigureError, match=r"battery\.lot"):
        verify(ledger, forged, True)


CONF_ATTACKS = [
    ("class A alone", better_class, "carbon_performance_class"),
    ("lower footprint per kWh", lower_per_kwh, "summary.carbon_kgco2e_per_kwh"),
    ("lifetime of 600 cycles a year", more_cycles, "cycles_per_year"),
    ("1 kg battery", lighter, "aspects.GeneralProductInformation.batteryMass"),
    ("10x lower footprint, class A, 1 kg", cheat_footprint_class_and_mass, "batteryMass"),
    ("half the cobalt", material_mass, "aspects.MaterialComposition.batteryMaterials"),
    ("weakest index raised alone", weakest_index, "supplyChainIndicies"),
    ("rated capacity doubled", bigger_capacity, "summary.capacity_kwh"),
]


@pytest.mark.parametrize(("name", "change", "figure"), CONF_ATTACKS, ids=[a[0] for a in CONF_ATTACKS])
@pytest.mark.parametrize("with_ledger", [False, True])
def test_confidential_forged_figures_are_refused_by_name(confidential: tuple[ConfWorld, SigningKey, dict[str, Any]],
                                                         name: str, change: Change, figure: str,
                                                         with_ledger: bool) -> None:
    world, key, claims = confidential
    verify(world.ledger, resign(key, claims, lambda c: None), with_ledger)
    with pytest.raises(FigureError, match=figure.replace(".", r"\.")):
        verify(world.ledger, resign(key, claims, change), with_ledger)


def test_confidential_lineage_figures_are_declared_not_verified(
        confidential: tuple[ConfWorld, SigningKey, dict[str, Any]]) -> None:
    """A confidential lineage's grams are private: its footprint and indices cannot be
    re-derived by a verifier, so even a consistent rescaling verifies only as declared."""
    world, key, claims = confidential
    result = verify(world.ledger, resign(key, claims, scale_footprint(0.1)), True)
    for name in ("summary.carbon_kgco2e_per_kwh", "summary.carbon_performance_class", "summary.due_diligence_indices"):
        assert result.figure(name).status == "declared", name
    for name in ("summary.recycled_percent", "aspects.GeneralProductInformation.batteryMass",
                 "aspects.MaterialComposition.batteryMaterials"):
        assert result.figure(name).status == "verified", name


def test_a_forged_figure_never_comes_back_as_a_result(plain: tuple[Ledger, SigningKey, dict[str, Any]]) -> None:
    ledger, key, claims = plain
    with pytest.raises(VerificationError) as caught:
        verify(ledger, resign(key, claims, lighter), False)
    assert isinstance(caught.value, FigureError) and caught.value.figure == "aspects.GeneralProductInformation.batteryMass"


MALFORMED: list[Change] = [
    lambda c: c["summary"].pop("carbon_lifetime"),
    lambda c: c["summary"].update(carbon_lifetime="forever"),
    lambda c: c["summary"]["carbon_lifetime"].update(service_years=float("inf")),
    lambda c: c["summary"]["carbon_lifetime"].update(service_years=1e9),
    lambda c: c["summary"]["carbon_lifetime"].update(usable_energy_kwh=True),
    lambda c: c["summary"]["carbon_lifetime"].update(end_of_life_kgco2e_per_kg=-5.0),
    lambda c: c["summary"].update({STAGES: []}),
    lambda c: c["summary"][STAGES].update({"distribution": "0"}),
    lambda c: c["summary"][STAGES].update({"teleportation": 0.0}),
    lambda c: c["summary"][STAGES].update({"distribution": -1e6}),
    lambda c: cf(c).update(carbonFootprintPerLifecycleStage=[1, 2, 3, 4]),
    lambda c: cf(c).update(carbonFootprintPerLifecycleStage=list(reversed(cf(c)["carbonFootprintPerLifecycleStage"]))),
    lambda c: cf(c).update(carbonFootprintPerformanceClass=None),
    lambda c: c["summary"].update(due_diligence_indices=[]),
    lambda c: c["summary"]["due_diligence_indices"].update({"GBA-ChildLabour": {"score": 250.0, "coverage_percent": 1}}),
    lambda c: c["aspects"]["MaterialComposition"].update(batteryMaterials={"Cobalt": 1}),
    lambda c: c["aspects"]["MaterialComposition"]["batteryMaterials"].append(
        copy.deepcopy(c["aspects"]["MaterialComposition"]["batteryMaterials"][0])),
    lambda c: c["aspects"]["MaterialComposition"]["batteryMaterials"][0].update(batteryMaterialName="Unobtainium"),
    lambda c: c["aspects"]["MaterialComposition"]["batteryMaterials"][0].update(batteryMaterialMass="heavy"),
    lambda c: c["aspects"]["MaterialComposition"]["batteryMaterials"][0].update(batteryMaterialMass=1e300),
    lambda c: c["aspects"]["GeneralProductInformation"].update(batteryMass=None),
    lambda c: c["summary"].update(capacity_kwh=None),
]


@pytest.mark.parametrize("change", MALFORMED)
@pytest.mark.parametrize("mode", ["plain", "confidential"])
def test_malformed_figures_are_refusals_never_crashes(plain: tuple[Ledger, SigningKey, dict[str, Any]],
                                                      confidential: tuple[ConfWorld, SigningKey, dict[str, Any]],
                                                      change: Change, mode: str) -> None:
    ledger, key, claims = world(mode, plain, confidential)
    text = resign(key, claims, change)
    for with_ledger in (False, True):
        with pytest.raises(VerificationError):
            verify(ledger, text, with_ledger)


@pytest.mark.parametrize("mode", ["plain", "confidential"])
def test_a_lot_reference_not_on_the_ledger_leaves_the_mass_declared_offline(
        plain: tuple[Ledger, SigningKey, dict[str, Any]], confidential: tuple[ConfWorld, SigningKey, dict[str, Any]],
        mode: str) -> None:
    ledger, key, claims = world(mode, plain, confidential)
    text = resign(key, claims, lambda c: c["battery"].update(lot=["not", "a", "lot"]))
    assert verify(ledger, text, False).figure("aspects.GeneralProductInformation.batteryMass").status == "declared"
    with pytest.raises(FigureError, match=r"battery\.lot"):
        verify(ledger, text, True)


def test_forged_mass_proofs_are_refused(confidential: tuple[ConfWorld, SigningKey, dict[str, Any]]) -> None:
    world, key, claims = confidential
    other = issue_passport(world.ledger, world.packs[0], VOLTARA_VM75, key, issued_at=NOW + 1,
                           openings=world.run.store("voltara"))
    foreign = verify_passport(other.present_all(), log_operator=world.ledger.operator_did, now=NOW).claims
    for change in (lambda c: c.pop("material_proofs"),
                   lambda c: c.update(material_proofs={"Co": {"lower": "zz", "upper": 7}}),
                   lambda c: c["material_proofs"].pop("Co"),
                   lambda c: c["material_proofs"].update(Co=c["material_proofs"]["Ni"])):
        with pytest.raises(FigureError, match="batteryMaterials"):
            verify(world.ledger, resign(key, claims, change), False)
    # the same battery's proofs from another issuance are bound to the same event and id: they hold
    verify(world.ledger, resign(key, claims, lambda c: c.update(material_proofs=foreign["material_proofs"])), False)


# -- a figure's status follows its weakest input -------------------------------------------------
EOL_STAGE = "end of life and recycling"
# every figure computed from the declared lifetime energy or end-of-life estimate
FROM_DECLARED_INPUTS = ("summary.carbon_kgco2e_per_kwh", "summary.carbon_performance_class",
                        "summary.carbon_primary_data_percent", f"summary.{STAGES}.{EOL_STAGE}",
                        "aspects.CarbonFootprintForBatteries.batteryCarbonFootprint",
                        "aspects.CarbonFootprintForBatteries.absoluteCarbonFootprint",
                        "aspects.CarbonFootprintForBatteries.carbonFootprintPerformanceClass",
                        *(f"aspects.CarbonFootprintForBatteries.carbonFootprintPerLifecycleStage.{e}"
                          for e in ("RawMaterialExtraction", "MainProduction", "Distribution", "Recycling")))


def declared_lifetime(years: float, eol: float | None, ledger: Ledger) -> Change:
    """The issuer declares another service life (and end-of-life estimate) and restates every
    figure computed from it consistently, from the public ledger where it can."""
    def change(c: dict[str, Any]) -> None:
        s, a = c["summary"], cf(c)
        lifetime = s["carbon_lifetime"]
        if eol is not None:
            mass_kg = c["aspects"]["GeneralProductInformation"]["batteryMass"]
            s[STAGES][EOL_STAGE] = round(s[STAGES][EOL_STAGE] + (eol - lifetime["end_of_life_kgco2e_per_kg"]) * mass_kg, 3)
            lifetime["end_of_life_kgco2e_per_kg"] = eol
            if not s["confidential"]:  # the primary share of the new total, as the ledger gives it
                trace = trace_backward(ledger.store, c["battery"]["lot"])
                s["carbon_primary_data_percent"] = round(carbon_footprint(
                    trace, 1.0, 1.0, end_of_life_kgco2e_per_kg=eol).primary_data_share_percent, 2)
        lifetime["service_years"] = years
        lifetime["usable_energy_kwh"] = float(s["capacity_kwh"])
        energy = lifetime["usable_energy_kwh"] * lifetime["cycles_per_year"] * years
        total = sum(s[STAGES].values())
        s["carbon_kgco2e_per_kwh"] = a["batteryCarbonFootprint"] = round(total / energy, 6)
        a["absoluteCarbonFootprint"] = round(total, 3)
        for entry, stage in zip(a["carbonFootprintPerLifecycleStage"], s[STAGES], strict=True):
            entry["carbonFootprint"] = round(s[STAGES][stage] / energy, 6)
        s["carbon_performance_class"] = a["carbonFootprintPerformanceClass"] = class_for(
            total / energy, DEFAULT_PERFORMANCE_CLASSES)
    return change


@pytest.mark.parametrize("mode", ["plain", "confidential"])
@pytest.mark.parametrize(("years", "eol"), [(100.0, None), (100.0, 0.0), (10.0, 0.0), (None, None)],
                         ids=["100 years", "100 years, no end of life", "no end of life", "honest"])
def test_figures_resting_on_declared_inputs_are_never_verified(
        plain: tuple[Ledger, SigningKey, dict[str, Any]], confidential: tuple[ConfWorld, SigningKey, dict[str, Any]],
        mode: str, years: float | None, eol: float | None) -> None:
    """A 100-year lifetime gives class A: with the ledger the stages are re-derived, but the
    per-kWh figure, the class, the end-of-life stage and the primary share rest on the issuer's
    declared lifetime energy and end-of-life estimate, so they come back declared, naming them."""
    ledger, key, claims = world(mode, plain, confidential)
    change = (lambda c: None) if years is None else declared_lifetime(years, eol, ledger)
    text = resign(key, claims, change)
    for with_ledger in (False, True):
        result = verify(ledger, text, with_ledger)
        if years == 100.0:
            assert result.claims["summary"]["carbon_performance_class"] == "A"
        for name in FROM_DECLARED_INPUTS:
            figure = result.figure(name)
            assert figure.status == "declared", (name, with_ledger)
            assert "summary.carbon_lifetime." in figure.source or "issuer" in figure.source, figure
        for name in ("usable_energy_kwh", "service_years"):
            assert f"summary.carbon_lifetime.{name}" in result.figure("summary.carbon_kgco2e_per_kwh").source
        ledger_fixed = f"summary.{STAGES}.main product production"
        assert result.figure(ledger_fixed).status == ("verified" if with_ledger and mode == "plain" else "declared")
        # the stages the ledger alone fixes, and their primary-data shares
        fixed = [LIFECYCLE_STAGES[k] for k in ("raw_material", "production", "distribution")]
        assert not [f.name for f in result.figures if f.status == "verified" and "carbon" in f.name
                    and f.name not in (*(f"summary.{STAGES}.{s}" for s in fixed),
                                       *(f"summary.carbon_primary_data_percent_per_stage.{s}" for s in fixed),
                                       "summary.carbon_lifetime.cycles_per_year")]


@pytest.mark.parametrize(("field", "value"), [
    ("service_years", 0.5), ("service_years", 101.0), ("usable_energy_kwh", 1.0),
    ("end_of_life_kgco2e_per_kg", 1e6), ("end_of_life_kgco2e_per_kg", -0.1),
])
def test_declared_inputs_out_of_bounds_are_refused_by_name(plain: tuple[Ledger, SigningKey, dict[str, Any]],
                                                          field: str, value: float) -> None:
    ledger, key, claims = plain
    text = resign(key, claims, lambda c: c["summary"]["carbon_lifetime"].update({field: value}))
    for with_ledger in (False, True):
        with pytest.raises(FigureError, match=rf"carbon_lifetime\.{field}"):
            verify(ledger, text, with_ledger)


# -- no input makes the verifier crash -----------------------------------------------------------
ODD_NUMBERS: list[Any] = [0, 0.0, -0.0, 5e-324, 2.2e-308, -1, -1e308, 1e308, 10**400, -(10**400), 2**63,
                          "NaN", "Infinity", "-Infinity", "1e400", "0", None, True, [], {}, [1.0], {"value": 1}]
ODD_PLACES: dict[str, Callable[[dict[str, Any], Any], None]] = {
    "usable energy": lambda c, v: c["summary"]["carbon_lifetime"].update(usable_energy_kwh=v),
    "service years": lambda c, v: c["summary"]["carbon_lifetime"].update(service_years=v),
    "end of life": lambda c, v: c["summary"]["carbon_lifetime"].update(end_of_life_kgco2e_per_kg=v),
    "cycles": lambda c, v: c["summary"]["carbon_lifetime"].update(cycles_per_year=v),
    "a stage": lambda c, v: c["summary"][STAGES].update(distribution=v),
    "per kWh": lambda c, v: c["summary"].update(carbon_kgco2e_per_kwh=v),
    "capacity": lambda c, v: c["summary"].update(capacity_kwh=v),
    "primary share": lambda c, v: c["summary"].update(carbon_primary_data_percent=v),
    "battery mass": lambda c, v: c["aspects"]["GeneralProductInformation"].update(batteryMass=v),
    "material mass": lambda c, v: c["aspects"]["MaterialComposition"]["batteryMaterials"][0].update(
        batteryMaterialMass=v),
    "index score": lambda c, v: next(iter(c["summary"]["due_diligence_indices"].values())).update(score=v),
    "recycled share": lambda c, v: c["summary"]["recycled_percent"]["Co"].update(total=v),
    "version": lambda c, v: c.update(passport_version=v),
    "leaf index": lambda c, v: c["evidence"].update(leaf_index=v),
    "ingestion time": lambda c, v: c["evidence"].update(ingested_at=v),
}


@pytest.mark.parametrize("place", ODD_PLACES)
def test_odd_numbers_anywhere_are_verification_errors_never_crashes(
        plain: tuple[Ledger, SigningKey, dict[str, Any]], place: str) -> None:
    """0, subnormals, huge numbers, negatives, NaN-like strings: ``verify_passport`` returns a
    result or raises ``VerificationError`` on every input, never another exception."""
    ledger, key, claims = plain
    for value in ODD_NUMBERS:
        text = resign(key, claims, lambda c, v=value: ODD_PLACES[place](c, v))
        for with_ledger in (False, True):
            with contextlib.suppress(VerificationError):  # anything else fails the test
                verify(ledger, text, with_ledger)


@pytest.mark.parametrize("mode", ["plain", "confidential"])
def test_a_lifetime_energy_that_underflows_to_zero_is_refused_by_name(
        plain: tuple[Ledger, SigningKey, dict[str, Any]], confidential: tuple[ConfWorld, SigningKey, dict[str, Any]],
        mode: str) -> None:
    ledger, key, claims = world(mode, plain, confidential)
    text = resign(key, claims, lambda c: c["summary"]["carbon_lifetime"].update(usable_energy_kwh=5e-324,
                                                                              service_years=5e-324))
    for with_ledger in (False, True):
        with pytest.raises(FigureError, match=r"summary\.carbon_lifetime"):
            verify(ledger, text, with_ledger)


# -- the passport's place in the lifecycle, and what the assembly event binds ----------------------
def claim_version(version: int) -> Change:
    def change(c: dict[str, Any]) -> None:
        gtin, serial = c["battery"]["gtin"], c["battery"]["serial"]
        c["passport_version"] = version
        c["passport_id"] = c["aspects"]["GeneralProductInformation"]["batteryPassportIdentifier"] = \
            passport_id_for(gtin, serial, version)
        c["predecessor"] = passport_id_for(gtin, serial, version - 1)
        c["passport_uuid"] = passport_uuid_for(c["passport_id"])  # as a forger keeps it consistent
    return change


def test_a_version_the_ledger_never_reached_is_refused_with_the_ledger(
        plain: tuple[Ledger, SigningKey, dict[str, Any]]) -> None:
    ledger, key, claims = plain
    honest = verify(ledger, resign(key, claims, lambda c: None), True)
    for name in ("passport_version", "passport_id"):
        assert honest.figure(name).status == "verified", name
    offline = verify(ledger, resign(key, claims, claim_version(3)), False)
    assert offline.figure("passport_version").status == offline.figure("predecessor").status == "declared"
    with pytest.raises(FigureError, match="passport_version"):
        verify(ledger, resign(key, claims, claim_version(3)), True)


@pytest.mark.parametrize("mode", ["plain", "confidential"])
def test_what_the_assembly_event_binds_is_verified_and_cannot_be_changed(
        plain: tuple[Ledger, SigningKey, dict[str, Any]], confidential: tuple[ConfWorld, SigningKey, dict[str, Any]],
        mode: str) -> None:
    ledger, key, claims = world(mode, plain, confidential)
    gpi, chem = "aspects.GeneralProductInformation", "aspects.MaterialComposition.batteryChemistry"
    result = verify(ledger, resign(key, claims, lambda c: None), False)
    for name in (f"{gpi}.productIdentifier", f"{gpi}.manufacturingDate", f"{chem}.shortName"):
        assert result.figure(name).status == "verified", name
    assert result.figure(f"{chem}.clearName").status == "declared"
    forgeries: list[tuple[Change, str]] = [
        (lambda c: c["aspects"]["GeneralProductInformation"].update(manufacturingDate="2019-01-01T00:00:00Z"),
         "manufacturingDate"),
        (lambda c: c["aspects"]["GeneralProductInformation"].update(productIdentifier="04099999000753/OTHER"),
         "productIdentifier"),
        (lambda c: c["aspects"]["MaterialComposition"]["batteryChemistry"].update(shortName="LFP"), "shortName"),
        (lambda c: c["aspects"]["MaterialComposition"]["batteryChemistry"].update(extra="x"), "batteryChemistry"),
    ]
    for change, figure in forgeries:
        for with_ledger in (False, True):
            with pytest.raises(FigureError, match=figure):
                verify(ledger, resign(key, claims, change), with_ledger)


@pytest.mark.parametrize("change", [
    lambda c: c.update(carbon_offset_certificate={"kg": -5000}),
    lambda c: c["battery"].update(verified_by="TÜV"),
    lambda c: c["summary"]["carbon_lifetime"].update(offsets_kgco2e=-9000.0),
], ids=["top-level claim", "battery claim", "lifetime input"])
def test_claims_outside_every_figure_are_refused(plain: tuple[Ledger, SigningKey, dict[str, Any]],
                                                 change: Change) -> None:
    ledger, key, claims = plain
    text = resign(key, claims, change)
    for with_ledger in (False, True):
        with pytest.raises(VerificationError):
            verify(ledger, text, with_ledger)


def test_an_issuance_dated_in_the_future_is_refused(plain: tuple[Ledger, SigningKey, dict[str, Any]]) -> None:
    ledger, key, claims = plain
    forged = copy.deepcopy({k: v for k, v in claims.items() if k not in ("iss", "iat", "exp", "vct")})
    for ahead, ok in ((MAX_ISSUANCE_SKEW_S, True), (MAX_ISSUANCE_SKEW_S + 1, False), (10 * 365 * 86400, False)):
        text = issue_sd_jwt(key, forged, vct=VCT, issued_at=NOW + ahead, expires_at=NOW + 20 * 365 * 86400).present([])
        if ok:
            verify(ledger, text, True)
        else:
            with pytest.raises(VerificationError, match="future"):
                verify(ledger, text, True)
    ahead = issue_sd_jwt(key, forged, vct=VCT, issued_at=int(time.time()) + 3600,
                         expires_at=int(time.time()) + 86400).present([])
    with pytest.raises(VerificationError, match="future"):  # without ``now``: the verifier's own clock
        verify_passport(ahead, log_operator=ledger.operator_did)


def test_statements_of_what_cannot_be_stated_are_checked(plain: tuple[Ledger, SigningKey, dict[str, Any]]) -> None:
    """summary.art8_not_applicable is re-derived from the pack's buckets, and a dynamic attribute
    said to be never recorded may not be disclosed: a forged statement of either is refused."""
    ledger, key, claims = plain
    assert claims["summary"]["art8_not_applicable"] == ["Pb"]

    def hide_cobalt(c: dict[str, Any]) -> None:
        c["summary"]["art8_not_applicable"] = ["Co", "Pb"]  # "no cobalt, so no recycled-cobalt target applies"

    def claim_unrecorded(c: dict[str, Any]) -> None:
        c["summary"]["not_recorded"] = ["PerformanceAndDurability.batteryCondition.stateOfCharge"]

    for change, name in ((hide_cobalt, "summary.art8_not_applicable"), (claim_unrecorded, "summary.not_recorded")):
        for with_ledger in (False, True):
            with pytest.raises(FigureError, match=name.replace(".", r"\.")):
                verify(ledger, resign(key, claims, change), with_ledger)
    verified = verify(ledger, resign(key, claims, lambda c: None), True)
    assert verified.figure("summary.art8_not_applicable").status == "verified"
