"""Invariant 3 of issue 12: a GTIN + serial number names one battery, everywhere.

The attacker is a registered participant creating lots: it gives a recycle output, a bulk lot or
a new product the GTIN + serial of a live pack (hijacking its Digital Link, passport lookup,
trace and recall), writes the same GTIN in another length, leaves a product unnamed, or feeds
identifiers that are not GS1 syntax. Every rule that creates lots checks identities through one
function (``lot_specs.check_identities``): plain, confidential and anonymous alike."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from batterytrace.errors import BatterytraceError
from batterytrace.ledger.anonymous_client import anonymous_extraction
from batterytrace.passport.issue import digital_link
from conf_support import CO_G, ConfChain, hydroxide
from ring_support import RingChain
from support import Chain

PACK = {"gtin": "04099999000753", "serial": "VM75-000001"}


def held(c: Chain, lot: str) -> dict[str, int]:
    got = c.ledger.store.get_lot(lot)
    assert got is not None
    return dict(got.buckets)


def cells_at(c: Chain, n: int, dst: str = "voltara") -> list[str]:
    """``n`` cells of 36 g certified Co, made by the cell maker from refined hydroxide."""
    (lot,) = c.to_cell_maker(c.ship_and_receive("kasonta", "kivijarvi", [c.extract("kasonta")]))
    (grams,) = held(c, lot).values()
    outputs = [{"form": "cell", "gross_mass_g": 1_450, "buckets": {"Co/certified/CD": 36}, **c.product_id()} for _ in range(n)]
    outputs.append({"form": "residue", "gross_mass_g": 900_000, "buckets": {"Co/certified/CD": grams - 36 * n}})
    made = c.accept_tracked("nordcell", {"kind": "transform", "inputs": [lot], "site": "plant:nordcell", "outputs": outputs})
    return c.ship_and_receive("nordcell", dst, made[:n])


def pack_body(c: Chain, cells: list[str], **ident: Any) -> dict[str, Any]:
    buckets: dict[str, int] = {}
    for lot in cells:
        for k, v in held(c, lot).items():
            buckets[k] = buckets.get(k, 0) + v
    return {"kind": "aggregate", "inputs": cells, "site": "plant:voltara",
            "outputs": [{"form": "pack", "gross_mass_g": 100_000, "buckets": buckets, **ident}]}


@pytest.fixture
def c() -> Chain:
    return Chain()


def serial_carriers(c: Chain, gtin: str, serial: str) -> list[str]:
    return c.ledger.store.lots_by_serial(gtin, serial)


def test_recycle_output_cannot_take_a_live_packs_identity(c: Chain) -> None:
    """Recycled sulphate named like the live VM75-000001 would answer its Digital Link, passport
    lookup and recall; refused, and the pack keeps its name alone."""
    live_cells, waste_cells = cells_at(c, 2)[:1], None
    (live,) = c.accept_tracked("voltara", pack_body(c, live_cells, **PACK))
    waste_cells = cells_at(c, 1)
    (waste,) = c.accept_tracked("voltara", pack_body(c, waste_cells, gtin=PACK["gtin"], serial="VM75-000002"))
    c.accept(c.sign("voltara", {"kind": "lifecycle", "lot": waste, "status": "original"}))
    (eol,) = c.ship_and_receive("voltara", "circulon", [waste])
    c.accept(c.sign("circulon", {"kind": "lifecycle", "lot": eol, "status": "waste"}))
    before = serial_carriers(c, **PACK)
    assert before == [live]
    rec = 36 * 95 // 100
    out = {"form": "cobalt_sulphate", "gross_mass_g": 200, "buckets": {"Co/recycled-post/—": rec}}
    body = {"kind": "recycle", "inputs": [eol], "site": "plant:circulon", "loss": {"Co/recycled-post/—": 36 - rec}}
    for ident in (PACK, {"gtin": PACK["gtin"]}, {"serial": PACK["serial"]}):
        err = c.reject(c.sign("circulon", {**body, "outputs": [{**out, **ident}]}))
        assert err.rule == "identity.bulk", ident
    assert serial_carriers(c, **PACK) == before
    c.accept(c.sign("circulon", {**body, "outputs": [out]}))


@pytest.mark.parametrize("ident", [PACK, {"gtin": PACK["gtin"]}, {"serial": "LOT-7"}])
def test_bulk_material_carries_no_identity(c: Chain, ident: dict[str, str]) -> None:
    hydrox = {"form": "cobalt_hydroxide", "gross_mass_g": 1_000_000, "buckets": {"Co/certified/CD": 350_000}, **ident}
    err = c.reject(c.sign("kasonta", {"kind": "extract", "site": "mine:kasonta", "outputs": [hydrox]}))
    assert err.rule == "identity.bulk"
    (lot,) = c.ship_and_receive("kasonta", "kivijarvi", [c.extract("kasonta")])
    sulph = {"form": "cobalt_sulphate", "gross_mass_g": 1_600_000, "buckets": held(c, lot), **ident}
    ev = c.sign("kivijarvi", {"kind": "transform", "inputs": [lot], "site": "plant:kivijarvi", "outputs": [sulph]})
    assert c.reject(ev).rule == "identity.bulk"


def test_a_receipt_cannot_name_bulk_material(c: Chain) -> None:
    lot = c.extract("kasonta")
    ship = c.sign("kasonta", {"kind": "ship", "to": c.did("kivijarvi"), "lots": [lot]})
    c.accept(ship)
    out = {"form": "cobalt_hydroxide", "gross_mass_g": 1_000_000, "buckets": held(c, lot), **PACK}
    body = {"kind": "receive", "shipment": ship.hash_hex, "lots": [lot], "site": "plant:kivijarvi", "outputs": [out]}
    assert c.reject(c.sign("kivijarvi", body)).rule == "identity.bulk"


@pytest.mark.parametrize("ident", [{}, {"gtin": PACK["gtin"]}, {"serial": "VM75-000009"}])
def test_every_product_is_named(c: Chain, ident: dict[str, str]) -> None:
    cells = cells_at(c, 2)
    assert c.reject(c.sign("voltara", pack_body(c, cells, **ident))).rule == "identity.missing"
    (lot,) = c.to_cell_maker(c.ship_and_receive("kasonta", "kivijarvi", [c.extract("kasonta")]))
    (grams,) = held(c, lot).values()
    cell = {"form": "cell", "gross_mass_g": 1_450, "buckets": {"Co/certified/CD": 36}, **ident}
    rest = {"form": "residue", "gross_mass_g": 900_000, "buckets": {"Co/certified/CD": grams - 36}}
    ev = c.sign("nordcell", {"kind": "transform", "inputs": [lot], "site": "plant:nordcell", "outputs": [cell, rest]})
    assert c.reject(ev).rule == "identity.missing"


@pytest.mark.parametrize(
    "ident",
    [
        {"gtin": "04099999000754", "serial": "S1"},  # wrong check digit
        {"gtin": "4099999000753", "serial": ""},  # empty serial
        {"gtin": 4099999000753, "serial": "S1"},  # a number, not a string
        {"gtin": "04099999000753", "serial": 1},
        {"gtin": "4099999000750", "serial": "S1"},  # GTIN-13 with a wrong check digit
        {"gtin": "409999900075", "serial": "S1"},  # 12 digits, wrong check digit
        {"gtin": "040999990007534", "serial": "S1"},  # 15 digits
        {"gtin": "0409999900075", "serial": "S1"},  # 13 digits whose check digit is wrong
        {"gtin": "0409999900075X", "serial": "S1"},
        {"gtin": "０４０９９９９９０００７５３", "serial": "S1"},  # full-width digits
        {"gtin": "04099999000753", "serial": "VM75 000001"},  # space is not CSET 82
        {"gtin": "04099999000753", "serial": "VM75#1"},
        {"gtin": "04099999000753", "serial": "VM75-ÄÖ"},
        {"gtin": "04099999000753", "serial": "X" * 21},
        {"gtin": "04099999000753", "serial": "S1\n"},
    ],
)
def test_identifiers_are_gs1_syntax(c: Chain, ident: dict[str, str]) -> None:
    cells = cells_at(c, 1)
    assert c.reject(c.sign("voltara", pack_body(c, cells, **ident))).rule == "identity.format"
    assert serial_carriers(c, **PACK) == []


def test_another_length_of_the_same_gtin_is_the_same_gtin(c: Chain) -> None:
    """GTIN-13 4099999000753 and GTIN-14 04099999000753 are one trade item: the ledger stores
    the 14-digit form, so writing the shorter form does not clone a live pack."""
    cells = cells_at(c, 2)
    (live,) = c.accept_tracked("voltara", pack_body(c, cells[:1], gtin="4099999000753", serial=PACK["serial"]))
    got = c.ledger.store.get_lot(live)
    assert got is not None and got.gtin == PACK["gtin"]
    clone = c.sign("voltara", pack_body(c, cells[1:], **PACK))
    assert c.reject(clone).rule == "identity.serial"
    assert serial_carriers(c, **PACK) == [live]
    # aggregated into a vehicle, the pack is spent, not free: its name still cannot be reused
    body = pack_body(c, [live], gtin="04099999000241", serial="CAR-1")
    body["outputs"][0]["form"] = "vehicle"
    c.accept(c.sign("voltara", body))
    assert c.reject(c.sign("voltara", pack_body(c, cells[1:], gtin="4099999000753", serial=PACK["serial"]))).rule == "identity.serial"


def test_digital_link_refuses_identifiers_that_are_not_gs1() -> None:
    assert digital_link("4099999000753", "VM75-000001").endswith("/01/04099999000753/21/VM75-000001")
    for gtin, serial in (("04099999000754", "S1"), ("04099999000753", "S 1"), ("04099999000753", "X" * 21),
                         ("04099999000753", ""), ("12345678901234", "S1")):
        with pytest.raises(BatterytraceError, match=r"no GS1 Digital Link"):
            digital_link(gtin, serial)


# ------------------------------------------------------------------------- confidential
def conf_cells(c: ConfChain, outputs: list[dict[str, Any]]) -> Any:
    held_lot = c.at_cell_maker()
    body = {"kind": "transform", "inputs": [held_lot], "site": "plant:nordcell", "outputs": outputs}
    return c.prove("nordcell", body, [held_lot], c.transform_tol())


def conf_cell(grams: int, **ident: Any) -> dict[str, Any]:
    return {"form": "cell", "gross_mass_g": 600_000, "buckets": {"Co/certified/CD": grams}, "coc_model": "mass_balance", **ident}


@pytest.mark.parametrize(
    ("ident", "rule"),
    [
        ({}, "identity.missing"),
        ({"gtin": "04099999000754", "serial": "C-1"}, "identity.format"),
        ({"gtin": PACK["gtin"], "serial": "C 1"}, "identity.format"),
    ],
)
def test_confidential_products_are_named_in_gs1_syntax(ident: dict[str, str], rule: str) -> None:
    c = ConfChain()
    c.lot = c.conf_at_refinery()
    proved = conf_cells(c, [conf_cell(200_000, **ident), conf_cell(CO_G - 200_000, **c.product_id())])
    assert c.reject(proved.event).rule == rule


def test_confidential_bulk_and_clones_are_refused() -> None:
    c = ConfChain()
    c.lot = c.conf_at_refinery()
    body = {"kind": "extract", "site": "mine:kasonta", "outputs": [{**hydroxide({"Co/certified/CD": CO_G}), **PACK}]}
    assert c.reject(c.prove("kasonta", body).event).rule == "identity.bulk"
    named = conf_cells(c, [conf_cell(200_000, **PACK), conf_cell(CO_G - 200_000, gtin="4099999000753", serial=PACK["serial"])])
    assert c.reject(named.event).rule == "identity.serial"  # the 13-digit form is the same GTIN


def test_anonymous_extraction_carries_no_identity() -> None:
    c = RingChain()
    body = c.body()
    body["outputs"][0] = {**body["outputs"][0], **PACK}
    made = anonymous_extraction(c.ledger.store, body, c.secrets["kasonta"])
    assert c.reject(made.proved.event).rule == "identity.bulk"


def test_over_http_a_bulk_lot_cannot_take_a_packs_digital_link(tmp_path: Path) -> None:
    """Through ``POST /events``: a mine labels its hydroxide with a live pack's GTIN + serial; the
    API answers 422 naming ``identity.bulk`` and the pack's Digital Link still resolves to it."""
    from api_support import serve
    from batterytrace.demo.scenario import build_scenario
    from batterytrace.model.events import sign_event
    from batterytrace.timeutil import format_time

    scenario = build_scenario(packs=1, legacy_packs=1)
    served = serve(scenario, tmp_path)
    pack = served.ledger.store.get_lot(scenario.packs[-1])
    assert pack is not None
    size = served.ledger.size()
    mine = scenario.actors["tujenge"]
    out = {"form": "heterogenite_concentrate", "gross_mass_g": 1_000_000, "buckets": {"Co/uncertified/CD": 120_000},
           "gtin": pack.gtin, "serial": pack.serial}
    ev = sign_event({"kind": "extract", "site": "mine:tujenge", "outputs": [out], "time": format_time(scenario.clock)},
                    mine.signing_key, ledger=served.ledger.ledger_id)
    r = served.client.post("/events", json=ev.to_wire())
    assert r.status_code == 422 and r.json()["rule"] == "identity.bulk", r.text
    assert served.ledger.size() == size
    assert served.ledger.store.lots_by_serial(pack.gtin, pack.serial) == [pack.lot_id]
    served.client.close()


