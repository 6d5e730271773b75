"""The Catena-X export of a confidential pack: with its openings it states the figures the pack's
SD-JWT passport states (and validates against the reference 6.1.0 schema); without them, with
another holder's or with tampered openings it is refused by rule, as issuing is."""

from __future__ import annotations

from typing import Any

import pytest

from batterytrace.demo.master_data import VOLTARA_VM75
from batterytrace.errors import BatterytraceError
from batterytrace.ledger.openings_view import OpeningsError
from batterytrace.model.buckets import element_totals
from batterytrace.passport.aspects import ELEMENTS
from batterytrace.passport.catenax import export_catenax
from batterytrace.passport.issue import issue_passport, verify_passport
from batterytrace.storage.openings import OpeningStore
from conf_pack_support import ConfWorld, conf_world
from passport.test_catenax import schema_errors

NOW = 1_790_000_000


@pytest.fixture(scope="module")
def world() -> ConfWorld:
    return conf_world()


@pytest.fixture(scope="module")
def claims(world: ConfWorld) -> dict[str, Any]:
    key = world.s.actors["voltara"].signing_key
    issued = issue_passport(world.ledger, world.packs[0], VOLTARA_VM75, key, issued_at=NOW,
                            openings=world.run.store("voltara"))
    return verify_passport(issued.present_all(), log_operator=world.ledger.operator_did, now=NOW).claims


@pytest.fixture(scope="module")
def doc(world: ConfWorld) -> dict[str, Any]:
    return export_catenax(world.ledger, world.packs[0], VOLTARA_VM75, issued_at=NOW, openings=world.run.store("voltara"))


def test_confidential_export_validates_against_catenax_6_1(doc: dict[str, Any]) -> None:
    assert not schema_errors(doc), schema_errors(doc)[:8]


def test_confidential_export_states_the_passports_figures(world: ConfWorld, claims: dict[str, Any],
                                                          doc: dict[str, Any]) -> None:
    assert doc["metadata"]["passportIdentifier"] == claims["passport_uuid"]
    summary = claims["summary"]
    active = doc["materials"]["active"]
    stated = {el: ELEMENTS[el][0].lower() for el in ("Co", "Ni", "Li") if el in summary["recycled_percent"]}
    assert "Co" in stated
    for el, name in stated.items():  # the proved shares, floored to 0.01 point: the passport's values
        assert active[name]["recycled"] == round(summary["recycled_percent"][el]["total"], 3)
    assert active["cobalt"]["recycled"] > 0
    # concentrations from the opened grams (the masses MaterialComposition states at commission level)
    held = world.run.store("voltara").get(world.packs[0])
    grams = element_totals({k: o.value for k, o in held.items()})
    masses = {m["batteryMaterialName"]: m["batteryMaterialMass"]
              for m in claims["aspects"]["MaterialComposition"]["batteryMaterials"]}
    lot = world.ledger.store.get_lot(world.packs[0])
    assert lot is not None
    composition = {c["id"][0]["name"]: c["concentration"] for c in doc["materials"]["composition"]}
    for el, g in grams.items():
        if el in ELEMENTS:
            assert g > 0 and composition[ELEMENTS[el][0]] == round(g * 1_000_000 / lot.gross_mass_g, 1)
            assert masses[ELEMENTS[el][0]] == pytest.approx(g / 1000)
    # the carbon footprint of the opened lineage, per stage, adds up to the passport's total
    stages = sum(x["value"] for x in doc["sustainability"]["carbonFootprint"])
    assert stages == pytest.approx(summary["carbon_kgco2e_per_kwh"], abs=1e-5) and stages > 0


def test_confidential_export_needs_the_openings(world: ConfWorld) -> None:
    pack = world.packs[0]
    with pytest.raises(OpeningsError) as missing:
        export_catenax(world.ledger, pack, VOLTARA_VM75, issued_at=NOW)
    assert missing.value.rule == "openings.missing"
    with pytest.raises(OpeningsError) as empty:
        export_catenax(world.ledger, pack, VOLTARA_VM75, issued_at=NOW, openings=OpeningStore())
    assert empty.value.rule == "openings.lot" and "no openings" in str(empty.value)
    # another holder's openings (a cell maker's) do not reach the pack
    others = [n for n in world.run.stores if n != "voltara" and world.run.store(n).lot_ids()]
    assert others
    with pytest.raises(OpeningsError) as wrong:
        export_catenax(world.ledger, pack, VOLTARA_VM75, issued_at=NOW, openings=world.run.store(others[0]))
    assert wrong.value.rule == "openings.lot"


@pytest.mark.parametrize("change", ["value", "blinding"])
def test_tampered_openings_are_refused_as_issuing_refuses_them(world: ConfWorld, change: str) -> None:
    pack = world.packs[0]
    tampered = OpeningStore()
    tampered.merge(world.run.store("voltara"))
    held = tampered.get(pack)
    first = sorted(held)[0]
    o = held[first]
    tampered.put(pack, {**held, first: type(o)(o.value + 1, o.blinding) if change == "value"
                        else type(o)(o.value, o.blinding + 1)})
    with pytest.raises(OpeningsError) as refused:
        export_catenax(world.ledger, pack, VOLTARA_VM75, issued_at=NOW, openings=tampered)
    assert refused.value.rule == "openings.mismatch" and "do not open" in str(refused.value)
    with pytest.raises(OpeningsError) as issuing:
        issue_passport(world.ledger, pack, VOLTARA_VM75, world.s.actors["voltara"].signing_key, issued_at=NOW,
                       openings=tampered)
    assert issuing.value.rule == refused.value.rule
    assert isinstance(refused.value, BatterytraceError)
