"""``batterytrace event sign``: unsigned event bodies (JSON object, array or JSON lines) →
signed events in wire form, one JSON line each, ready for ``batterytrace submit`` or
``POST /events``."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from batterytrace.canonical import canonical_json
from batterytrace.cli import DB_HELP, app, err_console
from batterytrace.cli.inputs import InputError, check_output, open_ledger_store, read_json_objects
from batterytrace.errors import BatterytraceError
from batterytrace.keys import load_key
from batterytrace.ledger.participants import key_owner, sign_as
from batterytrace.model.events import SignedEvent

event_app = typer.Typer(help="Events: sign bodies for submission.", no_args_is_help=True)
app.add_typer(event_app, name="event")


@event_app.command("sign")
def event_sign(
    file: Path = typer.Argument(..., help="Unsigned event bodies: a JSON object, an array, or JSON lines ('-' for stdin)."),
    key: Path = typer.Option(..., "--key", help="The signer's key file."),
    out: Path | None = typer.Option(None, "--out", help="Write the signed JSON lines here (default: stdout)."),
    db: str | None = typer.Option(None, "--db", help="Take the ledger id (and the participant a rotated-in key signs for) "
                                  "from this ledger. " + DB_HELP),
    ledger_id: str | None = typer.Option(None, "--ledger-id", help="The ledger the events are for (its urn:uuid id), "
                                         "when signing away from the ledger's database."),
    participant: str | None = typer.Option(
        None, "--participant", help="Sign for this registered did with a key rotated in for it (actor = this did, "
        "signer = the key); with --db found on the ledger."),
) -> None:
    """Sign event bodies with a key. Fills what a body leaves out: ledger, nonce, time (now), and
    actor (the key's did, or the participant a rotated-in key signs for, named as signer). A body
    whose actor is not the key's did (nor that participant) is refused."""
    if db is None and ledger_id is None:
        raise InputError("name the ledger: --db (its database) or --ledger-id (its id)")
    signing = load_key(key)
    bodies = read_json_objects(file, "events file")
    if out is not None:
        check_output(out)
    if db is not None:
        store = open_ledger_store(db)
        stored_id = store.get_meta("ledger_id")
        if stored_id is None:
            raise InputError(f"{db} holds no ledger")
        if ledger_id is not None and ledger_id != stored_id:
            raise InputError(f"--ledger-id {ledger_id} is not the ledger in {db} ({stored_id})")
        ledger_id = stored_id
        if participant is None:
            participant = key_owner(store, signing.did)
    assert ledger_id is not None
    lines: list[bytes] = []
    for n, body in enumerate(bodies, 1):
        if set(body) == {"event", "signature"}:
            raise InputError(f"item {n} is already signed (wire form); submit it as it is")
        actor = body.get("actor")
        if actor is not None and actor != signing.did and actor != participant and "signer" not in body:
            raise InputError(f"item {n}: its actor {actor} is not this key's did {signing.did}")
        acting = participant if body.get("actor", participant) == participant else None
        try:
            ev = sign_as(body, signing, ledger=ledger_id, participant=acting)
        except BatterytraceError as exc:
            raise InputError(f"item {n}: {exc}") from exc
        lines.append(canonical_json(ev.to_wire()) + b"\n")
    data = b"".join(lines)
    if out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        out.write_bytes(data)
        err_console.print(f"wrote {len(lines)} signed events to {out}")


@event_app.command("hash")
def event_hash(
    file: Path = typer.Argument(..., help="Signed events (wire form): a JSON object, an array, or JSON lines ('-' for stdin)."),
) -> None:
    """Print the hash (event id) of each signed event, one a line: a lot an event creates is
    <hash>:<output index>, a receipt names its shipment by the ship event's hash."""
    for n, wire in enumerate(read_json_objects(file, "signed events file"), 1):
        try:
            ev = SignedEvent.from_wire(wire)
        except (BatterytraceError, KeyError, TypeError, ValueError) as exc:
            raise InputError(f"item {n} is not a signed event in wire form ({{\"event\": …, \"signature\": …}}): "
                             f"{exc}") from exc
        print(ev.hash_hex)
