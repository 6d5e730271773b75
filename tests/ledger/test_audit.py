"""``log verify`` recomputes everything and fails after any change to a stored byte."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from batterytrace.errors import VerificationError
from batterytrace.ledger.audit import verify_log
from batterytrace.storage.sqlite import SQLiteStore
from support import Chain


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "audit.db"
    c = Chain(SQLiteStore(str(path)))
    lot = c.extract("kasonta")
    c.ship_and_receive("kasonta", "kivijarvi", [lot])
    c.ledger.sign_tree_head(c.operator.signing_key)
    c.ledger.close()
    return path


def flip(path: Path, table: str, column: str, rowid_sql: str, offset: int = 0) -> None:
    conn = sqlite3.connect(path)
    (blob,) = conn.execute(f"SELECT {column} FROM {table} WHERE {rowid_sql}").fetchone()
    data = bytearray(blob if isinstance(blob, bytes) else blob.encode())
    data[offset] ^= 0x01
    value = bytes(data) if isinstance(blob, bytes) else data.decode("utf-8", "replace")
    conn.execute(f"UPDATE {table} SET {column}=? WHERE {rowid_sql}", (value,))
    conn.commit()
    conn.close()


def audit(path: Path) -> None:
    store = SQLiteStore(str(path))
    try:
        verify_log(store)
    finally:
        store.close()


def test_untouched_log_verifies(db: Path) -> None:
    store = SQLiteStore(str(db))
    report = verify_log(store)
    assert report.events == store.size() and report.tree_heads == 1 and report.lots > 0


def test_every_byte_of_one_event_body_is_covered(db: Path) -> None:
    """Flip each byte of a stored event body in turn: every single change is detected."""
    conn = sqlite3.connect(db)
    (body,) = conn.execute("SELECT body FROM events WHERE seq=31").fetchone()
    conn.close()
    for offset in range(0, len(body), max(1, len(body) // 60)):
        flip(db, "events", "body", "seq=31", offset)
        with pytest.raises(VerificationError):
            audit(db)
        flip(db, "events", "body", "seq=31", offset)  # restore
    audit(db)


@pytest.mark.parametrize(
    ("table", "column", "where"),
    [
        ("events", "signature", "seq=3"),
        ("events", "hash", "seq=3"),
        ("events", "kind", "seq=3"),
        ("events", "actor", "seq=3"),
        ("nodes", "hash", "id=(SELECT MIN(id) FROM nodes)"),
        ("lots", "data", "rowid=(SELECT MIN(rowid) FROM lots)"),
        ("tree_heads", "root", "rowid=1"),
        ("participants", "data", "rowid=(SELECT MIN(rowid) FROM participants)"),
        ("sites", "data", "rowid=(SELECT MIN(rowid) FROM sites)"),
        ("attestations", "data", "rowid=(SELECT MIN(rowid) FROM attestations)"),
        ("tree_heads", "signature", "rowid=1"),
    ],
)
def test_changed_stored_bytes_are_detected(db: Path, table: str, column: str, where: str) -> None:
    flip(db, table, column, where, 2)
    with pytest.raises(VerificationError):
        audit(db)


def test_deleted_or_reordered_events_are_detected(db: Path) -> None:
    conn = sqlite3.connect(db)
    conn.execute("DELETE FROM events WHERE seq=10")
    conn.commit()
    conn.close()
    with pytest.raises(VerificationError, match="gap"):
        audit(db)


def test_changed_event_time_column_is_detected(db: Path) -> None:
    conn = sqlite3.connect(db)
    conn.execute("UPDATE events SET time=time+1 WHERE seq=20")
    conn.commit()
    conn.close()
    with pytest.raises(VerificationError, match="columns"):
        audit(db)


def test_extra_lot_row_is_detected(db: Path) -> None:
    conn = sqlite3.connect(db)
    conn.execute(
        "INSERT INTO lots SELECT 'ff:0', event, site, created_at, gtin, serial, form, spent_by, data "
        "FROM lots LIMIT 1"
    )
    conn.commit()
    conn.close()
    with pytest.raises(VerificationError):
        audit(db)


def run_sql(path: Path, *statements: str) -> None:
    conn = sqlite3.connect(path)
    for sql in statements:
        assert conn.execute(sql).rowcount != 0, sql
    conn.commit()
    conn.close()


@pytest.mark.parametrize(
    "sql",
    [
        # lineage columns read by traces and recalls (not by the lot's JSON)
        "UPDATE lots SET spent_by=NULL WHERE spent_by IS NOT NULL",
        "UPDATE lots SET event='00' WHERE rowid=(SELECT MIN(rowid) FROM lots)",
        "UPDATE lots SET form='pack' WHERE rowid=(SELECT MIN(rowid) FROM lots)",
        "UPDATE lots SET site='mine:mwelu' WHERE site='mine:kasonta'",
        "UPDATE lots SET created_at=created_at+1 WHERE rowid=(SELECT MIN(rowid) FROM lots)",
        "UPDATE lots SET gtin='04099999000758', serial='VM75-000001' WHERE rowid=(SELECT MIN(rowid) FROM lots)",
        # the inputs table: which lots each event consumed
        "DELETE FROM inputs",
        "UPDATE inputs SET lot_id='ff:0'",
        "INSERT INTO inputs SELECT event, lot_id FROM inputs",
    ],
)
def test_changed_lot_index_and_lineage_rows_are_detected(db: Path, sql: str) -> None:
    run_sql(db, sql)
    with pytest.raises(VerificationError):
        audit(db)


def test_injected_attestation_for_an_unattested_subject_is_detected(db: Path) -> None:
    """An RMAP attestation for the uncertified cooperative, written straight into the table,
    would let its next extraction be certified."""
    run_sql(db, "INSERT INTO attestations SELECT 'ff' || substr(id, 3), 'mine:tujenge', "
                "replace(data, 'mine:kasonta', 'mine:tujenge') FROM attestations WHERE subject='mine:kasonta'")
    with pytest.raises(VerificationError, match="attestation"):
        audit(db)


def test_changed_policy_is_detected(db: Path) -> None:
    run_sql(db, "UPDATE meta SET value=replace(value, '\"transform\":50', '\"transform\":900') WHERE key='policy'")
    with pytest.raises(VerificationError, match="policy"):
        audit(db)


def test_extra_merkle_node_is_detected(db: Path) -> None:
    """A planted node beyond the tree would block the next append (primary-key clash)."""
    run_sql(db, "INSERT INTO nodes SELECT (SELECT COUNT(*) FROM events), hash FROM nodes LIMIT 1")
    with pytest.raises(VerificationError, match="node"):
        audit(db)


def test_an_accepted_event_with_a_large_integral_number_still_audits(tmp_path: Path) -> None:
    """A sensor reading of 1e16 is canonicalised as integral digits; the stored event must still
    re-canonicalise to its bytes (else any participant could make ``log verify`` fail for good)."""
    path = tmp_path / "big.db"
    c = Chain(SQLiteStore(str(path)))
    lot = c.extract("kasonta")
    ev = c.sign("kasonta", {"kind": "ship", "to": c.did("kivijarvi"), "lots": [lot],
                            "sensors": [{"type": "Radiation", "value": 1e16, "uom": "BQ"}]})
    c.accept(ev)
    assert c.ledger.event_by_hash(ev.hash_hex) is not None
    c.ledger.close()
    audit(path)
