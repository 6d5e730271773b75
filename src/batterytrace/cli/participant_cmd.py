"""Registry commands for operators and participants: ``participant register|rotate-key``,
``site register``, ``attest`` and ``lots``. Each builds one event body
(``ledger.participants``), signs it now and submits it to the ledger, which judges it; a refusal
prints the rule it broke in one line."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from batterytrace.cli import DB_HELP, app, console, err_console
from batterytrace.cli.inputs import open_ledger_store
from batterytrace.crypto.signing import SigningKey
from batterytrace.errors import NotFoundError, RuleViolationError
from batterytrace.keys import default_key_path, load_key
from batterytrace.ledger.ledger import Ledger
from batterytrace.ledger.participants import (
    attestation_body,
    holdings,
    key_owner,
    participant_body,
    rotation_body,
    sign_as,
    site_body,
)
from batterytrace.model.buckets import element_totals
from batterytrace.model.entities import Lot
from batterytrace.timeutil import format_time

participant_app = typer.Typer(help="Participants: register them, rotate their keys.", no_args_is_help=True)
site_app = typer.Typer(help="Sites: register the mines and plants participants operate.", no_args_is_help=True)
app.add_typer(participant_app, name="participant")
app.add_typer(site_app, name="site")

DB = typer.Option("./batterytrace.db", "--db", help=DB_HELP)
OPERATOR_KEY = typer.Option(None, "--operator-key", help="Operator key file (default: <db>.operator.key).")


def submit_body(db: str, key: SigningKey, body: dict[str, object], participant: str | None = None) -> None:
    """Sign ``body`` with ``key`` (for ``participant`` when that key was rotated in for it; by
    default the participant the ledger knows the key for), submit it, print its hash; on refusal
    print the rule in one line and exit 1."""
    ledger = Ledger(open_ledger_store(db))
    if participant is None:
        participant = key_owner(ledger.store, key.did)
    ev = sign_as(body, key, ledger=ledger.ledger_id, participant=participant)
    try:
        receipt = ledger.submit(ev)
    except RuleViolationError as exc:
        err_console.print(f"[bold red]refused[/] by rule [bold]{escape(exc.rule)}[/]: {escape(exc.detail)}", soft_wrap=True)
        raise typer.Exit(1) from exc
    err_console.print(f"accepted {ev.kind} at log position {receipt.seq}")
    console.print(ev.hash_hex)


def operator(db: str, path: Path | None) -> SigningKey:
    return load_key(path or default_key_path(db))


@participant_app.command("register")
def participant_register(
    did: str = typer.Option(..., "--did", help="The participant's did:key (from 'batterytrace key new')."),
    role: str = typer.Option(..., "--role", help="mine, refiner, cathode_maker, cell_maker, oem, recycler, logistics or auditor."),
    legal_name: str = typer.Option(..., "--legal-name", help="Registered legal name."),
    country: str = typer.Option(..., "--country", help="ISO 3166-1 alpha-2 country code."),
    accreditation: list[str] = typer.Option(None, "--accreditation", help="An auditor's accredited scheme (repeatable)."),
    operator_key: Path | None = OPERATOR_KEY,
    db: str = DB,
) -> None:
    """Register a participant (operator-signed); prints the event hash."""
    body = participant_body(did, role, legal_name, country, accreditation or ())
    submit_body(db, operator(db, operator_key), body)


@participant_app.command("rotate-key")
def participant_rotate_key(
    participant: str = typer.Option(..., "--participant", help="The participant's registered did."),
    new_did: str = typer.Option(..., "--new-did", help="The did:key that signs for it from now on."),
    operator_key: Path | None = OPERATOR_KEY,
    db: str = DB,
) -> None:
    """Rotate a participant's key (operator-signed): the new key signs for it from now on, the
    old key is refused. The participant keeps its registered did, custody, sites and roles."""
    submit_body(db, operator(db, operator_key), rotation_body(participant, new_did))


@site_app.command("register")
def site_register(
    site_id: str = typer.Option(..., "--site-id", help="Site identifier (e.g. mine:kasonta)."),
    owner: str = typer.Option(..., "--owner", help="Registered did of the participant operating the site."),
    site_kind: str = typer.Option(..., "--site-kind", help="mine, refinery, cathode_plant, cell_plant, pack_plant, ..."),
    name: str = typer.Option(..., "--name", help="Site name."),
    country: str = typer.Option(..., "--country", help="ISO 3166-1 alpha-2 country code."),
    lat: float | None = typer.Option(None, "--lat", help="Latitude (WGS 84)."),
    lon: float | None = typer.Option(None, "--lon", help="Longitude (WGS 84)."),
    operator_key: Path | None = OPERATOR_KEY,
    db: str = DB,
) -> None:
    """Register a site a participant operates (operator-signed); prints the event hash."""
    submit_body(db, operator(db, operator_key), site_body(site_id, owner, site_kind, name, country, lat, lon))


@app.command()
def attest(
    subject: str = typer.Option(..., "--subject", help="Site id or participant did attested."),
    scheme: str = typer.Option(..., "--scheme", help="Assurance scheme the auditor is accredited for (e.g. RMAP)."),
    valid_from: str = typer.Option(..., "--valid-from", help="Start of validity (RFC 3339)."),
    valid_until: str = typer.Option(..., "--valid-until", help="End of validity (RFC 3339)."),
    level: str | None = typer.Option(None, "--level", help="Conformance level (e.g. conformant, IRMA 75)."),
    score: int | None = typer.Option(None, "--score", help="Score 0-100."),
    revokes: str | None = typer.Option(None, "--revokes", help="Hash of an earlier attestation of this auditor it replaces."),
    key: Path = typer.Option(..., "--key", help="The auditor's key file."),
    participant: str | None = typer.Option(
        None, "--participant", help="Sign for this participant did (a key rotated in for it; default: found on the ledger)."),
    db: str = DB,
) -> None:
    """Record an auditor's attestation of a site or participant; prints the event hash."""
    body = attestation_body(subject, scheme, valid_from, valid_until, level=level, score=score, revokes=revokes)
    submit_body(db, load_key(key), body, participant)


