"""Confidential events keep the identity rules of plain ones: a GTIN + serial names one item
(``identity.serial``), a receipt passes a product's identity on unchanged (``receipt.identity``),
and a form-specific loss tolerance is not widened for material of other forms."""

from __future__ import annotations

from typing import Any

import pytest

from batterytrace.ledger.confidential import public_openings
from batterytrace.ledger.confidential_client import prove_event
from batterytrace.model.policy import DEFAULT_POLICY
from batterytrace.timeutil import format_time
from conf_support import CO_G, ConfChain, hydroxide

GTIN = "04099999000753"


@pytest.fixture
def c() -> ConfChain:
    chain = ConfChain()
    chain.lot = chain.conf_at_refinery()
    return chain


def _cell(grams: int, **more: Any) -> dict[str, Any]:
    return {"form": "cell", "gross_mass_g": 600_000, "buckets": {"Co/certified/CD": grams},
            "coc_model": "mass_balance", **more}


def _cells(c: ConfChain, grams: list[int], **more: Any) -> list[str]:
    held = c.at_cell_maker()
    body = {"kind": "transform", "inputs": [held], "site": "plant:nordcell",
            "outputs": [_cell(g, **{**c.product_id(), **more}) for g in grams]}
    return c.keep(c.prove("nordcell", body, [held], c.transform_tol()))


def test_a_confidential_transform_cannot_issue_a_serial_twice(c: ConfChain) -> None:
    held = c.at_cell_maker()
    body = {"kind": "transform", "inputs": [held], "site": "plant:nordcell", "outputs": [
        _cell(200_000, gtin=GTIN, serial="C-1"), _cell(CO_G - 200_000, gtin=GTIN, serial="C-1")]}
    assert c.reject(c.prove("nordcell", body, [held], c.transform_tol()).event).rule == "identity.serial"


def test_a_confidential_aggregate_cannot_issue_a_serial_twice(c: ConfChain) -> None:
    cells = _cells(c, [100_000, 100_000, 100_000, 50_000])
    module = {"form": "module", "gross_mass_g": 1_300_000, "coc_model": "mass_balance", "gtin": GTIN, "serial": "M-1"}
    c.keep(c.prove("nordcell", {"kind": "aggregate", "inputs": cells[:2], "site": "plant:nordcell",
                                "outputs": [{**module, "buckets": {"Co/certified/CD": 200_000}}]}, cells[:2]))
    again = c.prove("nordcell", {"kind": "aggregate", "inputs": cells[2:], "site": "plant:nordcell",
                                 "outputs": [{**module, "buckets": {"Co/certified/CD": 150_000}}]}, cells[2:])
    assert c.reject(again.event).rule == "identity.serial"


def test_a_confidential_receipt_keeps_the_identity_of_what_it_receives(c: ConfChain) -> None:
    cells = _cells(c, [200_000, CO_G - 200_000], gtin=GTIN, capacity_kwh=0.4)
    cells = [cells[0]]
    ship = c.ship("nordcell", "voltara", cells)
    spec = _cell(200_000, gtin=GTIN, capacity_kwh=0.4)
    for change in ({"serial": "X-9"}, {"gtin": "04099999000760"}, {"capacity_kwh": 4.0}, {"chemistry": "LFP"}):
        forged = c.prove("voltara", c.receipt_body(ship, "voltara", [{**spec, **change}]), cells)
        assert c.reject(forged.event).rule == "receipt.identity", change
    c.keep(c.prove("voltara", c.receipt_body(ship, "voltara", [spec]), cells))


def test_a_token_spodumene_lot_does_not_widen_the_cobalt_tolerance(c: ConfChain) -> None:
    """docs/rules.md ``loss.tolerance``: the spodumene tolerance (150 ‰) covers spodumene only;
    adding a token plain spodumene lot to a confidential cobalt transformation must not let the
    cobalt lose 15 % instead of 5 %."""
    spod = c.s.extract("kasonta", "spodumene_concentrate", 10_000, False, 0.1, True)
    c.flush()
    [spod] = c.ship_and_receive("kasonta", "kivijarvi", [spod])
    stored = c.ledger.store.get_lot(spod)
    assert stored is not None and not stored.confidential
    keys = {**{k: g for k, g in stored.buckets.items() if g}}
    loss = 100_000  # 28 % of the cobalt, far above the 5 % refining tolerance
    outputs = [{"form": "cobalt_sulphate", "gross_mass_g": 1_600_000, "coc_model": "mass_balance",
                "buckets": {"Co/certified/CD": CO_G - loss, **keys}}]
    body = {"kind": "transform", "inputs": [c.lot, spod], "site": "plant:kivijarvi", "outputs": outputs,
            "loss": {"Co/certified/CD": loss}, "time": format_time(c.s.clock + 1)}
    tol = DEFAULT_POLICY.tolerance("transform", {"cobalt_hydroxide", "spodumene_concentrate"})
    assert tol == 150
    with pytest.raises(ValueError):
        prove_event(body, c.s.actors["kivijarvi"].signing_key, [c.openings[c.lot], public_openings(stored.buckets)], tol, ledger=c.s.ledger_id)
    body["loss"] = {"Co/certified/CD": 40_000}  # 11 %: within 15 %, above 5 %
    body["outputs"][0]["buckets"]["Co/certified/CD"] = CO_G - 40_000
    proved = prove_event(body, c.s.actors["kivijarvi"].signing_key, [c.openings[c.lot], public_openings(stored.buckets)], tol, ledger=c.s.ledger_id)
    err = c.reject(proved.event)
    assert err.rule in {"zk.unsupported", "zk.loss"}, err


