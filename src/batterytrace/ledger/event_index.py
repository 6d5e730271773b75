"""The event index: what EPCIS queries and read policies filter on, derived from each signed event.

For every accepted event the ledger writes, in the event's own transaction, one
``EventIndexEntry`` (``storage.base``):

* its EPCIS projection's type, action, business step and read point (``ledger.epcis``), its
  event time and ingestion time (EPCIS recordTime), kind and signer;
* every EPC it names, by role (epcList, childEPCs, parentID, inputEPCList, outputEPCList): lot
  URIs and, for serialised lots, their GS1 Digital Links (``identities``: the lots' GTIN and
  serial, read from the ledger); the lot URI of a serialised aggregation parent (``bt:parentLot``)
  has the parent role too;
* its parties, the participants that may read it (``ledger.read_policy``): its signer; the
  custodian of every lot it names (a lot's custodian never changes: the signer of the event that
  created it); the receiver of a shipment; the participant a registration, accreditation or
  attestation is about, and the owner of a registered site.

A ledger created before the index existed, or whose index has another version, gets it on open
(``ensure_index``): one transaction rebuilds it from the log, after which the meta key
``event_index`` records its version. Version 2 added the Digital Links of serialised lots and made
receipts ObjectEvents (version 1 named lots by lot URI only). ``log
verify`` compares every stored entry with those its replay produces.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from batterytrace.model.entities import Lot
from batterytrace.model.events import SignedEvent
from batterytrace.storage.base import EventIndexEntry, EventIndexRow, Store, WriteBatch

__all__ = ["INDEX_META", "INDEX_VERSION", "ensure_index", "index_entry", "named_lots", "stored_identities"]

INDEX_META = "event_index"
INDEX_VERSION = "2"
_CHUNK = 2000

_EPC_FIELDS = (("epcList", "epc"), ("childEPCs", "child"), ("inputEPCList", "input"), ("outputEPCList", "output"))


def named_lots(ev: SignedEvent) -> list[str]:
    """The lots an event names (``inputs``, ``lots``, ``lot``), sorted."""
    ids: set[str] = set()
    for name in ("inputs", "lots"):
        value = ev.body.get(name)
        if isinstance(value, list):
            ids.update(v for v in value if isinstance(v, str))
    lot = ev.body.get("lot")
    if isinstance(lot, str):
        ids.add(lot)
    return sorted(ids)


def _named_parties(ev: SignedEvent) -> set[str]:
    b = ev.body
    field = {"ship": "to", "register_participant": "did", "accredit": "auditor", "register_site": "owner",
             "attest": "subject"}.get(ev.kind)
    value = b.get(field) if field else None
    return {value} if isinstance(value, str) and value.startswith("did:") else set()


def index_entry(ev: SignedEvent, seq: int, event_time: int, ingested_at: int,
                custodians: Callable[[Sequence[str]], dict[str, str]],
                identities: Callable[[Sequence[str]], Mapping[str, tuple[str, str]]]) -> EventIndexEntry:
    """The index entry of ``ev`` logged at ``seq``; ``custodians`` maps lot ids to their custodians
    and ``identities`` to their GTIN and serial (``ledger.epcis.IdentityLookup``; lots unknown to
    them are left out). On the ingest path: one projection, no copies."""
    from batterytrace.ledger.epcis import (  # epcis imports the ledger module
        PARENT_LOT,
        epcis_projection,
    )

    x: dict[str, Any] = epcis_projection(ev, identities)
    point = x.get("readPoint")
    read_point = point.get("id") if isinstance(point, dict) and isinstance(point.get("id"), str) else None
    row = EventIndexRow(seq, ev.kind, str(x["type"]), x.get("action"), x.get("bizStep"), read_point, event_time,
                        ingested_at, ev.actor)
    epcs: list[tuple[str, str]] = []
    for name, role in _EPC_FIELDS:
        value = x.get(name)
        if value:
            epcs.extend((role, v) for v in value if isinstance(v, str))
    for name in ("parentID", PARENT_LOT):
        parent = x.get(name)
        if isinstance(parent, str):
            epcs.append(("parent", parent))
    named = named_lots(ev)
    parties = {ev.actor, *_named_parties(ev), *custodians(named).values()} if named else {ev.actor, *_named_parties(ev)}
    return EventIndexEntry(row, tuple(sorted(set(epcs))), tuple(sorted(parties)))


LotReader = Callable[[Sequence[str]], Mapping[str, Lot]]


def _custodians(read: LotReader) -> Callable[[Sequence[str]], dict[str, str]]:
    return lambda lot_ids: {lid: lot.custodian for lid, lot in read(lot_ids).items()} if lot_ids else {}


def _identities(read: LotReader) -> Callable[[Sequence[str]], dict[str, tuple[str, str]]]:
    def look_up(lot_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        lots = read(lot_ids) if lot_ids else {}
        return {lid: (lot.gtin, lot.serial) for lid, lot in lots.items() if lot.gtin and lot.serial}

    return look_up


def stored_identities(store: Store) -> Callable[[Sequence[str]], dict[str, tuple[str, str]]]:
    """The identity lookup of a ledger's stored lots: lot id → (GTIN, serial) of the serialised
    ones (an identity is fixed when the lot is created, so any later read gives the same)."""
    return _identities(store.read_lots)


def _entries(store: Store, events: Iterable[tuple[int, SignedEvent, int, int]]) -> list[EventIndexEntry]:
    """Index entries of stored events; custodians and identities come from one read per lot (a
    lot's custodian and identity never change)."""
    seen: dict[str, Lot | None] = {}

    def read(lot_ids: Sequence[str]) -> dict[str, Lot]:
        missing = [lid for lid in lot_ids if lid not in seen]
        if missing:
            found = store.read_lots(missing)
            seen.update((lid, found.get(lid)) for lid in missing)
        return {lid: lot for lid in lot_ids if (lot := seen[lid]) is not None}

    custodians, identities = _custodians(read), _identities(read)
    return [index_entry(ev, seq, t, ingested, custodians, identities) for seq, ev, t, ingested in events]


def ensure_index(store: Store, progress: Callable[[int, int], None] | None = None) -> bool:
    """Build the event index of a ledger that has none (created before it existed) or whose index
    has another version (a migration: the EPCs of version 1 lacked Digital Links); True when it
    was built. One transaction: any stray index rows are dropped, every logged event is indexed
    (lot custodians read from the stored lots: a custodian never changes) and the version is
    recorded, so an interrupted build leaves no index and is simply run again."""
    if store.get_meta(INDEX_META) == INDEX_VERSION:
        return False
    with store.write_lock():
        if store.get_meta(INDEX_META) == INDEX_VERSION:
            return False
        store.clear_event_index()
        size = store.size()
        pending: list[tuple[int, SignedEvent, int, int]] = []
        for stored in store.iter_events(0, size):
            pending.append((stored.seq, SignedEvent.from_stored(stored.canonical, stored.signature), stored.time,
                            stored.ingested_at))
            if len(pending) >= _CHUNK:
                store.apply(WriteBatch(event_index=_entries(store, pending)))
                pending.clear()
                if progress:
                    progress(stored.seq + 1, size)
        store.apply(WriteBatch(event_index=_entries(store, pending), meta={INDEX_META: INDEX_VERSION}))
    store.analyze()  # the planner must know the new tables' sizes to pick their indexes
    return True
