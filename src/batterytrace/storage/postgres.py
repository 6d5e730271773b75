"""PostgreSQL store (psycopg 3): the same tables as SQLite, one transaction per batch.

``postgresql://user@host:port/db?schema=name`` keeps the ledger in its own schema (created on
first use); without ``schema`` the tables live in ``public``. Writers from several processes are
serialised by a transaction-scoped advisory lock, so sequence numbers never interleave. A batch is
acknowledged only after ``COMMIT`` returns, which with PostgreSQL's default ``synchronous_commit``
means its WAL record is on disk.
"""

from __future__ import annotations

import re
import threading
import zlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg

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
from batterytrace.storage.errors import StorageCorruptError, StorageUnavailableError
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

__all__ = ["PostgresStore", "postgres_error", "split_schema"]

_CONFLICTS = (psycopg.errors.SerializationFailure, psycopg.errors.DeadlockDetected)
_DAMAGE = (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn, psycopg.errors.DataCorrupted,
           psycopg.errors.IndexCorrupted)


def postgres_error(exc: psycopg.Error, what: str) -> StorageError:
    """The storage error a driver exception means: a transaction conflict (retryable), the
    server out of reach (connection lost, shutting down), a damaged or partial schema."""
    if isinstance(exc, _CONFLICTS):
        return StorageUnavailableError(f"{what}: transaction conflict ({exc})", retry_after=1, retryable=True)
    if isinstance(exc, psycopg.errors.LockNotAvailable):
        return StorageUnavailableError(f"{what}: another writer held the ledger past the lock timeout ({exc})",
                                       retry_after=1)
    if isinstance(exc, _DAMAGE):
        return StorageCorruptError(f"{what}: the ledger's tables are damaged ({exc})")
    if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
        return StorageUnavailableError(f"{what}: PostgreSQL cannot be reached ({exc})", retry_after=5)
    return StorageError(f"{what}: {exc}")

