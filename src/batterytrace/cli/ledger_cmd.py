"""Ledger commands: init, submit, log (head / verify / prove), trace."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from batterytrace.canonical import canonical_json
from batterytrace.cli import DB_HELP, app, console, err_console
from batterytrace.cli.inputs import open_ledger_store, read_bytes
from batterytrace.crypto.merkle import leaf_hash, verify_inclusion
from batterytrace.crypto.signed_note import MAX_NOTE_BYTES
from batterytrace.crypto.signing import SigningKey
from batterytrace.errors import BatterytraceError
from batterytrace.keys import (
    default_key_path,
    default_token_key_path,
    load_key,
    load_or_create_key,
    save_key,
)
from batterytrace.ledger.audit import verify_log
from batterytrace.ledger.checkpoint import checkpoint_verifier, verify_checkpoint_note
from batterytrace.ledger.credentials import install_token_key
from batterytrace.ledger.ingest import ingest_wire
from batterytrace.ledger.ledger import Ledger
from batterytrace.ledger.trace import trace_backward, trace_forward
from batterytrace.storage.base import open_store
from batterytrace.timeutil import parse_time

log_app = typer.Typer(help="Transparency log: signed tree heads, proofs, full verification.", no_args_is_help=True)
trace_app = typer.Typer(help="Trace material backward to mines or forward to packs.", no_args_is_help=True)
app.add_typer(log_app, name="log")
app.add_typer(trace_app, name="trace")

DB = typer.Option("./batterytrace.db", "--db", help=DB_HELP)
KEY = typer.Option(None, "--operator-key", help="Operator key file (default: <db>.operator.key).")


def progress_bar() -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=console,
    )


@app.command()
def init(
    db: str = DB,
    operator_key: Path | None = KEY,
    ledger_id: str | None = typer.Option(
        None, "--ledger-id", help="The new ledger's identifier (default: a random urn:uuid); events name it."
    ),
) -> None:
    """Create a ledger operated by a new (or the given) operator key."""
    path = operator_key or default_key_path(db)
    key = load_key(path) if path.exists() else SigningKey.generate()
    if not path.exists():
        save_key(key, path)
    ledger = Ledger(open_store(db), key.did, ledger_id)
    token_path = default_token_key_path(db)  # signs bearer tokens; never the operator key
    install_token_key(ledger.store, load_or_create_key(token_path))
    console.print(
        f"ledger [bold]{escape(db)}[/] ({ledger.ledger_id}) operated by {ledger.operator_did}\nkey file: {path}"
        f"\ntoken key file: {token_path}"
    )


@app.command()
def submit(
    file: Path = typer.Argument(..., help="Signed events, one JSON object per line ('-' for stdin)."),
    db: str = DB,
    workers: int = typer.Option(0, help="Signature-checking processes (0 = one per core)."),
) -> None:
    """Submit signed events (JSON lines); prints each rejection with the rule it broke."""
    lines = read_bytes(file, "events file").splitlines()
    lines = [line for line in lines if line.strip()]
    ledger = Ledger(open_ledger_store(db))
    with progress_bar() as bar:
        task = bar.add_task("ingesting", total=len(lines))
        result = ingest_wire(ledger, lines, workers=workers or None, progress=lambda n: bar.advance(task, n))
    for r in result.rejected:
        err_console.print(f"line {r.index + 1}: rejected by rule [bold]{r.rule}[/]: {escape(r.message.removeprefix(f'[{r.rule}] '))}")
    console.print(f"accepted {len(result.accepted)}, rejected {len(result.rejected)}; log size {ledger.size()}")
    if result.rejected:
        raise typer.Exit(1)


@log_app.command("head")
def log_head(db: str = DB, operator_key: Path | None = KEY) -> None:
    """Sign and store the current tree head (operator only)."""
    ledger = Ledger(open_ledger_store(db))
    cp = ledger.sign_tree_head(load_key(operator_key or default_key_path(db)))
    console.print_json(canonical_json(cp.to_dict()).decode())


def verification_failed(what: str, exc: Exception) -> typer.Exit:
    """Print the one line a failed verification shows and return the exit to raise. A verifier
    that cannot read its input has not verified it: an unexpected error (a database too corrupt
    for its driver) fails the same way, named by its type, never as a traceback."""
    text = str(exc) if isinstance(exc, BatterytraceError) else f"the ledger cannot be read ({type(exc).__name__}: {exc})"
    err_console.print(f"[bold red]{what} FAILED:[/] {escape(text)}", soft_wrap=True)
    return typer.Exit(1)


@log_app.command("checkpoint")
def log_checkpoint(
    db: str = DB,
    fmt: str = typer.Option("note", "--format", help="note (C2SP tlog-checkpoint signed note) or json."),
) -> None:
    """Print the latest signed tree head: as a C2SP checkpoint note (default) or its JSON form."""
    if fmt not in ("note", "json"):
        raise typer.BadParameter("--format is note or json")
    ledger = Ledger(open_ledger_store(db))
    heads = ledger.checkpoints() if fmt == "json" else [c for c in ledger.checkpoints() if c.note_signature]
    if not heads:
        raise BatterytraceError("no signed tree head" + (" with a checkpoint note" if fmt == "note" else "")
                                + " yet; run 'batterytrace log head'")
    if fmt == "json":
        console.print_json(canonical_json(heads[-1].to_dict()).decode())
    else:
        sys.stdout.write(heads[-1].to_note())


@log_app.command("vkey")
def log_vkey(db: str = DB) -> None:
    """Print the verifier key of the log's checkpoint notes (<origin>+<key id>+<base64 key>)."""
    ledger = Ledger(open_ledger_store(db))
    sys.stdout.write(checkpoint_verifier(ledger.ledger_id, ledger.operator_did).encode() + "\n")


