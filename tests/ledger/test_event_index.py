"""The event index: built on open for ledgers from before it (once, idempotently), and held by
``log verify`` against the events: a tampered, missing or planted index row fails it by name."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from batterytrace.demo.scenario import Scenario, build_scenario
from batterytrace.errors import VerificationError
from batterytrace.ledger.audit import verify_log
from batterytrace.ledger.epcis import output_identities
from batterytrace.ledger.epcis_query import EventQuery, run_query
from batterytrace.ledger.event_index import INDEX_META, INDEX_VERSION, ensure_index
from batterytrace.ledger.ledger import Ledger, historical_clock
from batterytrace.ledger.read_policy import Reader
from batterytrace.model.identifiers import canonical_digital_link
from batterytrace.storage.base import Store, open_store

Sql = Callable[[str], None]


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return build_scenario(packs=1, legacy_packs=1)


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[tuple[str, Sql]]:
    """A SQL ledger location and a way to run raw SQL against it (the attacker's, or an old
    version's, direct access)."""
    if request.param == "sqlite":
        import sqlite3

        path = f"{tmp_path}/ledger.db"

        def run(sql: str) -> None:
            with sqlite3.connect(path) as conn:
                conn.execute(sql)

        yield path, run
    else:
        import psycopg

        from batterytrace.storage.postgres import split_schema

        url = request.getfixturevalue("pg_url")
        conninfo, schema = split_schema(url)

        def run_pg(sql: str) -> None:
            with psycopg.connect(conninfo, autocommit=True) as conn:
                conn.execute(f'SET search_path TO "{schema}"')
                conn.execute(sql)

        yield url, run_pg


def _build(url: str, scenario: Scenario) -> list[object]:
    ledger = Ledger(open_store(url), scenario.actors["operator"].did, scenario.ledger_id, clock=historical_clock)
    assert not ledger.submit_batch(scenario.events).rejected
    entries: list[object] = list(ledger.store.iter_event_index())
    ledger.close()
    return entries


def _verify(url: str) -> None:
    store = open_store(url, create=False)
    try:
        verify_log(store)
    finally:
        store.close()


def _drop_index(run: Sql) -> None:
    """What a ledger written before the index looks like."""
    for table in ("event_index", "event_epcs", "event_parties"):
        run(f"DELETE FROM {table}")
    run(f"DELETE FROM meta WHERE key = '{INDEX_META}'")


def test_an_old_ledger_gets_its_index_on_open_once(db: tuple[str, Sql], scenario: Scenario) -> None:
    url, run = db
    entries = _build(url, scenario)
    assert len(entries) == len(scenario.events)
    _drop_index(run)
    _verify(url)  # a ledger without an index is a consistent ledger
    store: Store = open_store(url, create=False)
    assert next(store.iter_event_index(), None) is None
    ledger = Ledger(store)  # opening builds it
    assert list(store.iter_event_index()) == entries and store.get_meta(INDEX_META) == INDEX_VERSION
    assert not ensure_index(store)  # once
    ledger.close()
    _verify(url)


def _version_1(run: Sql) -> None:
    """The index a version-1 ledger holds: lots by lot URI only, receipts as TransformationEvents."""
    run("DELETE FROM event_epcs WHERE epc LIKE 'https://id.gs1.org/%'")
    run("UPDATE event_index SET etype = 'TransformationEvent', action = NULL WHERE kind = 'receive'")
    run("UPDATE event_epcs SET role = 'input' WHERE role = 'epc' AND seq IN "
        "(SELECT seq FROM event_index WHERE kind = 'receive')")
    run(f"UPDATE meta SET value = '1' WHERE key = '{INDEX_META}'")


def test_a_version_1_index_is_rebuilt_on_open(db: tuple[str, Sql], scenario: Scenario) -> None:
    url, run = db
    entries = _build(url, scenario)
    assert INDEX_VERSION == "2"
    _version_1(run)
    with pytest.raises(VerificationError, match="event index version '1' is not '2'"):
        _verify(url)  # an index of another version is no index of this log
    store: Store = open_store(url, create=False)
    pack = next(ev for ev in scenario.events if ev.kind == "aggregate" and ev.body["outputs"][0]["form"] == "pack")
    link = canonical_digital_link(*output_identities(pack)[f"{pack.hash_hex}:0"])
    query = EventQuery.from_params({"MATCH_anyEPC": link})
    assert run_query(store, query, reader=Reader.operator()).events == []  # version 1: no Digital Links
    ledger = Ledger(store)  # opening migrates the index
    assert store.get_meta(INDEX_META) == INDEX_VERSION and list(store.iter_event_index()) == entries
    found = run_query(store, query, reader=Reader.operator()).events
    kinds = [e["bt:event"]["kind"] for e in found]
    assert kinds[0] == "aggregate" and {"ship", "receive", "lifecycle"} <= set(kinds), kinds
    receipts = run_query(store, EventQuery.from_params({"EQ_bizStep": "receiving", "eventType": "ObjectEvent"}),
                         reader=Reader.operator()).events
    assert len(receipts) == sum(ev.kind == "receive" for ev in scenario.events)
    assert not ensure_index(store)  # once
    ledger.close()
    _verify(url)


def test_stray_index_rows_without_the_version_are_caught_and_rebuilt(db: tuple[str, Sql], scenario: Scenario) -> None:
    url, run = db
    entries = _build(url, scenario)
    did = scenario.actors["kasonta"].did
    run(f"DELETE FROM meta WHERE key = '{INDEX_META}'")
    run(f"INSERT INTO event_parties(party, seq) VALUES ('{did}x', 3)")
    with pytest.raises(VerificationError, match="event index rows are stored but the index is not recorded"):
        _verify(url)
    ledger = Ledger(open_store(url, create=False))  # the rebuild drops what the log does not imply
    assert list(ledger.store.iter_event_index()) == entries
    ledger.close()
    _verify(url)


@pytest.mark.parametrize("tamper, message", [
    ("UPDATE event_index SET biz_step = 'shipping' WHERE seq = 3", "entry of event 3 differs"),
    ("UPDATE event_index SET ingested_at = ingested_at + 1 WHERE seq = 5", "entry of event 5 differs"),
    ("DELETE FROM event_parties WHERE seq = 20", "entry of event 20 differs"),
    ("INSERT INTO event_parties(party, seq) VALUES ('did:key:z6MkSpy', 20)", "entry of event 20 differs"),
    ("UPDATE event_epcs SET epc = epc || 'x' WHERE seq = (SELECT MIN(seq) FROM event_epcs)", "differs"),
    ("DELETE FROM event_index WHERE seq = (SELECT MAX(seq) FROM event_index)", "entry of event"),
    ("DELETE FROM event_parties WHERE seq = (SELECT MAX(seq) FROM event_index)", "entry of event"),
    ("INSERT INTO event_parties(party, seq) VALUES ('did:key:z6MkSpy', 100000)", "differs"),
    ("UPDATE meta SET value = '0' WHERE key = 'event_index'", "version"),
])
def test_log_verify_holds_the_index_to_the_events(db: tuple[str, Sql], scenario: Scenario, tamper: str,
                                                  message: str) -> None:
    url, run = db
    _build(url, scenario)
    _verify(url)
    run(tamper)
    with pytest.raises(VerificationError, match=message):
        _verify(url)
