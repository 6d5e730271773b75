"""``batterytrace event sign``: unsigned bodies (object, array, JSON lines) → signed JSON lines
that ``submit`` accepts; the ledger id, nonce, time and actor are filled; a body for another
actor, an already signed event or a non-object is refused in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from batterytrace.crypto.signing import SigningKey
from batterytrace.keys import save_key
from batterytrace.ledger.ledger import Ledger
from batterytrace.ledger.participants import participant_body, sign_as
from batterytrace.model.events import SignedEvent
from batterytrace.storage.sqlite import SQLiteStore
from cli_support import run_main

LEDGER_ID = "urn:uuid:00000000-0000-4000-8000-00000000e5e5"


@pytest.fixture
def world(tmp_path: Path) -> dict[str, object]:
    """A SQLite ledger with one registered auditor, its key file and the operator's."""
    db = tmp_path / "l.db"
    operator, auditor = SigningKey.generate(), SigningKey.generate()
    ledger = Ledger(SQLiteStore(str(db)), operator.did, LEDGER_ID)
    ledger.submit(sign_as(participant_body(auditor.did, "auditor", "Aud", "GB", ["RMAP"]), operator, ledger=LEDGER_ID))
    ledger.close()
    save_key(auditor, tmp_path / "aud.key")
    save_key(operator, tmp_path / "l.db.operator.key")
    return {"db": db, "auditor": auditor, "dir": tmp_path}


def attest(subject: str) -> dict[str, object]:
    return {"kind": "attest", "subject": subject, "scheme": "RMAP", "valid_from": "2025-01-01T00:00:00Z",
            "valid_until": "2028-01-01T00:00:00Z"}


