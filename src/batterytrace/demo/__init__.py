"""A realistic, fictional battery supply chain used by ``batterytrace demo`` and the benchmarks."""