@log_app.command("verify-checkpoint")
def log_verify_checkpoint(
    note: Path = typer.Argument(..., help="Checkpoint note file ('-': standard input)."),
    vkey: str = typer.Option(..., "--vkey", help="Verifier key <name>+<key id>+<base64 key>."),
    origin: str | None = typer.Option(None, "--origin", help="Expected origin (default: the vkey's name)."),
) -> None:
    """Verify a C2SP checkpoint note with a verifier key; print its origin, size and root."""
    data = read_bytes(note, "checkpoint note")
    try:
        found = verify_checkpoint_note(data[: MAX_NOTE_BYTES + 1], vkey, origin=origin)
    except BatterytraceError as exc:
        raise verification_failed("checkpoint verification", exc) from exc
    console.print(f"[green]checkpoint verified[/]: origin {escape(found.origin)}, tree size {found.tree_size}, "
                  f"root {found.root_hash.hex()}", soft_wrap=True)


@log_app.command("verify")
def log_verify(db: str = DB) -> None:
    """Recompute everything from storage: hashes, signatures, rules, Merkle nodes, lots, heads,
    and account for every stored row (none outside the log, none the log does not produce)."""
    try:
        store = open_ledger_store(db)
        with progress_bar() as bar:
            task = bar.add_task("replaying the log", total=store.size())
            report = verify_log(store, lambda done, total: bar.update(task, completed=done))
    except Exception as exc:  # any failure to verify is reported as one (verification_failed)
        raise verification_failed("log verification", exc) from exc
    console.print(
        f"[green]log verified[/]: {report.events} events, {report.lots} lots, "
        f"{report.tree_heads} signed tree heads, root {report.root_hash}"
    )


@log_app.command("prove")
def log_prove(event: str = typer.Argument(..., help="Event hash (hex)."), db: str = DB) -> None:
    """Print an inclusion proof of an event against the latest signed tree head, verified."""
    ledger = Ledger(open_ledger_store(db))
    found = ledger.event_by_hash(event)
    if found is None:
        raise BatterytraceError(f"no event {event} in the log")
    seq, ev = found
    cp = ledger.latest_checkpoint()
    if cp is None or cp.tree_size <= seq:
        raise BatterytraceError("no signed tree head covers this event yet; run 'batterytrace log head'")
    path = ledger.inclusion_proof(seq, cp.tree_size)
    cp.verify(ledger.operator_did, ledger.ledger_id)
    ingested = ledger.ingestion_time(seq)
    verify_inclusion(leaf_hash(ev.leaf_data(ingested)), seq, cp.tree_size, path, cp.root_hash)
    err_console.print(f"[green]inclusion verified[/] against the signed tree head of size {cp.tree_size}")
    console.print_json(canonical_json({"ledger": ledger.ledger_id, "leaf_index": seq, "ingested_at": ingested, "tree_size": cp.tree_size, "path": [p.hex() for p in path], "checkpoint": cp.to_dict()}).decode())


