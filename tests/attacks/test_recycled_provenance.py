"""Invariant 2 of issue 12: recycled content only comes from real scrap or real end of life.

The attacker is a registered participant who wants virgin material to count as recycled
(pre-consumer via ``production_scrap``, post-consumer via a product): it makes a "cell" straight
from ore, extracts or relabels material as production scrap, makes products in a role that does
not manufacture them, or recycles products that never were placed on the market and declared
waste. Plain and confidential mode alike (the confidential handlers call the same helpers)."""

from __future__ import annotations

from typing import Any

import pytest

from batterytrace.crypto.zk import LinearStatement, prove_linear
from batterytrace.ledger.confidential import binding_hash, scrap_context
from batterytrace.ledger.confidential_client import ProvedEvent
from conf_support import CO_G, ConfChain, hydroxide
from ring_support import RingChain
from support import Chain, resign


def held(c: Chain, lot: str) -> dict[str, int]:
    got = c.ledger.store.get_lot(lot)
    assert got is not None
    return dict(got.buckets)


def grams_of(c: Chain, lot: str) -> int:
    return sum(held(c, lot).values())


def cells_and(c: Chain, who: str, lot: str, n: int = 1, rest_form: str = "residue") -> dict[str, Any]:
    """A transformation of ``lot`` (held by ``who``) into ``n`` cells of 36 g and the rest."""
    (key,) = held(c, lot)
    outputs = [{"form": "cell", "gross_mass_g": 1_450, "buckets": {key: 36}, **c.product_id()} for _ in range(n)]
    outputs.append({"form": rest_form, "gross_mass_g": 900_000, "buckets": {key: grams_of(c, lot) - 36 * n}})
    return {"kind": "transform", "inputs": [lot], "site": c.s.actors[who].site, "outputs": outputs}


def recycle_body(inputs: list[str], grams: int, origin: str, form: str = "black_mass") -> dict[str, Any]:
    rec = grams * 95 // 100
    return {"kind": "recycle", "inputs": inputs, "site": "plant:circulon",
            "outputs": [{"form": form, "gross_mass_g": 500_000, "buckets": {f"Co/{origin}/—": rec}}],
            "loss": {f"Co/{origin}/—": grams - rec}}


@pytest.fixture
def c() -> Chain:
    return Chain()


# ---------------------------------------------------------------- products from manufacturing
def test_ore_does_not_become_a_cell(c: Chain) -> None:
    """A cell maker buys hydroxide from the mine and 'makes cells' of it: the hydroxide was never
    processed, so the cells would be a relabelling (and their end of life post-consumer cobalt)."""
    (ore,) = c.ship_and_receive("tujenge", "nordcell", [c.extract("tujenge", certified=False)])
    err = c.reject(c.sign("nordcell", cells_and(c, "nordcell", ore)))
    assert err.rule == "provenance.product" and ore in err.detail
    # the cell maker's own "refining" does not launder it: only a processing role's transformation does
    (key,) = held(c, ore)
    own = {"kind": "transform", "inputs": [ore], "site": "plant:nordcell",
           "outputs": [{"form": "cobalt_sulphate", "gross_mass_g": 600_000, "buckets": {key: grams_of(c, ore)}}]}
    (laundered,) = c.accept_tracked("nordcell", own)
    assert c.reject(c.sign("nordcell", cells_and(c, "nordcell", laundered))).rule == "provenance.product"
    # through another participant's hands it is still unprocessed ore
    (again,) = c.ship_and_receive("nordcell", "voltara", [laundered])
    assert c.reject(c.sign("voltara", cells_and(c, "voltara", again))).rule == "provenance.product"


@pytest.mark.parametrize("who", ["kivijarvi", "aurelia", "circulon"])
def test_only_manufacturing_roles_make_products(c: Chain, who: str) -> None:
    """A refiner, a cathode maker or a recycler may not make cells even from processed material
    (a recycler making its own products would then recycle them as post-consumer)."""
    (lot,) = c.ship_and_receive("tujenge", "kivijarvi", [c.extract("tujenge", certified=False)])
    lot = c.refine(lot)
    if who != "kivijarvi":
        (lot,) = c.ship_and_receive("kivijarvi", who, [lot])
    err = c.reject(c.sign(who, cells_and(c, who, lot)))
    assert err.rule == "provenance.product"
    still = c.ledger.store.get_lot(lot)
    assert still is not None and still.status == "held"


