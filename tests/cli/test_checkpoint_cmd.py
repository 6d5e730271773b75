"""``log checkpoint`` (note and JSON forms), ``log vkey`` and ``log verify-checkpoint``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from batterytrace.crypto.signed_note import MAX_NOTE_BYTES
from batterytrace.ledger.checkpoint import verify_checkpoint_note
from cli_support import run_main
from note_support import tampered


def test_checkpoint_commands(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = str(tmp_path / "l.db")
    assert run_main(capsys, "init", "--db", db, "--ledger-id", "urn:example:cells+1")[0] == 0
    code, out, err = run_main(capsys, "log", "checkpoint", "--db", db)
    assert code == 2 and "no signed tree head with a checkpoint note yet" in err and len(err.strip().splitlines()) == 1
    assert run_main(capsys, "log", "head", "--db", db)[0] == 0
    code, note, _ = run_main(capsys, "log", "checkpoint", "--db", db)
    assert code == 0 and note.split("\n")[:2] == ["batterytrace/urn:example:cells%2B1", "0"]
    code, vkey, _ = run_main(capsys, "log", "vkey", "--db", db)
    assert code == 0 and vkey.startswith("batterytrace/urn:example:cells%2B1+")
    code, out, _ = run_main(capsys, "log", "checkpoint", "--db", db, "--format", "json")
    as_json = json.loads(out)
    found = verify_checkpoint_note(note, vkey.strip())
    assert (found.tree_size, found.root_hash.hex()) == (as_json["tree_size"], as_json["root_hash"])

    good, bad, huge = tmp_path / "good.note", tmp_path / "bad.note", tmp_path / "huge.note"
    good.write_text(note)
    bad.write_text(tampered(note, "root"))
    huge.write_bytes(note.encode() + b"x" * MAX_NOTE_BYTES)
    code, out, _ = run_main(capsys, "log", "verify-checkpoint", good, "--vkey", vkey.strip())
    assert code == 0 and "checkpoint verified" in out and "tree size 0" in out
    for path, rule in ((bad, "note.signature"), (huge, "note.size")):
        code, out, err = run_main(capsys, "log", "verify-checkpoint", path, "--vkey", vkey.strip())
        assert code == 1 and f"checkpoint verification FAILED: [{rule}]" in err and "Traceback" not in err
    code, _, err = run_main(capsys, "log", "verify-checkpoint", good, "--vkey", "not a vkey")
    assert code == 1 and "[note.vkey]" in err
    code, _, err = run_main(capsys, "log", "checkpoint", "--db", db, "--format", "xml")
    assert code != 0 and "--format is note or json" in err