# ------------------------------------------- a disaggregation gives back only its own parts
GTIN = PACK["gtin"]


def lot_of(c: Chain, lot: str) -> Any:
    got = c.ledger.store.get_lot(lot)
    assert got is not None
    return got


def ident_of(c: Chain, lot: str) -> dict[str, str]:
    got = lot_of(c, lot)
    return {"gtin": got.gtin, "serial": got.serial}


def part(c: Chain, lot: str, form: str, gross: int, **ident: Any) -> dict[str, Any]:
    return {"form": form, "gross_mass_g": gross, "buckets": held(c, lot), **ident}


def take_apart(c: Chain, who: str, lot: str, outputs: list[dict[str, Any]]) -> dict[str, Any]:
    return {"kind": "disaggregate", "inputs": [lot], "site": c.s.actors[who].site, "outputs": outputs}


def test_a_part_takes_back_no_identity_its_parent_was_not_assembled_from(c: Chain) -> None:
    """Cells → module MOD-1 → pack PACK-1; the pack taken apart gives MOD-1 back, but the module
    taken apart cannot yield a cell named like the pack (the disaggregation that made the module
    spent the pack, yet the module was never assembled from it) nor like the module; its own
    cells' identities come back, in their form, with what they carried."""
    cells = cells_at(c, 2)
    mod_id, pack_id = {"gtin": GTIN, "serial": "MOD-1"}, {"gtin": GTIN, "serial": "PACK-1"}
    (mod,) = c.accept_tracked("voltara", {"kind": "aggregate", "inputs": cells, "site": "plant:voltara",
                                          "outputs": [{"form": "module", "gross_mass_g": 5_000, "buckets": {"Co/certified/CD": 72}, **mod_id}]})
    (pack,) = c.accept_tracked("voltara", {"kind": "aggregate", "inputs": [mod], "site": "plant:voltara",
                                           "outputs": [part(c, mod, "pack", 10_000, **pack_id)]})
    (mod2,) = c.accept_tracked("voltara", take_apart(c, "voltara", pack, [part(c, pack, "module", 5_000, **mod_id)]))
    size = c.ledger.store.size()
    for stolen in (pack_id, mod_id):
        forged = [{"form": "cell", "gross_mass_g": 1_450, "buckets": {"Co/certified/CD": 36}, **stolen},
                  {"form": "cell", "gross_mass_g": 1_450, "buckets": {"Co/certified/CD": 36}, **c.product_id("X")}]
        assert c.reject(c.sign("voltara", take_apart(c, "voltara", mod2, forged))).rule == "identity.serial"
    assert c.ledger.store.size() == size
    assert [lot_of(c, x).form for x in serial_carriers(c, GTIN, "PACK-1")] == ["pack"]
    back = [{"form": "cell", "gross_mass_g": 1_450, "buckets": {"Co/certified/CD": 36}, **ident_of(c, x)} for x in cells]
    made = c.accept_tracked("voltara", take_apart(c, "voltara", mod2, back))
    assert [ident_of(c, x) for x in made] == [ident_of(c, x) for x in cells]


