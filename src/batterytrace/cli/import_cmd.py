"""Import commands: CSV rows from small suppliers (``import csv``, ``import template``) and a
supplier's PACT product carbon footprint as a carbon entry (``import pact``)."""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

import typer
from rich.markup import escape

from batterytrace.canonical import canonical_json
from batterytrace.cli import DB_HELP, app, console
from batterytrace.cli.inputs import open_ledger_store
from batterytrace.errors import BatterytraceError
from batterytrace.keys import load_key
from batterytrace.ledger.csv_import import (
    KINDS,
    MAX_CSV_BYTES,
    CsvError,
    csv_safe,
    import_csv,
    template_text,
)
from batterytrace.ledger.ledger import Ledger
from batterytrace.ledger.pact import MAX_PCF_BYTES, parse_pcf, pcf_carbon_entry
from batterytrace.model.entities import CARBON_STAGES

import_app = typer.Typer(help="Import supplier data: CSV templates, PACT carbon footprints.", no_args_is_help=True)
app.add_typer(import_app, name="import")


def _read(path: Path, limit: int) -> bytes:
    """A file's bytes, or one clear error (missing, a folder, unreadable, too large)."""
    try:
        if path.is_dir():
            raise BatterytraceError(f"{path} is a folder, not a file")
        with path.open("rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise BatterytraceError(f"cannot read {path}: {exc.strerror}") from exc
    if len(data) > limit:
        raise BatterytraceError(f"{path} is larger than {limit} bytes")
    return data


def _kind(value: str) -> str:
    if value not in KINDS:
        raise typer.BadParameter(f"one of {', '.join(KINDS)}")
    return value


@import_app.command("template")
def template(kind: str = typer.Argument(..., help=f"One of {', '.join(KINDS)}.", callback=_kind)) -> None:
    """Print the CSV template of KIND (header and example rows; docs/csv-import.md explains it)."""
    sys.stdout.write(template_text(kind))


@import_app.command("csv")
def import_csv_cmd(
    file: Path = typer.Argument(..., help="The CSV file (UTF-8, comma-separated, header row)."),
    kind: str = typer.Option(..., "--kind", help=f"One of {', '.join(KINDS)}.", callback=_kind),
    key: Path = typer.Option(..., "--key", help="Your participant key file (32-byte hex seed)."),
    db: str = typer.Option("./batterytrace.db", "--db", help=DB_HELP),
    lots_out: Path | None = typer.Option(None, "--lots-out", help="Also write 'ref,id' rows (lot ids; event hashes "
                                          "for shipments and receipts) to this CSV file."),
    check: bool = typer.Option(False, "--check", help="Check every row and let the ledger judge every event; "
                               "record nothing."),
) -> None:
    """Sign and record every row of FILE, or none: each row is checked, every event is judged by
    the ledger, and only then are all submitted together."""
    data = _read(file, MAX_CSV_BYTES)
    signing_key = load_key(key)
    ledger = Ledger(open_ledger_store(db))
    try:
        result = import_csv(ledger, kind, data, signing_key, base=file.resolve().parent, check_only=check)
    except CsvError as exc:
        raise BatterytraceError(f"{file}: {exc}") from exc
    for rows, event_hash in result.events:
        console.print(f"rows {', '.join(map(str, rows))}: event {event_hash}")
    for ref, value in result.lots.items():
        console.print(f"  {escape(ref)} → {value}")
    if check:
        console.print(f"{file.name}: all {len(result.events)} events would be accepted; nothing was recorded")
        return
    if lots_out is not None:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["ref", "id"])
        for ref, value in result.lots.items():
            writer.writerow([csv_safe(ref), value])
        try:
            lots_out.write_text(out.getvalue(), encoding="utf-8")
        except OSError as exc:
            raise BatterytraceError(f"cannot write {lots_out}: {exc.strerror}") from exc
    console.print(f"recorded {len(result.events)} events from {file.name}; log size {result.log_size}")


@import_app.command("pact")
def import_pact(
    file: Path = typer.Argument(..., help="A PACT ProductFootprint (Tech Spec 2.x or 3.x JSON)."),
    stage: str = typer.Option("raw_material", "--stage", help=f"Lifecycle stage: {', '.join(CARBON_STAGES)}."),
) -> None:
    """Check a supplier's PCF and print the carbon entry an output spec carries (its 'carbon'
    list); the ledger checks the entry against the PCF's id, digest, unit and value."""
    data = _read(file, MAX_PCF_BYTES)
    try:
        entry = pcf_carbon_entry(parse_pcf(data), stage)
    except BatterytraceError as exc:
        raise BatterytraceError(f"{file}: {exc}") from exc
    sys.stdout.write(canonical_json(entry).decode() + "\n")
