"""The event index in SQL: every store answers indexed event queries exactly as the reference
semantics (``EventFilter.matches``, which the memory store runs), page by page, and SQLite serves
them from indexes, not by scanning the log."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest

from batterytrace.demo.scenario import Scenario, build_scenario
from batterytrace.ledger.epcis import lot_uri
from batterytrace.ledger.ledger import Ledger, historical_clock
from batterytrace.storage.base import AuditWindow, EventFilter, Store, Visibility
from batterytrace.storage.event_sql import select_events
from batterytrace.storage.memory import MemoryStore
from batterytrace.timeutil import parse_time

ALL = Visibility(all_events=True)


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return build_scenario(packs=1, legacy_packs=1)


@pytest.fixture(scope="module")
def reference(scenario: Scenario) -> Ledger:
    ledger = Ledger(MemoryStore(), scenario.actors["operator"].did, scenario.ledger_id, clock=historical_clock)
    assert not ledger.submit_batch(scenario.events).rejected
    return ledger


@pytest.fixture
def ledger(store: Store, scenario: Scenario) -> Iterator[Ledger]:
    ledger = Ledger(store, scenario.actors["operator"].did, scenario.ledger_id, clock=historical_clock)
    # two batches: index rows of the second are appended to the first's
    assert not ledger.submit_batch(scenario.events[:40]).rejected
    assert not ledger.submit_batch(scenario.events[40:]).rejected
    yield ledger


def _filters(scenario: Scenario) -> list[EventFilter]:
    s = scenario
    did = {name: a.did for name, a in s.actors.items()}
    times = sorted(parse_time(ev.body["time"]) for ev in s.events)
    lo, hi = times[len(times) // 4], times[3 * len(times) // 4]
    pack = lot_uri(s.packs[0])
    visibilities = [
        ALL,
        Visibility(kinds=frozenset({"lifecycle"})),
        Visibility(party=did["kasonta"]),
        Visibility(party=did["voltara"]),
        Visibility(party=did["rmap"], windows=(AuditWindow("urn:batterytrace:site:mine:kasonta", lo - 10**12, hi),
                                               AuditWindow(did["mwelu"], 0, 2**62)),
                   window_excluded=frozenset({"lifecycle"})),
        Visibility(kinds=frozenset({"ship"}), party=did["kasonta"]),
        Visibility(),
    ]
    shapes: list[dict[str, object]] = [
        {},
        {"biz_steps": frozenset({"shipping"})},
        {"types": frozenset({"AggregationEvent"}), "actions": frozenset({"ADD"})},
        {"epcs": ((frozenset({"epc", "child", "input", "output", "parent"}), frozenset({pack})),)},
        {"epcs": ((frozenset({"parent"}), frozenset({pack})),)},
        {"event_time_ge": lo, "event_time_lt": hi, "order": "time"},
        {"record_time_ge": lo, "record_time_lt": hi},
        {"read_points": frozenset({"urn:batterytrace:site:mine:kasonta"})},
        {"kinds": frozenset({"extract", "ship"}), "biz_steps": frozenset()},
        {"kinds": frozenset({"extract", "ship"})},
    ]
    return [EventFilter(v, **shape, limit=4) for v in visibilities for shape in shapes]  # type: ignore[arg-type]


def _pages(store: Store, flt: EventFilter) -> list[list[int]]:
    from dataclasses import replace

    pages, after = [], None
    while True:
        rows = store.query_events(replace(flt, after=after))
        pages.append([ev.seq for ev, _ in rows])
        if len(rows) < flt.limit:
            return pages
        last = rows[-1][1]
        after = (last.event_time if flt.order == "time" else 0, last.seq)


def test_index_and_queries_agree_with_the_reference(ledger: Ledger, reference: Ledger, scenario: Scenario) -> None:
    assert list(ledger.store.iter_event_index()) == list(reference.store.iter_event_index())
    assert ledger.store.indexed_upto() == ledger.size()
    nonempty = 0
    for flt in _filters(scenario):
        want = _pages(reference.store, flt)
        assert _pages(ledger.store, flt) == want, flt
        nonempty += bool(want[0])
        for stored, row in ledger.store.query_events(flt):
            assert stored.seq == row.seq and stored.kind == row.kind and stored.ingested_at == row.ingested_at
    assert nonempty >= 30  # the bank exercises real matches, not only empty answers
    one = ledger.store.query_events(EventFilter(ALL, seq=7, limit=5))
    assert [ev.seq for ev, _ in one] == [7]
    assert ledger.store.query_events(EventFilter(Visibility(), limit=5)) == []


def test_sqlite_pages_come_from_indexes(tmp_path: object, scenario: Scenario) -> None:
    """The query plans: a page walks an index from the cursor (no full scan of the log)."""
    from batterytrace.storage.sqlite import SQLiteStore

    store = SQLiteStore(f"{tmp_path}/plan.db")
    ledger = Ledger(store, scenario.actors["operator"].did, scenario.ledger_id, clock=historical_clock)
    assert not ledger.submit_batch(scenario.events).rejected
    conn = sqlite3.connect(f"{tmp_path}/plan.db")
    conn.execute("ANALYZE")
    did = scenario.actors["kasonta"].did
    cases = {
        "biz step": EventFilter(ALL, biz_steps=frozenset({"shipping"}), after=(0, 5)),
        "epc": EventFilter(ALL, epcs=((frozenset({"epc"}), frozenset({lot_uri(scenario.packs[0])})),)),
        "participant": EventFilter(Visibility(party=did), after=(0, 3)),
        "level": EventFilter(Visibility(kinds=frozenset({"lifecycle"}))),
        "event time": EventFilter(ALL, event_time_ge=0, event_time_lt=2**62, order="time"),
    }
    for name, flt in cases.items():
        sql, args = select_events(flt, "?")
        plan = " | ".join(str(r[3]) for r in conn.execute("EXPLAIN QUERY PLAN " + sql, args))
        assert "USING" in plan, (name, plan)
        # the page is chosen in a subquery that walks an index; only its rows (at most the page
        # size) are scanned and ordered again when joined to their events
        inner = plan.split(" | SCAN page", 1)[0]
        assert "SCAN page" in plan and "SCAN event_index" not in plan, (name, plan)
        assert "SCAN i " not in inner + " " and "TEMP B-TREE FOR ORDER BY" not in inner, (name, plan)
    conn.close()
    store.close()


def _plan_nodes(plan: dict[str, object]) -> Iterator[dict[str, object]]:
    yield plan
    for child in plan.get("Plans", []):  # type: ignore[attr-defined]
        yield from _plan_nodes(child)


def test_postgres_deep_pages_read_one_page_of_events(pg_url: str) -> None:
    """A page from deep in a 100k-event log reads one page of event rows. Before the page was
    chosen in a subquery, PostgreSQL merge-joined the events table from its first row: a page at
    position 90,000 read 90,000 events (≈ 0.2 s at 1M)."""
    import orjson

    from batterytrace.bench.query_bench import build_log
    from batterytrace.ledger.epcis_query import EventQuery
    from batterytrace.ledger.read_policy import Reader
    from batterytrace.storage.postgres import PostgresStore

    store = PostgresStore(pg_url)
    try:
        n = 100_000
        build_log(store, n)
        shapes = {"authorities, bizStep": ({"EQ_bizStep": "receiving"}, Reader("authorities")),
                  "legitimate interest": ({}, Reader("legitimate_interest")),
                  "authorities, no visible kind": ({"EQ_bizStep": "inspecting"}, Reader("authorities"))}
        import psycopg

        with psycopg.connect(pg_url.split("?")[0]) as conn:
            conn.execute(f"SET search_path TO {pg_url.rsplit('schema=', 1)[1]}")
            for name, (params, reader) in shapes.items():
                flt = EventQuery.from_params({**params, "perPage": "30"}).filter(reader, (0, 9 * n // 10))
                sql, args = select_events(flt, "%s")
                row = conn.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, args).fetchone()
                assert row is not None
                plan = row[0] if isinstance(row[0], list) else orjson.loads(row[0])
                nodes = list(_plan_nodes(plan[0]["Plan"]))
                events_read = sum(int(x["Actual Rows"]) * int(x["Actual Loops"]) for x in nodes
                                  if x.get("Relation Name") == "events")
                assert events_read <= 30, (name, events_read)
                index_read = sum(int(x["Actual Rows"]) * int(x["Actual Loops"]) for x in nodes
                                 if x.get("Relation Name") == "event_index")
                assert index_read <= 3000, (name, index_read)  # one page's worth of the filter's rows
    finally:
        store.close()
