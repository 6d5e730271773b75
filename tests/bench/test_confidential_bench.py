"""The confidential benchmark group is registered and measures real ingest of proved events."""

from __future__ import annotations

from batterytrace.bench import runner
from batterytrace.bench.confidential_bench import run_benchmarks


def test_group_is_registered() -> None:
    assert "confidential" in runner.GROUPS
    assert runner._OPTIONAL["confidential"] == "batterytrace.bench.confidential_bench"


def test_quick_run_reports_positive_measured_figures() -> None:
    results = run_benchmarks(quick=True)
    rate = results["confidential_ingest_events_per_s"]
    assert rate["unit"] == "events/s" and rate["value"] > 0
    assert "18 with proofs" in rate["anchor"]  # 6 chains × (extract, receive, transform)
    assert results["confidential_prove_ms_per_proved_event"]["value"] > 0
    for name in ("confidential_pack_prove_s", "confidential_pack_ingest_s", "passport_confidential_issue_ms",
                 "passport_confidential_verify_ms"):
        assert results[name]["value"] > 0, name
    assert "2×3-cell pack" in results["confidential_pack_prove_s"]["anchor"]
    assert "range proofs" in results["passport_confidential_issue_ms"]["anchor"]
    for name in ("anonymous_extract_prove_ms", "anonymous_extract_ingest_ms"):
        figure = results[name]
        assert figure["unit"] == "ms" and figure["value"] > 0 and "ring of 2" in figure["anchor"]
