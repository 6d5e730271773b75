"""The store protocol every backend implements, and the records it exchanges.

A store holds the append-only event log (sequence number = Merkle leaf index), the perfect-subtree
Merkle nodes, operator-signed tree heads, and the state derived from accepted events (lots,
participants, sites, attestations, incidents). The ledger layer writes through ``apply`` inside
``write_lock``; every batch is one transaction, so an acknowledged batch is durable as a whole.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

import orjson

from batterytrace.errors import StorageError
from batterytrace.model.entities import Attestation, Incident, Lot, Participant, RingKey, Site

__all__ = [
    "EPC_ROLES",
    "AuditWindow",
    "EventFilter",
    "EventIndexEntry",
    "EventIndexRow",
    "EventRows",
    "LotLink",
    "Store",
    "StoredEvent",
    "TreeHeadRecord",
    "Visibility",
    "WriteBatch",
    "destroy_store",
    "lot_from_json",
    "lot_to_json",
    "open_store",
]


@dataclass(frozen=True)
class StoredEvent:
    seq: int
    event_hash: bytes
    canonical: bytes
    signature: bytes
    kind: str
    actor: str
    time: int
    # The ledger's clock (µs) when it accepted the event; committed in the Merkle leaf
    # (``SignedEvent.leaf_data``), non-decreasing along the log.
    ingested_at: int


@dataclass(frozen=True)
class TreeHeadRecord:
    tree_size: int
    root_hash: bytes
    timestamp: int
    signature: bytes
    log_id: str
    note_signature: bytes | None = None  # the C2SP checkpoint note's signature (ledger.checkpoint)


class LotLink(NamedTuple):
    """The lineage columns of a lot, read without decoding the whole lot (for traces)."""

    lot_id: str
    form: str
    event: str
    spent_by: str | None

    @classmethod
    def of(cls, lot: Lot) -> LotLink:
        return cls(lot.lot_id, lot.form, lot.event, lot.spent_by)


class EventRows(NamedTuple):
    """What the events table holds, whatever the log says: row count and lowest / highest
    sequence number (None when empty). ``log verify`` compares them with the log's bounds."""

    total: int
    low: int | None
    high: int | None


class LotIndexRow(NamedTuple):
    """The indexed columns SQL stores keep next to a lot's JSON (``log verify`` compares them)."""

    lot_id: str
    event: str
    site: str | None
    created_at: int
    gtin: str | None
    serial: str | None
    form: str
    spent_by: str | None

    @classmethod
    def of(cls, lot: Lot) -> LotIndexRow:
        return cls(lot.lot_id, lot.event, lot.site, lot.created_at, lot.gtin, lot.serial, lot.form, lot.spent_by)


# Where an EPC stands in an EPCIS event: epcList, childEPCs, parentID, inputEPCList, outputEPCList.
EPC_ROLES = ("epc", "child", "parent", "input", "output")


class EventIndexRow(NamedTuple):
    """The query columns of one logged event (table ``event_index``): what EPCIS queries and read
    policies filter on without decoding the event. Derived from the signed body by the ledger
    layer (``ledger.event_index``), written in the event's own transaction; ``log verify`` checks
    every row against the replay."""

    seq: int
    kind: str
    etype: str  # EPCIS event type
    action: str | None
    biz_step: str | None
    read_point: str | None
    event_time: int  # µs
    ingested_at: int  # µs (EPCIS recordTime)
    actor: str


@dataclass(frozen=True)
class EventIndexEntry:
    """One event's index: its row, the EPCs it names (``(role, epc)``, roles from ``EPC_ROLES``)
    and its parties (the dids that may read it as participants, table ``event_parties``)."""

    row: EventIndexRow
    epcs: tuple[tuple[str, str], ...]
    parties: tuple[str, ...]


class AuditWindow(NamedTuple):
    """An auditor's view of a subject (a site id or a participant did): events at that site or
    signed by that participant whose event time lies in ``[start, end)`` µs."""

    subject: str
    start: int
    end: int


@dataclass(frozen=True)
class Visibility:
    """Which events a reader may see: the union of every clause given (nothing given: none).
    ``all_events``; events of ``kinds``; events whose parties include ``party``; events matching
    one of ``windows`` unless their kind is in ``window_excluded``."""

    all_events: bool = False
    kinds: frozenset[str] = frozenset()
    party: str | None = None
    windows: tuple[AuditWindow, ...] = ()
    window_excluded: frozenset[str] = frozenset()

    @property
    def nothing(self) -> bool:
        return not (self.all_events or self.kinds or self.party or self.windows)


