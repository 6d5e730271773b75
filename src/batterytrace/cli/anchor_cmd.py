"""Anchoring commands: anchor (on demand or every N events / seconds), anchor setup / register /
verify / list."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from batterytrace.anchoring.records import INPROCESS
from batterytrace.anchoring.service import Anchoring, RunSchedule, read_chain_key
from batterytrace.cli import DB_HELP, console, err_console
from batterytrace.cli import app as root_app
from batterytrace.cli.inputs import open_ledger_store, read_text
from batterytrace.cli.ledger_cmd import verification_failed
from batterytrace.errors import BatterytraceError, ConfigError, VerificationError
from batterytrace.keys import default_key_path, load_key
from batterytrace.ledger.ledger import Ledger

anchor_app = typer.Typer(
    help="Anchor signed tree heads on an EVM chain (on demand, or --every N events / Ns seconds) "
    "and verify them.",
    invoke_without_command=True,
)
root_app.add_typer(anchor_app, name="anchor")

DB = typer.Option("./batterytrace.db", "--db", help=DB_HELP)
OPERATOR_KEY = typer.Option(None, "--operator-key", help="Operator key file (default: <db>.operator.key).")
CHAIN_KEY = typer.Option(
    None, "--chain-key", help="File with the chain account's private key in hex (default: $BATTERYTRACE_CHAIN_KEY)."
)


def parse_every(text: str) -> RunSchedule:
    """``1000`` → every 1000 events; ``30s`` → every 30 seconds."""
    try:
        if text.endswith("s"):
            seconds = float(text[:-1])
            if seconds <= 0:
                raise ValueError
            return RunSchedule(every_seconds=seconds, poll_seconds=min(1.0, seconds))
        events = int(text)
        if events <= 0:
            raise ValueError
        return RunSchedule(every_events=events)
    except ValueError as exc:
        raise ConfigError(f"--every takes a positive number of events (1000) or seconds (30s), not {text!r}") from exc


def _open(db: str, chain_key: Path | None) -> Anchoring:
    ledger = Ledger(open_ledger_store(db))
    return Anchoring.open(ledger, key=read_chain_key(str(chain_key) if chain_key else None))


@anchor_app.callback()
def anchor(
    ctx: typer.Context,
    db: str = DB,
    operator_key: Path | None = OPERATOR_KEY,
    chain_key: Path | None = CHAIN_KEY,
    every: str | None = typer.Option(None, "--every", help="Keep anchoring every N events (1000) or seconds (30s)."),
    rounds: int | None = typer.Option(None, "--rounds", help="With --every: stop after this many polls."),
) -> None:
    """Sign the current tree head and anchor it on the configured chain (the ledger keeps
    accepting events meanwhile: the log never waits for the chain)."""
    if ctx.invoked_subcommand is not None:
        return
    anchoring = _open(db, chain_key)
    key = load_key(operator_key or default_key_path(db))
    try:
        if every is None:
            r = anchoring.anchor_latest(key)
            console.print(f"anchored tree size {r.tree_size} root {r.root_hash} on chain {r.chain_id}: "
                          f"contract {r.contract} block {r.block_number} tx {r.tx_hash}")
            return
        schedule = parse_every(every)
        schedule = RunSchedule(schedule.every_events, schedule.every_seconds, schedule.poll_seconds, rounds)
        try:
            made = anchoring.run(schedule, key, report=lambda line: console.print(escape(line)))
        except KeyboardInterrupt:
            made = -1
        if made >= 0:
            console.print(f"{made} anchors made")
    finally:
        anchoring.close()


@anchor_app.command("setup")
def anchor_setup(
    db: str = DB,
    rpc: str | None = typer.Option(None, "--rpc", help="JSON-RPC URL of an EVM node (default: the in-process chain)."),
    contract: str | None = typer.Option(None, "--contract", help="Use this deployed registry instead of deploying one."),
    chain_key: Path | None = CHAIN_KEY,
    chain_state: str | None = typer.Option(
        None, "--chain-state", help="In-process chain journal file (default <db>.chain.sqlite; required for PostgreSQL)."
    ),
) -> None:
    """Deploy the CheckpointRegistry (or attach to one) and register this ledger's chain account."""
    ledger = Ledger(open_ledger_store(db))
    anchoring = Anchoring.setup(
        ledger, endpoint=rpc or INPROCESS, key=read_chain_key(str(chain_key) if chain_key else None),
        contract=contract, chain_state=chain_state,
    )
    c = anchoring.config
    registered = anchoring.client.is_operator(c.operator)
    anchoring.close()
    console.print(f"anchoring on {escape(c.endpoint)} (chain {c.chain_id}) registry {c.contract}; "
                  f"operator account {c.operator} {'registered' if registered else 'NOT registered yet'}")