def signed(text: str) -> list[SignedEvent]:
    return [SignedEvent.from_wire(json.loads(line)) for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize("form", ["object", "array", "jsonl"])
def test_sign_fills_the_body_and_submit_accepts_it(world: dict[str, object], form: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    d, db, auditor = world["dir"], world["db"], world["auditor"]
    assert isinstance(d, Path) and isinstance(auditor, SigningKey)
    did = auditor.did
    bodies = [attest(did), attest(did)]
    text = {"object": json.dumps(bodies[0]), "array": json.dumps(bodies),
            "jsonl": "\n".join(json.dumps(b) for b in bodies) + "\n\n"}[form]
    (d / "in.json").write_text(text)
    code, out, err = run_main(capsys, "event", "sign", d / "in.json", "--key", d / "aud.key", "--db", db)
    assert code == 0, err
    events = signed(out)
    assert len(events) == (1 if form == "object" else 2)
    for ev in events:
        ev.verify_signature()
        assert (ev.actor, ev.ledger, ev.kind) == (did, LEDGER_ID, "attest")
        assert "signer" not in ev.body and len(ev.body["nonce"]) == 24 and ev.body["time"].endswith("Z")
    (d / "signed.jsonl").write_text(out)
    code, out, err = run_main(capsys, "submit", d / "signed.jsonl", "--db", db, "--workers", "1")
    assert code == 0 and f"accepted {len(events)}, rejected 0" in out, err


def test_sign_with_a_ledger_id_away_from_the_database(world: dict[str, object], capsys: pytest.CaptureFixture[str]) -> None:
    d = world["dir"]
    assert isinstance(d, Path)
    (d / "in.json").write_text(json.dumps(attest("mine:x")))
    code, out, _ = run_main(capsys, "event", "sign", d / "in.json", "--key", d / "aud.key", "--ledger-id", LEDGER_ID,
                            "--out", d / "out.jsonl")
    assert code == 0 and out == ""
    (ev,) = signed((d / "out.jsonl").read_text())
    assert ev.ledger == LEDGER_ID


@pytest.mark.parametrize(("content", "expected"), [
    ({"kind": "attest", "actor": SigningKey.from_label("x").did}, "is not this key's did"),
    ({"event": {"kind": "attest"}, "signature": "AA"}, "already signed"),
    ([1, 2], "item 1 is not a JSON object"),
    ({"kind": "no-such-kind"}, "item 1: unknown event kind"),
    ({"kind": "attest", "ledger": "urn:uuid:other"}, "names ledger"),
])
def test_bodies_that_cannot_be_signed_are_refused_in_one_line(
    world: dict[str, object], content: object, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    d, db = world["dir"], world["db"]
    assert isinstance(d, Path)
    (d / "in.json").write_text(json.dumps(content))
    code, out, err = run_main(capsys, "event", "sign", d / "in.json", "--key", d / "aud.key", "--db", db)
    assert code != 0 and out == "" and expected in err and len(err.strip().splitlines()) == 1


def test_the_ledger_must_be_named_and_agree(world: dict[str, object], capsys: pytest.CaptureFixture[str]) -> None:
    d, db = world["dir"], world["db"]
    assert isinstance(d, Path)
    (d / "in.json").write_text(json.dumps(attest("mine:x")))
    code, _, err = run_main(capsys, "event", "sign", d / "in.json", "--key", d / "aud.key")
    assert code != 0 and "--db" in err
    code, _, err = run_main(capsys, "event", "sign", d / "in.json", "--key", d / "aud.key", "--db", db,
                            "--ledger-id", "urn:uuid:other")
    assert code != 0 and "is not the ledger in" in err


def test_a_rotated_in_key_signs_for_its_participant(world: dict[str, object], capsys: pytest.CaptureFixture[str]) -> None:
    d, db, auditor = world["dir"], world["db"], world["auditor"]
    assert isinstance(d, Path) and isinstance(auditor, SigningKey)
    new = SigningKey.generate()
    save_key(new, d / "new.key")
    code, _, err = run_main(capsys, "participant", "rotate-key", "--participant", auditor.did, "--new-did", new.did,
                            "--db", db)
    assert code == 0, err
    (d / "in.json").write_text(json.dumps(attest(auditor.did)))
    code, out, _ = run_main(capsys, "event", "sign", d / "in.json", "--key", d / "new.key", "--db", db)
    (ev,) = signed(out)
    assert (ev.actor, ev.signer) == (auditor.did, new.did)
    # away from the database the participant is named explicitly
    code, out, _ = run_main(capsys, "event", "sign", d / "in.json", "--key", d / "new.key", "--ledger-id", LEDGER_ID,
                            "--participant", auditor.did)
    (ev2,) = signed(out)
    assert (ev2.actor, ev2.signer) == (auditor.did, new.did)
    (d / "s.jsonl").write_text(json.dumps(ev.to_wire()) + "\n" + json.dumps(ev2.to_wire()) + "\n")
    code, out, err = run_main(capsys, "submit", d / "s.jsonl", "--db", db, "--workers", "1")
    assert code == 0 and "accepted 2" in out, err
    # the old key's attestation is refused by rule
    code, out, _ = run_main(capsys, "event", "sign", d / "in.json", "--key", d / "aud.key", "--db", db)
    (d / "old.jsonl").write_text(out)
    code, _, err = run_main(capsys, "submit", d / "old.jsonl", "--db", db, "--workers", "1")
    assert code == 1 and "key.rotated" in err


def test_event_hash_prints_the_ids_submit_records(world: dict[str, object], capsys: pytest.CaptureFixture[str]) -> None:
    d, db, auditor = world["dir"], world["db"], world["auditor"]
    assert isinstance(d, Path) and isinstance(auditor, SigningKey)
    (d / "in.json").write_text(json.dumps([attest(auditor.did), attest("mine:y")]))
    code, _, err = run_main(capsys, "event", "sign", d / "in.json", "--key", d / "aud.key", "--db", db,
                            "--out", d / "s.jsonl")
    assert code == 0, err
    code, out, err = run_main(capsys, "event", "hash", d / "s.jsonl")
    assert code == 0, err
    assert out.split() == [ev.hash_hex for ev in signed((d / "s.jsonl").read_text())]
    # a tampered body hashes differently (the id is the body's, not a stored label)
    wire = json.loads((d / "s.jsonl").read_text().splitlines()[0])
    wire["event"]["scheme"] = "IRMA"
    (d / "t.jsonl").write_text(json.dumps(wire))
    code, out2, _ = run_main(capsys, "event", "hash", d / "t.jsonl")
    assert code == 0 and out2.split()[0] != out.split()[0]


@pytest.mark.parametrize(("content", "expected"), [
    ({"kind": "attest"}, "item 1 is not a signed event"),
    ({"event": {"kind": "attest"}, "signature": 5}, "item 1 is not a signed event"),
    ("", "is empty"),
])
def test_event_hash_refuses_what_is_not_a_signed_event(world: dict[str, object], content: object, expected: str,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    d = world["dir"]
    assert isinstance(d, Path)
    (d / "x.json").write_text(content if isinstance(content, str) else json.dumps(content))
    code, out, err = run_main(capsys, "event", "hash", d / "x.json")
    assert code != 0 and out == "" and expected in err and len(err.strip().splitlines()) == 1


def test_every_command_prints_its_help() -> None:
    """Help texts are rich markup: a bracket in one (``[/prefix]``) once made ``--help`` crash."""
    import typer.main

    from batterytrace.cli import app

    def walk(cmd: object, path: list[str]) -> list[list[str]]:
        subs = getattr(cmd, "commands", {})
        return [path] + [p for name, sub in subs.items() for p in walk(sub, [*path, name])]

    from typer.testing import CliRunner

    runner = CliRunner()
    paths = walk(typer.main.get_command(app), [])
    assert len(paths) > 30
    for path in paths:
        result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "120"})
        assert result.exit_code == 0 and "Usage" in result.output, (path, result.output[-500:])
