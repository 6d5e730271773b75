"""``log verify`` replays confidential events from the public log alone (no openings) and fails on
a tampered commitment or proof, even one an operator let in with a valid hash and signature."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from batterytrace.errors import VerificationError
from batterytrace.ledger import rules_confidential
from batterytrace.ledger.audit import verify_log
from batterytrace.storage.sqlite import SQLiteStore
from conf_support import CO_G, ConfChain, sulphate


def transform(c: ConfChain, lot: str, out_g: int, loss_g: int, tol: int = 50) -> dict[str, object]:
    return {"kind": "transform", "inputs": [lot], "site": "plant:kivijarvi",
            "outputs": [sulphate({"Co/certified/CD": out_g})], "loss": {"Co/certified/CD": loss_g}}


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "conf.db"
    c = ConfChain(SQLiteStore(str(path)))
    lot = c.conf_at_refinery()
    c.keep(c.prove("kivijarvi", transform(c, lot, CO_G - 7_000, 7_000), [lot], 50))
    c.ledger.close()
    return path


def audit(path: Path) -> None:
    store = SQLiteStore(str(path))
    try:
        verify_log(store)
    finally:
        store.close()


def last_body(path: Path) -> tuple[int, bytes]:
    conn = sqlite3.connect(path)
    seq, body = conn.execute("SELECT seq, body FROM events ORDER BY seq DESC LIMIT 1").fetchone()
    conn.close()
    return seq, bytes(body)


def test_confidential_log_verifies_without_openings(db: Path) -> None:
    store = SQLiteStore(str(db))
    try:
        report = verify_log(store)
        assert report.events == store.size()
        confidential = [lot for lot in store.iter_lots() if lot.commitments]
        assert len(confidential) == 3 and all(lot.buckets == {} for lot in confidential)
    finally:
        store.close()


@pytest.mark.parametrize("field", ["commitments", "proofs", "loss"])
def test_tampered_commitment_or_proof_byte_fails_the_audit(db: Path, field: str) -> None:
    seq, body = last_body(db)
    at = body.index(f'"{field}"'.encode()) + len(field) + 40  # inside the first hex string
    tampered = bytearray(body)
    tampered[at] = ord("0") if tampered[at] != ord("0") else ord("1")
    conn = sqlite3.connect(db)
    conn.execute("UPDATE events SET body=? WHERE seq=?", (bytes(tampered), seq))
    conn.commit()
    conn.close()
    with pytest.raises(VerificationError):
        audit(db)


def test_tampered_lot_commitment_in_the_state_fails_the_audit(db: Path) -> None:
    conn = sqlite3.connect(db)
    lot_id, data = next(
        (lid, d) for lid, d in conn.execute("SELECT lot_id, data FROM lots") if '"commitments":{"' in d
    )
    row = json.loads(data)
    key = next(iter(row["commitments"]))
    row["commitments"][key] = row["commitments"][key][:-1] + ("0" if row["commitments"][key][-1] != "0" else "1")
    conn.execute("UPDATE lots SET data=? WHERE lot_id=?", (json.dumps(row), lot_id))
    conn.commit()
    conn.close()
    with pytest.raises(VerificationError, match="differs from the state the log implies"):
        audit(db)


def test_event_a_lax_operator_accepted_fails_the_audit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A validly signed event whose loss exceeds the tolerance, accepted by an operator that
    skipped the proof checks: the replay in ``log verify`` refuses it and names the rule."""
    path = tmp_path / "lax.db"
    c = ConfChain(SQLiteStore(str(path)))
    lot = c.conf_at_refinery()
    cheat = c.prove("kivijarvi", transform(c, lot, CO_G - 100_000, 100_000), [lot], 1000)
    with monkeypatch.context() as m:
        m.setattr(rules_confidential, "verify_bundles", lambda *args: None)
        c.keep(cheat)
    c.ledger.close()
    with pytest.raises(VerificationError, match=r"zk\.loss"):
        audit(path)


def test_replay_from_canonical_bodies_keeps_the_proof_order(tmp_path: Path) -> None:
    """Bodies are stored as canonical JSON (sorted keys): proofs made over a lot whose buckets were
    listed in another order must still verify when ``log verify`` replays them."""
    from batterytrace.ledger.audit import verify_log as audit_store
    from batterytrace.storage.memory import MemoryStore
    from conf_support import hydroxide

    c = ConfChain(MemoryStore())
    two = hydroxide({"Co/uncertified/CD": 100_000, "Co/certified/CD": 250_000}, coc="mass_balance")
    [lot] = c.keep(c.prove("kasonta", {"kind": "extract", "site": "mine:kasonta", "outputs": [two]}))
    ship = c.ship("kasonta", "kivijarvi", [lot])
    [at_refiner] = c.keep(c.prove("kivijarvi", c.receipt_body(ship, "kivijarvi", [two]), [lot]))
    at_cells = c.at_cell_maker(at_refiner)
    # production scrap falls from the cell maker's cell production (two buckets, listed in
    # another order than the canonical body stores them)
    # (35 000 g of cobalt scrap next to 90 000 g in the cell: within max_scrap_permille)
    cell = {"form": "cell", "gross_mass_g": 200_000, "coc_model": "mass_balance", **c.product_id(),
            "buckets": {"Co/uncertified/CD": 30_000, "Co/certified/CD": 60_000}}
    scrap = {**two, "form": "production_scrap", "buckets": {"Co/uncertified/CD": 10_000, "Co/certified/CD": 25_000}}
    rest = {**two, "form": "residue", "buckets": {"Co/uncertified/CD": 60_000, "Co/certified/CD": 165_000}}
    [_, made, _] = c.keep(c.prove("nordcell", {"kind": "transform", "inputs": [at_cells], "site": "plant:nordcell",
                                               "outputs": [cell, scrap, rest]}, [at_cells], c.transform_tol()))
    ship = c.ship("nordcell", "circulon", [made])
    [held] = c.keep(c.prove("circulon", c.receipt_body(ship, "circulon", [scrap]), [made]))
    out = {"form": "cobalt_sulphate", "gross_mass_g": 1_500_000, "coc_model": "mass_balance",
           "buckets": {"Co/recycled-pre/—": 33_000}}
    rec = {"kind": "recycle", "inputs": [held], "site": "plant:circulon", "outputs": [out]}
    c.keep(c.prove("circulon", rec, [held], 100))
    audit_store(c.ledger.store)
