"""ISO 22095 chain of custody: identity-preserved material comes from one identified source.

The attacker is a processor that receives identity-preserved material from two mines (a receipt
moves each lot to its own site) and merges it into one lot it still calls identity preserved,
through receipts, transformations, aggregations and disaggregations; plain and confidential. The
ledger compares the extraction sites each lot carries (``origin_sites``), not where it lies now."""

from __future__ import annotations

from typing import Any

import pytest

from conf_support import ConfChain
from support import Chain

KEY = "Co/uncertified/CD"


def ip_hydroxide(grams: int, gross: int = 1_000_000) -> dict[str, Any]:
    return {"form": "cobalt_hydroxide", "gross_mass_g": gross, "coc_model": "identity_preserved", "buckets": {KEY: grams}}


def ip_sulphate(grams: int, gross: int) -> dict[str, Any]:
    return {"form": "cobalt_sulphate", "gross_mass_g": gross, "coc_model": "identity_preserved", "buckets": {KEY: grams}}


@pytest.fixture
def c() -> Chain:
    return Chain()


def at_refinery(c: Chain, mine: str) -> str:
    (lot,) = c.accept_tracked(mine, {"kind": "extract", "site": c.s.actors[mine].site, "outputs": [ip_hydroxide(300_000)]})
    (received,) = c.ship_and_receive(mine, "kivijarvi", [lot])
    return received


def refine(inputs: list[str], grams: int, gross: int) -> dict[str, Any]:
    return {"kind": "transform", "inputs": inputs, "site": "plant:kivijarvi", "outputs": [ip_sulphate(grams, gross)]}


def test_two_mines_material_received_at_one_site_stays_apart(c: Chain) -> None:
    """Both lots now lie at the refinery; merging them as identity preserved is refused, and the
    origin survives a further transformation and receipt; one mine's material alone is accepted."""
    a, b = at_refinery(c, "kasonta"), at_refinery(c, "tujenge")
    size = c.ledger.store.size()
    assert c.reject(c.sign("kivijarvi", refine([a, b], 600_000, 1_900_000))).rule == "coc.identity"
    assert c.ledger.store.size() == size
    (sa,) = c.accept_tracked("kivijarvi", refine([a], 300_000, 950_000))
    (sb,) = c.accept_tracked("kivijarvi", refine([b], 300_000, 950_000))
    got = c.ledger.store.get_lot(sa)
    assert got is not None and got.extra["origin_sites"] == ["mine:kasonta"]
    assert c.reject(c.sign("kivijarvi", refine([sa, sb], 600_000, 1_900_000))).rule == "coc.identity"
    a2 = at_refinery(c, "kasonta")
    c.accept(c.sign("kivijarvi", refine([sa, a2], 600_000, 1_900_000)))  # one mine, two deliveries


def test_confidential_identity_preserved_material_of_two_mines_is_not_merged() -> None:
    c = ConfChain()
    received = []
    for mine in ("kasonta", "tujenge"):
        body = {"kind": "extract", "site": c.s.actors[mine].site, "outputs": [ip_hydroxide(300_000)]}
        (lot,) = c.keep(c.prove(mine, body))
        ship = c.ship(mine, "kivijarvi", [lot])
        received += c.keep(c.prove("kivijarvi", c.receipt_body(ship, "kivijarvi", [ip_hydroxide(300_000)]), [lot]))
    merged = c.prove("kivijarvi", refine(received, 600_000, 1_900_000), received, c.transform_tol())
    assert c.reject(merged.event).rule == "coc.identity"
    alone = c.prove("kivijarvi", refine(received[:1], 300_000, 950_000), received[:1], c.transform_tol())
    c.keep(alone)


def test_recycling_does_not_merge_two_mines_identity_preserved_scrap(c: Chain) -> None:
    """Each mine's identity-preserved cobalt becomes cells and production scrap at the cell maker;
    the recycler takes both scrap lots in one recycle event and calls the black mass identity
    preserved: refused (``coc.identity``); each mine's scrap recycled alone stays identity
    preserved."""
    scraps = []
    for mine in ("kasonta", "tujenge"):
        (sulphate,) = c.accept_tracked("kivijarvi", refine([at_refinery(c, mine)], 300_000, 950_000))
        (n,) = c.ship_and_receive("kivijarvi", "nordcell", [sulphate])
        outs = c.accept_tracked("nordcell", {"kind": "transform", "inputs": [n], "site": "plant:nordcell", "outputs": [
            {"form": "cell", "gross_mass_g": 700_000, "coc_model": "identity_preserved", "buckets": {KEY: 210_000},
             **c.product_id()},
            {"form": "production_scrap", "gross_mass_g": 200_000, "coc_model": "identity_preserved",
             "buckets": {KEY: 90_000}}]})
        scraps.append(outs[1])
    received = c.ship_and_receive("nordcell", "circulon", scraps)

    def recycle(inputs: list[str], grams: int) -> dict[str, Any]:
        return {"kind": "recycle", "inputs": inputs, "site": "plant:circulon", "loss": {"Co/recycled-pre/—": grams // 20},
                "outputs": [{"form": "black_mass", "gross_mass_g": 400_000, "coc_model": "identity_preserved",
                             "buckets": {"Co/recycled-pre/—": grams - grams // 20}}]}

    size = c.ledger.store.size()
    assert c.reject(c.sign("circulon", recycle(received, 180_000))).rule == "coc.identity"
    assert c.ledger.store.size() == size
    c.accept(c.sign("circulon", recycle(received[:1], 90_000)))  # one mine's scrap alone: fine
