"""A battery's material flow through its supply chain, stage by stage, for readers who may trace it.

From the backward trace (``trace.trace_backward``): every origin (a mine's extraction, certified or
not, or a recycler's output, recycled pre- or post-consumer) → the sites that processed the
material (refiners, cathode makers, cell makers, module and pack assembly) → the battery. A node is
a site (or, for lots recorded without one, the custodian); custody transfers (ship/receive) are not
stages, so a received lot belongs to the node that made what was shipped. A link carries, per
element and origin class, the grams of the battery's content that passed from one node to the next
(mass-balance attribution, as the trace allocates it) and their percent of the battery's element.

Read policy (``read_policy.may_trace``): lineage shows who supplied whom, so a public reader gets
nothing (``AccessDeniedError``); a token level reads any battery's flow, a participant or auditor
the flow of a lot it held. Quantities: a confidential lot's grams are commitments, so without
openings the flow has its nodes and links but no quantities (``quantities == "withheld"``);
openings (``reveal``, ledger/openings_view.py) are used only for the economic operator itself (the
reader holding the lot) or the ledger operator, never to show another reader hidden grams.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from batterytrace.errors import NotFoundError
from batterytrace.ledger.read_policy import AccessDeniedError, Reader, may_trace
from batterytrace.ledger.trace import PRODUCT_FORMS, TraceCache, trace_backward
from batterytrace.model.buckets import element_totals, parse_bucket_key
from batterytrace.model.entities import Lot
from batterytrace.storage.base import Store

__all__ = ["PRODUCT_NODE", "ROLE_COLUMNS", "FlowLink", "FlowNode", "MaterialFlow", "battery_flow", "material_flow"]

PRODUCT_NODE = "product"
# where a processing site's role puts it (origins are column 0, the battery the last column); a
# node is also always right of every node that supplied it
ROLE_COLUMNS = {"refiner": 1, "cathode_maker": 2, "cell_maker": 3, "oem": 4}


@dataclass(frozen=True)
class FlowNode:
    node_id: str  # origin:<site>/<class> | site:<site id> | participant:<did> | product
    column: int  # 0: origins … last: the battery
    role: str  # mine | recycler (origins), the participant's registered role, or product
    name: str | None  # the site's or participant's registered name (None: not registered)
    country: str  # ISO 3166 alpha-2 ("" when unknown)
    origin: str | None = None  # origin nodes: certified | uncertified | recycled-pre | recycled-post
    forms: tuple[str, ...] = ()  # the forms of the lineage's lots made there (products: the battery's)


@dataclass(frozen=True)
class FlowLink:
    source: str
    target: str
    element: str | None  # None with the quantities withheld
    origin: str | None  # the material's origin class (certified, uncertified, recycled-pre, recycled-post)
    mass_g: float | None  # grams of the battery's element content passing this link
    percent: float | None  # of the battery's content of that element


@dataclass(frozen=True)
class MaterialFlow:
    lot_id: str
    nodes: tuple[FlowNode, ...]
    links: tuple[FlowLink, ...]
    element_g: dict[str, int]  # the battery's element content (empty with the quantities withheld)
    quantities: str  # "shown" | "withheld" (a confidential lineage read without its openings)

    def to_dict(self) -> dict[str, Any]:
        return {"lot": self.lot_id, "quantities": self.quantities, "element_g": dict(self.element_g),
                "nodes": [dict(n.__dict__, forms=list(n.forms)) for n in self.nodes],
                "links": [dict(link.__dict__) for link in self.links]}


def battery_flow(store: Store, gtin: str, serial: str, reader: Reader,
                 reveal: Callable[[Lot], Lot] | None = None) -> MaterialFlow | None:
    """The flow of the battery ``gtin``/``serial`` for ``reader``, from the first of its lots the
    reader may trace (its assembly, for the economic operator and the token levels); ``None`` when
    there is no such battery or the reader may trace none of its lots. Public: ``AccessDeniedError``."""
    if reader.is_public:
        raise AccessDeniedError("the material flow shows who supplied whom: it needs a bearer token",
                                needs_token=True)
    ids = store.lots_by_serial(gtin, serial)
    lots = store.get_lots(ids)
    for lot_id in ids:
        lot = lots.get(lot_id)
        if lot is not None and lot.form in PRODUCT_FORMS and may_trace(reader, lot):
            return material_flow(store, lot_id, reader, reveal)
    return None


def material_flow(store: Store, lot_id: str, reader: Reader, reveal: Callable[[Lot], Lot] | None = None,
                  cache: TraceCache | None = None) -> MaterialFlow:
    """The stages of ``lot_id``'s material (see the module docstring). ``AccessDeniedError`` when
    ``reader`` may not trace the lot, or is given openings it does not hold; ``NotFoundError`` for
    an unknown lot."""
    lot = store.get_lot(lot_id)
    if lot is None:
        raise NotFoundError(f"lot {lot_id[:80]} does not exist")
    if not may_trace(reader, lot):
        raise AccessDeniedError("a participant may see the material flow only of the lots it held")
    if reveal is not None and reader.audience != "operator" and reader.did != lot.custodian:
        raise AccessDeniedError("openings reveal a confidential lineage only to the economic operator holding them")
    trace = trace_backward(store, lot_id, cache, reveal, keep_demand=True)
    lots, made_from = trace.lots, trace.made_from
    hidden = reveal is None and any(x.confidential for x in lots.values())

    def made_at(x: Lot) -> Lot:
        """The lot whose making a lot stands for: a received lot's shipped lot (custody is no stage)."""
        seen = 0
        while x.made_by == "receive" and x.lot_id in made_from and seen < len(lots):
            x = lots[made_from[x.lot_id][0]]
            seen += 1
        return x

    def place(x: Lot) -> str:
        return f"site:{x.site}" if x.site else f"participant:{x.custodian}"

    def node_of(x: Lot, bucket: str | None) -> str:
        x = made_at(x)
        if x.lot_id in made_from:
            return place(x)
        origin = parse_bucket_key(bucket).origin if bucket is not None else "unknown"
        return f"origin:{x.site or place(x)}/{origin}"

    flows: dict[tuple[str, str, str | None, str | None], float] = {}
    makers: dict[str, Lot] = {}  # node id → a lot made there (its site and custodian)
    forms: dict[str, set[str]] = {}

    def add(src_lot: Lot, target: str, demand: dict[str, float]) -> None:
        maker = made_at(src_lot)
        if hidden or not demand:
            source = node_of(src_lot, None) if hidden else None
            if source is not None and source != target:
                flows.setdefault((source, target, None, None), 0.0)
                makers.setdefault(source, maker)
                forms.setdefault(source, set()).add(maker.form)
            return
        for key, grams in demand.items():
            source = node_of(src_lot, key)
            makers.setdefault(source, maker)
            forms.setdefault(source, set()).add(maker.form)
            if source == target or grams <= 0:
                continue  # material staying within a site is no link
            k = parse_bucket_key(key)
            flows[(source, target, k.element, k.origin)] = flows.get((source, target, k.element, k.origin), 0.0) + grams

    done: set[str] = set()
    for x in lots.values():
        if x.lot_id not in made_from or x.made_by == "receive" or x.event in done:
            continue
        done.add(x.event)
        target = place(x)
        makers.setdefault(target, x)
        forms.setdefault(target, set()).add(x.form)
        for i in made_from[x.lot_id]:
            add(lots[i], target, trace.demand_g.get(i, {}))
    start = trace.lot
    add(start, PRODUCT_NODE, {k: float(g) for k, g in start.buckets.items()})
    element_g = {} if hidden else element_totals(start.buckets)

    nodes = _nodes(store, makers, forms, flows, start)
    links = []
    for (source, target, el, origin), grams in sorted(flows.items(), key=lambda kv: (kv[0][0], kv[0][1],
                                                                                     kv[0][2] or "", kv[0][3] or "")):
        if hidden or el is None:
            links.append(FlowLink(source, target, None, None, None, None))
            continue
        total = element_g.get(el, 0)
        links.append(FlowLink(source, target, el, origin, grams, 100.0 * grams / total if total else 0.0))
    return MaterialFlow(lot_id, nodes, tuple(links), element_g, "withheld" if hidden else "shown")


