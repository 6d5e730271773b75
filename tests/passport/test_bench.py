"""The passport benchmark group measures real issuance and offline verification."""

from __future__ import annotations

from batterytrace.passport.bench import run_benchmarks


def test_quick_run_reports_measured_figures() -> None:
    results = run_benchmarks(quick=True)
    issue = results["passport_issue_per_s"]
    assert issue["unit"] == "passports/s" and issue["value"] > 0 and issue["target"] == 500
    assert "median of 2 cold batches of 5" in issue["anchor"]
    p50, p95 = results["passport_verify_p50_ms"]["value"], results["passport_verify_p95_ms"]["value"]
    assert 0 < p50 <= p95