@trace_app.command("backward")
def trace_back(lot: str = typer.Argument(..., help="Lot id (event hash:index) or GTIN/serial."), db: str = DB) -> None:
    """Every contributing lot and mine of a lot, with element shares per bucket."""
    store = open_ledger_store(db)
    if "/" in lot:
        gtin, serial = lot.split("/", 1)
        ids = store.lots_by_serial(gtin, serial)
        if not ids:
            raise BatterytraceError(f"no lot with GTIN {gtin} serial {serial}")
        lot = ids[-1]
    result = trace_backward(store, lot)
    console.print(shares_table(result.shares(), f"{result.lot.form} {lot[:16]}… — {len(result.lots)} contributing lots"))


def shares_table(shares: dict[str, dict[str, float]], title: str) -> Table:
    table = Table(title=title)
    table.add_column("origin site")
    table.add_column("bucket")
    table.add_column("share of element", justify="right")
    for site, buckets in sorted(shares.items()):
        for key, pct in sorted(buckets.items()):
            table.add_row(site, key, f"{pct:6.2f} %")
    return table


CSV_COLUMNS = ("gtin", "serial", "form", "lot_id", "holder", "holder_name", "status", "lifecycle")


def _csv_cell(value: str | None) -> str:
    """A cell a spreadsheet will not run: text starting with = + - @ or a control character is
    prefixed with ' (OWASP CSV injection); --json carries the values unchanged."""
    text = "" if value is None else value
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@trace_app.command("forward")
def trace_fwd(
    lot: list[str] = typer.Option(None, "--lot", help="Start lot id (repeatable)."),
    site: str | None = typer.Option(None, help="Start from every lot created at this registered site..."),
    start: str | None = typer.Option(None, "--from", help="...from this time (RFC 3339, inclusive)"),
    end: str | None = typer.Option(None, "--to", help="...until this time (RFC 3339, exclusive; after --from)"),
    as_json: bool = typer.Option(False, "--json", help="Print the recall as JSON."),
    as_csv: bool = typer.Option(False, "--csv", help="Print the recall as CSV (one row per product)."),
    db: str = DB,
) -> None:
    """Every battery (and vehicle) downstream of a lot, or of a site within a time window (recall):
    one line per battery, sorted by GTIN and serial, with its current holder and status."""
    import csv
    import json

    from batterytrace.ledger.trace import recalled_products

    if as_json and as_csv:
        raise BatterytraceError("give --json or --csv, not both")
    if lot and (site or start or end):
        raise BatterytraceError("give start lots (--lot) or a site and window (--site --from --to), not both")
    if not lot and site is None:
        raise BatterytraceError("give start lots (--lot) or a site and window (--site --from --to)")
    if site is not None and (start is None or end is None):
        raise BatterytraceError("a recall by site needs a window: --from and --to (RFC 3339)")
    store = open_ledger_store(db)
    result = trace_forward(store, lot or None, site, parse_time(start) if start else None,
                           parse_time(end) if end else None)
    products = recalled_products(store, result)
    if as_json:
        doc = {"start_lots": len(result.start), "downstream_lots": result.lot_count,
               "products": [p.to_dict() for p in products]}
        sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
        return
    if as_csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for p in products:
            writer.writerow([_csv_cell(getattr(p, c)) for c in CSV_COLUMNS])
        sys.stdout.flush()
        return
    batteries = sum(p.form != "vehicle" for p in products)
    console.print(f"{len(result.start)} start lots, {result.lot_count} downstream lots, {batteries} batteries"
                  f"{f', {len(products) - batteries} vehicles' if len(products) > batteries else ''}",
                  markup=False, highlight=False)
    for p in products:
        console.print(f"  {p.gtin}/{p.serial}  {p.form}  {p.status}  held by {p.holder_name or p.holder}  "
                      f"({p.lifecycle})  {p.lot_id}", markup=False, highlight=False, soft_wrap=True)
