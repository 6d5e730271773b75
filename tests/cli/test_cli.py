"""The CLI end to end in subprocesses: demo, log verify (and its failure after tampering), prove,
trace, submit; and every command documents itself."""

from __future__ import annotations

import base64
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from typer.main import get_command

from batterytrace.cli import app
from cli_support import run


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("demo") / "demo.db"
    out = run("demo", "--db", str(db), "--fresh", "--packs", "20", "--legacy-packs", "4")
    assert "refused" in out.stdout and "log verified" in out.stdout
    return db


def test_demo_chain_and_summary(demo_db: Path) -> None:
    conn = sqlite3.connect(demo_db)
    (n_packs,) = conn.execute("SELECT COUNT(*) FROM lots WHERE form='pack' AND spent_by IS NULL").fetchone()
    kinds = dict(conn.execute("SELECT kind, COUNT(*) FROM events GROUP BY kind").fetchall())
    conn.close()
    assert n_packs == 20  # the legacy packs were recycled
    assert kinds["recycle"] >= 2 and kinds["extract"] >= 3 and kinds["aggregate"] >= 20 * 9


def test_log_verify_passes_then_fails_after_one_byte(demo_db: Path, tmp_path: Path) -> None:
    out = run("log", "verify", "--db", str(demo_db))
    assert "log verified" in out.stdout
    copy = tmp_path / "tampered.db"
    copy.write_bytes(demo_db.read_bytes())
    conn = sqlite3.connect(copy)
    (body,) = conn.execute("SELECT body FROM events WHERE seq=100").fetchone()
    i = body.index(b'"gross_mass_g":') + len(b'"gross_mass_g":')
    changed = body[:i] + bytes([body[i] ^ 0x01]) + body[i + 1 :]  # one digit of a mass
    conn.execute("UPDATE events SET body=? WHERE seq=100", (changed,))
    conn.commit()
    conn.close()
    bad = run("log", "verify", "--db", str(copy), ok=False)
    assert bad.returncode != 0
    assert "FAILED" in bad.stderr and "100" in bad.stderr


def test_log_prove_and_head(demo_db: Path) -> None:
    conn = sqlite3.connect(demo_db)
    (h,) = conn.execute("SELECT hash FROM events WHERE seq=7").fetchone()
    conn.close()
    out = run("log", "prove", bytes(h).hex(), "--db", str(demo_db))
    assert "inclusion verified" in out.stderr
    proof = json.loads(out.stdout)
    assert proof["leaf_index"] == 7 and proof["tree_size"] > 7
    run("log", "head", "--db", str(demo_db))


def test_trace_backward_by_serial(demo_db: Path) -> None:
    out = run("trace", "backward", "04099999000753/VM75-000005", "--db", str(demo_db))
    assert "mine:kasonta" in out.stdout and "Co/certified/CD" in out.stdout


def test_trace_forward_from_a_site(demo_db: Path) -> None:
    out = run("trace", "forward", "--site", "mine:tujenge", "--from", "2025-01-01T00:00:00Z",
              "--to", "2025-06-01T00:00:00Z", "--db", str(demo_db))
    assert "pack" in out.stdout


def test_submit_reports_rejections_with_rules(tmp_path: Path) -> None:
    """``submit`` stamps events with the system clock: a supply chain signed in the last hours is
    accepted; a replay, malformed JSON and an event back-dated by eight days are refused by rule."""
    from batterytrace.demo.scenario import Scenario
    from batterytrace.timeutil import format_time, now_us

    s = Scenario(start=format_time(now_us() - 12 * 3_600_000_000))
    s.register_all()
    year_us = 365 * 86_400_000_000  # a three-year certificate awarded a year ago (attestation.period)
    s.attest("rmap", "mine:kasonta", "RMAP", format_time(now_us() - year_us), format_time(now_us() + 2 * year_us),
             level="conformant")
    s.extract("kasonta", "cobalt_hydroxide", 1_000_000, True, 4.8, True)
    accepted = len(s.events)
    s.clock = now_us() - 8 * 24 * 3_600_000_000
    s.extract("kasonta", "cobalt_hydroxide", 1_000_000, True, 4.8, True)
    lines = [ev.wire_bytes().decode() for ev in s.events]
    lines.append(lines[accepted - 1])  # a replay
    lines.append("{not json")
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(lines) + "\n")
    db = tmp_path / "sub.db"
    key = tmp_path / "op.key"
    key.write_text(s.actors["operator"].signing_key.seed.hex() + "\n")
    run("init", "--db", str(db), "--operator-key", str(key), "--ledger-id", s.ledger_id)
    out = run("submit", str(events), "--db", str(db), ok=False)
    for rule in ("replay", "schema", "time.backdate"):
        assert rule in out.stdout + out.stderr
    conn = sqlite3.connect(db)
    (n,) = conn.execute("SELECT COUNT(*) FROM events").fetchone()
    conn.close()
    assert n == accepted


