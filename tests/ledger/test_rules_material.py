"""Adversarial cases for the material-flow rules: each is an event a signed, registered participant
could submit to create recycled or certified material, break the product hierarchy, upgrade a
chain-of-custody claim, stretch a loss tolerance or clone a product identity. Every one must be
refused with the rule that names it, and leave the log unchanged."""

from __future__ import annotations

from typing import Any

import pytest

from batterytrace.demo.scenario import Scenario
from support import Chain


@pytest.fixture
def c() -> Chain:
    return Chain()


def held(c: Chain, lot: str) -> dict[str, int]:
    got = c.ledger.store.get_lot(lot)
    assert got is not None
    return dict(got.buckets)


def at(c: Chain, src: str, dst: str, lot: str) -> str:
    return c.ship_and_receive(src, dst, [lot])[0]


def recycle_body(inputs: list[str], buckets: dict[str, int], loss: dict[str, int],
                 form: str = "black_mass", coc: str = "mass_balance") -> dict[str, Any]:
    return {"kind": "recycle", "inputs": inputs, "site": "plant:circulon", "loss": loss,
            "outputs": [{"form": form, "gross_mass_g": 500_000, "buckets": buckets, "coc_model": coc}]}


def recovered(grams: int) -> tuple[dict[str, int], dict[str, int]]:
    rec = grams * 95 // 100
    return {"Co/recycled-post/—": rec}, {"Co/recycled-post/—": grams - rec}


# ----------------------------------------------------------------- recycled material
def test_recycling_virgin_material_is_refused(c: Chain) -> None:
    """A recycler that buys freshly mined hydroxide may not book it as post-consumer recycled."""
    lot = at(c, "tujenge", "circulon", c.extract("tujenge", certified=False))
    (grams,) = held(c, lot).values()
    out, loss = recovered(grams)
    err = c.reject(c.sign("circulon", recycle_body([lot], out, loss)))
    assert err.rule == "recycled.origin"
    assert lot in str(err)


# ------------------------------------------------------------------ product hierarchy
@pytest.mark.parametrize("form", ["cell", "module", "pack"])
def test_a_mine_cannot_extract_products(c: Chain, form: str) -> None:
    out = {"form": form, "gross_mass_g": 1_450, "buckets": {"Co/certified/CD": 36}, "coc_model": "segregated"}
    ev = c.sign("kasonta", {"kind": "extract", "site": "mine:kasonta", "outputs": [out]})
    assert c.reject(ev).rule == "aggregation.hierarchy"


def scrap_at_recycler(c: Chain) -> tuple[str, int]:
    """Production scrap (falling from the cell maker's cell production, from refined uncertified
    cobalt) received by the recycler; returns it and its grams."""
    (lot,) = c.to_cell_maker([at(c, "tujenge", "kivijarvi", c.extract("tujenge", certified=False))])
    (grams,) = held(c, lot).values()
    cell = {"form": "cell", "gross_mass_g": 200_000, "buckets": {"Co/uncertified/CD": 70_000}, **c.product_id()}
    share = 30_000  # 30 % of the product and scrap: within max_scrap_permille (provenance.scrap-share)
    spec = {"form": "production_scrap", "gross_mass_g": 100_000, "buckets": {"Co/uncertified/CD": share}}
    rest = {"form": "residue", "gross_mass_g": 900_000, "buckets": {"Co/uncertified/CD": grams - 70_000 - share}}
    (_, scrap, _) = c.accept_tracked("nordcell", {"kind": "transform", "inputs": [lot], "site": "plant:nordcell",
                                                  "outputs": [cell, spec, rest]})
    return at(c, "nordcell", "circulon", scrap), share


@pytest.mark.parametrize("form", ["cell", "pack"])
def test_recycling_cannot_yield_products(c: Chain, form: str) -> None:
    scrap, grams = scrap_at_recycler(c)
    rec = grams * 95 // 100
    body = recycle_body([scrap], {"Co/recycled-pre/—": rec}, {"Co/recycled-pre/—": grams - rec}, form=form)
    assert c.reject(c.sign("circulon", body)).rule == "aggregation.hierarchy"
    c.accept(c.sign("circulon", {**body, "outputs": [{**body["outputs"][0], "form": "black_mass"}]}))


