"""Backward and forward traces over the demo chain agree with the buckets and with each other."""

from __future__ import annotations

import pytest

from batterytrace.demo.scenario import build_scenario
from batterytrace.ledger.ledger import Ledger, historical_clock
from batterytrace.ledger.trace import trace_backward, trace_forward
from batterytrace.model.buckets import element_totals, parse_bucket_key
from batterytrace.storage.memory import MemoryStore
from batterytrace.timeutil import parse_time


@pytest.fixture(scope="module")
def demo() -> tuple[Ledger, list[str], list[str]]:
    s = build_scenario(packs=3, legacy_packs=2)
    ledger = Ledger(MemoryStore(), s.actors["operator"].did, s.ledger_id, clock=historical_clock)
    result = ledger.submit_batch(s.events)
    assert not result.rejected
    return ledger, s.packs, s.legacy_packs


def test_backward_shares_add_up_per_element(demo: tuple[Ledger, list[str], list[str]]) -> None:
    ledger, packs, _ = demo
    for pack in packs:
        trace = trace_backward(ledger.store, pack)
        per_element: dict[str, float] = {}
        for buckets in trace.shares().values():
            for key, pct in buckets.items():
                el = parse_bucket_key(key).element
                per_element[el] = per_element.get(el, 0.0) + pct
        assert set(per_element) == {"Co", "Ni", "Li", "Mn"}
        for el, pct in per_element.items():
            assert pct == pytest.approx(100.0, abs=1e-6), el


def test_backward_shares_match_the_packs_buckets(demo: tuple[Ledger, list[str], list[str]]) -> None:
    ledger, packs, _ = demo
    pack = ledger.store.get_lot(packs[0])
    assert pack is not None
    trace = trace_backward(ledger.store, pack.lot_id)
    totals = element_totals(pack.buckets)
    by_bucket: dict[str, float] = {}
    for buckets in trace.shares().values():
        for key, pct in buckets.items():
            by_bucket[key] = by_bucket.get(key, 0.0) + pct
    for key, grams in pack.buckets.items():
        expected = 100.0 * grams / totals[parse_bucket_key(key).element]
        assert by_bucket[key] == pytest.approx(expected, abs=1e-6), key
    # certified cobalt can only come from the certified mine; recycled only from the recycler
    shares = trace.shares()
    assert all(k.startswith(("Co/certified",)) for k in shares.get("mine:kasonta", {}))
    assert any("recycled" in k for k in shares.get("plant:circulon", {}))
    assert all("recycled" in k for k in shares.get("plant:circulon", {}))
    assert "mine:mwelu" in shares and "mine:red-gum" in shares


def test_trace_reaches_every_origin_lot_back_to_extraction(demo: tuple[Ledger, list[str], list[str]]) -> None:
    ledger, packs, _ = demo
    trace = trace_backward(ledger.store, packs[-1])
    made_by = {lot.made_by for lot in trace.lots.values()}
    assert {"extract", "receive", "transform", "aggregate", "recycle"} <= made_by
    assert trace.recycled_from  # the recycler cites the end-of-life packs it recycled


def test_forward_recall_contains_every_pack_traced_back_to_the_site(demo: tuple[Ledger, list[str], list[str]]) -> None:
    ledger, packs, legacy = demo
    recall = trace_forward(ledger.store, site="mine:tujenge", start_us=0, end_us=parse_time("2030-01-01T00:00:00Z"))
    assert recall.start
    recalled = set(recall.pack_ids)
    for pack in packs + legacy:
        if "mine:tujenge" in trace_backward(ledger.store, pack).origins:
            assert pack in recalled
    assert recalled  # tujenge's cobalt reached packs


def test_forward_from_a_lot_and_bad_requests(demo: tuple[Ledger, list[str], list[str]]) -> None:
    ledger, packs, _ = demo
    one = trace_forward(ledger.store, [packs[0]])
    assert one.lot_count == 1 and one.pack_ids == [packs[0]]
    with pytest.raises(Exception, match="needs lot ids"):
        trace_forward(ledger.store)


def test_a_receipt_output_traces_to_its_own_received_lot_only() -> None:
    from support import Chain

    c = Chain()
    small, big = c.extract("kasonta", gross_g=500_000), c.extract("kasonta", gross_g=2_000_000)
    got_small, _got_big = c.ship_and_receive("kasonta", "kivijarvi", [small, big])
    trace = trace_backward(c.ledger.store, got_small)
    assert small in trace.lots and big not in trace.lots
    assert trace.attributed_g[small] == pytest.approx(sum(trace.lot.buckets.values()))


def test_recall_lists_each_battery_once_with_holder_and_status(demo: tuple[Ledger, list[str], list[str]]) -> None:
    from batterytrace.ledger.trace import recalled_products

    ledger, packs, legacy = demo
    store = ledger.store
    recall = trace_forward(store, site="mine:tujenge", start_us=0, end_us=parse_time("2030-01-01T00:00:00Z"))
    products = recalled_products(store, recall)
    keys = [(p.gtin, p.serial) for p in products]
    assert keys == sorted(set(keys))  # distinct and sorted
    lots = store.get_lots(recall.pack_ids)
    assert len(lots) > len(products)  # a recycled pack was shipped and received: two lots, one line
    assert {(x.gtin, x.serial) for x in lots.values()} == set(keys)
    by_serial = {p.serial: p for p in products}
    voltara = {p.did for p in store.list_participants() if p.legal_name.startswith("Voltara")}
    for lot_id in packs:
        pack = store.get_lot(lot_id)
        assert pack is not None and pack.serial is not None
        p = by_serial[pack.serial]
        assert (p.status, p.lot_id, p.lifecycle) == ("held", lot_id, "original")
        assert p.holder in voltara and p.holder_name and p.holder_name.startswith("Voltara")
    for lot_id in legacy:
        pack = store.get_lot(lot_id)
        assert pack is not None and pack.serial is not None
        p = by_serial[pack.serial]
        assert p.status == "recycled" and p.holder_name and "Recycling" in p.holder_name
        assert p.lot_id == store.lots_by_serial(pack.gtin or "", pack.serial)[-1]  # its current lot


def test_a_recall_refuses_an_unknown_site_an_empty_window_and_unknown_lots(
        demo: tuple[Ledger, list[str], list[str]]) -> None:
    from batterytrace.errors import BatterytraceError, NotFoundError

    store = demo[0].store
    t = parse_time("2025-03-01T00:00:00Z")
    with pytest.raises(NotFoundError, match="unknown site 'mine:tujengee'"):
        trace_forward(store, site="mine:tujengee", start_us=0, end_us=t)
    with pytest.raises(BatterytraceError, match="empty or reversed"):
        trace_forward(store, site="mine:tujenge", start_us=t, end_us=t)
    with pytest.raises(BatterytraceError, match="empty or reversed"):
        trace_forward(store, site="mine:tujenge", start_us=t, end_us=t - 1)
    with pytest.raises(NotFoundError, match="does not exist"):
        trace_forward(store, ["00" * 32 + ":0"])
