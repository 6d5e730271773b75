"""The log's checkpoint notes, verified by a third party: golang.org/x/mod/sumdb/note, the Go
project's signed-note implementation (the one sum.golang.org clients use), from the Debian package
golang-golang-x-mod-dev, compiled here with Debian's golang-go in GOPATH mode (no module proxy).
scripts/system-deps.sh installs both; tools/go/notecheck is the small command around it.

What the Go code checks: the verifier key text (name, key ID = SHA-256(name || 0x0A || 0x01 ||
key)[:4], Ed25519 key), the signed-note format (UTF-8, no control characters, text / blank line
/ signature lines, key name and key ID of each signature) and the Ed25519 signature over the note
text. It does not parse the checkpoint body (its own tree parser is for the go.sum database's
fixed origin), so the test reads origin, size and root from the text that the Go code returns as
verified and compares them with the JSON tree head."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from batterytrace.crypto.signed_note import NoteVerifier, sign_note
from batterytrace.crypto.signing import SigningKey
from batterytrace.ledger.checkpoint import Checkpoint, checkpoint_origin, checkpoint_verifier
from conftest import missing_service
from note_support import tampered
from support import Chain

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "tools" / "go" / "notecheck"
GOPATH = Path("/usr/share/gocode")  # where Debian's golang-*-dev packages put their sources
NOTE_PKG = GOPATH / "src" / "golang.org" / "x" / "mod" / "sumdb" / "note" / "note.go"


@pytest.fixture(scope="module")
def notecheck(tmp_path_factory: pytest.TempPathFactory) -> Path:
    go = shutil.which("go")
    if go is None or not NOTE_PKG.is_file():
        missing_service("Go or golang.org/x/mod is missing (apt-get install golang-go golang-golang-x-mod-dev; "
                        "scripts/system-deps.sh installs them)")
    out = tmp_path_factory.mktemp("notecheck")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(out), "GO111MODULE": "off",
           "GOPATH": str(GOPATH), "GOCACHE": str(out / "cache"), "GOFLAGS": "", "CGO_ENABLED": "0",
           "GOPROXY": "off", "GOTOOLCHAIN": "local"}  # offline: Debian's sources only
    built = subprocess.run([str(go), "build", "-o", str(out / "notecheck"), "."], cwd=TOOL, env=env,
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    return out / "notecheck"


def go_verify(tool: Path, vkey: str, note: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(tool), vkey], input=note, capture_output=True, text=True, timeout=60)


@pytest.fixture
def signed() -> tuple[Chain, Checkpoint, str]:
    chain = Chain()
    chain.extract()
    cp = chain.ledger.sign_tree_head(chain.operator.signing_key)
    return chain, cp, checkpoint_verifier(cp.ledger, cp.log_id).encode()


def test_go_verifies_our_checkpoint(notecheck: Path, signed: tuple[Chain, Checkpoint, str]) -> None:
    chain, cp, vkey = signed
    run = go_verify(notecheck, vkey, cp.to_note())
    assert run.returncode == 0, run.stderr
    verified = json.loads(run.stdout)
    name, key_id, _ = vkey.split("+", 2)
    assert verified["signers"] == [f"{name}+{key_id}"]
    origin, size, root, end = verified["text"].split("\n")
    assert (origin, int(size), base64.b64decode(root), end) == (checkpoint_origin(cp.ledger), cp.tree_size,
                                                                 cp.root_hash, "")
    assert cp.root_hash == chain.ledger.root(cp.tree_size)  # the RFC 9162 root of the JSON form


@pytest.mark.parametrize("what", ["size", "root", "origin", "signature"])
def test_go_refuses_tampered_checkpoint(notecheck: Path, signed: tuple[Chain, Checkpoint, str], what: str) -> None:
    _, cp, vkey = signed
    run = go_verify(notecheck, vkey, tampered(cp.to_note(), what))
    assert run.returncode == 1 and run.stderr.startswith("refused:"), run.stdout + run.stderr
    # a changed origin renames the signature's key too: no signature by a known key remains
    reason = "no verifiable signatures" if what == "origin" else "invalid signature"
    assert reason in run.stderr, run.stderr


def test_go_refuses_other_keys(notecheck: Path, signed: tuple[Chain, Checkpoint, str]) -> None:
    _, cp, vkey = signed
    other = SigningKey.from_label("other-operator")
    forged = sign_note(cp.note_text(), checkpoint_origin(cp.ledger), other)  # same name, another key
    run = go_verify(notecheck, vkey, forged)
    assert run.returncode == 1 and "refused:" in run.stderr
    # our vkey format is the one Go parses: a key ID that does not match name and key is refused
    name, key_id, material = vkey.split("+", 2)
    wrong_id = f"{name}+{int(key_id, 16) ^ 1:08x}+{material}"
    run = go_verify(notecheck, wrong_id, cp.to_note())
    assert run.returncode == 1 and "verifier key" in run.stderr
    # and a note another key signed under its own vkey verifies there: the tool is not a yes-sayer
    mine = NoteVerifier.of("witness.example/w1", other.public_key)
    ok = go_verify(notecheck, mine.encode(), sign_note("hello\n", mine.name, other))
    assert ok.returncode == 0 and json.loads(ok.stdout)["text"] == "hello\n"
