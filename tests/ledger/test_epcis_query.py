"""EPCIS SimpleEventQuery over the ledger: filters, paging, refused parameters and tokens."""

from __future__ import annotations

import pytest

from batterytrace.demo.scenario import Scenario, build_scenario
from batterytrace.errors import EncodingError
from batterytrace.ledger.epcis import item_uri, lot_uri, output_identities
from batterytrace.ledger.epcis_query import EventQuery, run_query
from batterytrace.ledger.ledger import Ledger, historical_clock
from batterytrace.ledger.read_policy import Reader
from batterytrace.storage.base import Store
from batterytrace.storage.memory import MemoryStore
from batterytrace.timeutil import parse_time

AUTHORITY = Reader.operator()  # sees every event: these tests are about the filters


@pytest.fixture(scope="module")
def chain() -> tuple[Scenario, Ledger]:
    s = build_scenario(packs=1, legacy_packs=1)
    ledger = Ledger(MemoryStore(), s.actors["operator"].did, s.ledger_id, clock=historical_clock)
    assert not ledger.submit_batch(s.events).rejected
    return s, ledger


def _all(ledger: Ledger, params: dict[str, str]) -> list[dict[str, object]]:
    q = EventQuery.from_params({**params, "perPage": "7"})
    out, token = [], None
    while True:
        page = run_query(ledger.store, q, token, reader=AUTHORITY)
        out += page.events
        token = page.next_token
        if token is None:
            return out


def test_biz_step_and_type_filters(chain: tuple[Scenario, Ledger]) -> None:
    s, ledger = chain
    ships = _all(ledger, {"EQ_bizStep": "shipping"})
    assert len(ships) == sum(ev.kind == "ship" for ev in s.events) > 0
    full_uri = _all(ledger, {"EQ_bizStep": "https://ref.gs1.org/cbv/BizStep-shipping"})
    assert full_uri == ships
    aggs = _all(ledger, {"eventType": "AggregationEvent", "EQ_action": "ADD"})
    assert len(aggs) == sum(ev.kind == "aggregate" for ev in s.events)


