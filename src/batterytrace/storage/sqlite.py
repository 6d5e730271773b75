"""SQLite store (the embedded default): one file, WAL journal, synchronous=FULL.

A batch is written in one ``BEGIN IMMEDIATE`` transaction, so once ``write_lock`` returns the
batch survives a ``kill -9`` of the writer (and power loss, with FULL sync of the WAL).
"""

from __future__ import annotations

import json
import os
import sqlite3
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
    lot_from_json,
    lot_to_json,
)
from batterytrace.storage.errors import (
    StorageCorruptError,
    StorageUnavailableError,
    map_store_errors,
)
from batterytrace.storage.event_sql import (
    INDEX_CHUNK,
    SELECT_INDEX,
    entries_from_rows,
    index_rows,
    select_events,
)
from batterytrace.storage.rows import (
    ADDED_COLUMNS,
    TABLES,
    entity_from_json,
    entity_to_json,
    node_key,
)

__all__ = ["SQLiteStore"]

_CHUNK = 2000  # bound on IN (...) list sizes
_CORE_TABLES = frozenset({"events", "nodes", "meta", "lots", "inputs"})
_BUSY = ("database is locked", "database table is locked", "database is busy")
_CORRUPT = ("file is not a database", "malformed", "no such table", "no such column", "corrupt")


def sqlite_error(exc: Exception, url: str = "") -> StorageError | None:
    """The storage error an SQLite driver exception means (None: not a driver exception)."""
    if not isinstance(exc, sqlite3.Error):
        return None
    text = str(exc)
    where = f"SQLite database {url!r}" if url else "SQLite database"
    if any(b in text for b in _BUSY):
        return StorageUnavailableError(f"{where} is busy: another writer held it past the busy timeout ({text})",
                                  retry_after=1)
    if any(c in text for c in _CORRUPT):
        return StorageCorruptError(f"{where} is damaged: {text}")
    if isinstance(exc, sqlite3.OperationalError):
        return StorageUnavailableError(f"{where} cannot be used now: {text}", retry_after=5)
    return StorageError(f"{where} failed: {text}")