# ---------------------------------------------------------------------- production scrap
def test_a_mine_cannot_extract_production_scrap(c: Chain) -> None:
    out = {"form": "production_scrap", "gross_mass_g": 1_000_000, "buckets": {"Co/uncertified/CD": 120_000}}
    err = c.reject(c.sign("tujenge", {"kind": "extract", "site": "mine:tujenge", "outputs": [out]}))
    assert err.rule == "provenance.scrap"


@pytest.mark.parametrize("who", ["kivijarvi", "nordcell", "circulon"])
def test_scrap_does_not_fall_from_a_transformation_without_product(c: Chain, who: str) -> None:
    """Refined sulphate 'transformed' into production scrap alone (the relabelling the recycler,
    the refiner or even the cell maker could do) is refused: scrap falls from making product."""
    (lot,) = c.ship_and_receive("tujenge", "kivijarvi", [c.extract("tujenge", certified=False)])
    lot = c.refine(lot)
    if who != "kivijarvi":
        (lot,) = c.ship_and_receive("kivijarvi", who, [lot])
    (key,) = held(c, lot)
    body = {"kind": "transform", "inputs": [lot], "site": c.s.actors[who].site,
            "outputs": [{"form": "production_scrap", "gross_mass_g": 1_000_000, "buckets": {key: grams_of(c, lot)}}]}
    assert c.reject(c.sign(who, body)).rule == "provenance.scrap"


def test_recycling_yields_no_production_scrap(c: Chain) -> None:
    """Recycled material relabelled as production scrap would be recycled again as pre-consumer."""
    (lot,) = c.to_cell_maker(c.ship_and_receive("tujenge", "kivijarvi", [c.extract("tujenge", certified=False)]))
    made = c.accept_tracked("nordcell", cell_and_scrap(c, lot, 70_000, [30_000]))  # within max_scrap_permille
    (scrap,) = c.ship_and_receive("nordcell", "circulon", [made[1]])
    grams = grams_of(c, scrap)
    body = recycle_body([scrap], grams, "recycled-pre", form="production_scrap")
    assert c.reject(c.sign("circulon", body)).rule == "provenance.scrap"
    c.accept(c.sign("circulon", recycle_body([scrap], grams, "recycled-pre")))  # real scrap is recyclable


# --------------------------------------------------------------------------- end of life
def cell_at_recycler(c: Chain, in_service: bool) -> str:
    (lot,) = c.to_cell_maker(c.ship_and_receive("tujenge", "kivijarvi", [c.extract("tujenge", certified=False)]))
    (cell, _) = c.accept_tracked("nordcell", cells_and(c, "nordcell", lot))
    if in_service:
        c.accept(c.sign("nordcell", {"kind": "lifecycle", "lot": cell, "status": "original"}))
    (at,) = c.ship_and_receive("nordcell", "circulon", [cell])
    return at


@pytest.mark.parametrize("waste", [False, True])
def test_a_product_never_in_service_is_not_post_consumer(c: Chain, waste: bool) -> None:
    """Fresh cells sent to the recycler (declared waste or not) are not end of life: every
    product level, not only packs, must be placed on the market / in service, then declared waste."""
    cell = cell_at_recycler(c, in_service=False)
    if waste:
        c.accept(c.sign("circulon", {"kind": "lifecycle", "lot": cell, "status": "waste"}))
    err = c.reject(c.sign("circulon", recycle_body([cell], 36, "recycled-post")))
    assert err.rule == "recycled.end-of-life"


def test_an_end_of_life_cell_is_post_consumer(c: Chain) -> None:
    cell = cell_at_recycler(c, in_service=True)
    assert c.reject(c.sign("circulon", recycle_body([cell], 36, "recycled-post"))).rule == "recycled.end-of-life"
    c.accept(c.sign("circulon", {"kind": "lifecycle", "lot": cell, "status": "waste"}))
    c.accept(c.sign("circulon", recycle_body([cell], 36, "recycled-post")))


