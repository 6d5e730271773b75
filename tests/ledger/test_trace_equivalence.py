"""The backward trace's fast paths (pass-through of one-input nodes, per-node totals, shared lot
snapshots) give exactly — bit for bit, in the same order — what the plain mass-balance walk gives.

``_reference_trace`` is the straightforward algorithm the ledger used before those fast paths:
every node's shares are computed and every bucket is pushed through them. Passport figures are
sums of floats, so equal values in a different order would not be enough: the dictionaries are
compared with their order."""

from __future__ import annotations

import pytest

from batterytrace.demo.scenario import build_scenario
from batterytrace.ledger.ledger import Ledger, historical_clock
from batterytrace.ledger.trace import BackwardTrace, TraceCache, trace_backward
from batterytrace.model.buckets import add_buckets
from batterytrace.model.entities import Lot
from batterytrace.storage.base import Store
from batterytrace.storage.memory import MemoryStore


def _input_shares(in_lots: list[Lot]) -> dict[str, list[tuple[str, float]]]:
    totals = add_buckets(x.buckets for x in in_lots)
    return {
        key: [(x.lot_id, x.buckets[key] / total) for x in in_lots if x.buckets.get(key)]
        for key, total in totals.items() if total
    }


def _reference_trace(store: Store, lot_id: str) -> BackwardTrace:
    start = store.get_lot(lot_id)
    assert start is not None
    result = BackwardTrace(start, {lot_id: start})
    inputs: dict[str, list[str]] = {}
    inputs_by_lot: dict[str, list[str]] = {}
    frontier = [start]
    while frontier:
        frontier = [lot for lot in frontier if lot.made_by != "recycle"]
        inputs.update(store.inputs_of(sorted({lot.event for lot in frontier} - set(inputs))))
        level: dict[int, list[str]] = {}
        for lot in frontier:
            ins = inputs[lot.event]
            if lot.made_by == "receive":
                ins = ins[lot.index : lot.index + 1]
            inputs_by_lot[lot.lot_id] = ins
            level[id(ins)] = ins
        need = sorted({i for ins in level.values() for i in ins if i not in result.lots})
        fetched = store.get_lots(need)
        frontier = [fetched[i] for i in need if i in fetched]
        result.lots.update((x.lot_id, x) for x in frontier)
    node_of: dict[str, tuple[str, ...]] = {}
    members_left: dict[tuple[str, ...], int] = {}
    for lid, ins in inputs_by_lot.items():
        if ins:
            node = node_of[lid] = tuple(ins)
            members_left[node] = members_left.get(node, 0) + 1
    pending = dict.fromkeys(result.lots, 0)
    for node in members_left:
        for i in node:
            pending[i] += 1
    demand: dict[str, dict[str, float]] = {lot_id: {k: float(v) for k, v in start.buckets.items()}}
    node_demand: dict[tuple[str, ...], dict[str, float]] = {}
    ready = [lid for lid, n in pending.items() if n == 0]
    while ready:
        lid = ready.pop()
        lot = result.lots[lid]
        d = demand.pop(lid, {})
        result.attributed_g[lid] = sum(d.values())
        made_of = node_of.get(lid)
        if made_of is None:
            site = lot.site or f"participant:{lot.custodian}"
            bucket_map = result.origins.setdefault(site, {})
            for key, grams in d.items():
                bucket_map[key] = bucket_map.get(key, 0.0) + grams
            if lot.made_by == "recycle":
                cited = set(lot.extra.get("recycled_from", []))
                result.recycled_from[site] = sorted(set(result.recycled_from.get(site, [])) | cited)
            continue
        nd = node_demand.setdefault(made_of, {})
        for key, grams in d.items():
            nd[key] = nd.get(key, 0.0) + grams
        members_left[made_of] -= 1
        if members_left[made_of]:
            continue
        shares = _input_shares([result.lots[i] for i in made_of])
        for key, grams in node_demand.pop(made_of).items():
            for input_id, fraction in shares.get(key, ()):
                dd = demand.setdefault(input_id, {})
                dd[key] = dd.get(key, 0.0) + grams * fraction
        for i in made_of:
            pending[i] -= 1
            if pending[i] == 0:
                ready.append(i)
    return result


def _exact(trace: BackwardTrace) -> tuple[object, ...]:
    """Everything a trace says, floats as their repr and dictionaries in their order."""
    return (
        list(trace.lots),
        [(site, list(map(repr, buckets.items()))) for site, buckets in trace.origins.items()],
        list(trace.recycled_from.items()),
        [(lid, repr(g)) for lid, g in trace.attributed_g.items()],
    )


@pytest.fixture(scope="module")
def demo() -> tuple[Ledger, list[str]]:
    s = build_scenario(packs=6, legacy_packs=2)
    ledger = Ledger(MemoryStore(), s.actors["operator"].did, s.ledger_id, clock=historical_clock)
    assert not ledger.submit_batch(s.events).rejected
    # every serialised product, every module and a sample of the rest (cells, precursors, CAM)
    lots = sorted(ledger.store.iter_lots(), key=lambda x: x.lot_id)
    starts = [x.lot_id for x in lots if x.level >= 2] + [x.lot_id for x in lots if x.level < 2][::7]
    return ledger, starts


def test_fast_trace_equals_the_plain_walk_bit_for_bit(demo: tuple[Ledger, list[str]]) -> None:
    ledger, starts = demo
    cache = TraceCache()
    for lot_id in starts:
        expected = _exact(_reference_trace(ledger.store, lot_id))
        assert _exact(trace_backward(ledger.store, lot_id)) == expected, lot_id
        assert _exact(trace_backward(ledger.store, lot_id, cache)) == expected, lot_id


def test_shared_lots_are_the_stored_snapshots_not_copies_of_changing_state(demo: tuple[Ledger, list[str]]) -> None:
    ledger, starts = demo
    pack = next(i for i in starts if ledger.store.get_lot(i) is not None)
    trace = trace_backward(ledger.store, pack)
    # the start lot is read fresh (a copy); upstream lots equal what get_lots returns
    assert trace.lot is not ledger.store.read_lots([pack])[pack]
    upstream = [i for i in trace.lots if i != pack]
    assert {i: x.to_dict() for i, x in ledger.store.get_lots(upstream).items()} == {
        i: trace.lots[i].to_dict() for i in upstream
    }
