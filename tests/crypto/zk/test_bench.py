"""The zk benchmark group runs and reports every metric in the bench JSON shape."""

from __future__ import annotations

from batterytrace.crypto.zk.bench import run_benchmarks


def test_quick_benchmarks_report_measured_metrics() -> None:
    results = run_benchmarks(quick=True)
    for name in (
        "zk_range64_prove_ms",
        "zk_multiexp_128_terms_buckets_ms",
        "zk_range64_verify_ms",
        "zk_range64_verify_batched_per_proof_ms",
        "zk_range64_agg_m4_verify_ms",
        "zk_kernel_verify_ms",
        "zk_membership_n256_prove_ms",
        "zk_membership_n256_verify_ms",
    ):
        metric = results[name]
        assert set(metric) == {"value", "unit", "target", "anchor"}
        assert metric["value"] > 0 and metric["unit"] == "ms CPU"
    assert results["zk_scalarmult_us"]["unit"] == "µs CPU"
    assert results["zk_range64_prove_ms"]["target"] == 30
    assert results["zk_membership_n256_verify_ms"]["target"] == 30