@dataclass(frozen=True)
class EventFilter:
    """An indexed event query: every given condition must hold (a set: any of its values).
    ``epcs`` is a conjunction of (roles, values) tests. Results come in ascending ``order``
    (``"seq"``, or ``"time"``: event time then seq) after the keyset cursor ``after``."""

    visibility: Visibility
    kinds: frozenset[str] | None = None
    types: frozenset[str] | None = None
    actions: frozenset[str] | None = None
    biz_steps: frozenset[str] | None = None
    read_points: frozenset[str] | None = None
    epcs: tuple[tuple[frozenset[str], frozenset[str]], ...] = ()
    event_time_ge: int | None = None
    event_time_lt: int | None = None
    record_time_ge: int | None = None
    record_time_lt: int | None = None
    seq: int | None = None  # exactly this event
    order: str = "seq"
    after: tuple[int, int] | None = None  # (event time or 0, seq) of the last row returned
    limit: int = 30

    def matches(self, entry: EventIndexEntry) -> bool:
        """The reference semantics (the memory store runs it; SQL stores must agree)."""
        r = entry.row
        v = self.visibility
        visible = (
            v.all_events
            or r.kind in v.kinds
            or (v.party is not None and v.party in entry.parties)
            or (r.kind not in v.window_excluded and any(
                (w.subject == r.read_point or w.subject == r.actor) and w.start <= r.event_time < w.end
                for w in v.windows))
        )
        if not visible:
            return False
        for values, got in ((self.kinds, r.kind), (self.types, r.etype), (self.actions, r.action),
                            (self.biz_steps, r.biz_step), (self.read_points, r.read_point)):
            if values is not None and got not in values:
                return False
        for roles, epcs in self.epcs:
            if not any(role in roles and epc in epcs for role, epc in entry.epcs):
                return False
        for bound, value, lower in ((self.event_time_ge, r.event_time, True), (self.event_time_lt, r.event_time, False),
                                    (self.record_time_ge, r.ingested_at, True),
                                    (self.record_time_lt, r.ingested_at, False)):
            if bound is not None and (value < bound if lower else value >= bound):
                return False
        if self.seq is not None and r.seq != self.seq:
            return False
        if self.after is not None:
            key = (r.event_time, r.seq) if self.order == "time" else (0, r.seq)
            if key <= self.after:
                return False
        return True


@dataclass
class WriteBatch:
    events: list[StoredEvent] = field(default_factory=list)
    lots: dict[str, Lot] = field(default_factory=dict)  # inserted or replaced
    inputs: list[tuple[str, str]] = field(default_factory=list)  # (event hash hex, lot id)
    participants: list[Participant] = field(default_factory=list)
    sites: list[Site] = field(default_factory=list)
    attestations: list[Attestation] = field(default_factory=list)
    incidents: list[Incident] = field(default_factory=list)
    ring_keys: list[RingKey] = field(default_factory=list)  # inserted or replaced (by site)
    nodes: list[tuple[int, int, bytes]] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)
    tree_heads: list[TreeHeadRecord] = field(default_factory=list)
    event_index: list[EventIndexEntry] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.events or self.tree_heads or self.meta or self.event_index)


def lot_to_json(lot: Lot) -> str:
    """Deterministic JSON for the state row (sorted keys, orjson — state rows are derived data
    re-checked by ``log verify``, not signed, so RFC 8785 is not needed here; they are written
    for every lot an event creates or spends, so the encoder is on the ingest hot path)."""
    return orjson.dumps(lot.__dict__, option=orjson.OPT_SORT_KEYS).decode()


def lot_from_json(text: str | bytes) -> Lot:
    try:
        data: dict[str, Any] = orjson.loads(text)
        return Lot.from_dict(data)
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise StorageError(f"stored lot row is corrupt: {exc}") from exc