def test_a_part_keeps_the_form_of_the_child_whose_identity_it_takes_back(c: Chain) -> None:
    """A pack assembled straight from one cell: taking it apart into a module named like the cell
    is refused; into the cell, accepted."""
    (cell,) = cells_at(c, 1)
    (pack,) = c.accept_tracked("voltara", pack_body(c, [cell], **PACK))
    as_module = part(c, pack, "module", 1_450, **ident_of(c, cell))
    assert c.reject(c.sign("voltara", take_apart(c, "voltara", pack, [as_module]))).rule == "identity.serial"
    c.accept(c.sign("voltara", take_apart(c, "voltara", pack, [part(c, pack, "cell", 1_450, **ident_of(c, cell))])))


def test_after_one_receipt_a_pack_cannot_give_its_part_the_other_packs_name(c: Chain) -> None:
    """Two packs shipped and received together (one receipt spent both): a cell taken out of
    pack A cannot take pack B's name, nor pack B's cell's; pack A's own cell takes back its
    identity after the receipt (the parent carries its children's identities through it)."""
    c1, c2 = cells_at(c, 2)
    pb_id = {"gtin": GTIN, "serial": "PACK-B"}
    (pa,) = c.accept_tracked("voltara", pack_body(c, [c1], gtin=GTIN, serial="PACK-A"))
    (pb,) = c.accept_tracked("voltara", pack_body(c, [c2], **pb_id))
    pa2, pb2 = c.ship_and_receive("voltara", "circulon", [pa, pb])
    c.accept(c.sign("circulon", take_apart(c, "circulon", pb2, [part(c, pb2, "cell", 1_450, **c.product_id("Z"))])))
    size = c.ledger.store.size()
    for stolen in (pb_id, ident_of(c, c2)):
        bad = take_apart(c, "circulon", pa2, [part(c, pa2, "cell", 1_450, **stolen)])
        assert c.reject(c.sign("circulon", bad)).rule == "identity.serial"
    assert c.ledger.store.size() == size
    (x,) = c.accept_tracked("circulon", take_apart(c, "circulon", pa2, [part(c, pa2, "cell", 1_450, **ident_of(c, c1))]))
    assert ident_of(c, x) == ident_of(c, c1)


