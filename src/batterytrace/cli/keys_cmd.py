"""``batterytrace key new``: a participant's (or operator's) Ed25519 key file."""

from __future__ import annotations

from pathlib import Path

import typer

from batterytrace.cli import app, console, err_console
from batterytrace.cli.inputs import InputError, check_output
from batterytrace.crypto.signing import SigningKey
from batterytrace.keys import save_key

key_app = typer.Typer(help="Signing keys: Ed25519 seeds in files only their owner reads.", no_args_is_help=True)
app.add_typer(key_app, name="key")


@key_app.command("new")
def key_new(
    out: Path = typer.Option(..., "--out", help="Key file to write (hex seed, mode 0600)."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing key file (its key is lost)."),
) -> None:
    """Generate an Ed25519 key, write its seed to a file readable by its owner only, and print
    its did:key (what the operator registers)."""
    check_output(out, what="key file")
    if out.exists() and not force:
        raise InputError(f"key file {out} exists; refusing to overwrite it (pass --force to replace that key)")
    key = SigningKey.generate()
    save_key(key, out, overwrite=force)
    err_console.print(f"wrote {out} (mode 0600)")
    console.print(key.did)
