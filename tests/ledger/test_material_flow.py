"""The material flow of a battery stage by stage (ledger/material_flow.py): the stages of the demo
chain with their registered names, grams that balance at every site, the read policy (public:
nothing; a participant: only what it held; token levels: any battery), and a confidential
lineage's grams withheld unless its economic operator's openings are used for itself."""

from __future__ import annotations

import pytest

from batterytrace.demo.scenario import build_scenario
from batterytrace.ledger.ledger import Ledger, historical_clock
from batterytrace.ledger.material_flow import (
    PRODUCT_NODE,
    MaterialFlow,
    battery_flow,
    material_flow,
)
from batterytrace.ledger.openings_view import revealer
from batterytrace.ledger.read_policy import AccessDeniedError, Reader
from batterytrace.ledger.trace import trace_backward
from batterytrace.model.buckets import element_totals
from batterytrace.storage.memory import MemoryStore
from conf_pack_support import ConfWorld, conf_world


@pytest.fixture(scope="module")
def demo() -> tuple[Ledger, list[str], dict[str, str]]:
    s = build_scenario(packs=2, legacy_packs=1)
    ledger = Ledger(MemoryStore(), s.actors["operator"].did, s.ledger_id, clock=historical_clock)
    assert not ledger.submit_batch(s.events).rejected
    return ledger, s.packs, {k: a.did for k, a in s.actors.items()}