class Store(Protocol):
    """What the ledger needs from storage. Reads see committed data plus the open transaction."""

    url: str

    def close(self) -> None: ...

    def write_lock(self) -> AbstractContextManager[None]:
        """Exclusive writer section; everything applied inside commits atomically on exit."""
        ...

    def apply(self, batch: WriteBatch) -> None: ...

    def get_meta(self, key: str) -> str | None: ...

    def meta_with_prefix(self, prefix: str) -> dict[str, str]:
        """Every meta row whose key starts with ``prefix`` (``log verify`` accounts for them)."""
        ...

    def size(self) -> int: ...

    def event_seq(self, event_hash: bytes) -> int | None:
        """The log position of ``event_hash``; a row outside the log (negative sequence number,
        planted by hand) is not in the log and is never found."""
        ...

    def known_hashes(self, event_hashes: Sequence[bytes]) -> set[bytes]:
        """The subset of ``event_hashes`` in the log (rows outside ``0..size-1`` excluded; ``apply``
        removes such a row when the real event with its hash is appended)."""
        ...

    def get_event(self, seq: int) -> StoredEvent: ...

    def iter_events(self, start: int = 0, end: int | None = None) -> Iterator[StoredEvent]: ...

    def get_node(self, level: int, index: int) -> bytes: ...

    def get_lot(self, lot_id: str) -> Lot | None: ...

    def get_lots(self, lot_ids: Sequence[str]) -> dict[str, Lot]: ...

    def read_lots(self, lot_ids: Sequence[str]) -> dict[str, Lot]:
        """``get_lots`` for callers that only read (traces): the lots may be shared with the store
        and with other readers, so they must not be changed. The memory store hands out its own
        snapshots (it replaces a lot on update, never mutates it) instead of copying each."""
        ...

    def iter_lots(self) -> Iterator[Lot]: ...

    def lots_created_by(self, event_hashes: Sequence[str]) -> dict[str, list[str]]: ...

    def lot_links(self, lot_ids: Sequence[str]) -> list[LotLink]: ...

    def links_created_by(self, event_hashes: Sequence[str]) -> list[LotLink]: ...

    def downstream(self, lot_ids: Sequence[str], forms: Sequence[str]) -> tuple[int, list[str]]:
        """Walk ``spent_by`` → lots created by that event, from ``lot_ids`` (included) to the end of
        the lineage: (number of distinct lots reached, sorted ids of those whose form is in
        ``forms``). SQL stores run the walk as one recursive query inside the database."""
        ...

    def inputs_of(self, event_hashes: Sequence[str]) -> dict[str, list[str]]:
        """event hash → the lots it consumed, in the order the event listed them."""
        ...

    def lots_at_site(self, site: str, start: int, end: int) -> list[str]: ...

    def lots_by_serial(self, gtin: str, serial: str) -> list[str]: ...

    def serials_of(self, gtin: str, forms: Sequence[str], after: str = "", limit: int = 1000) -> list[str]:
        """The distinct serials of lots with ``gtin`` whose form is in ``forms``, sorted, those
        greater than ``after``, at most ``limit`` (the model-level page of a GS1 resolver)."""
        found = {r.serial for r in self.lot_index() if r.gtin == gtin and r.form in forms and r.serial}
        return sorted(s for s in found if s > after)[:limit]

    def get_participant(self, did: str) -> Participant | None: ...

    def list_participants(self) -> list[Participant]: ...

    def get_site(self, site_id: str) -> Site | None: ...

    def list_sites(self) -> list[Site]: ...

    def attestations_for(self, subject: str) -> list[Attestation]: ...

    def get_attestation(self, attestation_id: str) -> Attestation | None: ...

    def incidents(self) -> list[Incident]: ...

    def ring_keys(self) -> list[RingKey]:
        """Every mine site's current ring key, ordered by site id."""
        ...

    def tree_heads(self) -> list[TreeHeadRecord]: ...

    # full scans for ``log verify`` -------------------------------------------------------
    def lot_index(self) -> Iterator[LotIndexRow]:
        """Every lot's indexed columns, ordered by lot id."""
        ...

    def iter_inputs(self) -> Iterator[tuple[str, str]]:
        """Every (event hash, consumed lot id) row, in insertion order."""
        ...

    def iter_attestations(self) -> Iterator[Attestation]: ...

    def node_count(self) -> int: ...

    def event_rows(self) -> EventRows:
        """Count and sequence range of every stored event row, in the log or not."""
        ...

    def meta_keys(self) -> list[str]:
        """Every key of the meta table, sorted."""
        ...

    # the event index (EPCIS queries, read policy) ---------------------------------------------
    def query_events(self, flt: EventFilter) -> list[tuple[StoredEvent, EventIndexRow]]:
        """At most ``flt.limit`` logged events matching ``flt`` in its order after its cursor,
        read through the index (SQL stores: one indexed query, cost bounded by the page)."""
        ...

    def analyze(self) -> None:
        """Refresh the query planner's statistics (after a bulk write such as an index build)."""
        ...

    def clear_event_index(self) -> None:
        """Delete every event index row (inside ``write_lock``; the index is rebuilt from the log)."""
        ...

    def indexed_upto(self) -> int:
        """1 + the highest sequence number the event index covers (0: none)."""
        ...

    def iter_event_index(self) -> Iterator[EventIndexEntry]:
        """Every index entry, ordered by sequence number, epcs and parties sorted (``log verify``)."""
        ...


def open_store(url: str, create: bool = True) -> Store:
    """``postgresql://…`` selects PostgreSQL, ``:memory:`` the in-memory store, else a SQLite path.
    With ``create=False`` a ledger must already exist there (read-only commands)."""
    if url.startswith(("postgresql://", "postgres://")):
        from batterytrace.storage.postgres import PostgresStore

        return PostgresStore(url, create=create)
    if url == ":memory:":
        from batterytrace.storage.memory import MemoryStore

        return MemoryStore()
    from batterytrace.storage.sqlite import SQLiteStore

    return SQLiteStore(url.removeprefix("sqlite:///").removeprefix("sqlite://"), create=create)


def destroy_store(url: str) -> None:
    """Delete the ledger at ``url`` (SQLite files with WAL/SHM, or the PostgreSQL schema)."""
    if url.startswith(("postgresql://", "postgres://")):
        from batterytrace.storage.postgres import PostgresStore

        store = PostgresStore(url)
        try:
            store.drop_schema()
        finally:
            store.close()
        return
    if url == ":memory:":
        return
    from pathlib import Path

    path = url.removeprefix("sqlite:///").removeprefix("sqlite://")
    for suffix in ("", "-wal", "-shm"):
        Path(path + suffix).unlink(missing_ok=True)