def test_the_recycler_cannot_put_a_product_in_service_on_paper(c: Chain) -> None:
    """Fresh cells reach the recycler; it declares them in service itself, then waste: the
    in-service status must predate the recycler's custody (declared by whoever held it before)."""
    cell = cell_at_recycler(c, in_service=False)
    c.accept(c.sign("circulon", {"kind": "lifecycle", "lot": cell, "status": "original"}))
    c.accept(c.sign("circulon", {"kind": "lifecycle", "lot": cell, "status": "waste"}))
    err = c.reject(c.sign("circulon", recycle_body([cell], 36, "recycled-post")))
    assert err.rule == "recycled.end-of-life"


def module_with_cells(c: Chain) -> tuple[str, int]:
    (lot,) = c.to_cell_maker(c.ship_and_receive("tujenge", "kivijarvi", [c.extract("tujenge", certified=False)]))
    made = c.accept_tracked("nordcell", cells_and(c, "nordcell", lot, n=2))
    cells = made[:2]
    module = {"form": "module", "gross_mass_g": 3_000, "buckets": {"Co/uncertified/CD": 72}, **c.product_id("M")}
    (mod,) = c.accept_tracked("nordcell", {"kind": "aggregate", "inputs": cells, "site": "plant:nordcell", "outputs": [module]})
    return mod, 72


def parts_body(c: Chain, mod: str, site: str) -> dict[str, Any]:
    parts = [{"form": "cell", "gross_mass_g": 1_450, "buckets": {"Co/uncertified/CD": 36}, **c.product_id("D")} for _ in range(2)]
    return {"kind": "disaggregate", "inputs": [mod], "site": site, "outputs": parts}


def test_parts_of_an_end_of_life_product_are_end_of_life(c: Chain) -> None:
    mod, _ = module_with_cells(c)
    c.accept(c.sign("nordcell", {"kind": "lifecycle", "lot": mod, "status": "original"}))
    (at,) = c.ship_and_receive("nordcell", "circulon", [mod])
    c.accept(c.sign("circulon", {"kind": "lifecycle", "lot": at, "status": "waste"}))
    parts = c.accept(c.sign("circulon", parts_body(c, at, "plant:circulon")))
    c.accept(c.sign("circulon", recycle_body(parts[:1], 36, "recycled-post")))
    # a part put back into service (second life) is no longer end-of-life until declared waste again
    c.accept(c.sign("circulon", {"kind": "lifecycle", "lot": parts[1], "status": "repurposed"}))
    assert c.reject(c.sign("circulon", recycle_body(parts[1:], 36, "recycled-post"))).rule == "recycled.end-of-life"
    c.accept(c.sign("circulon", {"kind": "lifecycle", "lot": parts[1], "status": "waste"}))
    c.accept(c.sign("circulon", recycle_body(parts[1:], 36, "recycled-post")))


def test_parts_of_a_product_in_service_are_not_end_of_life(c: Chain) -> None:
    """A recycler takes apart a module nobody declared waste: its cells are not post-consumer."""
    mod, _ = module_with_cells(c)
    (at,) = c.ship_and_receive("nordcell", "circulon", [mod])
    parts = c.accept(c.sign("circulon", parts_body(c, at, "plant:circulon")))
    assert c.reject(c.sign("circulon", recycle_body(parts[:1], 36, "recycled-post"))).rule == "recycled.end-of-life"
    # nor does the recycler's own in-service + waste declaration on the parts it made make them end-of-life
    for status in ("original", "waste"):
        c.accept(c.sign("circulon", {"kind": "lifecycle", "lot": parts[0], "status": status}))
    assert c.reject(c.sign("circulon", recycle_body(parts[:1], 36, "recycled-post"))).rule == "recycled.end-of-life"


# -------------------------------------------------------------------------- confidential
@pytest.fixture
def cc() -> ConfChain:
    chain = ConfChain()
    chain.lot = chain.conf_at_refinery("uncertified", "tujenge")
    return chain


def conf_cell(c: ConfChain, grams: int) -> dict[str, Any]:
    return {"form": "cell", "gross_mass_g": 600_000, "buckets": {"Co/uncertified/CD": grams}, "coc_model": "mass_balance",
            **c.product_id()}


