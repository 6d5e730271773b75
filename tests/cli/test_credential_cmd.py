"""``batterytrace token`` (issue, list, revoke) and ``batterytrace hosted-key`` end to end in
subprocesses: tokens the service accepts until revoked, a token key that is not the operator key,
hosted keys sealed under a private KEK file, user errors as one line."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from batterytrace.errors import VerificationError
from batterytrace.keys import load_key
from batterytrace.ledger.credentials import verify_credential
from batterytrace.ledger.hosted_keys import KeyEncryptionKey, load_hosted_key
from batterytrace.ledger.ledger import Ledger
from batterytrace.model.events import sign_event
from batterytrace.storage.sqlite import SQLiteStore


def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-c", "from batterytrace.cli import main; main()", *args],
        capture_output=True, text=True, timeout=600,
        env={"COLUMNS": "250", "PATH": "/usr/bin:/bin", **{k: v for k, v in os.environ.items() if k == "PYTHONPATH"}},
    )
    if ok:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    else:
        assert proc.returncode != 0 and "Traceback" not in proc.stderr, proc.stdout + proc.stderr
    return proc


def _verify(db: Path, token: str) -> str:
    store = SQLiteStore(str(db), create=False)
    try:
        ledger = Ledger(store)
        return verify_credential(store, ledger.ledger_id, token, int(time.time())).role
    finally:
        store.close()


def test_tokens_are_issued_listed_and_revoked(tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    assert "token key file" in run("init", "--db", str(db)).stdout
    token = run("token", "--role", "authorities", "--subject", "market-surveillance", "--db", str(db)).stdout.strip()
    assert _verify(db, token) == "authorities"
    key_file = Path(str(db) + ".token.key")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert load_key(key_file).did != load_key(Path(str(db) + ".operator.key")).did
    listed = run("token", "list", "--db", str(db)).stdout
    assert "authorities" in listed and "market-surveillance" in listed and "in force" in listed
    token_id = next(line.split("│")[1].strip() for line in listed.splitlines() if "authorities" in line)
    assert "revoked" in run("token", "revoke", token_id, "--db", str(db)).stdout
    with pytest.raises(VerificationError, match="revoked"):
        _verify(db, token)
    assert "revoked 20" in run("token", "list", "--db", str(db)).stdout


def test_user_errors_are_one_line(tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    run("init", "--db", str(db))
    for args, needle in (
        (["token", "--role", "public", "--subject", "x"], "unknown role"),
        (["token", "--subject", "x"], "give --role and --subject"),
        (["token", "--participant", "did:key:z6MkrqvxaHavzTknTEv34kAeRnU3MMFLFf62WADSJM865ZvG"],
         "not a registered participant"),
        (["token", "--role", "commission", "--subject", "x", "--key", str(db) + ".operator.key"],
         "tokens are signed by"),
        (["token", "revoke", "nope"], "no credential"),
    ):
        proc = run(*args, "--db", str(db), ok=False)
        assert needle in proc.stderr and len(proc.stderr.strip().splitlines()) <= 2, proc.stderr
    proc = run("token", "list", "--db", str(tmp_path / "none.db"), ok=False)
    assert "no ledger database" in proc.stderr


def test_hosted_keys_and_participant_credentials(tmp_path: Path) -> None:
    db, kek = tmp_path / "l.db", tmp_path / "service.kek"
    run("init", "--db", str(db))
    did = run("hosted-key", "new", "--kek", str(kek), "--db", str(db)).stdout.strip().splitlines()[-1]
    assert did.startswith("did:key:z6Mk") and stat.S_IMODE(kek.stat().st_mode) == 0o600
    assert run("hosted-key", "list", "--db", str(db)).stdout.split() == [did]
    store = SQLiteStore(str(db), create=False)
    try:
        ledger = Ledger(store)
        hosted = load_hosted_key(store, ledger.ledger_id, KeyEncryptionKey.load(kek), did)
        assert hosted is not None and hosted.did == did
        operator = load_key(Path(str(db) + ".operator.key"))
        ev = sign_event({"kind": "register_participant", "did": did, "role": "mine", "legal_name": "Hosted Mine",
                         "country": "CD", "time": "2026-01-01T00:00:00Z"}, operator, ledger=ledger.ledger_id)
        assert not ledger.submit_batch([ev], check_clock=False).rejected
    finally:
        store.close()
    token = run("token", "--participant", did, "--days", "1", "--db", str(db)).stdout.strip()
    assert _verify(db, token) == "participant"
    assert kek.read_text().strip() not in db.read_bytes().decode("latin-1")
    # a second key under the same KEK file; a KEK file that is not one is refused in one line
    assert run("hosted-key", "new", "--kek", str(kek), "--db", str(db)).stdout.strip().startswith("did:key:")
    (tmp_path / "bad.kek").write_text("zz")
    proc = run("hosted-key", "new", "--kek", str(tmp_path / "bad.kek"), "--db", str(db), ok=False)
    assert "32 bytes" in proc.stderr
