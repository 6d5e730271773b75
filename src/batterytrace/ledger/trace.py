"""Trace: backward (a lot → every contributing lot → mines, with element shares per bucket) and
forward (a lot, or a site and time window → every downstream lot and pack).

Both walk the lineage graph breadth-first with one batched store query per level. Backward
attribution splits each lot's bucket grams across the lots its producing event consumed, in
proportion to what each input held of that bucket (mass-balance allocation); for a recycling
event the whole recycled bucket is attributed to the recycler and the end-of-life lots it cites.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from batterytrace.errors import BatterytraceError
from batterytrace.model.buckets import add_buckets, element_totals, parse_bucket_key
from batterytrace.model.entities import FORM_LEVELS, Lot
from batterytrace.storage.base import Store

__all__ = ["PRODUCT_FORMS", "BackwardTrace", "ForwardTrace", "TraceCache", "trace_backward", "trace_forward"]

# what a recall returns: serialised products a passport is issued for (pack level and above)
PRODUCT_FORMS = tuple(sorted(form for form, level in FORM_LEVELS.items() if level >= 3))


@dataclass
class BackwardTrace:
    lot: Lot
    lots: dict[str, Lot] = field(default_factory=dict)  # every contributing lot (incl. the start)
    # origin site → bucket → grams attributed; recycled material is attributed to the recycler
    origins: dict[str, dict[str, float]] = field(default_factory=dict)
    recycled_from: dict[str, list[str]] = field(default_factory=dict)  # recycler site → EOL lots
    # lot id → grams of its contained metal that ended up in the traced lot (for footprints)
    attributed_g: dict[str, float] = field(default_factory=dict)

    def shares(self) -> dict[str, dict[str, float]]:
        """origin site → bucket → percent of the traced lot's element total."""
        totals = element_totals(self.lot.buckets)
        out: dict[str, dict[str, float]] = {}
        for site, buckets in self.origins.items():
            out[site] = {
                key: 100.0 * grams / totals[parse_bucket_key(key).element]
                for key, grams in buckets.items()
                if totals.get(parse_bucket_key(key).element)
            }
        return out


@dataclass
class ForwardTrace:
    start: list[str]
    lot_count: int = 0  # distinct downstream lots reached, the start lots included
    pack_ids: list[str] = field(default_factory=list)  # packs and vehicles among them, sorted


@dataclass
class TraceCache:
    """What backward traces read upstream of their start lot — lots, the inputs of their
    producing events, per-input bucket totals — kept for the traces of one batch (e.g. issuing
    every pack's passport). Only facts fixed when a lot is created are read through it, so it
    stays valid while events are appended; a start lot is always read fresh from the store."""

    lots: dict[str, Lot] = field(default_factory=dict)
    inputs: dict[str, list[str]] = field(default_factory=dict)
    # inputs of an event → bucket → [(input lot, its fraction of the inputs' bucket total)]
    shares: dict[tuple[str, ...], dict[str, list[tuple[str, float]]]] = field(default_factory=dict)


def _input_shares(in_lots: list[Lot]) -> dict[str, list[tuple[str, float]]]:
    totals = add_buckets(x.buckets for x in in_lots)
    return {
        key: [(x.lot_id, x.buckets[key] / total) for x in in_lots if x.buckets.get(key)]
        for key, total in totals.items() if total
    }