def test_confidential_parts_take_back_only_their_own_identities() -> None:
    c = ConfChain()
    c.lot = c.conf_at_refinery("uncertified", "tujenge")
    held_lot = c.at_cell_maker()
    key = "Co/uncertified/CD"

    def spec(form: str, grams: int, gross: int, **ident: Any) -> dict[str, Any]:
        return {"form": form, "gross_mass_g": gross, "buckets": {key: grams}, "coc_model": "mass_balance", **ident}

    cells = [spec("cell", 36, 1_450, **c.product_id()) for _ in range(2)]
    made = c.keep(c.prove("nordcell", {"kind": "transform", "inputs": [held_lot], "site": "plant:nordcell",
                                       "outputs": [*cells, spec("residue", CO_G - 72, 900_000)]}, [held_lot], c.transform_tol()))
    mod = c.keep(c.prove("nordcell", {"kind": "aggregate", "inputs": made[:2], "site": "plant:nordcell",
                                      "outputs": [spec("module", 72, 5_000, gtin=GTIN, serial="MOD-1")]}, made[:2]))[0]
    pack = c.keep(c.prove("nordcell", {"kind": "aggregate", "inputs": [mod], "site": "plant:nordcell",
                                       "outputs": [spec("pack", 72, 10_000, gtin=GTIN, serial="PACK-1")]}, [mod]))[0]
    mod2 = c.keep(c.prove("nordcell", {"kind": "disaggregate", "inputs": [pack], "site": "plant:nordcell",
                                       "outputs": [spec("module", 72, 5_000, gtin=GTIN, serial="MOD-1")]}, [pack]))[0]
    forged = c.prove("nordcell", {"kind": "disaggregate", "inputs": [mod2], "site": "plant:nordcell",
                                  "outputs": [spec("cell", 72, 3_000, gtin=GTIN, serial="PACK-1")]}, [mod2])
    assert c.reject(forged.event).rule == "identity.serial"
    own = [spec("cell", 36, 1_450, **ident_of(c, x)) for x in made[:2]]
    back = c.keep(c.prove("nordcell", {"kind": "disaggregate", "inputs": [mod2], "site": "plant:nordcell", "outputs": own}, [mod2]))
    assert [ident_of(c, x) for x in back] == [ident_of(c, x) for x in made[:2]]


