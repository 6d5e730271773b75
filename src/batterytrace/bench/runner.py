"""Runs the benchmark groups and collects one JSON object of metrics."""

from __future__ import annotations

import importlib
import os
from typing import Any

from rich.console import Console

from batterytrace.bench.ledger_bench import ledger_benchmarks
from batterytrace.errors import BatterytraceError

__all__ = ["GROUPS", "run_all"]

GROUPS = ("ledger", "passport", "zk", "anchoring", "api", "confidential", "soak", "query")
# Optional groups live beside the code they measure; absent modules are reported, not faked.
_OPTIONAL = {
    "passport": "batterytrace.passport.bench",
    "zk": "batterytrace.crypto.zk.bench",
    "anchoring": "batterytrace.anchoring.bench",
    "api": "batterytrace.api.bench",
    "confidential": "batterytrace.bench.confidential_bench",
    "soak": "batterytrace.api.soak",
    "query": "batterytrace.bench.query_bench",
}


def run_all(
    quick: bool, groups: list[str] | None, pg_url: str | None, console: Console
) -> dict[str, dict[str, Any]]:
    chosen = [g.strip() for g in groups if g.strip()] if groups else list(GROUPS)
    unknown = sorted(set(chosen) - set(GROUPS))
    if unknown or not chosen:
        raise BatterytraceError(f"unknown benchmark group(s) {', '.join(map(repr, unknown)) or '(none named)'}; "
                                f"known: {', '.join(GROUPS)}")
    results: dict[str, dict[str, Any]] = {}
    say = console.log
    if "ledger" in chosen:
        url = pg_url or os.environ.get("BATTERYTRACE_TEST_PG_URL") or "postgresql://postgres@127.0.0.1:5432/test"
        results.update(ledger_benchmarks(quick, url, say))
    for group, module_name in _OPTIONAL.items():
        if group not in chosen:
            continue
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            say(f"benchmark group {group!r} is not available in this build")
            continue
        say(f"running the {group} benchmarks")
        results.update(module.run_benchmarks(quick))
    return results
