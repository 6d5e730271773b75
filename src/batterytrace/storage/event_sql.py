"""The SQL of the event index, shared by the SQLite and PostgreSQL stores.

``select_events`` turns an ``EventFilter`` into one keyset-paginated query. Every filter column
has an index ending in ``seq`` (``storage.rows``), so a query on one filter walks that index from
the cursor and stops after ``limit`` rows; a participant's view is driven by its
``event_parties`` rows; EPC tests go through ``event_epcs``; record-time bounds become sequence
bounds (ingestion times never decrease along the log). Conditions the chosen index does not
serve are checked on the rows it yields.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from batterytrace.storage.base import EventFilter, EventIndexEntry, EventIndexRow, StoredEvent

__all__ = ["INDEX_CHUNK", "SELECT_INDEX", "entries_from_rows", "index_rows", "select_events"]

INDEX_CHUNK = 5000
_EVENT_COLS = "e.seq, e.hash, e.body, e.signature, e.kind, e.actor, e.time, e.ingested_at"
_INDEX_COLS = "i.seq, i.kind, i.etype, i.action, i.biz_step, i.read_point, i.event_time, i.ingested_at, i.actor"
SELECT_INDEX = (
    "SELECT seq, kind, etype, action, biz_step, read_point, event_time, ingested_at, actor FROM event_index "
    "WHERE seq >= {p} AND seq < {p} ORDER BY seq"
)


def _marks(values: Sequence[Any], p: str, args: list[Any]) -> str:
    args.extend(values)
    return ",".join([p] * len(values))


def select_events(flt: EventFilter, p: str) -> tuple[str, list[Any]]:
    """(SQL, arguments) for ``flt`` with placeholder ``p`` (``?`` or ``%s``). Columns: the events
    row (8) then the index row (9)."""
    v = flt.visibility
    args: list[Any] = []
    where: list[str] = []
    party_driven = v.party is not None and not (v.all_events or v.kinds or v.windows)
    # a reader that sees kinds only (a role): its kinds and the query's as one set, so the planner
    # sees one condition it can estimate and a conflicting pair reads no row
    role = not v.all_events and v.party is None and not v.windows
    kinds = (v.kinds if flt.kinds is None else flt.kinds & v.kinds) if role else flt.kinds
    # a page of events of some kinds, in log order: one walk of the (kind, seq) index per kind,
    # each stopping after a page, merged — at most kinds × page rows read, whatever the kinds'
    # frequencies (one walk of the log filtered by kind reads the whole log when none matches)
    by_kind = kinds if kinds and flt.order == "seq" and (role or v.all_events) else None
    if by_kind is not None:
        kinds = None
    if party_driven:
        source = "event_parties p JOIN event_index i ON i.seq = p.seq"
        key = "p.seq"
        where.append(f"p.party = {p}")
        args.append(v.party)
    else:
        source = "event_index i"
        key = "i.seq"
        if not v.all_events and not role:
            clauses: list[str] = []
            if v.kinds:
                clauses.append(f"i.kind IN ({_marks(sorted(v.kinds), p, args)})")
            if v.party is not None:
                clauses.append(f"EXISTS (SELECT 1 FROM event_parties p WHERE p.party = {p} AND p.seq = i.seq)")
                args.append(v.party)
            if v.windows:
                excluded = ""
                if v.window_excluded:  # (arguments in the order of their marks)
                    excluded = f"i.kind NOT IN ({_marks(sorted(v.window_excluded), p, args)}) AND "
                terms = []
                for w in v.windows:
                    terms.append(f"((i.read_point = {p} OR i.actor = {p}) AND i.event_time >= {p} AND i.event_time < {p})")
                    args.extend((w.subject, w.subject, w.start, w.end))
                clauses.append(f"({excluded}({' OR '.join(terms)}))")
            where.append("(" + " OR ".join(clauses) + ")" if clauses else "1 = 0")
    for column, values in (("kind", kinds), ("etype", flt.types), ("action", flt.actions),
                           ("biz_step", flt.biz_steps), ("read_point", flt.read_points)):
        if values is not None:
            where.append(f"i.{column} IN ({_marks(sorted(values), p, args)})" if values else "1 = 0")
    for roles, epcs in flt.epcs:
        if not roles or not epcs:
            where.append("1 = 0")
            continue
        epc_marks = _marks(sorted(epcs), p, args)
        role_marks = _marks(sorted(roles), p, args)
        where.append(f"{key} IN (SELECT x.seq FROM event_epcs x WHERE x.epc IN ({epc_marks}) AND x.role IN ({role_marks}))")
    if flt.event_time_ge is not None:
        where.append(f"i.event_time >= {p}")
        args.append(flt.event_time_ge)
    if flt.event_time_lt is not None:
        where.append(f"i.event_time < {p}")
        args.append(flt.event_time_lt)
    for bound, op in ((flt.record_time_ge, ">="), (flt.record_time_lt, "<")):
        if bound is None:
            continue
        # ingestion times never decrease along the log: the first event ingested at or after
        # ``bound`` splits the log; the plain condition keeps the answer exact on any store
        first = (f"COALESCE((SELECT s.seq FROM event_index s WHERE s.ingested_at >= {p} "
                 f"ORDER BY s.ingested_at, s.seq LIMIT 1), 9223372036854775807)")
        where.append(f"{key} {op} {first} AND i.ingested_at {op} {p}")
        args.extend((bound, bound))
    if flt.seq is not None:
        where.append(f"{key} = {p}")
        args.append(flt.seq)
    if flt.order == "time":
        order = "i.event_time, i.seq"
        if flt.after is not None:
            where.append(f"(i.event_time > {p} OR (i.event_time = {p} AND i.seq > {p}))")
            args.extend((flt.after[0], flt.after[0], flt.after[1]))
    else:
        order = key
        if flt.after is not None:
            where.append(f"{key} > {p}")
            args.append(flt.after[1])
    # the page is chosen from the index tables alone, then joined to its events: a join outside
    # the limit lets PostgreSQL merge-join the whole events table from its first row (a deep page
    # read every event before the cursor, ≈ 0.2 s at 900k)
    condition = " AND ".join(where)
    if by_kind is None:
        page = f"SELECT {_INDEX_COLS} FROM {source}{' WHERE ' + condition if where else ''} ORDER BY {order} LIMIT {p}"
        args.append(flt.limit)
    else:
        branches, branch_args = [], []
        for n, kind in enumerate(sorted(by_kind)):
            branches.append(f"SELECT * FROM (SELECT {_INDEX_COLS} FROM {source} WHERE i.kind = {p}"
                            f"{' AND ' + condition if where else ''} ORDER BY {order} LIMIT {p}) k{n}")
            branch_args += [kind, *args, flt.limit]
        page = f"SELECT * FROM ({' UNION ALL '.join(branches)}) u ORDER BY seq LIMIT {p}"
        args = [*branch_args, flt.limit]
    outer = "page.event_time, page.seq" if flt.order == "time" else "page.seq"
    sql = (f"SELECT {_EVENT_COLS}, {_INDEX_COLS.replace('i.', 'page.')} FROM ({page}) page "
           f"JOIN events e ON e.seq = page.seq ORDER BY {outer}")
    return sql, args


def index_rows(rows: Sequence[Sequence[Any]]) -> list[tuple[StoredEvent, EventIndexRow]]:
    out = []
    for r in rows:
        ev = StoredEvent(int(r[0]), bytes(r[1]), bytes(r[2]), bytes(r[3]), r[4], r[5], int(r[6]), int(r[7]))
        ix = EventIndexRow(int(r[8]), r[9], r[10], r[11], r[12], r[13], int(r[14]), int(r[15]), r[16])
        out.append((ev, ix))
    return out


def entries_from_rows(rows: Sequence[Sequence[Any]], epcs: Sequence[Sequence[Any]],
                      parties: Sequence[Sequence[Any]]) -> Iterator[EventIndexEntry]:
    """Entries of one sequence range from its three tables' rows (epcs: (seq, role, epc); parties:
    (seq, party))."""
    by_epc: dict[int, list[tuple[str, str]]] = {}
    for seq, role, epc in epcs:
        by_epc.setdefault(int(seq), []).append((str(role), str(epc)))
    by_party: dict[int, list[str]] = {}
    for seq, party in parties:
        by_party.setdefault(int(seq), []).append(str(party))
    for r in rows:
        row = EventIndexRow(int(r[0]), r[1], r[2], r[3], r[4], r[5], int(r[6]), int(r[7]), r[8])
        yield EventIndexEntry(row, tuple(sorted(by_epc.pop(row.seq, []))), tuple(sorted(by_party.pop(row.seq, []))))
    # rows of the side tables without an index row are reported as entries of their own
    for seq in sorted(set(by_epc) | set(by_party)):
        yield EventIndexEntry(EventIndexRow(seq, "", "", None, None, None, 0, 0, ""),
                              tuple(sorted(by_epc.get(seq, []))), tuple(sorted(by_party.get(seq, []))))