def test_match_epc_and_time_window(chain: tuple[Scenario, Ledger]) -> None:
    s, ledger = chain
    pack = s.packs[0]
    hits = _all(ledger, {"MATCH_epc": lot_uri(pack)})
    assert hits and all(lot_uri(pack) in (e.get("outputEPCList", []) + e.get("epcList", []) + e.get("childEPCs", []))  # type: ignore[operator]
                        for e in hits)
    assert _all(ledger, {"MATCH_anyEPC": lot_uri(pack)})  # the pack is the parent of its aggregation
    times = sorted(parse_time(ev.body["time"]) for ev in s.events)
    mid = times[len(times) // 2]
    from batterytrace.timeutil import format_time

    before = _all(ledger, {"LT_eventTime": format_time(mid)})
    after = _all(ledger, {"GE_eventTime": format_time(mid)})
    assert len(before) + len(after) == len(s.events)
    assert all(parse_time(str(e["eventTime"])) < mid for e in before)


def test_paging_returns_every_event_once_in_log_order(chain: tuple[Scenario, Ledger]) -> None:
    s, ledger = chain
    got = _all(ledger, {})
    assert [e["eventID"] for e in got] == [f"urn:batterytrace:event:{ev.hash_hex}" for ev in s.events]


def test_bad_parameters_and_tokens_are_refused(chain: tuple[Scenario, Ledger]) -> None:
    _, ledger = chain
    with pytest.raises(EncodingError, match="unsupported query parameter 'EQ_colour'"):
        EventQuery.from_params({"EQ_colour": "red"})
    with pytest.raises(EncodingError, match="GE_eventTime"):
        EventQuery.from_params({"GE_eventTime": "yesterday"})
    with pytest.raises(EncodingError, match="perPage"):
        EventQuery.from_params({"perPage": "0"})
    q = EventQuery.from_params({"perPage": "3"})
    token = run_query(ledger.store, q, reader=AUTHORITY).next_token
    assert token
    other = EventQuery.from_params({"perPage": "3", "EQ_bizStep": "shipping"})
    with pytest.raises(EncodingError, match="does not belong to this query"):
        run_query(ledger.store, other, token, reader=AUTHORITY)
    with pytest.raises(EncodingError, match="malformed"):
        run_query(ledger.store, q, "!!!", reader=AUTHORITY)
    with pytest.raises(EncodingError, match="does not belong"):
        run_query(ledger.store, q, token[:-2], reader=AUTHORITY)


@pytest.mark.parametrize("params, field", [
    ({"MATCH_epc": "urn:x\x00y"}, "MATCH_epc"),
    ({"EQ_bizStep": "a" * 513}, "EQ_bizStep"),
    ({"MATCH_anyEPC": ",".join(f"urn:{i}" for i in range(101))}, "MATCH_anyEPC"),
    ({"EQ_readPoint": "site\nname"}, "EQ_readPoint"),
    ({"GE_recordTime": "9" * 40}, "GE_recordTime"),
    ({"LT_eventTime": "2025-13-45T99:99:99Z"}, "LT_eventTime"),
    ({"perPage": "00001000000"}, "perPage"),
    ({"nextPageToken": "x", "MATCH_colour": "red"}, "MATCH_colour"),
])
def test_malformed_values_are_refused_by_name(params: dict[str, str], field: str) -> None:
    with pytest.raises(EncodingError, match=field):
        EventQuery.from_params(params)


def test_odd_but_valid_values_are_answered_on_every_store(store: Store, chain: tuple[Scenario, Ledger]) -> None:
    s, _ = chain
    ledger = Ledger(store, s.actors["operator"].did, s.ledger_id, clock=historical_clock)
    assert not ledger.submit_batch(s.events[:30]).rejected
    for params in ({"MATCH_epc": "urn:'; DROP TABLE events; --"}, {"EQ_bizStep": "é✓ %s ? $1"},
                   {"MATCH_anyEPC": ",".join(f"urn:{i}" for i in range(100))},
                   {"GE_eventTime": "0001-01-01T00:00:00Z", "LT_eventTime": "9999-12-31T23:59:59Z"},
                   {"GE_recordTime": "9999-12-31T23:59:59Z"}):
        page = run_query(store, EventQuery.from_params(params), reader=AUTHORITY)
        assert page.events == [] or "GE_eventTime" in params
    assert ledger.size() == 30


def test_match_by_digital_link_on_every_store(store: Store, chain: tuple[Scenario, Ledger]) -> None:
    """A cell's Digital Link finds its creation, shipment, receipt and assembly into a module; a
    module's its assembly (parent), its own assembly into the pack (child)."""
    s, _ = chain
    ledger = Ledger(store, s.actors["operator"].did, s.ledger_id, clock=historical_clock)
    assert not ledger.submit_batch(s.events).rejected
    identities = {lid: i for ev in s.events for lid, i in output_identities(ev).items()}
    cell = next(i for i in identities.values() if i[1].startswith("NC811"))
    module = next(i for i in identities.values() if i[1].startswith("VM75M"))

    def kinds(params: dict[str, str]) -> list[str]:
        return [str(e["bt:event"]["kind"]) for e in _all(ledger, params)]  # type: ignore[index]

    assert kinds({"MATCH_epc": item_uri(*cell) or ""}) == ["transform", "ship", "receive", "aggregate"]
    assert kinds({"MATCH_anyEPC": item_uri(*cell) or ""}) == ["transform", "ship", "receive", "aggregate"]
    assert kinds({"MATCH_outputEPC": item_uri(*cell) or ""}) == ["transform"]
    assert kinds({"MATCH_anyEPC": item_uri(*module) or ""}) == ["aggregate", "aggregate"]
    assert kinds({"MATCH_parentID": item_uri(*module) or ""}) == ["aggregate"]
    assert kinds({"MATCH_epc": "https://id.gs1.org/01/07350999001087/21/NOSUCHCELL"}) == []