def test_every_command_has_help_text() -> None:
    from batterytrace.cli import bench_cmd, demo_cmd, ledger_cmd  # noqa: F401

    root = get_command(app)

    def walk(cmd: Any, path: str) -> None:
        assert (cmd.help or "").strip(), f"command {path!r} has no help text"
        for param in cmd.params:
            if type(param).__name__.endswith("Option"):
                assert (param.help or "").strip(), f"option {param.name} of {path!r} has no help"
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, f"{path} {name}")

    walk(root, "batterytrace")


def test_errors_are_printed_not_raised(tmp_path: Path) -> None:
    bad = run("log", "verify", "--db", str(tmp_path / "nothing.db"), ok=False)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr  # a ledger that is not there is not verified
    assert "log verification FAILED: no ledger database" in bad.stderr
    assert not (tmp_path / "nothing.db").exists()


def passports_dir(demo_db: Path) -> Path:
    return demo_db.parent / "demo-passports"


def operator_of(demo_db: Path) -> list[str]:
    """``--operator <did>``: the trust anchor a passport verifier supplies."""
    from batterytrace.storage.sqlite import SQLiteStore

    store = SQLiteStore(str(demo_db), create=False)
    try:
        did = store.get_meta("operator_did")
    finally:
        store.close()
    assert did is not None
    return ["--operator", did]


def test_demo_issued_verified_passports_for_every_pack(demo_db: Path) -> None:
    out = passports_dir(demo_db)
    publics = sorted(out.glob("*.public.sd-jwt"))
    assert len(publics) == 20
    assert len(list(out.glob("*.sd-jwt"))) == 80
    assert all(f.read_bytes().endswith(b"~") for f in out.glob("*.sd-jwt"))  # no newline after the final "~"
    assert (out / "qr-last-pack.png").stat().st_size > 0 and (out / "qr-last-pack.svg").exists()
    ok = run("passport", "verify", str(publics[0]), *operator_of(demo_db))
    assert "passport verified" in ok.stdout and "did:key:z6Mk" in ok.stdout
    # offline: each figure printed, the lineage figures declared; with the ledger: re-derived
    lines = ok.stdout.splitlines()
    assert any("declared" in line and "summary.carbon_kgco2e_per_kwh" in line for line in lines)
    assert any("verified" in line and "GeneralProductInformation.batteryMass" in line for line in lines)
    ledger = run("passport", "verify", str(publics[0]), *operator_of(demo_db), "--db", str(demo_db))
    assert any("verified" in line and "summary.carbon_kgco2e_per_stage.main product production" in line
               for line in ledger.stdout.splitlines())
    assert any("declared" in line and "summary.carbon_kgco2e_per_kwh" in line for line in ledger.stdout.splitlines())


def test_passport_show_public_hides_restricted_fields(demo_db: Path) -> None:
    public = sorted(passports_dir(demo_db).glob("*.public.sd-jwt"))[0]
    claims = json.loads(run("passport", "show", str(public), *operator_of(demo_db)).stdout)
    assert "batteryStatus" not in claims["aspects"]["GeneralProductInformation"]
    li = public.with_name(public.name.replace(".public.", ".legitimate_interest."))
    claims = json.loads(run("passport", "show", str(li), *operator_of(demo_db)).stdout)
    assert claims["aspects"]["GeneralProductInformation"]["batteryStatus"] == "Original"


def test_passport_verify_fails_on_an_altered_byte(demo_db: Path, tmp_path: Path) -> None:
    public = sorted(passports_dir(demo_db).glob("*.public.sd-jwt"))[0]
    text = public.read_text()
    i = text.index(".") + 40
    bad = tmp_path / "bad.sd-jwt"
    bad.write_text(text[:i] + ("A" if text[i] != "A" else "B") + text[i + 1 :])
    out = run("passport", "verify", str(bad), *operator_of(demo_db), ok=False)
    assert out.returncode == 1 and "FAILED" in out.stderr


