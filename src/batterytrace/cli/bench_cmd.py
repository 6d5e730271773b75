"""``batterytrace bench``: run the benchmarks, print a table and write the JSON results."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from batterytrace.bench.report import machine_description, render_markdown, write_markdown
from batterytrace.cli import app, console


@app.command()
def bench(
    quick: bool = typer.Option(False, help="CI-sized runs (seconds, not minutes)."),
    json_path: Path | None = typer.Option(None, "--json", help="Write the results to this JSON file."),
    only: str | None = typer.Option(None, help="Comma-separated groups: ledger, passport, zk, anchoring, api, confidential, soak, query; with --json, the other groups' earlier figures in that file are kept."),
    pg_url: str | None = typer.Option(None, "--pg", help="PostgreSQL URL for the PostgreSQL ingest figure."),
    markdown: Path | None = typer.Option(None, help="Also write the results table (with the machine) here, e.g. docs/benchmarks.md."),
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
    machine = machine_description(_pg_version(pg_url))
    merged = bool(only and json_path and json_path.exists())
    if merged and json_path:
        # a partial run (--only) updates its groups' metrics and keeps the others' earlier figures
        earlier = json.loads(json_path.read_text())
        results = {**{k: v for k, v in earlier.items() if isinstance(v, dict) and "value" in v}, **results}
    if json_path:
        payload = dict(results)
        json_path.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")
        json_path.with_suffix(".machine.json").write_text(json.dumps(machine, indent=2) + "\n")
        console.print(f"wrote {json_path}")
    if markdown:
        command = "batterytrace bench" + (" --quick" if quick else "") + (f" --only {only}" if only else "")
        write_markdown(markdown, render_markdown(results, machine, quick, command,
                                                 "Figures of the groups not in this run come from earlier runs." if merged else None))
        console.print(f"wrote {markdown}")


def _pg_version(pg_url: str | None) -> str | None:
    import os

    url = pg_url or os.environ.get("BATTERYTRACE_TEST_PG_URL") or "postgresql://postgres@127.0.0.1:5432/test"
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=3) as conn:
            row = conn.execute("SHOW server_version").fetchone()
            return None if row is None else str(row[0])
    except Exception:
        return None