def test_confidential_ore_does_not_become_a_cell(cc: ConfChain) -> None:
    ship = cc.ship("kivijarvi", "nordcell", [cc.lot])
    [ore] = cc.keep(cc.prove("nordcell", cc.receipt_body(ship, "nordcell", [hydroxide({"Co/uncertified/CD": CO_G}, coc="mass_balance")]), [cc.lot]))
    body = {"kind": "transform", "inputs": [ore], "site": "plant:nordcell", "outputs": [conf_cell(cc, CO_G)]}
    assert cc.reject(cc.prove("nordcell", body, [ore], cc.transform_tol()).event).rule == "provenance.product"
    own = {"kind": "transform", "inputs": [ore], "site": "plant:nordcell", "outputs": [
        {"form": "cobalt_sulphate", "gross_mass_g": 1_600_000, "coc_model": "mass_balance", "buckets": {"Co/uncertified/CD": CO_G}}]}
    [laundered] = cc.keep(cc.prove("nordcell", own, [ore], cc.transform_tol()))
    body = {**body, "inputs": [laundered]}
    assert cc.reject(cc.prove("nordcell", body, [laundered], cc.transform_tol()).event).rule == "provenance.product"


def test_confidential_scrap_needs_a_product(cc: ConfChain) -> None:
    scrap = {"form": "production_scrap", "gross_mass_g": 1_000_000, "coc_model": "mass_balance",
             "buckets": {"Co/uncertified/CD": CO_G}}
    body = {"kind": "transform", "inputs": [cc.lot], "site": "plant:kivijarvi", "outputs": [scrap]}
    proved = cc.prove("kivijarvi", body, [cc.lot], cc.transform_tol(), scrap_permille=1000)
    assert cc.reject(proved.event).rule == "provenance.scrap"
    extract = {"kind": "extract", "site": "mine:tujenge", "outputs": [scrap]}
    assert cc.reject(cc.prove("tujenge", extract).event).rule == "provenance.scrap"


def test_confidential_recycling_needs_end_of_life(cc: ConfChain) -> None:
    held_lot = cc.at_cell_maker()
    body = {"kind": "transform", "inputs": [held_lot], "site": "plant:nordcell", "outputs": [conf_cell(cc, CO_G)]}
    [cell] = cc.keep(cc.prove("nordcell", body, [held_lot], cc.transform_tol()))
    ship = cc.ship("nordcell", "circulon", [cell])
    [at] = cc.keep(cc.prove("circulon", cc.receipt_body(ship, "circulon", [{**body["outputs"][0]}]), [cell]))
    cc.accept(cc.sign("circulon", {"kind": "lifecycle", "lot": at, "status": "waste"}))  # never in service
    out = {"form": "cobalt_sulphate", "gross_mass_g": 1_500_000, "coc_model": "mass_balance",
           "buckets": {"Co/recycled-post/—": CO_G - 10_000}}
    rec = {"kind": "recycle", "inputs": [at], "site": "plant:circulon", "outputs": [out], "loss": {"Co/recycled-post/—": 10_000}}
    assert cc.reject(cc.prove("circulon", rec, [at], 100).event).rule == "recycled.end-of-life"


def test_anonymous_extraction_yields_no_production_scrap() -> None:
    from batterytrace.ledger.anonymous_client import anonymous_extraction

    c = RingChain()
    body = c.body()
    body["outputs"][0] = {**body["outputs"][0], "form": "production_scrap"}
    made = anonymous_extraction(c.ledger.store, body, c.secrets["kasonta"])
    assert c.reject(made.proved.event).rule == "provenance.scrap"


# ------------------------------------------------------------------ the share of scrap
def cell_and_scrap(c: Chain, lot: str, cell_g: int, scrap_grams: list[int]) -> dict[str, Any]:
    """A transformation of ``lot`` into one cell holding ``cell_g`` grams, production scrap lots
    of the given grams and the rest as bulk residue (which the maker may transform again)."""
    (key,) = held(c, lot)
    rest = grams_of(c, lot) - cell_g - sum(scrap_grams)
    cell = {"form": "cell", "gross_mass_g": max(1_450, 2 * cell_g), "buckets": {key: cell_g}, **c.product_id()}
    scrap = [{"form": "production_scrap", "gross_mass_g": 2 * g + 1, "buckets": {key: g}} for g in scrap_grams]
    residue = {"form": "residue", "gross_mass_g": 900_000, "buckets": {key: rest}}
    return {"kind": "transform", "inputs": [lot], "site": "plant:nordcell", "outputs": [cell, *scrap, residue]}


