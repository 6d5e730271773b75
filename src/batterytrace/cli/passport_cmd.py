"""``batterytrace passport issue|show|verify|qr``: thin wrappers over batterytrace.passport."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import typer
from rich.markup import escape

from batterytrace.cli import DB_HELP, app, console, err_console
from batterytrace.cli.inputs import (
    check_output,
    check_output_dir,
    open_ledger_store,
    read_json,
    read_text,
)
from batterytrace.errors import BatterytraceError, VerificationError
from batterytrace.keys import load_key
from batterytrace.ledger.ledger import Ledger
from batterytrace.ledger.participants import key_owner
from batterytrace.model.identifiers import normalise_gtin
from batterytrace.passport.catenax import export_catenax
from batterytrace.passport.issue import (
    ACCESS_LEVELS,
    IssuedPassport,
    issue_passport,
    verify_passport,
)
from batterytrace.passport.master import PackMasterData, master_from_dict
from batterytrace.passport.publish import MAX_ENVELOPE_AGE_S, publish_request
from batterytrace.passport.qr import hri_lines, write_qr
from batterytrace.passport.resolver import default_passport_dir, resolver_for
from batterytrace.passport.status import STATUS_VALUES, StatusLists, list_id_for
from batterytrace.storage.openings import OpeningStore

RESOLVER = typer.Option(None, "--resolver", help="GS1 Digital Link resolver base URL (https://host or https://host/prefix); "
                        "stored as the ledger's resolver for later commands (default: the stored one, else "
                        "https://id.batterytrace.example/).")

passport_app = typer.Typer(help="Battery passports: issue, show, verify, QR code.", no_args_is_help=True)
app.add_typer(passport_app, name="passport")


def resolve_pack(ledger: Ledger, ref: str) -> str:
    """A lot id, or GTIN/serial of a pack (the latest lot carrying that serial)."""
    if ":" in ref:
        return ref
    gtin, _, serial = ref.partition("/")
    ids = ledger.store.lots_by_serial(gtin, serial)
    if not ids:
        raise BatterytraceError(f"no pack {ref} on the ledger")
    return ids[-1]


def load_master(path: Path) -> PackMasterData:
    """OEM master data from a JSON file (the shared input checks: missing, binary, not JSON), validated."""
    return master_from_dict(read_json(path, "master data file"))


def write_presentations(p: IssuedPassport, out: Path, stem: str) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for level in ACCESS_LEVELS:
        path = out / f"{stem}.{level}.sd-jwt"
        path.write_text(p.present(level))  # ends at the final "~": no newline (RFC 9901)
        paths.append(path)
    return paths


@passport_app.command("issue")
def issue_cmd(
    pack: str = typer.Argument(..., help="Pack lot id or GTIN/serial."),
    key: Path = typer.Option(..., help="Economic operator's key file (hex Ed25519 seed): its registered key, or "
                             "the key the operator rotated in for it (the passport's issuer stays its registered did)."),
    master: Path = typer.Option(..., help="OEM master data (JSON) for the battery model."),
    out: Path | None = typer.Option(None, help="Directory for the per-level presentations (default: the one "
                                    "serve reads, <db>-passports beside a SQLite ledger, else ./batterytrace-passports)."),
    openings: Path | None = typer.Option(
        None, help="Openings store (SQLite) of a confidential pack's lineage; its figures are then proved in zero knowledge."),
    upload: bool = typer.Option(False, help="Also write <id>.upload.json, the signed body of POST /passports."),
    resolver: str | None = RESOLVER,
    db: str = typer.Option("./batterytrace.db", "--db", help=DB_HELP),
) -> None:
    """Issue the passport of one pack as an SD-JWT VC; writes one presentation per access level
    (and with --upload the publication signed by the economic operator)."""
    master_data = load_master(master)
    signing = load_key(key)
    ledger = Ledger(open_ledger_store(db))
    base = resolver_for(ledger.store, resolver)
    out = out if out is not None else default_passport_dir(db)
    check_output_dir(out)
    pack_id = resolve_pack(ledger, pack)
    if openings is not None and not openings.is_file():
        raise BatterytraceError(f"no openings store at {openings}")
    store = OpeningStore(str(openings)) if openings is not None else None
    issuer, now = signing, int(time.time())
    participant = key_owner(ledger.store, issuer.did) or issuer.did  # a rotated-in key signs for its participant
    # the passport's entry in the issuer's status list kept in the output directory (revoke it later
    # with `passport status`; publish the list with POST /statuslists when the passport is served elsewhere)
    p = issue_passport(ledger, pack_id, master_data, issuer, issued_at=now, openings=store, resolver=base,
                       status=StatusLists(out).allocator(issuer, base.base, now, participant), participant=participant)
    stem = p.passport_id.rsplit(":", 1)[1]
    for path in write_presentations(p, out, stem):
        console.print(f"wrote {path}")
    console.print(f"passport {p.passport_id} → {p.link}")
    if upload:
        body = publish_request(load_key(key), ledger.operator_did, {lv: p.present(lv) for lv in ACCESS_LEVELS},
                               signed_at=int(time.time()), publisher=participant)
        path = out / f"{stem}.upload.json"
        path.write_text(json.dumps(body) + "\n")
        console.print(f"wrote {path}: POST it to /passports within {MAX_ENVELOPE_AGE_S // 60} minutes "
                      "(signed by the economic operator's key)")


@passport_app.command("export")
def export_cmd(
    pack: str = typer.Argument(..., help="Pack lot id or GTIN/serial."),
    master: Path = typer.Option(..., help="OEM master data (JSON) for the battery model."),
    out: Path = typer.Option(..., help="Output JSON file."),
    fmt: str = typer.Option("catenax", "--format", help="Export format: catenax (Catena-X BatteryPass 6.1.0)."),
    openings: Path | None = typer.Option(
        None, help="Openings store (SQLite) of a confidential pack's lineage, as for passport issue; its figures "
        "are then the opened ones its passport states."),
    passport_version: int | None = typer.Option(None, "--passport-version", help="The passport version to export "
                                                "(default: the current one; an earlier one exports as superseded)."),
    passports: Path | None = typer.Option(None, "--passports", help="Passports directory holding the passport's "
                                          "presentations and its issuer's signed status list (statuslists/), "
                                          "verified against the ledger for the passport's status; default: where "
                                          "passport issue writes for --db."),
    db: str = typer.Option("./batterytrace.db", "--db", help=DB_HELP),
) -> None:
    """Export a pack's passport data in another data model (Catena-X BatteryPass 6.1.0); its
    passport status comes from the issuer's signed status list (verified against the ledger) and
    the battery's lifecycle on the ledger."""
    if fmt != "catenax":
        raise BatterytraceError(f"unknown export format {fmt!r}; known: catenax")
    master_data = load_master(master)
    check_output(out, (".json",))
    ledger = Ledger(open_ledger_store(db))
    if openings is not None and not openings.is_file():
        raise BatterytraceError(f"no openings store at {openings}")
    store = OpeningStore(str(openings)) if openings is not None else None
    doc = export_catenax(ledger, resolve_pack(ledger, pack), master_data, issued_at=int(time.time()),
                         openings=store, passports=passports if passports is not None else default_passport_dir(db),
                         version=passport_version)
    out.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    meta = doc["metadata"]
    console.print(f"wrote {out} ({doc['specVersion']}, passport {meta['passportIdentifier']} version "
                  f"{meta['version']}, status {meta['status']}, battery {doc['sustainability']['status']})")


