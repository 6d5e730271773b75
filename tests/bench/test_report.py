"""The benchmark report: machine description, target marks, notes kept across regenerations."""

from __future__ import annotations

from pathlib import Path

from batterytrace.bench.report import (
    NOTES_MARKER,
    machine_description,
    render_markdown,
    write_markdown,
)


def test_machine_description_names_the_machine() -> None:
    m = machine_description("15.2")
    assert m["cores"] and m["cpu"] and m["python"] and m["sqlite"] and m["postgresql"] == "15.2"


def test_targets_are_marked_met_or_missed(tmp_path: Path) -> None:
    results = {
        "ingest_sqlite_events_per_s": {"value": 2800.0, "unit": "events/s", "target": 20000, "anchor": "x"},
        "trace_backward_p95_ms": {"value": 4.1, "unit": "ms", "target": 20, "anchor": None},
        "trace_ledger_events": {"value": 100000, "unit": "events", "target": None, "anchor": None},
        "zk_range64_prove_ms": {"value": 27.6, "unit": "ms CPU", "target": 30, "anchor": None},
        "zk_range64_verify_ms": {"value": 13.0, "unit": "ms CPU", "target": 12, "anchor": None},
    }
    table = render_markdown(results, {"cpu": "test cpu", "cores": 2}, True, "batterytrace bench --quick")
    assert "| `ingest_sqlite_events_per_s` | 2,800 | events/s | 20000 ✗ |" in table
    assert "| `trace_backward_p95_ms` | 4.1 | ms | 20 ✓ |" in table
    assert "| `zk_range64_prove_ms` | 27.6 | ms CPU | 30 ✓ |" in table
    assert "| `zk_range64_verify_ms` | 13 | ms CPU | 12 ✗ |" in table
    assert "cpu test cpu" in table and "quick" in table
    doc = tmp_path / "benchmarks.md"
    write_markdown(doc, table)
    doc.write_text(doc.read_text() + "\nhand-written analysis\n")
    write_markdown(doc, table.replace("2,800", "3,000"))
    text = doc.read_text()
    assert "3,000" in text and "hand-written analysis" in text and text.count(NOTES_MARKER) == 1
