"""The query benchmark at test size: its synthetic log is indexed exactly as the ledger indexes,
the index path answers like the old scan, and every figure is a positive measurement."""

from __future__ import annotations

from pathlib import Path

from batterytrace.bench import runner
from batterytrace.bench.query_bench import build_log, run_benchmarks, scan_query
from batterytrace.ledger.epcis_query import EventQuery, run_query
from batterytrace.ledger.read_policy import Reader
from batterytrace.storage.sqlite import SQLiteStore


def test_the_query_group_is_registered() -> None:
    assert "query" in runner.GROUPS and runner._OPTIONAL["query"] == "batterytrace.bench.query_bench"


def test_bulk_log_answers_like_the_scan(tmp_path: Path) -> None:
    store = SQLiteStore(str(tmp_path / "q.db"))
    lots = build_log(store, 1500)
    assert store.size() == store.indexed_upto() == 1500 and lots
    for lot in lots[:5]:
        q = EventQuery.from_params({"MATCH_epc": lot, "perPage": "30"})
        indexed = run_query(store, q, reader=Reader.operator()).events
        assert indexed and [e["eventID"] for e in indexed] == [e["eventID"] for e in scan_query(store, q)]
    store.close()


def test_quick_figures_are_measured() -> None:
    results = run_benchmarks(quick=True, size=3000, scan_size=1000, postgres=False)
    assert {"query_scan_1k_p95_ms", "query_index_1k_p95_ms", "query_sqlite_3k_p95_ms",
            "query_sqlite_3k_participant_p95_ms", "query_sqlite_3k_epc_p95_ms"} <= set(results)
    assert all(m["value"] > 0 for m in results.values())