def _by_element(flow: MaterialFlow, pick: str, node: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for link in flow.links:
        if getattr(link, pick) == node and link.mass_g is not None and link.element is not None:
            out[link.element] = out.get(link.element, 0.0) + link.mass_g
    return out


def test_the_stages_of_the_demo_chain_with_their_names_in_order(demo: tuple[Ledger, list[str], dict[str, str]]) -> None:
    ledger, packs, _ = demo
    flow = material_flow(ledger.store, packs[0], Reader("commission"))
    assert flow.quantities == "shown"
    column = {n.node_id: n.column for n in flow.nodes}
    names = {n.node_id: n.name for n in flow.nodes}
    # mines and the recycler first, then refinery, cathode plant, cell plant, pack plant, the battery
    chain = ["site:plant:kivijarvi", "site:plant:aurelia", "site:plant:nordcell", "site:plant:voltara", PRODUCT_NODE]
    assert [column[n] for n in chain] == [1, 2, 3, 4, 5]
    origins = {n.node_id: n for n in flow.nodes if n.column == 0}
    assert "origin:mine:kasonta/certified" in origins and "origin:mine:mwelu/uncertified" in origins
    assert origins["origin:mine:kasonta/certified"].country == "CD"
    assert {n.role for n in origins.values()} == {"mine", "recycler"}
    assert {n.origin for n in origins.values() if n.role == "recycler"} <= {"recycled-pre", "recycled-post"}
    assert names["site:plant:kivijarvi"] == "Kivijärvi Battery Chemicals Oy, refinery"
    assert names["origin:mine:kasonta/certified"] == "Kasonta Cobalt SA, mine"
    assert {n.role for n in flow.nodes if n.column in (1, 2, 3, 4)} == {"refiner", "cathode_maker", "cell_maker", "oem"}
    # every link runs forward, between named nodes
    for link in flow.links:
        assert column[link.source] < column[link.target], link
    # recycled material enters at the cathode maker, not through the refinery
    assert any(link.source.startswith("origin:plant:circulon/") and link.target == "site:plant:aurelia"
               for link in flow.links)


def test_grams_balance_per_element_at_every_stage(demo: tuple[Ledger, list[str], dict[str, str]]) -> None:
    ledger, packs, _ = demo
    pack = ledger.store.get_lot(packs[1])
    assert pack is not None
    flow = material_flow(ledger.store, packs[1], Reader("authorities"))
    want = element_totals(pack.buckets)
    assert flow.element_g == want
    into_pack = _by_element(flow, "target", PRODUCT_NODE)
    out_of_origins: dict[str, float] = {}
    for n in flow.nodes:
        if n.column == 0:
            for el, g in _by_element(flow, "source", n.node_id).items():
                out_of_origins[el] = out_of_origins.get(el, 0.0) + g
    for el, grams in want.items():
        assert into_pack[el] == pytest.approx(grams, rel=1e-9)
        assert out_of_origins[el] == pytest.approx(grams, rel=1e-9)
    for n in flow.nodes:  # what a site passes on is what reached it
        if n.column > 0 and n.node_id != PRODUCT_NODE:
            ins, outs = _by_element(flow, "target", n.node_id), _by_element(flow, "source", n.node_id)
            assert ins.keys() == outs.keys()
            for el in ins:
                assert ins[el] == pytest.approx(outs[el], rel=1e-9), (n.node_id, el)
    for link in flow.links:
        assert link.percent == pytest.approx(100.0 * (link.mass_g or 0) / want[str(link.element)])
    # the origin column agrees with the trace's origin attribution, by site and bucket class
    trace = trace_backward(ledger.store, packs[1])
    kasonta = sum(g for k, g in trace.origins["mine:kasonta"].items())
    assert sum(link.mass_g or 0 for link in flow.links if link.source == "origin:mine:kasonta/certified") == \
        pytest.approx(kasonta)


def test_public_readers_get_no_flow(demo: tuple[Ledger, list[str], dict[str, str]]) -> None:
    ledger, packs, _ = demo
    with pytest.raises(AccessDeniedError) as exc:
        material_flow(ledger.store, packs[0], Reader.public())
    assert exc.value.needs_token
    pack = ledger.store.get_lot(packs[0])
    assert pack is not None and pack.gtin and pack.serial
    with pytest.raises(AccessDeniedError):
        battery_flow(ledger.store, pack.gtin, pack.serial, Reader.public())


def test_a_participant_sees_the_flow_of_what_it_held_only(demo: tuple[Ledger, list[str], dict[str, str]]) -> None:
    ledger, packs, did = demo
    pack = ledger.store.get_lot(packs[0])
    assert pack is not None and pack.gtin and pack.serial
    oem = Reader("participant", did["voltara"])
    flow = battery_flow(ledger.store, pack.gtin, pack.serial, oem)
    assert flow is not None and flow.lot_id == packs[0]
    assert "Kasonta Cobalt SA, mine" in {n.name for n in flow.nodes}
    mine = Reader("participant", did["kasonta"])  # supplied the cobalt, never held the pack
    assert battery_flow(ledger.store, pack.gtin, pack.serial, mine) is None
    with pytest.raises(AccessDeniedError):
        material_flow(ledger.store, packs[0], mine)
    assert battery_flow(ledger.store, pack.gtin, "NO-SUCH-SERIAL", Reader("commission")) is None


def test_the_flow_serialises_to_plain_data(demo: tuple[Ledger, list[str], dict[str, str]]) -> None:
    ledger, packs, _ = demo
    data = material_flow(ledger.store, packs[0], Reader("legitimate_interest")).to_dict()
    assert data["quantities"] == "shown" and data["lot"] == packs[0]
    assert {"node_id", "column", "role", "name", "country", "origin", "forms"} <= set(data["nodes"][0])
    assert {"source", "target", "element", "origin", "mass_g", "percent"} == set(data["links"][0])


@pytest.fixture(scope="module")
def world() -> ConfWorld:
    return conf_world()


def test_a_confidential_lineage_shows_no_grams_without_openings(world: ConfWorld) -> None:
    pack = world.packs[0]
    flow = material_flow(world.ledger.store, pack, Reader("authorities"))
    assert flow.quantities == "withheld"
    assert flow.element_g == {}
    assert flow.links and all(link.mass_g is None and link.percent is None and link.element is None
                              for link in flow.links)
    assert any(n.role == "cell_maker" for n in flow.nodes)  # the stages are named, without amounts
    assert all(v is None for link in flow.to_dict()["links"] for k, v in link.items() if k in ("mass_g", "percent"))


def test_openings_serve_the_economic_operator_only(world: ConfWorld) -> None:
    store = world.ledger.store
    pack = store.get_lot(world.packs[0])
    assert pack is not None
    reveal = revealer(world.run.store("voltara"))
    with pytest.raises(AccessDeniedError, match="economic operator"):
        material_flow(store, world.packs[0], Reader("commission"), reveal)
    flow = material_flow(store, world.packs[0], Reader("participant", pack.custodian), reveal)
    assert flow.quantities == "shown"
    assert sum(flow.element_g.values()) > 0
    into_pack = _by_element(flow, "target", PRODUCT_NODE)
    for el, grams in flow.element_g.items():
        assert into_pack[el] == pytest.approx(grams, rel=1e-9)
