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

from batterytrace.errors import BatterytraceError, NotFoundError
from batterytrace.model.buckets import add_buckets, element_totals, parse_bucket_key
from batterytrace.model.entities import FORM_LEVELS, Lot
from batterytrace.storage.base import Store

__all__ = ["PRODUCT_FORMS", "BackwardTrace", "ForwardTrace", "RecalledProduct", "TraceCache", "recalled_products",
           "trace_backward", "trace_forward"]

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
    # lot id → the lots the event that made it consumed (a receipt's output: its received lot)
    made_from: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # with ``keep_demand``: lot id → bucket → grams of it that ended up in the traced lot
    demand_g: dict[str, dict[str, float]] = field(default_factory=dict)

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
    producing events, per-node bucket totals — kept for the traces of one batch (e.g. issuing
    every pack's passport). Only facts fixed when a lot is created are read through it, so it
    stays valid while events are appended; a start lot is always read fresh from the store."""

    lots: dict[str, Lot] = field(default_factory=dict)
    inputs: dict[str, list[str]] = field(default_factory=dict)
    # inputs of an event (a node) → bucket → grams the inputs hold together
    totals: dict[tuple[str, ...], dict[str, int]] = field(default_factory=dict)


def trace_backward(store: Store, lot_id: str, cache: TraceCache | None = None,
                   reveal: Callable[[Lot], Lot] | None = None, keep_demand: bool = False) -> BackwardTrace:
    """``reveal`` gives a confidential lot its grams from openings the caller holds (the
    economic operator of a confidential pack: ledger/openings_view.py); plain lots pass through.
    ``keep_demand`` keeps every lot's attributed grams per bucket (``demand_g``: the material flow)."""
    cache = cache if cache is not None else TraceCache()
    start = store.get_lot(lot_id)
    if start is None:
        raise BatterytraceError(f"lot {lot_id} does not exist")
    if reveal is not None:
        start = reveal(start)
        cache = TraceCache()  # bucket totals of opened lots must not mix with public ones
    result = BackwardTrace(start, {lot_id: start})
    node_of, members_left = _walk_up(store, result, cache, reveal)
    result.made_from = dict(node_of)
    _attribute(result, node_of, members_left, cache, keep_demand)
    return result


def _walk_up(
    store: Store, result: BackwardTrace, cache: TraceCache, reveal: Callable[[Lot], Lot] | None = None
) -> tuple[dict[str, tuple[str, ...]], dict[tuple[str, ...], int]]:
    """Read every contributing lot, level by level (one batched read per level), and return each
    lot's node — the input list of the event that made it (every output of a transform shares
    one; a receipt's output i has its own, its received lot i) — with the traced members per node."""
    lots = result.lots
    node_of: dict[str, tuple[str, ...]] = {}
    members_left: dict[tuple[str, ...], int] = {}
    event_nodes: dict[str, tuple[str, ...]] = {}
    inputs, known = cache.inputs, cache.lots
    frontier = [result.lot]
    while frontier:
        # recycled material is a new origin: the walk stops at the recycling event
        frontier = [lot for lot in frontier if lot.made_by != "recycle"]
        events = sorted({lot.event for lot in frontier}.difference(inputs))
        if events:
            inputs.update(store.inputs_of(events))
        level_nodes: set[tuple[str, ...]] = set()
        for lot in frontier:
            node: tuple[str, ...]
            if lot.made_by == "receive":
                # a receipt's output i is its received lot i: no mixing across the shipment
                shipped = inputs[lot.event]
                node = (shipped[lot.index],) if 0 <= lot.index < len(shipped) else ()
            else:
                found = event_nodes.get(lot.event)
                node = found if found is not None else event_nodes.setdefault(lot.event, tuple(inputs[lot.event]))
            if node:
                node_of[lot.lot_id] = node
                members_left[node] = members_left.get(node, 0) + 1
                level_nodes.add(node)
        need = sorted({i for node in level_nodes for i in node}.difference(lots))
        missing = [i for i in need if i not in known]
        if missing:
            known.update(store.read_lots(missing))
        fetched = {i: known[i] for i in need if i in known}
        if reveal is not None:
            fetched = {i: reveal(x) for i, x in fetched.items()}
        lots.update(fetched)
        frontier = list(fetched.values())
    return node_of, members_left


def _attribute(result: BackwardTrace, node_of: dict[str, tuple[str, ...]],
               members_left: dict[tuple[str, ...], int], cache: TraceCache, keep_demand: bool = False) -> None:
    """Demand flows down in Kahn's order over nodes: a lot's demand is final once every node
    consuming it has pushed; a node pushes once, after all its traced members added their
    demand, so 192 cells of one cell batch cost one push. A node's input gets, per bucket, the
    node's demand times the input's fraction of the inputs' bucket total.

    Float arithmetic is done in one fixed order (the same additions and products, in the same
    sequence, whatever the cache holds), so figures derived from a trace are reproducible. The
    shortcuts below give bit-for-bit what pushing every bucket through every node's shares gives
    (tests/ledger/test_trace_equivalence.py): bucket grams are non-negative integers, so no demand
    is -0.0 and ``0.0 + g == g``."""
    lots = result.lots
    start = result.lot
    pending = dict.fromkeys(lots, 0)
    for consumer in members_left:
        for i in consumer:  # input ids are distinct within an event
            pending[i] += 1
    demand: dict[str, dict[str, float]] = {start.lot_id: {k: float(v) for k, v in start.buckets.items()}}
    node_demand: dict[tuple[str, ...], dict[str, float]] = {}
    attributed = result.attributed_g
    ready = [lid for lid, n in pending.items() if n == 0]
    while ready:
        lid = ready.pop()
        d = demand.pop(lid, None)
        if d is None:
            d = {}
        attributed[lid] = sum(d.values())
        if keep_demand:  # a copy: d may become its node's demand and grow below
            result.demand_g[lid] = dict(d)
        node = node_of.get(lid)
        if node is None:  # an origin: extraction, or recycling (recycled material starts anew)
            _add_origin(result, lots[lid], d)
            continue
        nd = node_demand.get(node)
        if nd is None:
            # d is this lot's alone (popped above): the node's demand starts as it (0.0 + g == g)
            nd = d
        else:
            for key, grams in d.items():
                nd[key] = nd.get(key, 0.0) + grams
        left = members_left[node] - 1
        members_left[node] = left
        if left:
            node_demand[node] = nd
            continue
        if nd is not d:  # it was kept for the node's other members
            del node_demand[node]
        only = node[0]
        if len(node) == 1 and only not in demand and _holds_all(lots[only].buckets, nd):
            # one input holding every demanded bucket: its fraction of each is g / g == 1.0, and
            # grams * 1.0 == grams, so the demand passes on unchanged (a receipt's lot, mostly)
            demand[only] = nd
        else:
            _push(node, nd, lots, demand, cache)
        for i in node:
            pending[i] -= 1
            if pending[i] == 0:
                ready.append(i)


def _holds_all(buckets: dict[str, int], wanted: dict[str, float]) -> bool:
    return wanted.keys() <= buckets.keys() and all(buckets.values())


def _add_origin(result: BackwardTrace, lot: Lot, d: dict[str, float]) -> None:
    site = lot.site or f"participant:{lot.custodian}"
    bucket_map = result.origins.setdefault(site, {})
    for key, grams in d.items():
        bucket_map[key] = bucket_map.get(key, 0.0) + grams
    if lot.made_by == "recycle":
        cited = set(lot.extra.get("recycled_from", []))
        result.recycled_from[site] = sorted(set(result.recycled_from.get(site, [])) | cited)


def _push(node: tuple[str, ...], nd: dict[str, float], lots: dict[str, Lot],
          demand: dict[str, dict[str, float]], cache: TraceCache) -> None:
    """Split a node's demand over its inputs: per bucket, demand × (input grams / inputs' total)."""
    totals = cache.totals.get(node)
    if totals is None:
        totals = cache.totals[node] = _node_totals([lots[i].buckets for i in node])
    last_buckets: dict[str, int] | None = None
    last_share: dict[str, float] = {}
    for i in node:
        buckets = lots[i].buckets
        dd = demand.get(i)
        if dd is not None:  # demand from another node already: add to it
            for key, grams in nd.items():
                held = buckets.get(key)
                if held:
                    dd[key] = dd.get(key, 0.0) + grams * (held / totals[key])
            continue
        if buckets == last_buckets:
            # the same buckets as the input before (the cells of one module): the same share
            demand[i] = dict(last_share)
            continue
        share: dict[str, float] = {}
        for key, grams in nd.items():
            held = buckets.get(key)
            if held:  # then the inputs' total is at least ``held``, so positive
                share[key] = grams * (held / totals[key])
        demand[i] = share
        last_buckets, last_share = buckets, share  # copied when reused: each lot's own dict


def _node_totals(parts: list[dict[str, int]]) -> dict[str, int]:
    """Bucket totals of a node's inputs. Integer grams: runs of inputs with the same buckets (the
    cells of one module) are added as count × grams, which is exact."""
    runs: list[tuple[dict[str, int], int]] = []
    for buckets in parts:
        if runs and runs[-1][0] == buckets:
            runs[-1] = (buckets, runs[-1][1] + 1)
        else:
            runs.append((buckets, 1))
    if len(runs) == len(parts):
        return add_buckets(parts)
    total: dict[str, int] = {}
    for buckets, count in runs:
        for key, grams in buckets.items():
            total[key] = total.get(key, 0) + grams * count
    return total


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
    intermediate lots in Python. A recall by site needs a registered site and a window
    ``start_us`` < ``end_us`` (a mistyped site or a reversed window would find nothing and look like
    "no pack affected"); start lots must exist. ``NotFoundError`` / ``BatterytraceError`` otherwise."""
    if lot_ids is None:
        if site is None or start_us is None or end_us is None:
            raise BatterytraceError("forward trace needs lot ids, or a site and a time window")
        if store.get_site(site) is None:
            raise NotFoundError(f"unknown site {site!r}: no site of that id is registered on this ledger")
        if start_us >= end_us:
            raise BatterytraceError("the recall window is empty or reversed: its start must be before its end")
        lot_ids = store.lots_at_site(site, start_us, end_us)
    else:
        known = store.get_lots(lot_ids)
        missing = [i for i in lot_ids if i not in known]
        if missing:
            raise NotFoundError(f"lot {missing[0]} does not exist")
    count, packs = store.downstream(lot_ids, PRODUCT_FORMS)
    return ForwardTrace(list(lot_ids), count, packs)


@dataclass(frozen=True)
class RecalledProduct:
    """One battery (or vehicle) a recall reaches, once, at its current lot."""

    gtin: str
    serial: str
    form: str
    lot_id: str  # the battery's current (latest) lot
    holder: str  # did of who holds it now (for an installed pack: the holder of what it is in)
    holder_name: str | None  # the holder's registered legal name
    status: str  # held | in transit to <did> | installed in <form> <gtin>/<serial> | recycled | spent by <event>
    lifecycle: str  # original | repurposed | reused | remanufactured | waste (latest lifecycle record)

    def to_dict(self) -> dict[str, str | None]:
        return dict(self.__dict__)


def recalled_products(store: Store, result: ForwardTrace) -> list[RecalledProduct]:
    """The products of a forward trace, one per GTIN/serial (a battery shipped and received is
    several lots: its latest reached lot is its current one, as every later lot of a battery
    descends from its earlier ones), sorted by GTIN and serial, with holder and status."""
    lots = store.get_lots(result.pack_ids)
    current: dict[tuple[str, str], Lot] = {}
    for lot in lots.values():
        if not lot.gtin or not lot.serial:
            continue
        key = (lot.gtin, lot.serial)
        seen = current.get(key)
        if seen is None or (lot.created_at, lot.lot_id) > (seen.created_at, seen.lot_id):
            current[key] = lot
    spent = sorted({lot.spent_by for lot in current.values() if lot.status == "spent" and lot.spent_by})
    made = store.lots_created_by(spent) if spent else {}
    successors = store.get_lots(sorted({i for ids in made.values() for i in ids}))
    names: dict[str, str | None] = {}

    def name(did: str) -> str | None:
        if did not in names:
            p = store.get_participant(did)
            names[did] = p.legal_name if p is not None else None
        return names[did]

    out = []
    for (gtin, serial), lot in sorted(current.items()):
        holder, status = lot.custodian, lot.status
        if lot.status == "in_transit":
            to = (lot.shipment or {}).get("to")
            status = f"in transit to {to}" if to else "in transit"
        elif lot.status == "spent":
            after = [successors[i] for i in made.get(lot.spent_by or "", []) if i in successors]
            if any(x.made_by == "recycle" for x in after):
                status, holder = "recycled", after[0].custodian
            elif after and after[0].made_by == "aggregate" and after[0].gtin:
                status = f"installed in {after[0].form} {after[0].gtin}/{after[0].serial}"
                holder = after[0].custodian
            else:
                status = f"spent by event {lot.spent_by}"
        history = lot.extra.get("lifecycle", [])
        lifecycle = str(history[-1].get("status", "original")) if history else "original"
        out.append(RecalledProduct(gtin, serial, lot.form, lot.lot_id, holder, name(holder), status, lifecycle))
    return out
