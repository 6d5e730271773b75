"""``batterytrace bench``: run the benchmarks, print a table and write the JSON results."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from batterytrace.cli import app, console


@app.command()
def bench(
    quick: bool = typer.Option(False, help="CI-sized runs (seconds, not minutes)."),
    json_path: Path | None = typer.Option(None, "--json", help="Write the results to this JSON file."),
    only: str | None = typer.Option(None, help="Comma-separated groups: ledger, zk, anchoring."),
    pg_url: str | None = typer.Option(None, "--pg", help="PostgreSQL URL for the PostgreSQL ingest figure."),
) -> None:
    """Measure ingest, trace, recall, proofs and crypto; compare with targets and anchors."""
    from batterytrace.bench import run_all

    results = run_all(quick=quick, groups=only.split(",") if only else None, pg_url=pg_url, console=console)
    table = Table(title="batterytrace benchmarks" + (" (quick)" if quick else ""))
    for col in ("metric", "value", "unit", "target", "anchor"):
        table.add_column(col)
    for name, m in results.items():
        table.add_row(name, f"{m['value']:.4g}", m["unit"], "" if m["target"] is None else str(m["target"]), m["anchor"] or "")
    console.print(table)
    if json_path:
        json_path.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
        console.print(f"wrote {json_path}")