def cells_at_oem(c: Chain, certified: bool, n: int = 2, coc: str = "segregated") -> list[str]:
    """``n`` cells of 36 g Co made under ``coc`` from one mine's hydroxide, held by the OEM."""
    mine, site, origin = ("kasonta", "mine:kasonta", "certified") if certified else ("tujenge", "mine:tujenge", "uncertified")
    key = f"Co/{origin}/CD"
    spec = Scenario.material("cobalt_hydroxide", {key: 350_000}, coc)
    (raw,) = c.accept_tracked(mine, {"kind": "extract", "site": site, "outputs": [spec]})
    (lot,) = c.to_cell_maker([at(c, mine, "kivijarvi", raw)])
    outputs = [{"form": "cell", "gross_mass_g": 1_450, "buckets": {key: 36}, "coc_model": coc, **c.product_id()} for _ in range(n)]
    outputs.append({"form": "residue", "gross_mass_g": 900_000, "buckets": {key: 350_000 - 36 * n}, "coc_model": coc})
    made = c.accept_tracked("nordcell", {"kind": "transform", "inputs": [lot], "site": "plant:nordcell",
                                         "outputs": outputs})
    return c.ship_and_receive("nordcell", "voltara", made[:n])


def aggregate_body(c: Chain, inputs: list[str], form: str, coc: str = "mass_balance", **more: Any) -> dict[str, Any]:
    buckets: dict[str, int] = {}
    for lot in inputs:
        for k, v in held(c, lot).items():
            buckets[k] = buckets.get(k, 0) + v
    ident = {} if "gtin" in more else c.product_id("A")
    return {"kind": "aggregate", "inputs": inputs, "site": "plant:voltara",
            "outputs": [{"form": form, "gross_mass_g": 100_000, "buckets": buckets, "coc_model": coc, **ident, **more}]}


# ---------------------------------------------------------------- chain of custody
def test_aggregation_cannot_mix_origins_under_segregation(c: Chain) -> None:
    cert = cells_at_oem(c, certified=True, n=1)
    unc = cells_at_oem(c, certified=False, n=1)
    ev = c.sign("voltara", aggregate_body(c, cert + unc, "module", "segregated"))
    assert c.reject(ev).rule == "coc.segregated"
    c.accept(c.sign("voltara", aggregate_body(c, cert + unc, "module", "mass_balance")))


def test_disaggregation_cannot_upgrade_the_custody_model(c: Chain) -> None:
    cells = cells_at_oem(c, certified=True, n=2)
    (module,) = c.accept_tracked("voltara", aggregate_body(c, cells, "module", "mass_balance"))
    parts = [{"form": "cell", "gross_mass_g": 1_450, "buckets": {"Co/certified/CD": 36}, "coc_model": "identity_preserved",
              **c.product_id("P")} for _ in range(2)]
    body = {"kind": "disaggregate", "inputs": [module], "site": "plant:voltara", "outputs": parts}
    assert c.reject(c.sign("voltara", body)).rule == "coc.model"
    c.accept(c.sign("voltara", {**body, "outputs": [{**p, "coc_model": "mass_balance"} for p in parts]}))


def test_recycling_cannot_upgrade_the_custody_model(c: Chain) -> None:
    scrap, grams = scrap_at_recycler(c)
    rec = grams * 95 // 100
    body = recycle_body([scrap], {"Co/recycled-pre/—": rec}, {"Co/recycled-pre/—": grams - rec}, coc="segregated")
    assert c.reject(c.sign("circulon", body)).rule == "coc.model"


