"""The event index: what EPCIS queries and read policies filter on, derived from each signed event.

For every accepted event the ledger writes, in the event's own transaction, one
``EventIndexEntry`` (``storage.base``):

* its EPCIS projection's type, action, business step and read point (``ledger.epcis``), its
  event time and ingestion time (EPCIS recordTime), kind and signer;
* every EPC it names, by role (epcList, childEPCs, parentID, inputEPCList, outputEPCList);
* its parties, the participants that may read it (``ledger.read_policy``): its signer; the
  custodian of every lot it names (a lot's custodian never changes: the signer of the event that
  created it); the receiver of a shipment; the participant a registration, accreditation or
  attestation is about, and the owner of a registered site.

A ledger created before the index existed gets it on open (``ensure_index``): one transaction
rebuilds it from the log, after which the meta key ``event_index`` records its version. ``log
verify`` compares every stored entry with those its replay produces.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from batterytrace.model.events import SignedEvent
from batterytrace.storage.base import EventIndexEntry, EventIndexRow, Store, WriteBatch

__all__ = ["INDEX_META", "INDEX_VERSION", "ensure_index", "index_entry", "named_lots"]

INDEX_META = "event_index"
INDEX_VERSION = "1"
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
                custodians: Callable[[Sequence[str]], dict[str, str]]) -> EventIndexEntry:
    """The index entry of ``ev`` logged at ``seq``; ``custodians`` maps lot ids to their custodians
    (lots unknown to it are left out). On the ingest path: one projection, no copies."""
    from batterytrace.ledger.epcis import epcis_projection  # epcis imports the ledger module

    x: dict[str, Any] = epcis_projection(ev)
    point = x.get("readPoint")
    read_point = point.get("id") if isinstance(point, dict) and isinstance(point.get("id"), str) else None
    row = EventIndexRow(seq, ev.kind, str(x["type"]), x.get("action"), x.get("bizStep"), read_point, event_time,
                        ingested_at, ev.actor)
    epcs: list[tuple[str, str]] = []
    for name, role in _EPC_FIELDS:
        value = x.get(name)
        if value:
            epcs.extend((role, v) for v in value if isinstance(v, str))
    parent = x.get("parentID")
    if isinstance(parent, str):
        epcs.append(("parent", parent))
    named = named_lots(ev)
    parties = {ev.actor, *_named_parties(ev), *custodians(named).values()} if named else {ev.actor, *_named_parties(ev)}
    return EventIndexEntry(row, tuple(sorted(set(epcs))), tuple(sorted(parties)))


def _stored_custodians(store: Store) -> Callable[[Sequence[str]], dict[str, str]]:
    def look_up(lot_ids: Sequence[str]) -> dict[str, str]:
        return {lid: lot.custodian for lid, lot in store.read_lots(lot_ids).items()} if lot_ids else {}

    return look_up


def _entries(store: Store, events: Iterable[tuple[int, SignedEvent, int, int]]) -> list[EventIndexEntry]:
    look_up = _stored_custodians(store)
    return [index_entry(ev, seq, t, ingested, look_up) for seq, ev, t, ingested in events]


def ensure_index(store: Store, progress: Callable[[int, int], None] | None = None) -> bool:
    """Build the event index of a ledger that has none (created before it existed); True when it
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