def test_confidential_recycling_does_not_relabel_virgin_material_as_recycled(c: ConfChain) -> None:
    """Plain recycling refuses virgin bulk material (``recycled.origin``); a confidential one
    must too, or mined cobalt becomes recycled-post content for the Art. 8 targets."""
    ship = c.ship("kivijarvi", "circulon", [c.lot])
    [held] = c.keep(c.prove("circulon", c.receipt_body(ship, "circulon", [hydroxide({"Co/certified/CD": CO_G})]), [c.lot]))
    body = {"kind": "recycle", "inputs": [held], "site": "plant:circulon", "outputs": [
        {"form": "cobalt_sulphate", "gross_mass_g": 1_600_000, "coc_model": "mass_balance",
         "buckets": {"Co/recycled-post/—": CO_G - 10_000}}], "loss": {"Co/recycled-post/—": 10_000}}
    assert c.reject(c.prove("circulon", body, [held], 100).event).rule == "recycled.origin"


def test_confidential_recycling_yields_bulk_under_its_inputs_coc_model(c: ConfChain) -> None:
    cells = _cells(c, [200_000, CO_G - 200_000])
    c.accept(c.sign("nordcell", {"kind": "lifecycle", "lot": cells[0], "status": "original"}))
    ship = c.ship("nordcell", "circulon", [cells[0]])
    [cell] = c.keep(c.prove("circulon", c.receipt_body(ship, "circulon", [_cell(200_000)]), [cells[0]]))
    c.accept(c.sign("circulon", {"kind": "lifecycle", "lot": cell, "status": "waste"}))
    # recycling yields bulk material (a cell straight from the recycler is refused, as in plain
    # mode) under no stronger chain-of-custody model than its inputs
    out = {"form": "cell", "gross_mass_g": 600_000, "coc_model": "mass_balance",
           "buckets": {"Co/recycled-post/—": 190_000}, "gtin": GTIN, "serial": "R-1"}
    body = {"kind": "recycle", "inputs": [cell], "site": "plant:circulon", "outputs": [out],
            "loss": {"Co/recycled-post/—": 10_000}}
    assert c.reject(c.prove("circulon", body, [cell], 100).event).rule == "aggregation.hierarchy"
    stronger = {**body, "outputs": [{**out, "form": "cobalt_sulphate", "coc_model": "segregated",
                                     "gtin": None, "serial": None}]}
    stronger["outputs"][0] = {k: v for k, v in stronger["outputs"][0].items() if v is not None}
    assert c.reject(c.prove("circulon", stronger, [cell], 100).event).rule == "coc.model"


def test_a_confidential_aggregate_keeps_segregation_rules(c: ConfChain) -> None:
    held = c.at_cell_maker()
    held2 = c.at_cell_maker(c.conf_at_refinery("uncertified"))
    seg = {"form": "cell", "gross_mass_g": 600_000, "coc_model": "segregated"}
    [cert] = c.keep(c.prove("nordcell", {"kind": "transform", "inputs": [held], "site": "plant:nordcell", "outputs": [
        {**seg, "buckets": {"Co/certified/CD": CO_G}, **c.product_id()}]}, [held], c.transform_tol()))
    [unc] = c.keep(c.prove("nordcell", {"kind": "transform", "inputs": [held2], "site": "plant:nordcell", "outputs": [
        {**seg, "buckets": {"Co/uncertified/CD": CO_G}, **c.product_id()}]}, [held2], c.transform_tol()))
    module = {"kind": "aggregate", "inputs": [cert, unc], "site": "plant:nordcell", "outputs": [
        {"form": "module", "gross_mass_g": 1_300_000, "coc_model": "segregated", **c.product_id("M"),
         "buckets": {"Co/certified/CD": CO_G, "Co/uncertified/CD": CO_G}}]}
    assert c.reject(c.prove("nordcell", module, [cert, unc]).event).rule == "coc.segregated"


def test_confidential_recycling_cannot_book_scrap_as_post_consumer(c: ConfChain) -> None:
    """Plain recycling books production scrap as pre-consumer even next to an end-of-life
    product; a confidential one cannot weigh the two classes on commitments, so it refuses the mix
    instead of booking all of it post-consumer."""
    held = c.at_cell_maker()
    body = {"kind": "transform", "inputs": [held], "site": "plant:nordcell", "outputs": [
        _cell(70_000, **c.product_id()), {"form": "production_scrap", "gross_mass_g": 900_000, "coc_model": "mass_balance",
                        "buckets": {"Co/certified/CD": 30_000}},
        {"form": "residue", "gross_mass_g": 900_000, "coc_model": "mass_balance", "buckets": {"Co/certified/CD": CO_G - 100_000}}]}
    lots = c.keep(c.prove("nordcell", body, [held], c.transform_tol()))[:2]
    c.accept(c.sign("nordcell", {"kind": "lifecycle", "lot": lots[0], "status": "original"}))
    ship = c.ship("nordcell", "circulon", lots)
    got = c.keep(c.prove("circulon", c.receipt_body(ship, "circulon", [
        _cell(70_000), {**body["outputs"][1]}]), lots))
    c.accept(c.sign("circulon", {"kind": "lifecycle", "lot": got[0], "status": "waste"}))
    out = {"form": "cobalt_sulphate", "gross_mass_g": 1_500_000, "coc_model": "mass_balance",
           "buckets": {"Co/recycled-post/—": 92_000}}
    rec = {"kind": "recycle", "inputs": got, "site": "plant:circulon", "outputs": [out], "loss": {"Co/recycled-post/—": 8_000}}
    err = c.reject(c.prove("circulon", rec, got, 100).event)
    assert err.rule == "recycled.origin" and "classes" in err.detail