def test_passport_issue_and_qr_from_the_cli(demo_db: Path, tmp_path: Path) -> None:
    out = passports_dir(demo_db)
    issued = run("passport", "issue", "04099999000753/VM75-000010", "--key", str(out / "voltara.key"),
                 "--master", str(out / "vm75.master.json"), "--out", str(tmp_path), "--db", str(demo_db), "--upload")
    assert "https://id.batterytrace.example/01/04099999000753/21/VM75-000010" in issued.stdout
    (upload,) = tmp_path.glob("*.upload.json")  # the body of POST /passports, signed by the economic operator
    envelope = json.loads(upload.read_text())["envelope"]
    assert set(envelope["presentations"]) == {"public", "legitimate_interest", "commission", "authorities"}
    from batterytrace.keys import load_key
    from batterytrace.passport.publish import PublishEnvelope

    PublishEnvelope.from_dict(envelope).verify_signature()
    assert envelope["publisher"] == load_key(out / "voltara.key").did
    (authorities,) = tmp_path.glob("*.authorities.sd-jwt")
    run("passport", "verify", str(authorities), *operator_of(demo_db))
    run("passport", "qr", "04099999000753/VM75-000010", "--out", str(tmp_path / "q.svg"), "--db", str(demo_db))
    assert (tmp_path / "q.svg").read_text().lstrip().startswith("<?xml")
    wrong_key = tmp_path / "wrong.key"
    wrong_key.write_text("11" * 32 + "\n")
    refused = run("passport", "issue", "04099999000753/VM75-000010", "--key", str(wrong_key),
                  "--master", str(out / "vm75.master.json"), "--out", str(tmp_path), "--db", str(demo_db), ok=False)
    assert refused.returncode == 2 and "economic operator" in refused.stderr


def test_passport_export_catenax_from_the_cli(demo_db: Path, tmp_path: Path) -> None:
    out = passports_dir(demo_db)
    target = tmp_path / "catenax.json"
    done = run("passport", "export", "04099999000753/VM75-000010", "--master", str(out / "vm75.master.json"),
               "--out", str(target), "--db", str(demo_db))
    assert "urn:io.catenax.battery.battery_pass:6.1.0" in done.stdout
    doc = json.loads(target.read_text())
    assert doc["identification"]["identification"]["serial"][0]["value"] == "VM75-000010"
    refused = run("passport", "export", "04099999000753/VM75-000010", "--master", str(out / "vm75.master.json"),
                  "--out", str(target), "--format", "xml", "--db", str(demo_db), ok=False)
    assert refused.returncode == 2 and "unknown export format" in refused.stderr


def test_passport_status_revoke_from_the_cli(demo_db: Path, tmp_path: Path) -> None:
    """Issue → status valid → revoke → `passport verify --status-list` refuses it by name; a
    revoked passport cannot be reinstated; bad input is one line."""
    out = passports_dir(demo_db)
    key = str(out / "voltara.key")
    run("passport", "issue", "04099999000753/VM75-000011", "--key", key, "--master", str(out / "vm75.master.json"),
        "--out", str(tmp_path), "--db", str(demo_db))
    (public,) = tmp_path.glob("*.public.sd-jwt")
    pid = json.loads(base64.urlsafe_b64decode(public.read_text().split(".")[1] + "=="))["passport_id"]
    (status_list,) = (tmp_path / "statuslists").glob("*.jwt")
    ok = run("passport", "verify", str(public), *operator_of(demo_db), "--status-list", str(status_list))
    assert "check  passed      status" in ok.stdout
    assert "valid" in run("passport", "status", pid, "--key", key, "--passports", str(tmp_path)).stdout
    run("passport", "status", pid, "--key", key, "--passports", str(tmp_path), "--set", "revoked")
    refused = run("passport", "verify", str(public), *operator_of(demo_db), "--status-list", str(status_list), ok=False)
    assert refused.returncode == 1 and "passport.revoked" in refused.stderr and "Traceback" not in refused.stderr
    again = run("passport", "status", pid, "--key", key, "--passports", str(tmp_path), "--set", "valid", ok=False)
    assert again.returncode == 2 and "statuslist.final" in again.stderr and len(again.stderr.strip().splitlines()) == 1
    unknown = run("passport", "status", "urn:x", "--key", key, "--passports", str(tmp_path), "--set", "bogus", ok=False)
    assert unknown.returncode == 2 and "Traceback" not in unknown.stderr
