"""``batterytrace token`` (issue, list, revoke operator-issued bearer tokens) and ``batterytrace
hosted-key`` (keys the service holds for participants that post plain EPCIS)."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from batterytrace.cli import DB_HELP, app, console, err_console
from batterytrace.cli.inputs import open_ledger_store
from batterytrace.errors import ConfigError
from batterytrace.keys import default_token_key_path, load_or_create_key
from batterytrace.ledger.access import CREDENTIAL_ROLES, PARTICIPANT_ROLE
from batterytrace.ledger.credentials import issue_credential, list_credentials, revoke_credential
from batterytrace.ledger.hosted_keys import KeyEncryptionKey, create_hosted_key, hosted_dids
from batterytrace.ledger.ledger import Ledger
from batterytrace.timeutil import format_time

__all__: list[str] = []

token_app = typer.Typer(help="Bearer tokens: issue (no subcommand), list, revoke.")
hosted_app = typer.Typer(help="Hosted (custodial) participant keys, sealed under a key-encryption key.",
                         no_args_is_help=True)
app.add_typer(token_app, name="token")
app.add_typer(hosted_app, name="hosted-key")

DB = typer.Option("./batterytrace.db", "--db", help=DB_HELP)


def _ledger(db: str) -> Ledger:
    return Ledger(open_ledger_store(db))


@token_app.callback(invoke_without_command=True)
def token(
    ctx: typer.Context,
    role: str | None = typer.Option(None, help=f"Role: {', '.join(CREDENTIAL_ROLES)}."),
    subject: str | None = typer.Option(None, help="Who holds the token (a name, or a participant's did)."),
    participant: str | None = typer.Option(None, help="A registered participant's did: a participant credential "
                                                      "(plain EPCIS capture with its hosted key)."),
    days: float = typer.Option(30.0, min=0.01, max=3650, help="Validity in days."),
    key: Path | None = typer.Option(None, help="Token key file (default: <db>.token.key, created on first use)."),
    db: str = DB,
) -> None:
    """Issue a bearer token signed by the ledger's token key and recorded in its credential
    registry (list and revoke it with the subcommands)."""
    if ctx.invoked_subcommand is not None:
        return
    if participant is not None:
        if role not in (None, PARTICIPANT_ROLE) or subject not in (None, participant):
            raise ConfigError("--participant issues a participant credential to that did; drop --role/--subject")
        role, subject = PARTICIPANT_ROLE, participant
    if role is None or subject is None:
        raise ConfigError("give --role and --subject (or --participant DID)")
    if role not in CREDENTIAL_ROLES:
        raise ConfigError(f"unknown role {role!r}; one of {', '.join(CREDENTIAL_ROLES)}")
    ledger = _ledger(db)
    try:
        token_key = load_or_create_key(key or default_token_key_path(db))
        now = int(time.time())
        text, _ = issue_credential(ledger.store, ledger.ledger_id, token_key, subject, role, now,
                                   now + int(days * 86400))
    finally:
        ledger.close()
    console.print(text, soft_wrap=True)


@token_app.command("list")
def token_list(db: str = DB) -> None:
    """Every token this ledger issued, with its status."""
    ledger = _ledger(db)
    try:
        creds = list_credentials(ledger.store)
    finally:
        ledger.close()
    now = int(time.time())
    table = Table("id", "role", "subject", "issued", "expires", "status")
    for c in creds:
        status = ("revoked " + format_time(c.revoked_at * 1_000_000) if c.revoked_at is not None
                  else "expired" if now >= c.expires_at else "in force")
        table.add_row(c.token_id, c.role, escape(c.subject), format_time(c.issued_at * 1_000_000),
                      format_time(c.expires_at * 1_000_000), status)
    console.print(table)


@token_app.command("revoke")
def token_revoke(token_id: str = typer.Argument(..., help="The token's id (token list)."), db: str = DB) -> None:
    """Revoke a token: the service refuses it from its next request on."""
    ledger = _ledger(db)
    try:
        cred = revoke_credential(ledger.store, token_id, int(time.time()))
    finally:
        ledger.close()
    console.print(f"revoked {cred.token_id} ({cred.role}, {escape(cred.subject)})")


@hosted_app.command("new")
def hosted_new(
    kek: Path = typer.Option(..., "--kek", help="Key-encryption key file (created, mode 0600, when missing; "
                                               "give the same file to serve --kek)."),
    db: str = DB,
) -> None:
    """Create a key the service holds for a participant; prints its did (register the participant
    under it, then issue it a token with --participant)."""
    if kek.exists():
        secret = KeyEncryptionKey.load(kek)
    else:
        secret = KeyEncryptionKey.generate()
        secret.save(kek)
        err_console.print(f"new key-encryption key {kek} (keep it off the database host's backups)")
    ledger = _ledger(db)
    try:
        did = create_hosted_key(ledger.store, ledger.ledger_id, secret)
    finally:
        ledger.close()
    console.print(did, soft_wrap=True)


@hosted_app.command("list")
def hosted_list(db: str = DB) -> None:
    """The dids whose keys the service holds."""
    ledger = _ledger(db)
    try:
        for did in hosted_dids(ledger.store):
            console.print(did, soft_wrap=True)
    finally:
        ledger.close()