# ------------------------------------------------------------------ loss tolerance
def test_a_token_spodumene_input_does_not_raise_the_cobalt_tolerance(c: Chain) -> None:
    """The 15 % spodumene allowance is for lithium from spodumene, not for everything processed
    alongside a gram of it: cobalt may still lose only 5 %."""
    co = at(c, "kasonta", "kivijarvi", c.extract("kasonta"))
    spd = c.s.extract("redgum", "spodumene_concentrate", 1_000, False, 0.4, True)
    c.flush()
    li = at(c, "redgum", "kivijarvi", spd)
    (co_g,) = held(c, co).values()
    (li_key, li_g), = held(c, li).items()
    lost = co_g * 10 // 100  # 10 %: above refining's 5 %, below spodumene's 15 %
    outputs = [Scenario.material("cobalt_sulphate", {"Co/certified/CD": co_g - lost}, "mass_balance"),
               {"form": "lithium_hydroxide", "gross_mass_g": 1_000, "buckets": {li_key: li_g}}]
    body = {"kind": "transform", "inputs": [co, li], "site": "plant:kivijarvi", "outputs": outputs,
            "loss": {"Co/certified/CD": lost}}
    assert c.reject(c.sign("kivijarvi", body)).rule == "loss.tolerance"
    # lithium from the spodumene keeps its 15 % allowance
    li_lost = li_g * 12 // 100
    ok = {**body, "inputs": [li], "loss": {li_key: li_lost},
          "outputs": [{"form": "lithium_hydroxide", "gross_mass_g": 1_000, "buckets": {li_key: li_g - li_lost}}]}
    c.accept(c.sign("kivijarvi", ok))


# ---------------------------------------------------------------- product identity
PACK_ID = {"gtin": "04099999000753", "serial": "VM75-000001"}


def test_a_serial_number_is_issued_once(c: Chain) -> None:
    cells = cells_at_oem(c, certified=True, n=2)
    c.accept(c.sign("voltara", aggregate_body(c, cells[:1], "pack", **PACK_ID)))
    clone = c.sign("voltara", aggregate_body(c, cells[1:], "pack", **PACK_ID))
    assert c.reject(clone).rule == "identity.serial"


def test_a_serial_number_is_issued_once_within_a_batch(c: Chain) -> None:
    cells = cells_at_oem(c, certified=True, n=2)
    a = c.sign("voltara", aggregate_body(c, cells[:1], "pack", **PACK_ID))
    b = c.sign("voltara", aggregate_body(c, cells[1:], "pack", **PACK_ID))
    result = c.ledger.submit_batch([a, b])
    assert len(result.accepted) == 1
    assert [r.rule for r in result.rejected] == ["identity.serial"]


def test_a_receipt_keeps_the_products_identity(c: Chain) -> None:
    cells = cells_at_oem(c, certified=True, n=1)
    (pack,) = c.accept_tracked("voltara", aggregate_body(c, cells, "pack", **PACK_ID, capacity_kwh=75.3))
    shp = c.sign("voltara", {"kind": "ship", "to": c.did("circulon"), "lots": [pack]})
    c.accept(shp)
    out = {"form": "pack", "gross_mass_g": 100_000, "buckets": held(c, pack)}
    body = {"kind": "receive", "shipment": shp.hash_hex, "lots": [pack], "site": "plant:circulon", "outputs": [out]}
    for change in ({"serial": "VM75-999999"}, {"gtin": "04099999000760"}, {"capacity_kwh": 150.0}):
        err = c.reject(c.sign("circulon", {**body, "outputs": [{**out, **PACK_ID, **change}]}))
        assert err.rule == "receipt.identity", change
    (got,) = c.accept(c.sign("circulon", body))
    lot = c.ledger.store.get_lot(got)
    assert lot is not None and (lot.gtin, lot.serial, lot.extra["capacity_kwh"]) == (*PACK_ID.values(), 75.3)