_SCHEMA_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def split_schema(url: str) -> tuple[str, str]:
    """Remove the ``schema`` query parameter from ``url``; return (conninfo URL, schema)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    schema = "public"
    kept = []
    for key, value in query:
        if key == "schema":
            schema = value
        else:
            kept.append((key, value))
    if not _SCHEMA_RE.match(schema):
        raise StorageError(f"invalid PostgreSQL schema name {schema!r} (lower-case identifier)")
    return urlunsplit(parts._replace(query=urlencode(kept))), schema


class PostgresStore:
    def __init__(self, url: str, create: bool = True, lock_timeout_ms: int = 30_000) -> None:
        """``lock_timeout_ms``: how long a write waits for another writer (or any lock) before
        the store answers ``StorageUnavailableError``, as SQLite's busy timeout."""
        self.url = url
        self.lock_timeout_ms = lock_timeout_ms
        self._conninfo, self.schema = split_schema(url)
        self._lock_key = zlib.crc32(f"batterytrace:{self.schema}".encode())
        self._local = threading.local()
        self._lock = threading.RLock()
        conn = self._conn()
        if not create:
            found = conn.execute("SELECT to_regclass(%s)", (f'"{self.schema}".events',)).fetchone()
            if found is None or found[0] is None:
                raise StorageError(f"no ledger in PostgreSQL schema {self.schema!r}")
            return
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (self._lock_key,))
            conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
            for ddl in TABLES:
                sql = ddl.format(blob="BYTEA", bigint="BIGINT")
                if sql.startswith(("CREATE TABLE IF NOT EXISTS incidents", "CREATE TABLE IF NOT EXISTS tree_heads",
                                   "CREATE TABLE IF NOT EXISTS inputs")):
                    # keep insertion order without SQLite's rowid
                    sql = sql.replace("(", "(pos BIGSERIAL, ", 1)
                conn.execute(sql)
            for table, column, kind in ADDED_COLUMNS:  # a ledger created before the column
                conn.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} {kind.format(blob='BYTEA')}")

    def _conn(self) -> psycopg.Connection[Any]:
        conn: psycopg.Connection[Any] | None = getattr(self._local, "conn", None)
        if conn is None or conn.closed:
            try:
                conn = psycopg.connect(self._conninfo, autocommit=True, connect_timeout=10)
            except psycopg.Error as exc:
                raise postgres_error(exc, "cannot connect to PostgreSQL") from exc
            try:
                conn.execute(f'SET search_path TO "{self.schema}"')
                conn.execute(f"SET lock_timeout = {int(self.lock_timeout_ms)}")
            except psycopg.Error as exc:
                conn.close()
                raise postgres_error(exc, "cannot connect to PostgreSQL") from exc
            self._local.conn = conn
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def drop_schema(self) -> None:
        """Remove every table of this ledger (tests and ``--fresh``)."""
        conn = self._conn()
        conn.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')
        if self.schema == "public":
            conn.execute('CREATE SCHEMA "public"')

    @contextmanager
    def write_lock(self) -> Iterator[None]:
        with self._lock:
            conn = self._conn()
            try:
                with conn.transaction():
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (self._lock_key,))
                    yield
            except psycopg.Error as exc:
                raise postgres_error(exc, "PostgreSQL transaction failed") from exc

    def apply(self, batch: WriteBatch) -> None:
        conn = self._conn()
        try:
            with conn.cursor() as c:
                if batch.events and (self._one("SELECT MIN(seq) FROM events") or 0) < 0:
                    # rows outside the log are not logged events: the real event takes its hash
                    c.execute("DELETE FROM events WHERE seq < 0 AND hash = ANY(%s)",
                              ([e.event_hash for e in batch.events],))
                if batch.events:
                    with c.copy(
                        "COPY events(seq, hash, body, signature, kind, actor, time, ingested_at) FROM STDIN"
                    ) as cp:
                        for e in batch.events:
                            cp.write_row(
                                (e.seq, e.event_hash, e.canonical, e.signature, e.kind, e.actor, e.time, e.ingested_at)
                            )
                if batch.lots:
                    c.executemany(
                        "INSERT INTO lots(lot_id, event, site, created_at, gtin, serial, form, "
                        "spent_by, data) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s) "
                        "ON CONFLICT (lot_id) DO UPDATE SET spent_by=EXCLUDED.spent_by, "
                        "data=EXCLUDED.data, site=EXCLUDED.site, form=EXCLUDED.form",
                        [
                            (
                                x.lot_id, x.event, x.site, x.created_at, x.gtin, x.serial, x.form,
                                x.spent_by, lot_to_json(x),
                            )
                            for x in batch.lots.values()
                        ],
                    )
                if batch.inputs:
                    with c.copy("COPY inputs(event, lot_id) FROM STDIN") as cp:
                        for row in batch.inputs:
                            cp.write_row(row)
                self._upsert(c, "participants", "did", [(p.did, entity_to_json(p)) for p in batch.participants])
                self._upsert(c, "sites", "site_id", [(s.site_id, entity_to_json(s)) for s in batch.sites])
                self._upsert(c, "ring_keys", "site_id", [(r.site_id, entity_to_json(r)) for r in batch.ring_keys])
                if batch.attestations:
                    c.executemany(
                        "INSERT INTO attestations(id, subject, data) VALUES (%s,%s,%s) "
                        "ON CONFLICT (id) DO UPDATE SET subject=EXCLUDED.subject, data=EXCLUDED.data",
                        [(a.attestation_id, a.subject, entity_to_json(a)) for a in batch.attestations],
                    )
                if batch.incidents:
                    c.executemany(
                        "INSERT INTO incidents(id, data) VALUES (%s,%s)",
                        [(i.incident_id, entity_to_json(i)) for i in batch.incidents],
                    )
                if batch.nodes:
                    with c.copy("COPY nodes(id, hash) FROM STDIN") as cp:
                        for lv, ix, h in batch.nodes:
                            cp.write_row((node_key(lv, ix), h))
                self._upsert(c, "meta", "key", list(batch.meta.items()), value="value")
                if batch.event_index:
                    with c.copy("COPY event_index(seq, kind, etype, action, biz_step, read_point, event_time, "
                                "ingested_at, actor) FROM STDIN") as cp:
                        for x in batch.event_index:
                            cp.write_row(tuple(x.row))
                    with c.copy("COPY event_epcs(epc, role, seq) FROM STDIN") as cp:
                        for x in batch.event_index:
                            for role, epc in x.epcs:
                                cp.write_row((epc, role, x.row.seq))
                    with c.copy("COPY event_parties(party, seq) FROM STDIN") as cp:
                        for x in batch.event_index:
                            for party in x.parties:
                                cp.write_row((party, x.row.seq))
                if batch.tree_heads:
                    c.executemany(
                        "INSERT INTO tree_heads(tree_size, root, timestamp, signature, log_id, note_signature) "
                        "VALUES (%s,%s,%s,%s,%s,%s)",
                        [
                            (t.tree_size, t.root_hash, t.timestamp, t.signature, t.log_id, t.note_signature)
                            for t in batch.tree_heads
                        ],
                    )
        except psycopg.Error as exc:
            raise postgres_error(exc, "PostgreSQL write failed") from exc

    @staticmethod
    def _upsert(
        c: psycopg.Cursor[Any], table: str, key: str, rows: list[tuple[str, str]], value: str = "data"
    ) -> None:
        if rows:
            c.executemany(
                f"INSERT INTO {table}({key}, {value}) VALUES (%s,%s) "
                f"ON CONFLICT ({key}) DO UPDATE SET {value}=EXCLUDED.{value}",
                rows,
            )

    def _rows(self, sql: str, args: Sequence[Any] | Mapping[str, Any] = ()) -> list[tuple[Any, ...]]:
        try:
            return self._conn().execute(sql, args).fetchall()
        except psycopg.Error as exc:
            raise postgres_error(exc, "PostgreSQL read failed") from exc

    def _one(self, sql: str, args: Sequence[Any] = ()) -> Any:
        rows = self._rows(sql, args)
        return rows[0][0] if rows else None

    def get_meta(self, key: str) -> str | None:
        value: str | None = self._one("SELECT value FROM meta WHERE key=%s", (key,))
        return value

    def meta_with_prefix(self, prefix: str) -> dict[str, str]:
        rows = self._rows("SELECT key, value FROM meta WHERE substr(key, 1, length(%s)) = %s", (prefix, prefix))
        return {str(k): str(v) for k, v in rows}

    def size(self) -> int:
        value = self._one("SELECT MAX(seq) FROM events")
        return 0 if value is None else int(value) + 1

    def event_seq(self, event_hash: bytes) -> int | None:
        value = self._one("SELECT seq FROM events WHERE hash=%s AND seq >= 0", (event_hash,))
        return None if value is None else int(value)

    def known_hashes(self, event_hashes: Sequence[bytes]) -> set[bytes]:
        if not event_hashes:
            return set()
        rows = self._rows("SELECT hash FROM events WHERE hash = ANY(%s) AND seq >= 0", (list(event_hashes),))
        return {bytes(r[0]) for r in rows}

    @staticmethod
    def _event(row: Sequence[Any]) -> StoredEvent:
        return StoredEvent(
            int(row[0]), bytes(row[1]), bytes(row[2]), bytes(row[3]), row[4], row[5], int(row[6]), int(row[7])
        )

    def get_event(self, seq: int) -> StoredEvent:
        rows = self._rows(
            "SELECT seq, hash, body, signature, kind, actor, time, ingested_at FROM events WHERE seq=%s AND seq >= 0",
            (seq,)
        )
        if not rows:
            raise StorageError(f"no event {seq}")
        return self._event(rows[0])

    def iter_events(self, start: int = 0, end: int | None = None) -> Iterator[StoredEvent]:
        stop = self.size() if end is None else end
        pos = start
        while pos < stop:
            rows = self._rows(
                "SELECT seq, hash, body, signature, kind, actor, time, ingested_at FROM events "
                "WHERE seq >= %s AND seq < %s ORDER BY seq",
                (pos, min(stop, pos + 5000)),
            )
            if not rows:
                return
            for row in rows:
                yield self._event(row)
            pos = int(rows[-1][0]) + 1

    def get_node(self, level: int, index: int) -> bytes:
        value = self._one("SELECT hash FROM nodes WHERE id=%s", (node_key(level, index),))
        if value is None:
            raise StorageError(f"missing Merkle node ({level}, {index})")
        return bytes(value)

    def get_lot(self, lot_id: str) -> Lot | None:
        text = self._one("SELECT data FROM lots WHERE lot_id=%s", (lot_id,))
        return None if text is None else lot_from_json(text)

    def get_lots(self, lot_ids: Sequence[str]) -> dict[str, Lot]:
        if not lot_ids:
            return {}
        rows = self._rows("SELECT lot_id, data FROM lots WHERE lot_id = ANY(%s)", (list(lot_ids),))
        return {r[0]: lot_from_json(r[1]) for r in rows}

    def read_lots(self, lot_ids: Sequence[str]) -> dict[str, Lot]:
        return self.get_lots(lot_ids)  # decoded from rows: fresh objects anyway

    def iter_lots(self) -> Iterator[Lot]:
        for (text,) in self._rows("SELECT data FROM lots ORDER BY lot_id"):
            yield lot_from_json(text)

    def lot_index(self) -> Iterator[LotIndexRow]:
        for row in self._rows(
            "SELECT lot_id, event, site, created_at, gtin, serial, form, spent_by FROM lots ORDER BY lot_id"
        ):
            yield LotIndexRow(row[0], row[1], row[2], int(row[3]), row[4], row[5], row[6], row[7])

    def iter_inputs(self) -> Iterator[tuple[str, str]]:
        rows = self._rows("SELECT event, lot_id FROM inputs ORDER BY pos")
        yield from ((str(event_hash), str(lot_id)) for event_hash, lot_id in rows)

    def iter_attestations(self) -> Iterator[Attestation]:
        for (text,) in self._rows("SELECT data FROM attestations ORDER BY id"):
            yield entity_from_json(Attestation, text)

    def node_count(self) -> int:
        return int(self._one("SELECT COUNT(*) FROM nodes"))

    def event_rows(self) -> EventRows:
        count, low, high = self._rows("SELECT COUNT(*), MIN(seq), MAX(seq) FROM events")[0]
        return EventRows(int(count), None if low is None else int(low), None if high is None else int(high))

    def meta_keys(self) -> list[str]:
        return [str(r[0]) for r in self._rows("SELECT key FROM meta ORDER BY key")]

    def query_events(self, flt: EventFilter) -> list[tuple[StoredEvent, EventIndexRow]]:
        sql, args = select_events(flt, "%s")
        return index_rows(self._rows(sql, args))

    def analyze(self) -> None:
        self._rows_nofetch("ANALYZE")

    def clear_event_index(self) -> None:
        for table in ("event_index", "event_epcs", "event_parties"):
            self._rows_nofetch(f"DELETE FROM {table}")

    def _rows_nofetch(self, sql: str) -> None:
        try:
            self._conn().execute(sql)
        except psycopg.Error as exc:
            raise StorageError(f"PostgreSQL write failed: {exc}") from exc

    def indexed_upto(self) -> int:
        value = self._one("SELECT MAX(seq) FROM event_index")
        return 0 if value is None else int(value) + 1

    def iter_event_index(self) -> Iterator[EventIndexEntry]:
        low = self._one("SELECT MIN(seq) FROM (SELECT MIN(seq) AS seq FROM event_index UNION ALL "
                        "SELECT MIN(seq) FROM event_epcs UNION ALL SELECT MIN(seq) FROM event_parties) m")
        high = self._one("SELECT MAX(seq) FROM (SELECT MAX(seq) AS seq FROM event_index UNION ALL "
                         "SELECT MAX(seq) FROM event_epcs UNION ALL SELECT MAX(seq) FROM event_parties) m")
        if low is None or high is None:
            return
        for start in range(int(low), int(high) + 1, INDEX_CHUNK):
            end = start + INDEX_CHUNK
            rows = self._rows(SELECT_INDEX.format(p="%s"), (start, end))
            epcs = self._rows("SELECT seq, role, epc FROM event_epcs WHERE seq >= %s AND seq < %s", (start, end))
            parties = self._rows("SELECT seq, party FROM event_parties WHERE seq >= %s AND seq < %s", (start, end))
            yield from entries_from_rows(rows, epcs, parties)

    def lots_created_by(self, event_hashes: Sequence[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {h: [] for h in event_hashes}
        if event_hashes:
            for ev, lid in self._rows(
                "SELECT event, lot_id FROM lots WHERE event = ANY(%s) ORDER BY lot_id",
                (list(event_hashes),),
            ):
                out[ev].append(lid)
        return out

    def lot_links(self, lot_ids: Sequence[str]) -> list[LotLink]:
        if not lot_ids:
            return []
        rows = self._rows(
            "SELECT lot_id, form, event, spent_by FROM lots WHERE lot_id = ANY(%s)", (list(lot_ids),)
        )
        return [LotLink(*r) for r in rows]

    def links_created_by(self, event_hashes: Sequence[str]) -> list[LotLink]:
        if not event_hashes:
            return []
        rows = self._rows(
            "SELECT lot_id, form, event, spent_by FROM lots WHERE event = ANY(%s)",
            (list(event_hashes),),
        )
        return [LotLink(*r) for r in rows]

    def downstream(self, lot_ids: Sequence[str], forms: Sequence[str]) -> tuple[int, list[str]]:
        if not lot_ids:
            return 0, []
        rows = self._rows(
            "WITH RECURSIVE ev(e) AS ("
            " SELECT l.spent_by FROM lots l WHERE l.lot_id = ANY(%(ids)s) AND l.spent_by IS NOT NULL"
            " UNION"
            " SELECT l.spent_by FROM ev JOIN lots l ON l.event = ev.e WHERE l.spent_by IS NOT NULL),"
            " reached(lot_id, form) AS ("
            " SELECT l.lot_id, l.form FROM lots l WHERE l.lot_id = ANY(%(ids)s)"
            " UNION"
            " SELECT l.lot_id, l.form FROM ev JOIN lots l ON l.event = ev.e)"
            " SELECT count(*), coalesce(array_agg(lot_id) FILTER (WHERE form = ANY(%(forms)s)), '{}')"
            " FROM reached",
            {"ids": list(lot_ids), "forms": list(forms)},
        )
        return int(rows[0][0]), sorted(rows[0][1])

    def inputs_of(self, event_hashes: Sequence[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {h: [] for h in event_hashes}
        if event_hashes:
            for ev, lid in self._rows(
                "SELECT event, lot_id FROM inputs WHERE event = ANY(%s) ORDER BY pos", (list(event_hashes),)
            ):
                out[ev].append(lid)
        return out

    def lots_at_site(self, site: str, start: int, end: int) -> list[str]:
        rows = self._rows(
            "SELECT lot_id FROM lots WHERE site=%s AND created_at>=%s AND created_at<%s",
            (site, start, end),
        )
        return [r[0] for r in rows]

    def lots_by_serial(self, gtin: str, serial: str) -> list[str]:
        rows = self._rows(
            "SELECT lot_id FROM lots WHERE gtin=%s AND serial=%s ORDER BY created_at", (gtin, serial)
        )
        return [r[0] for r in rows]

    def serials_of(self, gtin: str, forms: Sequence[str], after: str = "", limit: int = 1000) -> list[str]:
        rows = self._rows(
            "SELECT DISTINCT serial COLLATE \"C\" AS s FROM lots WHERE gtin=%s AND serial COLLATE \"C\" > %s"
            " AND form = ANY(%s) ORDER BY s LIMIT %s",
            (gtin, after, list(forms), limit),
        )
        return [r[0] for r in rows]

    def get_participant(self, did: str) -> Participant | None:
        text = self._one("SELECT data FROM participants WHERE did=%s", (did,))
        return None if text is None else entity_from_json(Participant, text)

    def list_participants(self) -> list[Participant]:
        rows = self._rows("SELECT data FROM participants ORDER BY did")
        return [entity_from_json(Participant, r[0]) for r in rows]

    def get_site(self, site_id: str) -> Site | None:
        text = self._one("SELECT data FROM sites WHERE site_id=%s", (site_id,))
        return None if text is None else entity_from_json(Site, text)

    def list_sites(self) -> list[Site]:
        rows = self._rows("SELECT data FROM sites ORDER BY site_id")
        return [entity_from_json(Site, r[0]) for r in rows]

    def attestations_for(self, subject: str) -> list[Attestation]:
        rows = self._rows("SELECT data FROM attestations WHERE subject=%s ORDER BY id", (subject,))
        return [entity_from_json(Attestation, r[0]) for r in rows]

    def get_attestation(self, attestation_id: str) -> Attestation | None:
        text = self._one("SELECT data FROM attestations WHERE id=%s", (attestation_id,))
        return None if text is None else entity_from_json(Attestation, text)

    def ring_keys(self) -> list[RingKey]:
        rows = self._rows("SELECT data FROM ring_keys ORDER BY site_id")
        return [entity_from_json(RingKey, r[0]) for r in rows]

    def incidents(self) -> list[Incident]:
        rows = self._rows("SELECT data FROM incidents ORDER BY pos")
        return [entity_from_json(Incident, r[0]) for r in rows]

    def tree_heads(self) -> list[TreeHeadRecord]:
        rows = self._rows(
            "SELECT tree_size, root, timestamp, signature, log_id, note_signature FROM tree_heads ORDER BY pos"
        )
        return [
            TreeHeadRecord(int(r[0]), bytes(r[1]), int(r[2]), bytes(r[3]), r[4], None if r[5] is None else bytes(r[5]))
            for r in rows
        ]