@passport_app.command("verify")
def verify_cmd(
    file: Path = typer.Argument(..., help="A passport presentation (.sd-jwt)."),
    issuer: list[str] = typer.Option(None, help="Trusted issuer did (repeatable; default: any did:key)."),
    operator: str = typer.Option(..., help="Did of the trusted log operator who signs checkpoints."),
    db: str | None = typer.Option(None, "--db", help="Also re-derive the lineage figures (carbon footprint, "
                                  "due-diligence indices) from this ledger; without it they are reported as "
                                  "declared. " + DB_HELP),
    ledger_id: str | None = typer.Option(None, "--ledger-id", help="Pin the ledger (its urn:uuid id, shown by the "
                                         "API's /ledger/head): a checkpoint of another ledger of the same operator "
                                         "is refused. With --db, that ledger's id is pinned."),
    status_list: Path | None = typer.Option(None, "--status-list", help="The issuer's Status List Token (as served "
                                            "at the passport's status list URI): a revoked or suspended passport "
                                            "is refused. Without it the status is reported as not checked."),
) -> None:
    """Verify a passport: issuer signature, disclosures, event signature, log inclusion, its status
    (with --status-list), and every figure, printed one by one as verified or declared."""
    presentation = read_text(file, "passport presentation").strip()
    token = read_text(status_list, "status list").strip() if status_list is not None else None
    ledger = Ledger(open_ledger_store(db)) if db is not None else None
    try:
        result = verify_passport(presentation, trusted_issuers=issuer or None,
                                 log_operator=operator, now=int(time.time()), ledger=ledger, ledger_id=ledger_id,
                                 status_list=token)
    except VerificationError as exc:
        err_console.print(f"[bold red]passport verification FAILED:[/] {escape(str(exc))}")
        raise typer.Exit(1) from exc
    claims = result.claims
    for c in result.checks:
        console.print(f"  check  {c.status:<11} {escape(c.name)}: {escape(c.detail)}")
    for f in result.figures:
        colour = "green" if f.status == "verified" else "yellow"
        console.print(f"  figure [{colour}]{f.status:<11}[/] {escape(f.name)} — {escape(f.source)}", soft_wrap=True)
    b = claims["battery"]
    console.print(f"[green]passport verified[/]: {claims['passport_id']} for {b['gtin']}/{b['serial']}, "
                  f"issued by {claims['iss']}, included in the log at size {claims['evidence']['checkpoint']['tree_size']}; "
                  f"{len(result.by_status('verified'))} figures verified, {len(result.by_status('declared'))} declared")


