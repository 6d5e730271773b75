"""Row encodings shared by the SQL stores: entities ↔ canonical JSON text."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from batterytrace.canonical import canonical_json
from batterytrace.errors import StorageError
from batterytrace.model.entities import Attestation, Incident, Participant, RingKey, Site

__all__ = ["SCHEMA_VERSION", "TABLES", "entity_from_json", "entity_to_json", "node_key"]

#: columns added after a table was first released: (table, column, DDL type); a store adds the
#: missing ones when it opens (ALTER TABLE ... ADD COLUMN, nullable)
ADDED_COLUMNS = [("tree_heads", "note_signature", "{blob}")]

SCHEMA_VERSION = "1"

E = TypeVar("E", Participant, Site, Attestation, Incident, RingKey)


def entity_to_json(entity: Participant | Site | Attestation | Incident | RingKey) -> str:
    data: dict[str, Any] = {k: getattr(entity, k) for k in entity.__dataclass_fields__}
    return canonical_json(data).decode("utf-8")


def entity_from_json(cls: type[E], text: str | bytes) -> E:
    try:
        data: dict[str, Any] = json.loads(text)
        return cls(**data)
    except (TypeError, ValueError) as exc:
        raise StorageError(f"stored {cls.__name__.lower()} row is corrupt: {exc}") from exc


def node_key(level: int, index: int) -> int:
    """One integer key per perfect subtree: level in the top bits (index < 2^56)."""
    return (level << 56) | index


# Portable DDL (SQLite and PostgreSQL); {blob} and {bigint} are filled per dialect.
TABLES = [
    """CREATE TABLE IF NOT EXISTS events (
        seq {bigint} PRIMARY KEY, hash {blob} NOT NULL UNIQUE, body {blob} NOT NULL,
        signature {blob} NOT NULL, kind TEXT NOT NULL, actor TEXT NOT NULL, time {bigint} NOT NULL,
        ingested_at {bigint} NOT NULL)""",
    "CREATE TABLE IF NOT EXISTS nodes (id {bigint} PRIMARY KEY, hash {blob} NOT NULL)",
    """CREATE TABLE IF NOT EXISTS lots (
        lot_id TEXT PRIMARY KEY, event TEXT NOT NULL, site TEXT, created_at {bigint} NOT NULL,
        gtin TEXT, serial TEXT, form TEXT NOT NULL, spent_by TEXT, data TEXT NOT NULL)""",
    # lineage walks (forward trace, lots created by an event) read only this covering index
    "CREATE INDEX IF NOT EXISTS lots_lineage ON lots(event, spent_by, form, lot_id)",
    "CREATE INDEX IF NOT EXISTS lots_site ON lots(site, created_at)",
    "CREATE INDEX IF NOT EXISTS lots_serial ON lots(gtin, serial)",
    "CREATE TABLE IF NOT EXISTS inputs (event TEXT NOT NULL, lot_id TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS inputs_event ON inputs(event)",
    "CREATE TABLE IF NOT EXISTS participants (did TEXT PRIMARY KEY, data TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS sites (site_id TEXT PRIMARY KEY, data TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS attestations (
        id TEXT PRIMARY KEY, subject TEXT NOT NULL, data TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS attestations_subject ON attestations(subject)",
    "CREATE TABLE IF NOT EXISTS incidents (id TEXT PRIMARY KEY, data TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS ring_keys (site_id TEXT PRIMARY KEY, data TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS tree_heads (
        tree_size {bigint} NOT NULL, root {blob} NOT NULL, timestamp {bigint} NOT NULL,
        signature {blob} NOT NULL, log_id TEXT NOT NULL, note_signature {blob})""",
    # the event index (storage.base.EventIndexRow): EPCIS queries and read policies page through
    # these by keyset, each filter served by an index ending in seq (rows in log order)
    """CREATE TABLE IF NOT EXISTS event_index (
        seq {bigint} PRIMARY KEY, kind TEXT NOT NULL, etype TEXT NOT NULL, action TEXT, biz_step TEXT,
        read_point TEXT, event_time {bigint} NOT NULL, ingested_at {bigint} NOT NULL, actor TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS event_index_kind ON event_index(kind, seq)",
    "CREATE INDEX IF NOT EXISTS event_index_type ON event_index(etype, seq)",
    "CREATE INDEX IF NOT EXISTS event_index_step ON event_index(biz_step, seq)",
    "CREATE INDEX IF NOT EXISTS event_index_point ON event_index(read_point, seq)",
    "CREATE INDEX IF NOT EXISTS event_index_actor ON event_index(actor, seq)",
    "CREATE INDEX IF NOT EXISTS event_index_time ON event_index(event_time, seq)",
    "CREATE INDEX IF NOT EXISTS event_index_record ON event_index(ingested_at, seq)",
    """CREATE TABLE IF NOT EXISTS event_epcs (
        epc TEXT NOT NULL, role TEXT NOT NULL, seq {bigint} NOT NULL, PRIMARY KEY (epc, role, seq))""",
    "CREATE INDEX IF NOT EXISTS event_epcs_seq ON event_epcs(seq)",
    """CREATE TABLE IF NOT EXISTS event_parties (
        party TEXT NOT NULL, seq {bigint} NOT NULL, PRIMARY KEY (party, seq))""",
    "CREATE INDEX IF NOT EXISTS event_parties_seq ON event_parties(seq)",
]
