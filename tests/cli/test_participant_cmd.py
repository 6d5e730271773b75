"""A supply chain recorded on a fresh ledger with the CLI only, as an integrator would: keys,
registration of participants and sites, an attestation, events signed with ``event sign`` and
submitted, holdings with ``lots``; then a key rotation: the old key is refused, the new key
continues the participant's custody, and ``log verify`` accepts the whole history."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli_support import bt

HYDROXIDE = {"form": "cobalt_hydroxide", "gross_mass_g": 1_000_000, "buckets": {"Co/certified/CD": 300_000},
             "coc_model": "segregated", "assay_ppm": {"Co": 300_000}}


def sign_and_submit(d: Path, db: Path, key: str, body: dict[str, object], name: str) -> str:
    """``event sign`` one body with ``key``, ``submit`` it; returns the event hash."""
    (d / f"{name}.json").write_text(json.dumps(body))
    bt("event", "sign", d / f"{name}.json", "--key", d / key, "--db", db, "--out", d / f"{name}.jsonl")
    out = bt("submit", d / f"{name}.jsonl", "--db", db, "--workers", "1")
    assert "accepted 1, rejected 0" in out.stdout
    wire = json.loads((d / f"{name}.jsonl").read_text())
    from batterytrace.model.events import SignedEvent

    return SignedEvent.from_wire(wire).hash_hex


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    d = tmp_path_factory.mktemp("chain")
    db = d / "ledger.db"
    bt("init", "--db", db)
    dids = {who: bt("key", "new", "--out", d / f"{who}.key").stdout.strip() for who in ("mine", "refiner", "auditor")}
    bt("participant", "register", "--did", dids["mine"], "--role", "mine", "--legal-name", "Kito Cobalt SA",
       "--country", "CD", "--db", db)
    bt("participant", "register", "--did", dids["refiner"], "--role", "refiner", "--legal-name", "Nord Refining Oy",
       "--country", "FI", "--db", db)
    bt("participant", "register", "--did", dids["auditor"], "--role", "auditor", "--legal-name", "Assurance Ltd",
       "--country", "GB", "--accreditation", "RMAP", "--db", db)
    bt("site", "register", "--site-id", "mine:kito", "--owner", dids["mine"], "--site-kind", "mine", "--name", "Kito",
       "--country", "CD", "--lat", "-10.7", "--lon", "25.4", "--db", db)
    bt("site", "register", "--site-id", "plant:nord", "--owner", dids["refiner"], "--site-kind", "refinery",
       "--name", "Nord", "--country", "FI", "--db", db)
    att = bt("attest", "--subject", "mine:kito", "--scheme", "RMAP", "--valid-from", "2025-01-01T00:00:00Z",
             "--valid-until", "2028-01-01T00:00:00Z", "--level", "conformant", "--key", d / "auditor.key", "--db", db)
    extract = sign_and_submit(d, db, "mine.key", {"kind": "extract", "site": "mine:kito", "outputs": [HYDROXIDE],
                                                   "location": {"lat": -10.7, "lon": 25.4}}, "extract")
    lot = f"{extract}:0"
    ship = sign_and_submit(d, db, "mine.key", {"kind": "ship", "to": dids["refiner"], "lots": [lot],
                                                "gross_mass_g": 1_000_000, "seals": ["S-1"]}, "ship")
    receive = sign_and_submit(d, db, "refiner.key", {
        "kind": "receive", "shipment": ship, "lots": [lot], "gross_mass_g": 1_000_000, "seals": ["S-1"],
        "site": "plant:nord", "outputs": [{k: v for k, v in HYDROXIDE.items() if k != "assay_ppm"}]}, "receive")
    return {"dir": d, "db": db, "dids": dids, "attestation": att.stdout.strip(), "received": f"{receive}:0"}


def test_the_chain_is_held_where_it_was_received(chain: dict[str, object]) -> None:
    dids = chain["dids"]
    assert isinstance(dids, dict)
    held = json.loads(bt("lots", "--participant", dids["refiner"], "--db", chain["db"], "--json").stdout)
    assert [(r["lot"], r["elements_g"], r["site"], r["status"]) for r in held] == [
        (chain["received"], {"Co": 300_000}, "plant:nord", "held")]
    assert json.loads(bt("lots", "--participant", dids["mine"], "--db", chain["db"], "--json").stdout) == []
    table = bt("lots", "--participant", dids["refiner"], "--db", chain["db"]).stdout
    assert "1 lots held" in table and "Co 300,000" in table and "plant:nord" in table
    assert len(str(chain["attestation"])) == 64


def test_refusals_name_the_rule_in_one_line(chain: dict[str, object]) -> None:
    d, db, dids = chain["dir"], chain["db"], chain["dids"]
    assert isinstance(d, Path) and isinstance(dids, dict)
    dup = bt("participant", "register", "--did", dids["mine"], "--role", "mine", "--legal-name", "X", "--country",
             "CD", "--db", db, ok=False)
    assert dup.returncode == 1 and dup.stderr.strip().splitlines() == [dup.stderr.strip()]
    assert "registration.duplicate" in dup.stderr
    # a participant's key is no operator key: the ledger refuses the rotation it signs
    rot = bt("participant", "rotate-key", "--participant", dids["mine"], "--new-did", dids["auditor"],
             "--operator-key", d / "mine.key", "--db", db, ok=False)
    assert rot.returncode == 1 and "authorisation" in rot.stderr
    unknown = bt("lots", "--participant", "did:key:z6MkNobody", "--db", db, ok=False)
    assert unknown.returncode != 0 and "no participant" in unknown.stderr


def test_rotation_from_the_cli(chain: dict[str, object]) -> None:
    d, db, dids = chain["dir"], chain["db"], chain["dids"]
    assert isinstance(d, Path) and isinstance(dids, dict)
    new = bt("key", "new", "--out", d / "refiner2.key").stdout.strip()
    bt("participant", "rotate-key", "--participant", dids["refiner"], "--new-did", new, "--db", db)
    again = bt("participant", "rotate-key", "--participant", dids["refiner"], "--new-did", new, "--db", db, ok=False)
    assert again.returncode == 1 and "key.same" in again.stderr
    body = {"kind": "ship", "to": dids["mine"], "lots": [chain["received"]], "gross_mass_g": 1_000_000}
    (d / "back.json").write_text(json.dumps(body))
    # the old key: signed, then refused by name on submission
    bt("event", "sign", d / "back.json", "--key", d / "refiner.key", "--db", db, "--out", d / "old.jsonl")
    old = bt("submit", d / "old.jsonl", "--db", db, ok=False)
    assert old.returncode == 1 and "key.rotated" in old.stderr
    # the new key: event sign finds the participant it signs for on the ledger (actor + signer)
    bt("event", "sign", d / "back.json", "--key", d / "refiner2.key", "--db", db, "--out", d / "new.jsonl")
    wire = json.loads((d / "new.jsonl").read_text())
    assert (wire["event"]["actor"], wire["event"]["signer"]) == (dids["refiner"], new)
    assert "accepted 1" in bt("submit", d / "new.jsonl", "--db", db).stdout
    held = json.loads(bt("lots", "--participant", dids["refiner"], "--db", db, "--json").stdout)
    assert [r["status"] for r in held] == ["in_transit"]
    assert "log verified" in bt("log", "verify", "--db", db).stdout
