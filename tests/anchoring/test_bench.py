"""The anchoring benchmark group runs (quick size) and reports measured, consistent figures."""

from __future__ import annotations

from batterytrace.anchoring.anvil import find_anvil
from batterytrace.anchoring.bench import run_benchmarks


def test_quick_benchmarks_report_measured_figures() -> None:
    out = run_benchmarks(quick=True)
    for name in ("anchor_inprocess_per_s", "anchor_gas", "anchor_gas_per_event_1k", "anchor_gas_per_event_100k"):
        assert out[name]["value"] > 0 and out[name]["unit"]
    # one transaction per checkpoint: gas hardly depends on how many events it covers
    per_1k, per_100k = out["anchor_gas_per_event_1k"]["value"], out["anchor_gas_per_event_100k"]["value"]
    assert 50 < per_1k / per_100k < 150
    assert 21_000 < out["anchor_gas"]["value"] < 500_000
    assert ("anchor_anvil_per_s" in out) == (find_anvil() is not None)