def lot_row(lot: Lot) -> dict[str, object]:
    """One held lot as ``lots --json`` shows it (``elements_g`` is null for a confidential lot)."""
    return {
        "lot": lot.lot_id,
        "form": lot.form,
        "gtin": lot.gtin,
        "serial": lot.serial,
        "elements_g": None if lot.confidential else element_totals(lot.buckets),
        "gross_mass_g": lot.gross_mass_g,
        "site": lot.site,
        "status": lot.status,
        "since": format_time(lot.last_event_at or lot.created_at),
    }


@app.command()
def lots(
    participant: str = typer.Option(..., "--participant", help="The participant's registered did."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON array instead of a table."),
    db: str = DB,
) -> None:
    """What a participant holds now: each unspent lot in its custody (held, or shipped and not yet
    received) with its product identity or material, element grams and site."""
    store = open_ledger_store(db)
    if store.get_participant(participant) is None:
        raise NotFoundError(f"no participant {participant} on this ledger")
    held = holdings(store, participant)
    if as_json:
        print(json.dumps([lot_row(lot) for lot in held], ensure_ascii=False))
        return
    table = Table(title=f"{len(held)} lots held by {participant}")
    table.add_column("lot", overflow="fold")
    for col in ("product / material", "elements (g)", "site", "status"):
        table.add_column(col)
    for lot in held:
        product = f"{lot.form} {lot.gtin}/{lot.serial}" if lot.gtin else lot.form
        elements = "confidential" if lot.confidential else ", ".join(
            f"{el} {g:,}" for el, g in sorted(element_totals(lot.buckets).items()))
        table.add_row(lot.lot_id, product, elements, lot.site or "", lot.status)
    console.print(table)
