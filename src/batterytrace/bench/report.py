"""Benchmark reports: the machine's description and the Markdown table for docs/benchmarks.md."""

from __future__ import annotations

import os
import platform
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["NOTES_MARKER", "machine_description", "render_markdown", "write_markdown"]

NOTES_MARKER = "<!-- notes: everything below this line is kept when the table is regenerated -->"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _mem_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return None


def machine_description(pg_version: str | None = None) -> dict[str, Any]:
    mem = _mem_gib()
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": None if mem is None else round(mem, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": pg_version,
    }


def render_markdown(results: dict[str, dict[str, Any]], machine: dict[str, Any], quick: bool, command: str,
                    note: str | None = None) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Benchmarks",
        "",
        f"Measured {when} with `{command}`{' (quick, CI-sized)' if quick else ''}." + (f" {note}" if note else ""),
        "",
        "Machine: " + ", ".join(f"{k} {v}" for k, v in machine.items() if v is not None) + ".",
        "",
        "| metric | value | unit | target | anchor |",
        "|---|---:|---|---:|---|",
    ]
    for name, m in results.items():
        target = "" if m.get("target") is None else f"{m['target']:g}"
        met = ""
        if m.get("target") is not None:
            # times, sizes and costs are better lower; rates ("…/s") and counts higher
            lower_is_better = str(m["unit"]).split()[0] in ("ms", "µs", "us", "MB", "s", "gas", "errors", "lost")
            ok = m["value"] <= m["target"] if lower_is_better else m["value"] >= m["target"]
            met = " ✓" if ok else " ✗"
        lines.append(f"| `{name}` | {m['value']:,.4g} | {m['unit']} | {target}{met} | {m.get('anchor') or ''} |")
    return "\n".join(lines) + "\n"


def write_markdown(path: Path, table: str) -> None:
    notes = ""
    if path.exists():
        old = path.read_text()
        if NOTES_MARKER in old:
            notes = old.split(NOTES_MARKER, 1)[1]
    path.write_text(table + "\n" + NOTES_MARKER + notes)
