"""The anchor commands end to end in subprocesses (each a separate process over the same SQLite
ledger and in-process chain journal): setup, anchor, --every, list, verify, and verify failing
after tampering."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from typer.main import get_command

from batterytrace.cli import app
from batterytrace.demo.master_data import VOLTARA_VM75
from batterytrace.demo.scenario import build_scenario
from batterytrace.keys import save_key
from batterytrace.ledger.ledger import Ledger, historical_clock
from batterytrace.passport.issue import issue_passport
from batterytrace.storage.sqlite import SQLiteStore

SRC = str(Path(__file__).resolve().parents[2] / "src")


def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-c", "from batterytrace.cli import main; main()", *args],
        capture_output=True, text=True, timeout=300,
        env={"COLUMNS": "250", "PATH": "/usr/bin:/bin", "PYTHONPATH": SRC},
    )
    if ok:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def test_anchor_commands(tmp_path: Path) -> None:
    s = build_scenario(packs=2, legacy_packs=1)
    db = str(tmp_path / "ledger.db")
    operator = s.actors["operator"].signing_key
    save_key(operator, Path(db + ".operator.key"))
    ledger = Ledger(SQLiteStore(db), operator.did, s.ledger_id, clock=historical_clock)
    assert not ledger.submit_batch(s.events[:50], check_clock=False).rejected

    out = run("anchor", "setup", "--db", db)
    assert "anchoring on inprocess" in out.stdout and "registered" in out.stdout
    out = run("anchor", "--db", db)
    assert "anchored tree size 50" in out.stdout
    assert not ledger.submit_batch(s.events[50:], check_clock=False).rejected
    out = run("anchor", "--db", db, "--every", "10", "--rounds", "2")
    assert "anchored tree size 123" in out.stdout and "1 anchors made" in out.stdout
    out = run("anchor", "list", "--db", db)
    assert "123" in out.stdout and "50" in out.stdout
    out = run("anchor", "verify", "--db", db)
    assert "anchors verified: 2 checkpoints" in out.stdout

    passport = issue_passport(ledger, s.packs[0], VOLTARA_VM75, s.actors["voltara"].signing_key,
                              issued_at=int(time.time()))
    pfile = tmp_path / "p.sd-jwt"
    pfile.write_text(passport.present("public"))
    out = run("anchor", "passport", str(pfile), "--db", db)  # a separate process, the journaled chain
    assert "passport verified and anchored" in out.stdout and "size 123" in out.stdout
    pfile.write_text(passport.present("public").replace(".", "!", 1))
    bad = run("anchor", "passport", str(pfile), "--db", db, ok=False)
    assert bad.returncode != 0
    unpinned = run("anchor", "passport", str(pfile), "--rpc", "http://127.0.0.1:9", ok=False)
    assert unpinned.returncode != 0 and "--registry" in unpinned.stderr  # never the passport's own addresses

    conn = sqlite3.connect(db)
    (text,) = conn.execute("SELECT value FROM meta WHERE key = 'anchor/records'").fetchone()
    records = json.loads(text)
    records[1]["tx_hash"] = records[0]["tx_hash"]
    conn.execute("UPDATE meta SET value = ? WHERE key = 'anchor/records'", (json.dumps(records),))
    conn.commit()
    conn.close()
    bad = run("anchor", "verify", "--db", db, ok=False)
    assert bad.returncode == 1 and "anchor verification FAILED" in bad.stderr


def test_owner_registers_another_operator(tmp_path: Path) -> None:
    from batterytrace.anchoring.client import AnchorClient
    from batterytrace.anchoring.inprocess import InProcessChain

    db = str(tmp_path / "l.db")
    run("init", "--db", db)
    run("anchor", "setup", "--db", db)
    owner_key = tmp_path / "owner.chainkey"
    probe = InProcessChain(None)  # the in-process chain's genesis account 0 owns the registry
    owner_key.write_text(probe.funded_keys()[0].hex())
    probe.close()
    newcomer = "0x" + "5a" * 20
    bad = run("anchor", "register", newcomer, "--db", db, ok=False)
    assert bad.returncode == 2 and "needs the registry owner's key" in bad.stderr
    out = run("anchor", "register", newcomer, "--db", db, "--chain-key", str(owner_key))
    assert "registered" in out.stdout
    chain = InProcessChain(db + ".chain.sqlite")
    from batterytrace.anchoring.records import load_config

    contract = load_config(SQLiteStore(db)).contract  # type: ignore[union-attr]
    assert AnchorClient(chain.w3, None, contract).is_operator(chain.w3.to_checksum_address(newcomer))
    chain.close()


@pytest.mark.parametrize("every", ["0", "-3", "soon", "0s"])
def test_bad_every_is_refused(tmp_path: Path, every: str) -> None:
    from batterytrace.cli.anchor_cmd import parse_every
    from batterytrace.errors import ConfigError

    with pytest.raises(ConfigError, match="--every takes"):
        parse_every(every)
    assert parse_every("30s").every_seconds == 30.0 and parse_every("1000").every_events == 1000


def test_anchor_without_setup_is_a_clear_error(tmp_path: Path) -> None:
    db = str(tmp_path / "l.db")
    run("init", "--db", db)
    bad = run("anchor", "--db", db, ok=False)
    assert bad.returncode == 2 and "not set up for anchoring" in bad.stderr


def test_anchor_commands_have_help_text() -> None:
    from batterytrace.cli import anchor_cmd  # noqa: F401

    root = get_command(app)
    anchor = root.commands["anchor"]  # type: ignore[attr-defined]

    def walk(cmd: Any, path: str) -> None:
        assert (cmd.help or "").strip(), f"command {path!r} has no help text"
        for param in cmd.params:
            if type(param).__name__.endswith("Option"):
                assert (param.help or "").strip(), f"option {param.name} of {path!r} has no help"
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, f"{path} {name}")

    walk(anchor, "batterytrace anchor")
    assert set(anchor.commands) == {"setup", "register", "verify", "list", "passport"}