def test_taking_a_pack_into_a_vehicle_and_out_keeps_its_history(c: Chain) -> None:
    """The economic operator repurposes its pack, declares it waste, puts it into a vehicle and
    takes it out again under its own name: the restored pack keeps its lifecycle (so its passport
    version and waste status), its economic operator and lineage; and no battery is declared
    'original' again after its first life ended."""
    from batterytrace.model.identifiers import passport_version

    cells = cells_at(c, 2)
    (pack,) = c.accept_tracked("voltara", pack_body(c, cells, **c.product_id("P")))
    for status, soh in (("original", 100.0), ("repurposed", 61.0), ("waste", 20.0)):
        c.accept(c.sign("voltara", {"kind": "lifecycle", "lot": pack, "status": status, "soh_percent": soh}))
    before = lot_of(c, pack)
    vehicle = {"kind": "aggregate", "inputs": [pack], "site": "plant:voltara",
               "outputs": [{"form": "vehicle", "gross_mass_g": 200_000, "buckets": held(c, pack), **c.product_id("V")}]}
    (v,) = c.accept(c.sign("voltara", vehicle))
    (again,) = c.accept(c.sign("voltara", take_apart(c, "voltara", v, [
        {"form": "pack", "gross_mass_g": before.gross_mass_g, "buckets": held(c, v), **ident_of(c, pack)}])))
    restored = lot_of(c, again)
    assert [r["status"] for r in restored.extra["lifecycle"]] == ["original", "repurposed", "waste"]
    assert passport_version(restored.extra["lifecycle"]) == passport_version(before.extra["lifecycle"]) == 2
    for key in ("economic_operator", "children"):
        assert restored.extra[key] == before.extra[key]
    wipe = c.sign("voltara", {"kind": "lifecycle", "lot": again, "status": "original", "soh_percent": 100.0})
    assert c.reject(wipe).rule == "lifecycle.status"