@passport_app.command("show")
def show_cmd(
    file: Path = typer.Argument(..., help="A passport presentation (.sd-jwt)."),
    operator: str = typer.Option(..., help="Did of the trusted log operator who signs checkpoints."),
) -> None:
    """Verify and print the claims a presentation discloses."""
    claims = verify_passport(read_text(file, "passport presentation").strip(), log_operator=operator, now=int(time.time())).claims
    claims.pop("evidence", None)
    console.print_json(json.dumps(claims, ensure_ascii=False))


@passport_app.command("qr")
def qr_cmd(
    pack: str = typer.Argument(..., help="Pack lot id or GTIN/serial."),
    out: Path = typer.Option(..., help="Output file: .png or .svg."),
    resolver: str | None = RESOLVER,
    db: str = typer.Option("./batterytrace.db", "--db", help=DB_HELP),
) -> None:
    """Write the label of the pack's GS1 Digital Link (PNG or SVG): its QR code and, below it,
    the GTIN and serial in GS1 human-readable form."""
    from batterytrace.passport.issue import digital_link

    check_output(out, (".png", ".svg"))
    ledger = Ledger(open_ledger_store(db))
    base = resolver_for(ledger.store, resolver)
    lot = ledger.store.get_lot(resolve_pack(ledger, pack))
    if lot is None or not lot.gtin or not lot.serial:
        raise BatterytraceError(f"{pack} is not a serialised pack")
    link = digital_link(lot.gtin, lot.serial, base)
    write_qr(link, out, hri_lines(normalise_gtin(lot.gtin), lot.serial))
    console.print(f"wrote {out} → {link}")


@passport_app.command("check")
def check_cmd(
    pack: str = typer.Argument(..., help="Pack lot id or GTIN/serial."),
    master: Path = typer.Option(..., help="OEM master data (JSON) for the battery model."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    db: str = typer.Option("./batterytrace.db", "--db", help=DB_HELP),
) -> None:
    """Readiness before issuing: for each of the 93 BatteryPass attributes, whether this pack's
    passport would state it verified (from the ledger), declared, defaulted, or not at all; exits
    1 when a mandatory attribute (for the battery's category) is missing."""
    from batterytrace.passport.readiness import check_readiness

    data = load_master(master)
    ledger = Ledger(open_ledger_store(db))
    report = check_readiness(ledger, resolve_pack(ledger, pack), data)
    if as_json:
        sys.stdout.write(json.dumps(report.to_dict(), ensure_ascii=False, indent=2) + "\n")
    else:
        colours = {"verified": "green", "declared": "cyan", "defaulted": "yellow", "missing": "red"}
        for a in report.attributes:
            console.print(f"  #{a.number:<3} [{colours[a.status]}]{a.status:<9}[/] {a.requirement:<14} "
                          f"{escape(a.name)} — {escape(a.detail)}", soft_wrap=True)
        counts = ", ".join(f"{n} {s}" for s, n in report.counts().items())
        console.print(f"{report.gtin}/{report.serial} ({report.category}): {counts}")
    if not report.ready:
        missing = ", ".join(f"#{a.number} {a.name}" for a in report.missing_mandatory)
        err_console.print(f"[bold red]not ready:[/] {len(report.missing_mandatory)} mandatory attributes missing: "
                          f"{escape(missing)}", soft_wrap=True)
        raise typer.Exit(1)
    if not as_json:  # --json prints the report alone (its "ready" member says it)
        console.print("[green]ready[/]: every mandatory attribute is stated")


@passport_app.command("status")
def status_cmd(
    passport_id: str = typer.Argument(..., help="The passport id (urn:…, as printed by passport issue)."),
    key: Path = typer.Option(..., help="The issuer's key file (the economic operator's key in force)."),
    participant: str | None = typer.Option(None, "--participant", help="The issuer's registered did, when the key "
                                           "is one the operator rotated in for it (default: the key's own did)."),
    set_to: str | None = typer.Option(None, "--set", help=f"New status: one of {sorted(STATUS_VALUES)} "
                                      "(revoked is final)."),
    passports: Path | None = typer.Option(None, "--passports",
                                          help="Passports directory holding the issuer's status list (statuslists/); "
                                          "default: where passport issue writes for --db."),
    db: str = typer.Option("./batterytrace.db", "--db", help="The ledger whose default passports directory holds "
                           "the list (not opened). " + DB_HELP),
) -> None:
    """Show or set the status of a passport version in its issuer's status list; prints where the
    new signed list is (serve it from this directory, or POST it to /statuslists)."""
    issuer = load_key(key)
    did = participant if participant is not None else issuer.did
    lists = StatusLists(passports if passports is not None else default_passport_dir(db))
    if set_to is None:
        console.print(f"{passport_id}: {lists.status(passport_id, did)}")
        return
    lists.set_status(issuer, passport_id, set_to, int(time.time()), did)
    path = lists.directory / f"{list_id_for(did)}.jwt"
    console.print(f"{passport_id}: {set_to}; signed status list written to {path} "
                  "(POST it to /statuslists where the passport is served)")