def trace_backward(store: Store, lot_id: str, cache: TraceCache | None = None,
                   reveal: Callable[[Lot], Lot] | None = None) -> BackwardTrace:
    """``reveal`` gives a confidential lot its grams from openings the caller holds (the
    economic operator of a confidential pack: ledger/openings_view.py); plain lots pass through."""
    cache = cache if cache is not None else TraceCache()
    start = store.get_lot(lot_id)
    if start is None:
        raise BatterytraceError(f"lot {lot_id} does not exist")
    if reveal is not None:
        start = reveal(start)
    result = BackwardTrace(start, {lot_id: start})
    inputs_by_lot: dict[str, list[str]] = {}
    frontier = [start]
    while frontier:
        # recycled material is a new origin: the walk stops at the recycling event
        frontier = [lot for lot in frontier if lot.made_by != "recycle"]
        events = sorted(e for e in {lot.event for lot in frontier} if e not in cache.inputs)
        if events:
            cache.inputs.update(store.inputs_of(events))
        level_inputs: dict[int, list[str]] = {}  # distinct input lists of this level (by identity)
        for lot in frontier:
            ins = cache.inputs[lot.event]
            if lot.made_by == "receive":
                # a receipt's output i is its received lot i: no mixing across the shipment
                ins = ins[lot.index : lot.index + 1]
            inputs_by_lot[lot.lot_id] = ins
            level_inputs[id(ins)] = ins
        need = sorted({i for ins in level_inputs.values() for i in ins if i not in result.lots})
        missing = [i for i in need if i not in cache.lots]
        if missing:
            cache.lots.update(store.get_lots(missing))
        fetched = [cache.lots[i] for i in need if i in cache.lots]
        if reveal is not None:
            fetched = [reveal(x) for x in fetched]
        result.lots.update((x.lot_id, x) for x in fetched)
        frontier = fetched

    # Demand flows down in Kahn's order over *nodes*: a node is the input list of the event that
    # made a lot (every output of a transform shares one; a receipt's output i has its own). A
    # lot's demand is final once every node consuming it has pushed; a node pushes once, after
    # all its traced members added their demand, so 192 cells of one cell batch cost one push.
    node_of: dict[str, tuple[str, ...]] = {}
    members_left: dict[tuple[str, ...], int] = {}
    for lid, ins in inputs_by_lot.items():
        if ins:
            node = node_of[lid] = tuple(ins)
            members_left[node] = members_left.get(node, 0) + 1
    pending = dict.fromkeys(result.lots, 0)
    for node in members_left:
        for i in node:  # input ids are distinct within an event
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
        if made_of is None:  # an origin: extraction, or recycling (recycled material starts anew)
            site = lot.site or f"participant:{lot.custodian}"
            bucket_map = result.origins.setdefault(site, {})
            for key, grams in d.items():
                bucket_map[key] = bucket_map.get(key, 0.0) + grams
            if lot.made_by == "recycle":
                cited = set(lot.extra.get("recycled_from", []))
                result.recycled_from[site] = sorted(set(result.recycled_from.get(site, [])) | cited)
            continue
        node = made_of
        nd = node_demand.setdefault(node, {})
        for key, grams in d.items():
            nd[key] = nd.get(key, 0.0) + grams
        members_left[node] -= 1
        if members_left[node]:
            continue
        shares = cache.shares.get(node)
        if shares is None:
            shares = cache.shares[node] = _input_shares([result.lots[i] for i in node])
        for key, grams in node_demand.pop(node).items():
            for input_id, fraction in shares.get(key, ()):
                dd = demand.setdefault(input_id, {})
                dd[key] = dd.get(key, 0.0) + grams * fraction
        for i in node:
            pending[i] -= 1
            if pending[i] == 0:
                ready.append(i)
    return result


def trace_forward(
    store: Store,
    lot_ids: list[str] | None = None,
    site: str | None = None,
    start_us: int | None = None,
    end_us: int | None = None,
) -> ForwardTrace:
    """Every lot downstream of the start lots (following ``spent_by`` → lots created by that
    event), counted, and the packs and vehicles among them. The walk runs inside the store (one
    recursive SQL query), so a recall over hundreds of thousands of packs never materialises the
    intermediate lots in Python."""
    if lot_ids is None:
        if site is None or start_us is None or end_us is None:
            raise BatterytraceError("forward trace needs lot ids, or a site and a time window")
        lot_ids = store.lots_at_site(site, start_us, end_us)
    count, packs = store.downstream(lot_ids, PRODUCT_FORMS)
    return ForwardTrace(list(lot_ids), count, packs)