# Cobalt at the cell maker: 350 000 g. 999 ‰ of it, or 2 × 200 ‰, next to a 36 g cell; one gram
# over 30 % of the product and scrap (16 g next to 36 g: 700·16 > 300·36; 30 001 g next to
# 70 000 g), also when split over several scrap lots.
@pytest.mark.parametrize(("cell_g", "scrap_grams"), [
    (36, [349_650]), (36, [70_000, 70_000]), (36, [16]), (70_000, [30_001]), (70_000, [15_001, 7_500, 7_500]),
])
def test_a_token_cell_cannot_book_its_input_as_scrap(c: Chain, cell_g: int, scrap_grams: list[int]) -> None:
    """Production scrap comes back from recycling as pre-consumer content, so a transformation
    may book, per element, at most the policy's max_scrap_permille (30 %) of the product and scrap
    it yields as scrap (a scrap rate, whatever the input): refused above it, nothing recorded."""
    (lot,) = c.to_cell_maker(c.ship_and_receive("tujenge", "kivijarvi", [c.extract("tujenge", certified=False)]))
    assert grams_of(c, lot) == 350_000
    size = c.ledger.store.size()
    assert c.reject(c.sign("nordcell", cell_and_scrap(c, lot, cell_g, scrap_grams))).rule == "provenance.scrap-share"
    assert c.ledger.store.size() == size
    c.accept(c.sign("nordcell", cell_and_scrap(c, lot, 70_000, [20_000, 10_000])))  # 30 % of the output: a line ramping up


def test_iterated_transformations_do_not_turn_the_input_into_scrap(c: Chain) -> None:
    """The attack on a bound per event INPUT: each round yields a 36 g cell, 30 % of its input as
    scrap and the bulk rest as residue that feeds the next round; 20 rounds would turn 99.7 % of
    the virgin cobalt into scrap. Against the product each round's scrap is at most 15 g next to
    its 36 g cell, however much residue it carries, so the scrap never outgrows the product."""
    (lot,) = c.to_cell_maker(c.ship_and_receive("tujenge", "kivijarvi", [c.extract("tujenge", certified=False)]))
    scrap_lots = []
    for _ in range(4):
        size = c.ledger.store.size()
        thirty = grams_of(c, lot) * 300 // 1000
        assert c.reject(c.sign("nordcell", cell_and_scrap(c, lot, 36, [thirty]))).rule == "provenance.scrap-share"
        assert c.reject(c.sign("nordcell", cell_and_scrap(c, lot, 36, [16]))).rule == "provenance.scrap-share"
        assert c.ledger.store.size() == size
        (_, scrap, lot) = c.accept_tracked("nordcell", cell_and_scrap(c, lot, 36, [15]))
        scrap_lots.append(scrap)
    assert sum(grams_of(c, s) for s in scrap_lots) == 4 * 15
    assert grams_of(c, lot) == 350_000 - 4 * (36 + 15)  # the residue stays the virgin material it was


def input_share_proof(cc: ConfChain, proved: ProvedEvent, inputs: list[str]) -> dict[str, str]:
    """A true statement about the event's commitments that is not the ledger's: cobalt scrap ≤
    300 ‰ of the INPUT (what a bound per input accepted), proved over the input and scrap
    openings and bound to the event like the real one."""
    body = proved.event.body
    ins = [o for lot in inputs for _, o in sorted(cc.openings[lot].items())]
    scrap = [o for spec, mine in zip(body["outputs"], proved.outputs, strict=True) if spec["form"] == "production_scrap"
             for _, o in sorted(mine.items())]
    statement = LinearStatement("scrap<=300", (300,) * len(ins) + (-1000,) * len(scrap), 0)
    proof, _ = prove_linear(statement, [*ins, *scrap], scrap_context(binding_hash(body), "Co"))
    return {"Co": proof.to_bytes().hex()}


