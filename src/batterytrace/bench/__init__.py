"""Benchmarks behind ``batterytrace bench``: each returns metric name →
``{"value", "unit", "target", "anchor"}``."""

from batterytrace.bench.runner import run_all

__all__ = ["run_all"]