@anchor_app.command("register")
def anchor_register(
    operator: str = typer.Argument(..., help="Chain address of the operator account to register."),
    db: str = DB,
    chain_key: Path | None = CHAIN_KEY,
) -> None:
    """Register an operator account on this ledger's registry (the registry owner's key signs)."""
    anchoring = _open(db, None)
    try:
        key = read_chain_key(str(chain_key) if chain_key else None)
        if key is None:
            raise ConfigError("registering needs the registry owner's key (--chain-key)")
        from batterytrace.anchoring.client import AnchorClient

        owner = AnchorClient(anchoring.client.w3, key, anchoring.config.contract, endpoint=anchoring.config.endpoint)
        owner.register_operator(operator)
        console.print(f"registered {operator}")
    finally:
        anchoring.close()


@anchor_app.command("verify")
def anchor_verify(
    db: str = DB,
    contract: str | None = typer.Option(None, "--contract", help="Pin the registry address you trust "
                                        "(default: the one the ledger's configuration names)."),
    account: str | None = typer.Option(None, "--account", help="Pin the anchoring account you trust "
                                       "(default: the one the ledger's configuration names)."),
) -> None:
    """Read the registry's state for the ledger's anchoring account (latest size, anchor count,
    every Anchored event) and fail on an anchor the store lacks or a size beyond the log; check
    every stored anchor against the chain, the signed tree heads and the log, with consistency
    proofs between successive anchored checkpoints."""
    anchoring = None
    try:
        anchoring = _open(db, None)
        anchoring.verify(contract=contract, operator=account)
        records = anchoring.records()
    except Exception as exc:  # any failure to verify is reported as one (verification_failed)
        raise verification_failed("anchor verification", exc) from exc
    finally:
        if anchoring is not None:
            anchoring.close()
    console.print(f"[green]anchors verified[/]: {len(records)} checkpoints on chain {anchoring.config.chain_id}, "
                  f"latest tree size {records[-1].tree_size}; the registry {anchoring.config.contract} holds no "
                  f"other anchor by {anchoring.config.operator}")


@anchor_app.command("passport")
def anchor_passport(
    file: Path = typer.Argument(..., help="A passport presentation (.sd-jwt)."),
    db: str | None = typer.Option(None, "--db", help="Use the chain this ledger anchors on (and its operator). " + DB_HELP),
    rpc: str | None = typer.Option(None, "--rpc", help="Or a JSON-RPC URL of the chain (with --registry, "
                                   "--registry-operator and --operator)."),
    registry: str | None = typer.Option(None, help="With --rpc: the checkpoint registry contract you trust."),
    registry_operator: str | None = typer.Option(None, help="With --rpc: the account that anchors the log you trust."),
    operator: str | None = typer.Option(None, help="With --rpc: did of the log operator who signs checkpoints."),
    issuer: list[str] = typer.Option(None, help="Trusted issuer did (repeatable; default: any did:key)."),
) -> None:
    """Verify a passport and its chain link: event signed, included in the signed checkpoint,
    and that checkpoint anchored in the registry you pin (never one the passport names), with no
    other root for its size there."""
    import time

    from batterytrace.anchoring.client import connect_rpc
    from batterytrace.anchoring.verify import verify_anchored_passport

    if (db is None) == (rpc is None):
        raise ConfigError("give either --db (the ledger's configured chain) or --rpc URL")
    anchoring = None
    if db is not None:
        anchoring = _open(db, None)
        w3, operator = anchoring.client.w3, anchoring.ledger.operator_did
        registry, registry_operator = anchoring.config.contract, anchoring.config.operator
    else:
        if not (registry and registry_operator and operator):
            raise ConfigError("with --rpc, pin the registry, its operator account and the log operator: "
                              "--registry 0x… --registry-operator 0x… --operator did:key:…")
        w3 = connect_rpc(str(rpc))
    try:
        result = verify_anchored_passport(read_text(file, "passport presentation").strip(), w3, registry=registry,
                                          registry_operator=registry_operator, trusted_issuers=issuer or None,
                                          log_operator=operator, now=int(time.time()),
                                          ledger=anchoring.ledger if anchoring is not None else None)
    except VerificationError as exc:
        err_console.print(f"[bold red]passport verification FAILED:[/] {escape(str(exc))}")
        raise typer.Exit(1) from exc
    finally:
        if anchoring is not None:
            anchoring.close()
    claims = result.claims
    a = claims["evidence"]["anchor"]
    console.print(f"[green]passport verified and anchored[/]: {claims['passport_id']} — event in the checkpoint of "
                  f"size {a['tree_size']}, on chain {a['chain_id']} contract {a['contract']} block "
                  f"{a['block_number']} tx {a['tx_hash']}; {len(result.by_status('verified'))} figures verified, "
                  f"{len(result.by_status('declared'))} declared")


@anchor_app.command("list")
def anchor_list(db: str = DB) -> None:
    """List the anchored checkpoints with their chain coordinates."""
    ledger = Ledger(open_ledger_store(db))
    from batterytrace.anchoring.records import load_records

    records = load_records(ledger.store)
    if not records:
        raise BatterytraceError("no checkpoint is anchored yet")
    table = Table(title="anchored checkpoints")
    for col in ("tree size", "root", "chain", "block", "tx", "log"):
        table.add_column(col)
    for r in records:
        table.add_row(str(r.tree_size), r.root_hash[:16] + "…", str(r.chain_id), str(r.block_number),
                      r.tx_hash[:18] + "…", str(r.log_index))
    console.print(table)