def test_confidential_scrap_share_is_proved(cc: ConfChain) -> None:
    """Confidential: the transformation proves max‰·Σ v_product − (1000 − max‰)·Σ v_scrap ≥ 0 per
    element with the policy's max_scrap_permille. A proof of a larger share, or none, is refused;
    30 % of the output verifies."""
    held_lot = cc.at_cell_maker()
    cell = {**conf_cell(cc, 1), "gross_mass_g": 2}
    scrap = {"form": "production_scrap", "gross_mass_g": 1_000_000, "coc_model": "mass_balance",
             "buckets": {"Co/uncertified/CD": CO_G - 1}}
    body = {"kind": "transform", "inputs": [held_lot], "site": "plant:nordcell", "outputs": [cell, scrap]}
    with pytest.raises(ValueError, match="scrap"):  # the honest prover cannot prove it
        cc.prove("nordcell", body, [held_lot], cc.transform_tol())
    size = cc.ledger.store.size()
    unbounded = cc.prove("nordcell", body, [held_lot], cc.transform_tol(), scrap_permille=1000)
    assert "scrap" not in unbounded.event.body  # a policy of 1000 ‰ proves nothing; this one requires it
    assert cc.reject(unbounded.event).rule == "zk.malformed"
    key = cc.s.actors["nordcell"].signing_key
    assert cc.reject(resign(unbounded.event, key, scrap={})).rule == "zk.malformed"
    # 30 001 g of scrap next to 70 000 g of cell: 30 % of the output plus a gram
    scrap["buckets"] = {"Co/uncertified/CD": 30_001}
    residue = {"form": "residue", "gross_mass_g": 900_000, "coc_model": "mass_balance",
               "buckets": {"Co/uncertified/CD": CO_G - 100_001}}
    body = {**body, "outputs": [conf_cell(cc, 70_000), scrap, residue]}
    with pytest.raises(ValueError, match="scrap"):
        cc.prove("nordcell", body, [held_lot], cc.transform_tol())
    lenient = cc.prove("nordcell", body, [held_lot], cc.transform_tol(), scrap_permille=301)
    assert cc.reject(lenient.event).rule == "zk.scrap"
    assert cc.ledger.store.size() == size
    scrap["buckets"] = {"Co/uncertified/CD": 30_000}
    residue["buckets"] = {"Co/uncertified/CD": CO_G - 100_000}
    cc.keep(cc.prove("nordcell", {**body, "outputs": [conf_cell(cc, 70_000), scrap, residue]}, [held_lot],
                     cc.transform_tol()))


def test_confidential_iterated_transformations_do_not_turn_the_input_into_scrap(cc: ConfChain) -> None:
    """The iterated attack in confidential mode: 30 % of each round's input as scrap next to a
    36 g cell cannot be proved against the product, and a proof of the share of the input (the
    old statement, true for these commitments) does not verify; 15 g per 36 g cell does, round
    after round, so the scrap stays bounded by the cells whatever the residue carries."""
    cur = cc.at_cell_maker()
    key = cc.s.actors["nordcell"].signing_key
    rest = CO_G
    for _ in range(2):
        size = cc.ledger.store.size()
        thirty = rest * 300 // 1000
        body = {"kind": "transform", "inputs": [cur], "site": "plant:nordcell", "outputs": [
            conf_cell(cc, 36),
            {"form": "production_scrap", "gross_mass_g": 2 * thirty + 1, "coc_model": "mass_balance",
             "buckets": {"Co/uncertified/CD": thirty}},
            {"form": "residue", "gross_mass_g": 900_000, "coc_model": "mass_balance",
             "buckets": {"Co/uncertified/CD": rest - thirty - 36}}]}
        with pytest.raises(ValueError, match="scrap"):
            cc.prove("nordcell", body, [cur], cc.transform_tol())
        unbounded = cc.prove("nordcell", body, [cur], cc.transform_tol(), scrap_permille=1000)
        forged = resign(unbounded.event, key, scrap=input_share_proof(cc, unbounded, [cur]))
        assert cc.reject(forged).rule == "zk.scrap"
        assert cc.ledger.store.size() == size
        body["outputs"][0] = conf_cell(cc, 36)
        body["outputs"][1]["buckets"] = {"Co/uncertified/CD": 15}
        body["outputs"][2]["buckets"] = {"Co/uncertified/CD": rest - 15 - 36}
        (_, _, cur) = cc.keep(cc.prove("nordcell", body, [cur], cc.transform_tol()))
        rest -= 15 + 36