def _nodes(store: Store, makers: dict[str, Lot], forms: dict[str, set[str]],
           flows: dict[tuple[str, str, str | None, str | None], float], start: Lot) -> tuple[FlowNode, ...]:
    """Every node with its registered name, country and role, and its column: origins first, then
    by role (``ROLE_COLUMNS``), each right of its suppliers; empty columns dropped."""
    info: dict[str, FlowNode] = {}
    names: dict[str, tuple[str | None, str, str]] = {}

    def who(did: str) -> tuple[str | None, str, str]:
        if did not in names:
            p = store.get_participant(did)
            names[did] = (p.legal_name, p.country, p.role) if p is not None else (None, "", "")
        return names[did]

    for node_id, lot in makers.items():
        site = store.get_site(lot.site) if lot.site else None
        name, country, role = who(site.owner if site is not None else lot.custodian)
        if site is not None:
            name, country = site.name, site.country
        if node_id.startswith("origin:"):
            origin = node_id.rsplit("/", 1)[1]
            mine_country = next((parse_bucket_key(k).country for k in lot.buckets
                                 if not parse_bucket_key(k).recycled), "")
            info[node_id] = FlowNode(node_id, 0, "recycler" if lot.made_by == "recycle" else "mine", name,
                                     mine_country or country, None if origin == "unknown" else origin,
                                     tuple(sorted(forms.get(node_id, ()))))
        else:
            info[node_id] = FlowNode(node_id, ROLE_COLUMNS.get(role, 1), role or "unknown", name, country, None,
                                     tuple(sorted(forms.get(node_id, ()))))
    model = start.extra.get("model")
    info[PRODUCT_NODE] = FlowNode(PRODUCT_NODE, 0, PRODUCT_NODE, model if isinstance(model, str) else None, "",
                                  None, (start.form,))
    column = {n: node.column for n, node in info.items()}
    edges = {(s, t) for s, t, _, _ in flows}
    for _ in range(len(info)):  # longest path with the role as a floor; a cycle stops after |nodes| rounds
        changed = False
        for s, t in edges:
            if s in column and t in column and not t.startswith("origin:") and column[t] <= column[s]:
                column[t] = column[s] + 1
                changed = True
        if not changed:
            break
    column[PRODUCT_NODE] = max((c for n, c in column.items() if n != PRODUCT_NODE), default=0) + 1
    used = sorted(set(column.values()))
    renumber = {c: i for i, c in enumerate(used)}
    out = [FlowNode(n.node_id, renumber[column[n.node_id]], n.role, n.name, n.country, n.origin, n.forms)
           for n in info.values()]
    return tuple(sorted(out, key=lambda n: (n.column, n.node_id)))