@map_store_errors(sqlite_error)
class SQLiteStore:
    def __init__(self, path: str, create: bool = True, busy_timeout_ms: int = 30_000) -> None:
        if not create and path != ":memory:" and not os.path.exists(path):
            raise StorageError(f"no ledger database at {path!r}")
        self.url = path
        self.busy_timeout_ms = busy_timeout_ms
        self._local = threading.local()
        self._lock = threading.RLock()
        conn = self._conn()
        try:
            if not create and path != ":memory:":
                # an existing ledger: a missing core table is damage, never silently recreated empty
                present = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
                missing = sorted(_CORE_TABLES - present)
                if missing:
                    raise StorageCorruptError(f"SQLite database {path!r} is damaged or not a ledger: "
                                         f"no table {', '.join(missing)}")
            conn.execute("PRAGMA journal_mode=WAL")
            for ddl in TABLES:
                conn.execute(ddl.format(blob="BLOB", bigint="INTEGER"))
            for table, column, kind in ADDED_COLUMNS:  # a ledger created before the column
                present = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
                if column not in present:
                    conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind.format(blob='BLOB')}")
        except sqlite3.Error as exc:
            raise sqlite_error(exc, self.url) or exc from exc

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = sqlite3.connect(self.url, isolation_level=None, check_same_thread=False)
            except sqlite3.Error as exc:
                raise StorageError(f"cannot open SQLite database {self.url!r}: {exc}") from exc
            try:
                conn.execute("PRAGMA synchronous=FULL")
                conn.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_ms)}")
                conn.execute("PRAGMA cache_size=-65536")
            except sqlite3.Error as exc:
                conn.close()
                raise sqlite_error(exc, self.url) or exc from exc
            self._local.conn = conn
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    @contextmanager
    def write_lock(self) -> Iterator[None]:
        with self._lock:
            conn = self._conn()
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise sqlite_error(exc, self.url) or exc from exc
            try:
                yield
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            else:
                try:
                    conn.execute("COMMIT")
                except sqlite3.Error as exc:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise sqlite_error(exc, self.url) or exc from exc

    def apply(self, batch: WriteBatch) -> None:
        c = self._conn()
        try:
            if batch.events and (self._one("SELECT MIN(seq) FROM events") or 0) < 0:
                # rows outside the log are not logged events: the real event takes its hash
                hashes = [e.event_hash for e in batch.events]
                for i in range(0, len(hashes), _CHUNK):
                    part = hashes[i : i + _CHUNK]
                    marks = ",".join("?" * len(part))
                    c.execute(f"DELETE FROM events WHERE seq < 0 AND hash IN ({marks})", part)
            c.executemany(
                "INSERT INTO events(seq, hash, body, signature, kind, actor, time, ingested_at) "
                "VALUES (?,?,?,?,?,?,?,?)",
                [
                    (e.seq, e.event_hash, e.canonical, e.signature, e.kind, e.actor, e.time, e.ingested_at)
                    for e in batch.events
                ],
            )
            c.executemany(
                "INSERT OR REPLACE INTO lots(lot_id, event, site, created_at, gtin, serial, form, "
                "spent_by, data) VALUES (?,?,?,?,?,?,?,?,?)",
                [
                    (
                        x.lot_id, x.event, x.site, x.created_at, x.gtin, x.serial, x.form,
                        x.spent_by, lot_to_json(x),
                    )
                    for x in batch.lots.values()
                ],
            )
            c.executemany("INSERT INTO inputs(event, lot_id) VALUES (?,?)", batch.inputs)
            c.executemany(
                "INSERT OR REPLACE INTO participants(did, data) VALUES (?,?)",
                [(p.did, entity_to_json(p)) for p in batch.participants],
            )
            c.executemany(
                "INSERT OR REPLACE INTO sites(site_id, data) VALUES (?,?)",
                [(s.site_id, entity_to_json(s)) for s in batch.sites],
            )
            c.executemany(
                "INSERT OR REPLACE INTO attestations(id, subject, data) VALUES (?,?,?)",
                [(a.attestation_id, a.subject, entity_to_json(a)) for a in batch.attestations],
            )
            c.executemany(
                "INSERT INTO incidents(id, data) VALUES (?,?)",
                [(i.incident_id, entity_to_json(i)) for i in batch.incidents],
            )
            c.executemany(
                "INSERT OR REPLACE INTO ring_keys(site_id, data) VALUES (?,?)",
                [(r.site_id, entity_to_json(r)) for r in batch.ring_keys],
            )
            c.executemany(
                "INSERT INTO nodes(id, hash) VALUES (?,?)",
                [(node_key(lv, ix), h) for lv, ix, h in batch.nodes],
            )
            c.executemany(
                "INSERT OR REPLACE INTO meta(key, value) VALUES (?,?)", list(batch.meta.items())
            )
            if batch.event_index:
                c.executemany(
                    "INSERT INTO event_index(seq, kind, etype, action, biz_step, read_point, event_time, "
                    "ingested_at, actor) VALUES (?,?,?,?,?,?,?,?,?)",
                    [tuple(x.row) for x in batch.event_index],
                )
                c.executemany(
                    "INSERT INTO event_epcs(epc, role, seq) VALUES (?,?,?)",
                    [(epc, role, x.row.seq) for x in batch.event_index for role, epc in x.epcs],
                )
                c.executemany(
                    "INSERT INTO event_parties(party, seq) VALUES (?,?)",
                    [(party, x.row.seq) for x in batch.event_index for party in x.parties],
                )
            c.executemany(
                "INSERT INTO tree_heads(tree_size, root, timestamp, signature, log_id, note_signature) "
                "VALUES (?,?,?,?,?,?)",
                [
                    (t.tree_size, t.root_hash, t.timestamp, t.signature, t.log_id, t.note_signature)
                    for t in batch.tree_heads
                ],
            )
        except sqlite3.Error as exc:
            raise sqlite_error(exc, self.url) or exc from exc

    def _one(self, sql: str, args: Sequence[Any] = ()) -> Any:
        row = self._conn().execute(sql, args).fetchone()
        return None if row is None else row[0]

    def get_meta(self, key: str) -> str | None:
        value: str | None = self._one("SELECT value FROM meta WHERE key=?", (key,))
        return value

    def meta_with_prefix(self, prefix: str) -> dict[str, str]:
        rows = self._conn().execute(
            "SELECT key, value FROM meta WHERE substr(key, 1, length(?)) = ?", (prefix, prefix)
        )
        return {str(k): str(v) for k, v in rows}

    def size(self) -> int:
        value = self._one("SELECT MAX(seq) FROM events")
        return 0 if value is None else int(value) + 1

    def event_seq(self, event_hash: bytes) -> int | None:
        value = self._one("SELECT seq FROM events WHERE hash=? AND seq >= 0", (event_hash,))
        return None if value is None else int(value)

    def known_hashes(self, event_hashes: Sequence[bytes]) -> set[bytes]:
        found: set[bytes] = set()
        for i in range(0, len(event_hashes), _CHUNK):
            part = list(event_hashes[i : i + _CHUNK])
            marks = ",".join("?" * len(part))
            rows = self._conn().execute(f"SELECT hash FROM events WHERE hash IN ({marks}) AND seq >= 0", part)
            found.update(bytes(r[0]) for r in rows)
        return found

    @staticmethod
    def _event(row: Sequence[Any]) -> StoredEvent:
        return StoredEvent(
            int(row[0]), bytes(row[1]), bytes(row[2]), bytes(row[3]), row[4], row[5], int(row[6]), int(row[7])
        )

    def get_event(self, seq: int) -> StoredEvent:
        row = (
            self._conn()
            .execute(
                "SELECT seq, hash, body, signature, kind, actor, time, ingested_at FROM events WHERE seq=? AND seq >= 0",
                (seq,),
            )
            .fetchone()
        )
        if row is None:
            raise StorageError(f"no event {seq}")
        return self._event(row)

    def iter_events(self, start: int = 0, end: int | None = None) -> Iterator[StoredEvent]:
        stop = self.size() if end is None else end
        pos = start
        while pos < stop:
            rows = (
                self._conn()
                .execute(
                    "SELECT seq, hash, body, signature, kind, actor, time, ingested_at FROM events "
                    "WHERE seq >= ? AND seq < ? ORDER BY seq",
                    (pos, min(stop, pos + 5000)),
                )
                .fetchall()
            )
            if not rows:
                return
            for row in rows:
                yield self._event(row)
            pos = int(rows[-1][0]) + 1

    def get_node(self, level: int, index: int) -> bytes:
        value = self._one("SELECT hash FROM nodes WHERE id=?", (node_key(level, index),))
        if value is None:
            raise StorageError(f"missing Merkle node ({level}, {index})")
        return bytes(value)

    def get_lot(self, lot_id: str) -> Lot | None:
        text = self._one("SELECT data FROM lots WHERE lot_id=?", (lot_id,))
        return None if text is None else lot_from_json(text)

    def _in_query(self, sql: str, keys: Sequence[str]) -> list[Any]:
        out: list[Any] = []
        for i in range(0, len(keys), _CHUNK):
            part = keys[i : i + _CHUNK]
            marks = ",".join("?" * len(part))
            out.extend(self._conn().execute(sql.format(marks=marks), part).fetchall())
        return out

    def get_lots(self, lot_ids: Sequence[str]) -> dict[str, Lot]:
        rows = self._in_query("SELECT lot_id, data FROM lots WHERE lot_id IN ({marks})", lot_ids)
        return {r[0]: lot_from_json(r[1]) for r in rows}

    def read_lots(self, lot_ids: Sequence[str]) -> dict[str, Lot]:
        return self.get_lots(lot_ids)  # decoded from rows: fresh objects anyway

    def iter_lots(self) -> Iterator[Lot]:
        for (text,) in self._conn().execute("SELECT data FROM lots ORDER BY lot_id"):
            yield lot_from_json(text)

    def lot_index(self) -> Iterator[LotIndexRow]:
        for row in self._conn().execute(
            "SELECT lot_id, event, site, created_at, gtin, serial, form, spent_by FROM lots ORDER BY lot_id"
        ):
            yield LotIndexRow(*row)

    def iter_inputs(self) -> Iterator[tuple[str, str]]:
        rows = self._conn().execute("SELECT event, lot_id FROM inputs ORDER BY rowid")
        yield from ((str(event_hash), str(lot_id)) for event_hash, lot_id in rows)

    def iter_attestations(self) -> Iterator[Attestation]:
        for (text,) in self._conn().execute("SELECT data FROM attestations ORDER BY id"):
            yield entity_from_json(Attestation, text)

    def node_count(self) -> int:
        return int(self._one("SELECT COUNT(*) FROM nodes"))

    def event_rows(self) -> EventRows:
        count, low, high = self._conn().execute("SELECT COUNT(*), MIN(seq), MAX(seq) FROM events").fetchone()
        return EventRows(int(count), None if low is None else int(low), None if high is None else int(high))

    def meta_keys(self) -> list[str]:
        return [str(r[0]) for r in self._conn().execute("SELECT key FROM meta ORDER BY key")]

    def query_events(self, flt: EventFilter) -> list[tuple[StoredEvent, EventIndexRow]]:
        sql, args = select_events(flt, "?")
        try:
            return index_rows(self._conn().execute(sql, args).fetchall())
        except sqlite3.Error as exc:
            raise StorageError(f"SQLite read failed: {exc}") from exc

    def analyze(self) -> None:
        try:
            self._conn().execute("ANALYZE")
        except sqlite3.Error as exc:
            raise StorageError(f"SQLite ANALYZE failed: {exc}") from exc

    def clear_event_index(self) -> None:
        try:
            for table in ("event_index", "event_epcs", "event_parties"):
                self._conn().execute(f"DELETE FROM {table}")
        except sqlite3.Error as exc:
            raise StorageError(f"SQLite write failed: {exc}") from exc

    def indexed_upto(self) -> int:
        value = self._one("SELECT MAX(seq) FROM event_index")
        return 0 if value is None else int(value) + 1

    def iter_event_index(self) -> Iterator[EventIndexEntry]:
        c = self._conn()
        low = self._one("SELECT MIN(seq) FROM (SELECT MIN(seq) AS seq FROM event_index UNION ALL "
                        "SELECT MIN(seq) FROM event_epcs UNION ALL SELECT MIN(seq) FROM event_parties)")
        high = self._one("SELECT MAX(seq) FROM (SELECT MAX(seq) AS seq FROM event_index UNION ALL "
                         "SELECT MAX(seq) FROM event_epcs UNION ALL SELECT MAX(seq) FROM event_parties)")
        if low is None or high is None:
            return
        for start in range(int(low), int(high) + 1, INDEX_CHUNK):
            end = start + INDEX_CHUNK
            rows = c.execute(SELECT_INDEX.format(p="?"), (start, end)).fetchall()
            epcs = c.execute("SELECT seq, role, epc FROM event_epcs WHERE seq >= ? AND seq < ?", (start, end)).fetchall()
            parties = c.execute("SELECT seq, party FROM event_parties WHERE seq >= ? AND seq < ?",
                                (start, end)).fetchall()
            yield from entries_from_rows(rows, epcs, parties)

    def lots_created_by(self, event_hashes: Sequence[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {h: [] for h in event_hashes}
        for ev, lid in self._in_query(
            "SELECT event, lot_id FROM lots WHERE event IN ({marks})", event_hashes
        ):
            out[ev].append(lid)
        return out

    def lot_links(self, lot_ids: Sequence[str]) -> list[LotLink]:
        rows = self._in_query(
            "SELECT lot_id, form, event, spent_by FROM lots WHERE lot_id IN ({marks})", lot_ids
        )
        return [LotLink(*r) for r in rows]

    def links_created_by(self, event_hashes: Sequence[str]) -> list[LotLink]:
        rows = self._in_query(
            "SELECT lot_id, form, event, spent_by FROM lots WHERE event IN ({marks})", event_hashes
        )
        return [LotLink(*r) for r in rows]

    def downstream(self, lot_ids: Sequence[str], forms: Sequence[str]) -> tuple[int, list[str]]:
        if not lot_ids:
            return 0, []
        marks = ",".join(f"?{i + 2}" for i in range(len(forms))) or "NULL"
        # recursion over distinct spending events (an aggregation reached through each of its
        # children is expanded once), then the lots those events created
        row = self._conn().execute(
            "WITH RECURSIVE ev(e) AS ("
            " SELECT l.spent_by FROM json_each(?1) j JOIN lots l ON l.lot_id = j.value"
            " WHERE l.spent_by IS NOT NULL"
            " UNION"
            " SELECT l.spent_by FROM ev JOIN lots l ON l.event = ev.e WHERE l.spent_by IS NOT NULL),"
            " reached(lot_id, form) AS ("
            " SELECT l.lot_id, l.form FROM json_each(?1) j JOIN lots l ON l.lot_id = j.value"
            " UNION"
            " SELECT l.lot_id, l.form FROM ev JOIN lots l ON l.event = ev.e)"
            f" SELECT count(*), json_group_array(lot_id) FILTER (WHERE form IN ({marks})) FROM reached",
            [json.dumps(list(lot_ids)), *forms],
        ).fetchone()
        return int(row[0]), sorted(json.loads(row[1]))

    def inputs_of(self, event_hashes: Sequence[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {h: [] for h in event_hashes}
        for ev, lid in self._in_query(
            "SELECT event, lot_id FROM inputs WHERE event IN ({marks}) ORDER BY rowid", event_hashes
        ):
            out[ev].append(lid)
        return out

    def lots_at_site(self, site: str, start: int, end: int) -> list[str]:
        rows = self._conn().execute(
            "SELECT lot_id FROM lots WHERE site=? AND created_at>=? AND created_at<?",
            (site, start, end),
        )
        return [r[0] for r in rows]

    def lots_by_serial(self, gtin: str, serial: str) -> list[str]:
        rows = self._conn().execute(
            "SELECT lot_id FROM lots WHERE gtin=? AND serial=? ORDER BY created_at", (gtin, serial)
        )
        return [r[0] for r in rows]

    def serials_of(self, gtin: str, forms: Sequence[str], after: str = "", limit: int = 1000) -> list[str]:
        marks = ",".join("?" * len(forms)) or "NULL"
        rows = self._conn().execute(
            f"SELECT DISTINCT serial FROM lots WHERE gtin=? AND serial>? AND form IN ({marks}) ORDER BY serial LIMIT ?",
            (gtin, after, *forms, limit),
        )
        return [r[0] for r in rows]

    def get_participant(self, did: str) -> Participant | None:
        text = self._one("SELECT data FROM participants WHERE did=?", (did,))
        return None if text is None else entity_from_json(Participant, text)

    def list_participants(self) -> list[Participant]:
        rows = self._conn().execute("SELECT data FROM participants ORDER BY did")
        return [entity_from_json(Participant, r[0]) for r in rows]

    def get_site(self, site_id: str) -> Site | None:
        text = self._one("SELECT data FROM sites WHERE site_id=?", (site_id,))
        return None if text is None else entity_from_json(Site, text)

    def list_sites(self) -> list[Site]:
        rows = self._conn().execute("SELECT data FROM sites ORDER BY site_id")
        return [entity_from_json(Site, r[0]) for r in rows]

    def attestations_for(self, subject: str) -> list[Attestation]:
        rows = self._conn().execute(
            "SELECT data FROM attestations WHERE subject=? ORDER BY id", (subject,)
        )
        return [entity_from_json(Attestation, r[0]) for r in rows]

    def get_attestation(self, attestation_id: str) -> Attestation | None:
        text = self._one("SELECT data FROM attestations WHERE id=?", (attestation_id,))
        return None if text is None else entity_from_json(Attestation, text)

    def ring_keys(self) -> list[RingKey]:
        rows = self._conn().execute("SELECT data FROM ring_keys ORDER BY site_id")
        return [entity_from_json(RingKey, r[0]) for r in rows]

    def incidents(self) -> list[Incident]:
        rows = self._conn().execute("SELECT data FROM incidents ORDER BY rowid")
        return [entity_from_json(Incident, r[0]) for r in rows]

    def tree_heads(self) -> list[TreeHeadRecord]:
        rows = self._conn().execute(
            "SELECT tree_size, root, timestamp, signature, log_id, note_signature FROM tree_heads ORDER BY rowid"
        )
        return [
            TreeHeadRecord(int(r[0]), bytes(r[1]), int(r[2]), bytes(r[3]), r[4], None if r[5] is None else bytes(r[5]))
            for r in rows
        ]
