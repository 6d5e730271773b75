"""In-memory store: the test double of the store protocol (same semantics, no durability)."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from batterytrace.errors import StorageError
from batterytrace.model.entities import Attestation, Incident, Lot, Participant, RingKey, Site
from batterytrace.storage.base import (
    EventFilter,
    EventIndexEntry,
    EventIndexRow,
    EventRows,
    LotIndexRow,
    LotLink,
    StoredEvent,
    TreeHeadRecord,
    WriteBatch,
)

__all__ = ["MemoryStore"]

_MISSING = object()


class MemoryStore:
    url = ":memory:"

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.events: list[StoredEvent] = []
        self._seq_by_hash: dict[bytes, int] = {}
        self.nodes: dict[tuple[int, int], bytes] = {}
        self.lots: dict[str, Lot] = {}
        self._created_by: dict[str, list[str]] = {}
        self._inputs: dict[str, list[str]] = {}
        self._serials: dict[tuple[str, str], list[str]] = {}
        self.participants: dict[str, Participant] = {}
        self.sites: dict[str, Site] = {}
        self.attestations: dict[str, Attestation] = {}
        self._incidents: list[Incident] = []
        self.ring_key_rows: dict[str, RingKey] = {}
        self.meta: dict[str, str] = {}
        self._heads: list[TreeHeadRecord] = []
        self.event_index: dict[int, EventIndexEntry] = {}
        self._journal: list[tuple[dict[Any, Any], Any, Any]] | None = None
        self._lengths = (0, 0, 0)

    def close(self) -> None:
        pass

    @contextmanager
    def write_lock(self) -> Iterator[None]:
        """Transactional like the SQL stores: an exception inside rolls back every write."""
        with self._lock:
            outer = self._journal is None
            if outer:
                self._journal = []
                self._lengths = (len(self.events), len(self._incidents), len(self._heads))
            try:
                yield
            except BaseException:
                if outer:
                    self._rollback()
                raise
            finally:
                if outer:
                    self._journal = None

    def _rollback(self) -> None:
        assert self._journal is not None
        for table, key, old in reversed(self._journal):
            if old is _MISSING:
                table.pop(key, None)
            else:
                table[key] = old
        n_events, n_incidents, n_heads = self._lengths
        for ev in self.events[n_events:]:
            self._seq_by_hash.pop(ev.event_hash, None)
        del self.events[n_events:], self._incidents[n_incidents:], self._heads[n_heads:]

    def _set(self, table: dict[Any, Any], key: Any, value: Any) -> None:
        if self._journal is not None:
            self._journal.append((table, key, table.get(key, _MISSING)))
        table[key] = value

    def apply(self, batch: WriteBatch) -> None:
        seen: set[bytes] = set()
        for n, ev in enumerate(batch.events):
            if ev.seq != len(self.events) + n or ev.event_hash in self._seq_by_hash or ev.event_hash in seen:
                raise StorageError(f"event sequence conflict at {ev.seq}")
            seen.add(ev.event_hash)
        for ev in batch.events:
            self.events.append(ev)
            self._seq_by_hash[ev.event_hash] = ev.seq
        for lot in batch.lots.values():
            if lot.lot_id not in self.lots:
                self._set(self._created_by, lot.event, [*self._created_by.get(lot.event, []), lot.lot_id])
                if lot.gtin and lot.serial:
                    key = (lot.gtin, lot.serial)
                    self._set(self._serials, key, [*self._serials.get(key, []), lot.lot_id])
            self._set(self.lots, lot.lot_id, lot.copy())
        for event_hash, lid in batch.inputs:
            self._set(self._inputs, event_hash, [*self._inputs.get(event_hash, []), lid])
        for p in batch.participants:
            self._set(self.participants, p.did, p)
        for s in batch.sites:
            self._set(self.sites, s.site_id, s)
        for a in batch.attestations:
            self._set(self.attestations, a.attestation_id, a)
        self._incidents.extend(batch.incidents)
        for r in batch.ring_keys:
            self._set(self.ring_key_rows, r.site_id, r)
        for level, index, h in batch.nodes:
            self._set(self.nodes, (level, index), h)
        for name, value in batch.meta.items():
            self._set(self.meta, name, value)
        self._heads.extend(batch.tree_heads)
        for entry in batch.event_index:
            if entry.row.seq in self.event_index:
                raise StorageError(f"event {entry.row.seq} is already indexed")
            self._set(self.event_index, entry.row.seq, entry)

    def get_meta(self, key: str) -> str | None:
        return self.meta.get(key)

    def meta_with_prefix(self, prefix: str) -> dict[str, str]:
        return {k: v for k, v in self.meta.items() if k.startswith(prefix)}

    def size(self) -> int:
        return len(self.events)

    def event_seq(self, event_hash: bytes) -> int | None:
        return self._seq_by_hash.get(event_hash)

    def known_hashes(self, event_hashes: Sequence[bytes]) -> set[bytes]:
        return {h for h in event_hashes if h in self._seq_by_hash}

    def get_event(self, seq: int) -> StoredEvent:
        if not 0 <= seq < len(self.events):
            raise StorageError(f"no event {seq}")
        return self.events[seq]

    def iter_events(self, start: int = 0, end: int | None = None) -> Iterator[StoredEvent]:
        yield from self.events[start:end]

    def get_node(self, level: int, index: int) -> bytes:
        try:
            return self.nodes[(level, index)]
        except KeyError as exc:
            raise StorageError(f"missing Merkle node ({level}, {index})") from exc

    def get_lot(self, lot_id: str) -> Lot | None:
        lot = self.lots.get(lot_id)
        return lot.copy() if lot is not None else None

    def get_lots(self, lot_ids: Sequence[str]) -> dict[str, Lot]:
        return {i: self.lots[i].copy() for i in lot_ids if i in self.lots}

    def read_lots(self, lot_ids: Sequence[str]) -> dict[str, Lot]:
        # stored lots are snapshots: ``apply`` puts a copy and later replaces it, never mutates it
        return {i: self.lots[i] for i in lot_ids if i in self.lots}

    def iter_lots(self) -> Iterator[Lot]:
        for lot in self.lots.values():
            yield lot.copy()

    def lots_created_by(self, event_hashes: Sequence[str]) -> dict[str, list[str]]:
        return {h: list(self._created_by.get(h, [])) for h in event_hashes}

    def lot_index(self) -> Iterator[LotIndexRow]:
        for lot_id in sorted(self.lots):
            yield LotIndexRow.of(self.lots[lot_id])

    def iter_inputs(self) -> Iterator[tuple[str, str]]:
        for event_hash, lot_ids in self._inputs.items():
            for lid in lot_ids:
                yield event_hash, lid

    def iter_attestations(self) -> Iterator[Attestation]:
        yield from self.attestations.values()

    def node_count(self) -> int:
        return len(self.nodes)

    def event_rows(self) -> EventRows:
        seqs = [ev.seq for ev in self.events]
        return EventRows(len(seqs), min(seqs, default=None), max(seqs, default=None))

    def meta_keys(self) -> list[str]:
        return sorted(self.meta)

    def query_events(self, flt: EventFilter) -> list[tuple[StoredEvent, EventIndexRow]]:
        """The reference implementation: every index entry through ``EventFilter.matches``."""
        entries = sorted(self.event_index.values(),
                         key=lambda x: (x.row.event_time, x.row.seq) if flt.order == "time" else (0, x.row.seq))
        out = []
        for entry in entries:
            if flt.matches(entry) and 0 <= entry.row.seq < len(self.events):
                out.append((self.events[entry.row.seq], entry.row))
                if len(out) >= flt.limit:
                    break
        return out

    def analyze(self) -> None:
        pass  # no planner

    def clear_event_index(self) -> None:
        for seq in list(self.event_index):
            if self._journal is not None:
                self._journal.append((self.event_index, seq, self.event_index[seq]))
            del self.event_index[seq]

    def indexed_upto(self) -> int:
        return max(self.event_index, default=-1) + 1

    def iter_event_index(self) -> Iterator[EventIndexEntry]:
        for seq in sorted(self.event_index):
            yield self.event_index[seq]

    def lot_links(self, lot_ids: Sequence[str]) -> list[LotLink]:
        return [LotLink.of(self.lots[i]) for i in lot_ids if i in self.lots]

    def links_created_by(self, event_hashes: Sequence[str]) -> list[LotLink]:
        return [
            LotLink.of(self.lots[i]) for h in event_hashes for i in self._created_by.get(h, [])
        ]

    def downstream(self, lot_ids: Sequence[str], forms: Sequence[str]) -> tuple[int, list[str]]:
        seen = {i for i in lot_ids if i in self.lots}
        frontier = list(seen)
        while frontier:
            spenders = {self.lots[i].spent_by for i in frontier} - {None}
            frontier = [c for h in spenders if h for c in self._created_by.get(h, []) if c not in seen]
            seen.update(frontier)
        wanted = set(forms)
        return len(seen), sorted(i for i in seen if self.lots[i].form in wanted)

    def inputs_of(self, event_hashes: Sequence[str]) -> dict[str, list[str]]:
        return {h: list(self._inputs.get(h, [])) for h in event_hashes}

    def lots_at_site(self, site: str, start: int, end: int) -> list[str]:
        return [
            lot.lot_id
            for lot in self.lots.values()
            if lot.site == site and start <= lot.created_at < end
        ]

    def lots_by_serial(self, gtin: str, serial: str) -> list[str]:
        return list(self._serials.get((gtin, serial), []))

    def serials_of(self, gtin: str, forms: Sequence[str], after: str = "", limit: int = 1000) -> list[str]:
        found = {s for (g, s), ids in self._serials.items()
                 if g == gtin and s > after and any(self.lots[i].form in forms for i in ids)}
        return sorted(found)[:limit]

    def get_participant(self, did: str) -> Participant | None:
        return self.participants.get(did)

    def list_participants(self) -> list[Participant]:
        return list(self.participants.values())

    def get_site(self, site_id: str) -> Site | None:
        return self.sites.get(site_id)

    def list_sites(self) -> list[Site]:
        return list(self.sites.values())

    def attestations_for(self, subject: str) -> list[Attestation]:
        return [a for a in self.attestations.values() if a.subject == subject]

    def get_attestation(self, attestation_id: str) -> Attestation | None:
        return self.attestations.get(attestation_id)

    def incidents(self) -> list[Incident]:
        return list(self._incidents)

    def ring_keys(self) -> list[RingKey]:
        return [self.ring_key_rows[k] for k in sorted(self.ring_key_rows)]

    def tree_heads(self) -> list[TreeHeadRecord]:
        return list(self._heads)