def test_disaggregation_restores_only_the_parents_own_serials(c: Chain) -> None:
    cells = cells_at_oem(c, certified=True, n=2)
    (pack,) = c.accept_tracked("voltara", aggregate_body(c, cells[:1], "pack", **PACK_ID))
    (other,) = c.accept_tracked("voltara", aggregate_body(c, cells[1:], "pack", gtin=PACK_ID["gtin"], serial="VM75-000002"))
    (car,) = c.accept_tracked("voltara", aggregate_body(c, [pack], "vehicle"))
    (car2,) = c.accept_tracked("voltara", aggregate_body(c, [other], "vehicle"))
    part = {"form": "pack", "gross_mass_g": 100_000, "buckets": held(c, car2), **PACK_ID}
    # the second car holds VM75-000002; it cannot give back VM75-000001, which sits in the first car
    body = {"kind": "disaggregate", "inputs": [car2], "site": "plant:voltara", "outputs": [part]}
    assert c.reject(c.sign("voltara", body)).rule == "identity.serial"
    # taking the first car apart gives its pack back its own serial, once
    part = {**part, "buckets": held(c, car)}
    halves = [{**part, "buckets": {k: v // 2 for k, v in part["buckets"].items()}},
              {**part, "buckets": {k: v - v // 2 for k, v in part["buckets"].items()}}]
    twice = {"kind": "disaggregate", "inputs": [car], "site": "plant:voltara", "outputs": halves}
    assert c.reject(c.sign("voltara", twice)).rule == "identity.serial"
    (back,) = c.accept(c.sign("voltara", {**twice, "outputs": [part]}))
    got = c.ledger.store.get_lot(back)
    assert got is not None and (got.gtin, got.serial) == tuple(PACK_ID.values())
    assert c.ledger.store.lots_by_serial(*PACK_ID.values())[-1] == back


@pytest.mark.parametrize(
    "data",
    [{"capacity_kwh": "75 kWh"}, {"capacity_kwh": -75.3}, {"capacity_kwh": 0}, {"capacity_kwh": True},
     {"capacity_kwh": [75.3]}, {"model": {"name": "VM75"}}, {"chemistry": 811}, {"model": ""}],
)
def test_product_data_is_typed(c: Chain, data: dict[str, Any]) -> None:
    """Rated capacity feeds the passport's footprint per kWh; model and chemistry are printed on it."""
    cells = cells_at_oem(c, certified=True, n=1)
    assert c.reject(c.sign("voltara", aggregate_body(c, cells, "pack", **PACK_ID, **data))).rule == "schema"


def test_null_product_data_is_not_stored(c: Chain) -> None:
    cells = cells_at_oem(c, certified=True, n=1)
    (pack,) = c.accept(c.sign("voltara", aggregate_body(c, cells, "pack", **PACK_ID, capacity_kwh=None)))
    got = c.ledger.store.get_lot(pack)
    assert got is not None and "capacity_kwh" not in got.extra


def test_a_token_pack_does_not_make_production_scrap_post_consumer(c: Chain) -> None:
    """Recycling scrap together with one end-of-life pack may not book the scrap as post-consumer
    material: each input keeps its own class (production scrap → pre-consumer)."""
    scrap, scrap_g = scrap_at_recycler(c)
    cells = cells_at_oem(c, certified=True, n=1)
    (pack,) = c.accept_tracked("voltara", aggregate_body(c, cells, "pack", **PACK_ID))
    c.accept(c.sign("voltara", {"kind": "lifecycle", "lot": pack, "status": "original"}))
    (eol,) = c.ship_and_receive("voltara", "circulon", [pack])
    c.accept(c.sign("circulon", {"kind": "lifecycle", "lot": eol, "status": "waste"}))
    pack_g = sum(held(c, eol).values())
    total = scrap_g + pack_g
    rec = total * 95 // 100
    body = recycle_body([scrap, eol], {"Co/recycled-post/—": rec}, {"Co/recycled-post/—": total - rec})
    assert c.reject(c.sign("circulon", body)).rule == "recycled.origin"
    pre, post = scrap_g * 95 // 100, pack_g  # the pack's 36 g recovered whole, the scrap at 95 %
    ok = recycle_body([scrap, eol], {"Co/recycled-pre/—": pre, "Co/recycled-post/—": post},
                      {"Co/recycled-pre/—": scrap_g - pre})
    c.accept(c.sign("circulon", ok))
