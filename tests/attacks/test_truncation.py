"""Invariant 7 (logs): truncation, hidden rows and split views are detected.

The attacker is a database administrator of the ledger: plain SQL on the ledger's tables, nothing
else (no operator key unless said, and never the chain). Deleting the tail of an anchored log —
events, Merkle nodes, tree heads, anchor records, with the state rows rolled back to match — leaves
a log that is consistent in itself, so only the chain can tell: ``anchor verify`` reads the
registry's state for the ledger's anchoring account and fails. Rows planted beside the log (an
event at a negative sequence number, a duplicate, state no logged event produced) fail
``log verify`` and are never served as logged nor block the real event. A database too corrupt to
read fails both verifiers with one line, never a traceback.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from api_support import serve
from batterytrace.anchoring.records import RECORDS_KEY
from batterytrace.anchoring.service import Anchoring
from batterytrace.demo.scenario import Scenario, build_scenario
from batterytrace.errors import SplitViewError, VerificationError
from batterytrace.keys import save_key
from batterytrace.ledger.audit import verify_log
from batterytrace.ledger.checkpoint import SplitViewEvidence, sign_checkpoint
from batterytrace.ledger.ledger import Ledger
from batterytrace.model.events import SignedEvent, sign_event
from batterytrace.storage.base import open_store
from batterytrace.storage.rows import node_key
from batterytrace.storage.sqlite import SQLiteStore
from batterytrace.timeutil import format_time, parse_time

SRC = str(Path(__file__).resolve().parents[2] / "src")
FIRST = 60  # events anchored first; the rest of the scenario is anchored second
#: the tables a DBA rolls back so that the truncated log is consistent in itself
STATE_TABLES = ("lots", "inputs", "participants", "sites", "attestations", "incidents", "ring_keys", "meta")
# the event index (queries, read policy): a careful administrator cuts its tail with the log's
INDEX_TABLES = ("event_index", "event_epcs", "event_parties")


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from batterytrace.cli import main; main()", *args],
        capture_output=True, text=True, timeout=300,
        env={"COLUMNS": "250", "PATH": "/usr/bin:/bin", "PYTHONPATH": SRC},
    )


def assert_fails_cleanly(out: subprocess.CompletedProcess[str], what: str, named: str) -> None:
    """Exit non-zero with one ``<what> FAILED: …`` line naming the problem, no traceback."""
    assert out.returncode != 0, out.stdout + out.stderr
    assert "Traceback" not in out.stdout + out.stderr
    failed = [line for line in out.stderr.splitlines() if f"{what} FAILED:" in line]
    assert len(failed) == 1 and named in failed[0], out.stderr


@dataclass
class Anchored:
    """A SQLite ledger anchored at FIRST events and at its full size, with the DBA's copy of the
    database taken right after the first anchor (a routine backup)."""

    db: str
    snapshot: str
    scenario: Scenario
    size: int


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return build_scenario(packs=2, legacy_packs=1)


def _anchored_ledger(db: str, scenario: Scenario, snapshot: str | None, **setup: Any) -> int:
    operator = scenario.actors["operator"].signing_key
    if not db.startswith("postgresql://"):
        save_key(operator, Path(db + ".operator.key"))
    ledger = Ledger(open_store(db), operator.did, scenario.ledger_id)
    assert not ledger.submit_batch(scenario.events[:FIRST], check_clock=False).rejected
    anchoring = Anchoring.setup(ledger, **setup)
    anchoring.anchor_latest(operator)
    if snapshot is not None:
        con = sqlite3.connect(db)
        con.execute("VACUUM INTO ?", (snapshot,))
        con.close()
    assert not ledger.submit_batch(scenario.events[FIRST:], check_clock=False).rejected
    anchoring.anchor_latest(operator)
    anchoring.verify()
    size = ledger.size()
    anchoring.close()
    ledger.close()
    return size


@pytest.fixture
def anchored(tmp_path: Path, scenario: Scenario) -> Anchored:
    db, snapshot = str(tmp_path / "ledger.db"), str(tmp_path / "backup.db")
    size = _anchored_ledger(db, scenario, snapshot)
    return Anchored(db, snapshot, scenario, size)


def _tail_node(keep: int, level_cast: str = "") -> str:
    # a node (level, index) covers leaves index·2^level … (index+1)·2^level − 1
    return f"(((id & {(1 << 56) - 1}) + 1) << (id >> 56){level_cast}) > {keep}"


def dba_truncate_sqlite(db: str, snapshot: str, keep: int) -> None:
    """Delete the tail of the log past ``keep`` events — events, Merkle nodes, tree heads — and
    roll every state table (anchor records included, in ``meta``) back to the backup."""
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("ATTACH ? AS old", (snapshot,))
    con.execute("BEGIN")
    con.execute("DELETE FROM events WHERE seq >= ?", (keep,))
    con.execute(f"DELETE FROM nodes WHERE {_tail_node(keep)}")
    con.execute("DELETE FROM tree_heads WHERE tree_size > ?", (keep,))
    for table in INDEX_TABLES:
        con.execute(f"DELETE FROM {table} WHERE seq >= ?", (keep,))
    for table in STATE_TABLES:
        con.execute(f"DELETE FROM {table}")
        con.execute(f"INSERT INTO {table} SELECT * FROM old.{table} ORDER BY rowid")
    con.execute("COMMIT")
    con.close()


def test_truncated_anchored_log_is_caught_by_anchor_verify(anchored: Anchored) -> None:
    dba_truncate_sqlite(anchored.db, anchored.snapshot, FIRST)
    # the shortened log is consistent in itself: every row accounted for, the first anchor intact
    assert verify_log(SQLiteStore(anchored.db)).events == FIRST
    out = cli("anchor", "verify", "--db", anchored.db)
    assert_fails_cleanly(out, "anchor verification", f"holds an anchor of tree size {anchored.size}")
    assert f"the log holds only {FIRST} events: the log was truncated" in out.stderr


def test_deleted_anchor_record_is_caught(anchored: Anchored) -> None:
    """The log is intact; only the record of the latest anchor is gone (hiding that the log was
    ever anchored at that size). The chain still knows it."""
    con = sqlite3.connect(anchored.db)
    (text,) = con.execute("SELECT value FROM meta WHERE key = ?", (RECORDS_KEY,)).fetchone()
    records = json.loads(text)
    con.execute("UPDATE meta SET value = ? WHERE key = ?", (json.dumps(records[:1]), RECORDS_KEY))
    con.commit()
    con.close()
    out = cli("anchor", "verify", "--db", anchored.db)
    assert_fails_cleanly(out, "anchor verification", f"anchor of tree size {anchored.size}")
    assert "anchor records lack" in out.stderr


def test_every_anchor_record_deleted_is_not_an_unanchored_ledger(anchored: Anchored) -> None:
    con = sqlite3.connect(anchored.db)
    con.execute("DELETE FROM meta WHERE key = ?", (RECORDS_KEY,))
    con.commit()
    con.close()
    out = cli("anchor", "verify", "--db", anchored.db)
    assert_fails_cleanly(out, "anchor verification", f"anchor of tree size {FIRST}")


def test_truncated_then_regrown_log_is_caught(anchored: Anchored) -> None:
    """After the truncation the ledger takes other events (the last one withheld, two new
    attestations instead) and grows past the anchored size: no anchored size is beyond the log
    any more, but the chain's root for that size is not the log's."""
    dba_truncate_sqlite(anchored.db, anchored.snapshot, FIRST)
    scenario = anchored.scenario
    template = next(ev for ev in scenario.events if ev.kind == "attest")
    key = next(a.signing_key for a in scenario.actors.values() if a.did == template.actor)
    later = format_time(parse_time(str(scenario.events[-1].body["time"])) + 3_600_000_000)
    extra = [sign_event({**template.body, "time": later, "nonce": f"regrown-{i}"}, key, ledger=scenario.ledger_id) for i in range(2)]
    ledger = Ledger(SQLiteStore(anchored.db))
    result = ledger.submit_batch([*scenario.events[FIRST:-1], *extra], check_clock=False)
    assert not result.rejected and ledger.size() == anchored.size + 1
    ledger.close()
    out = cli("anchor", "verify", "--db", anchored.db)
    assert_fails_cleanly(out, "anchor verification",
                         f"its first {anchored.size} events no longer hash to the root anchored on chain")


def test_split_view_against_the_chain_is_portable_evidence(anchored: Anchored) -> None:
    """The insider holding the operator key replaces the stored head of the latest anchored size
    with another root and drops that anchor's record: the chain's signed copy and the stored one
    form the evidence."""
    key = anchored.scenario.actors["operator"].signing_key
    forged = sign_checkpoint(key, anchored.size, b"\x42" * 32, 1_800_000_000_000_000, ledger=anchored.scenario.ledger_id)
    con = sqlite3.connect(anchored.db)
    con.execute("UPDATE tree_heads SET root = ?, timestamp = ?, signature = ?, note_signature = ? WHERE tree_size = ?",
                (forged.root_hash, forged.timestamp, forged.signature, forged.note_signature, anchored.size))
    (text,) = con.execute("SELECT value FROM meta WHERE key = ?", (RECORDS_KEY,)).fetchone()
    con.execute("UPDATE meta SET value = ? WHERE key = ?", (json.dumps(json.loads(text)[:1]), RECORDS_KEY))
    con.commit()
    con.close()
    anchoring = Anchoring.open(Ledger(SQLiteStore(anchored.db)))
    with pytest.raises(SplitViewError, match=f"signed two roots for tree size {anchored.size}") as caught:
        anchoring.verify()
    anchoring.close()
    assert caught.value.evidence is not None
    evidence = SplitViewEvidence.from_dict(json.loads(json.dumps(caught.value.evidence)))
    evidence.verify()  # checks on its own: two checkpoints signed by one operator
    assert forged in (evidence.first, evidence.second)


def test_pinned_registry_and_account(anchored: Anchored) -> None:
    """The stored configuration is the database's word: a verifier pins what it trusts."""
    anchoring = Anchoring.open(Ledger(SQLiteStore(anchored.db)))
    config = anchoring.config
    anchoring.verify(contract=config.contract, operator=config.operator)
    with pytest.raises(VerificationError, match="not the pinned"):
        anchoring.verify(contract="0x" + "12" * 20)
    with pytest.raises(VerificationError, match="not the pinned"):
        anchoring.verify(operator="0x" + "34" * 20)
    anchoring.close()
    out = cli("anchor", "verify", "--db", anchored.db, "--contract", "0x" + "12" * 20)
    assert_fails_cleanly(out, "anchor verification", "not the pinned")


@pytest.mark.postgres
def test_truncated_anchored_log_on_postgres(pg_url: str, tmp_path: Path, scenario: Scenario) -> None:
    import psycopg

    from batterytrace.storage.postgres import split_schema

    operator = scenario.actors["operator"].signing_key
    ledger = Ledger(open_store(pg_url), operator.did, scenario.ledger_id)
    assert not ledger.submit_batch(scenario.events[:FIRST], check_clock=False).rejected
    anchoring = Anchoring.setup(ledger, chain_state=str(tmp_path / "chain.sqlite"))
    anchoring.anchor_latest(operator)
    conninfo, schema = split_schema(pg_url)
    with psycopg.connect(conninfo, autocommit=True) as con:  # the DBA's backup of the state tables
        con.execute(f'SET search_path TO "{schema}"')
        for table in STATE_TABLES:
            con.execute(f"CREATE TABLE backup_{table} AS SELECT * FROM {table}")
    assert not ledger.submit_batch(scenario.events[FIRST:], check_clock=False).rejected
    anchoring.anchor_latest(operator)
    size = ledger.size()
    anchoring.close()
    ledger.close()
    with psycopg.connect(conninfo) as con:
        con.execute(f'SET search_path TO "{schema}"')
        con.execute("DELETE FROM events WHERE seq >= %s", (FIRST,))
        con.execute(f"DELETE FROM nodes WHERE {_tail_node(FIRST, '::int')}")
        con.execute("DELETE FROM tree_heads WHERE tree_size > %s", (FIRST,))
        for table in INDEX_TABLES:
            con.execute(f"DELETE FROM {table} WHERE seq >= %s", (FIRST,))
        for table in STATE_TABLES:
            con.execute(f"DELETE FROM {table}")
            con.execute(f"INSERT INTO {table} SELECT * FROM backup_{table}")
    store = open_store(pg_url, create=False)
    assert verify_log(store).events == FIRST
    anchoring = Anchoring.open(Ledger(store))
    with pytest.raises(VerificationError, match=f"anchor of tree size {size} .* the log holds only {FIRST} events"):
        anchoring.verify()
    anchoring.close()
    store.close()


# --------------------------------------------------------------------- rows beside the log
def _plant_event(db: str, seq: int, ev: SignedEvent) -> None:
    """Insert ``ev`` as an event row at ``seq`` by hand (copying a real row's shape, so any
    column the store adds is filled)."""
    con = sqlite3.connect(db)
    con.execute("CREATE TEMP TABLE planted AS SELECT * FROM events WHERE seq = 0")
    con.execute("UPDATE planted SET seq = ?, hash = ?, body = ?, signature = ?, kind = ?, actor = ?",
                (seq, ev.event_hash, ev.canonical, ev.signature, ev.kind, ev.actor))
    con.execute("INSERT INTO events SELECT * FROM planted")
    con.commit()
    con.close()


@pytest.fixture
def plain_db(tmp_path: Path, scenario: Scenario) -> Iterator[str]:
    db = str(tmp_path / "ledger.db")
    operator = scenario.actors["operator"].signing_key
    ledger = Ledger(SQLiteStore(db), operator.did, scenario.ledger_id)
    for part in (scenario.events[: FIRST // 2], scenario.events[FIRST // 2 : FIRST]):
        assert not ledger.submit_batch(part, check_clock=False).rejected
        ledger.sign_tree_head(operator)
    ledger.close()
    yield db


def test_negative_seq_row_fails_log_verify(plain_db: str, scenario: Scenario) -> None:
    _plant_event(plain_db, -1, scenario.events[FIRST])
    out = cli("log", "verify", "--db", plain_db)
    assert_fails_cleanly(out, "log verification", "event row at sequence number -1 lies outside the log")


def test_planted_row_is_neither_served_nor_blocks_the_real_event(tmp_path: Path, scenario: Scenario) -> None:
    """Through the HTTP API: the planted copy of an event not yet submitted is not served as
    logged, and the real event is accepted at the log's next position and then served."""
    db = str(tmp_path / "ledger.db")
    store = SQLiteStore(db)
    s = serve(scenario, tmp_path, chain=False, store=store)
    assert not s.ledger.submit_batch(scenario.events[:FIRST], check_clock=False).rejected
    real = scenario.events[FIRST]
    _plant_event(db, -5, real)
    auth = {"authorization": f"Bearer {s.token('authorities')}"}  # event bodies need a token
    try:
        assert s.client.get(f"/ledger/events/{real.hash_hex}", headers=auth).status_code == 404
        assert s.client.get("/ledger/proofs/inclusion", params={"event_hash": real.hash_hex}).status_code == 404
        r = s.client.post("/events", json=real.to_wire())
        assert r.status_code == 201, r.text
        assert r.json()["seq"] == FIRST
        served = s.client.get(f"/ledger/events/{real.hash_hex}", headers=auth)
        assert served.status_code == 200
        assert s.ledger.event_by_hash(real.hash_hex) == (FIRST, real)
        assert s.client.post("/events", json=real.to_wire()).status_code == 422  # now a replay
        assert verify_log(store).events == FIRST + 1  # the planted row gave way to the real one
    finally:
        s.client.close()
        store.close()


@pytest.mark.postgres
def test_planted_row_on_postgres(pg_url: str, scenario: Scenario) -> None:
    import psycopg

    from batterytrace.storage.postgres import split_schema

    store = open_store(pg_url)
    ledger = Ledger(store, scenario.actors["operator"].did, scenario.ledger_id)
    assert not ledger.submit_batch(scenario.events[:FIRST], check_clock=False).rejected
    real = scenario.events[FIRST]
    conninfo, schema = split_schema(pg_url)
    with psycopg.connect(conninfo) as con:
        con.execute(f'SET search_path TO "{schema}"')
        con.execute("CREATE TEMP TABLE planted AS SELECT * FROM events WHERE seq = 0")
        con.execute("UPDATE planted SET seq = -1, hash = %s, body = %s, signature = %s",
                    (real.event_hash, real.canonical, real.signature))
        con.execute("INSERT INTO events SELECT * FROM planted")
    with pytest.raises(VerificationError, match="sequence number -1 lies outside the log"):
        verify_log(store)
    assert store.known_hashes([real.event_hash]) == set() and store.event_seq(real.event_hash) is None
    result = ledger.submit_batch([real], check_clock=False)  # the demo's history, imported
    assert [a.seq for a in result.accepted] == [FIRST]
    assert verify_log(store).events == FIRST + 1
    store.close()


def test_planted_confidential_event_neither_hides_nor_blocks(tmp_path: Path) -> None:
    """Confidential mode: the planted copy of a proved extraction not yet submitted fails
    ``log verify``, is not found by hash, and the real event is accepted where the log ends."""
    from conf_support import ConfChain

    db = str(tmp_path / "conf.db")
    chain = ConfChain(SQLiteStore(db))
    chain.conf_at_refinery()
    proved = chain.conf_extract_event("tujenge", origin="uncertified")
    size = chain.ledger.size()
    _plant_event(db, -1, proved.event)
    with pytest.raises(VerificationError, match="sequence number -1 lies outside the log"):
        verify_log(chain.ledger.store)
    assert chain.ledger.event_by_hash(proved.event.hash_hex) is None
    assert chain.ledger.submit(proved.event).seq == size
    assert verify_log(chain.ledger.store).events == size + 1
    chain.ledger.close()


def test_duplicate_seq_fails_log_verify(plain_db: str) -> None:
    """The DBA rebuilds the events table without its keys and duplicates a row."""
    con = sqlite3.connect(plain_db, isolation_level=None)
    con.execute("BEGIN")
    con.execute("ALTER TABLE events RENAME TO events_old")
    con.execute("CREATE TABLE events AS SELECT * FROM events_old")
    con.execute("DROP TABLE events_old")
    con.execute("INSERT INTO events SELECT * FROM events WHERE seq = 7")
    con.execute("COMMIT")
    con.close()
    out = cli("log", "verify", "--db", plain_db)
    assert out.returncode != 0 and "Traceback" not in out.stderr
    with pytest.raises(VerificationError):
        verify_log(SQLiteStore(plain_db))


def _copy_row(con: sqlite3.Connection, table: str, key: str, change: dict[str, Any]) -> None:
    (text,) = con.execute(f"SELECT data FROM {table} LIMIT 1").fetchone()
    data = {**json.loads(text), **change}
    cols = [r[1] for r in con.execute(f"PRAGMA table_info({table})")]
    row = con.execute(f"SELECT * FROM {table} LIMIT 1").fetchone()
    values = dict(zip(cols, row, strict=True))
    values.update({key: change[next(iter(change))], "data": json.dumps(data)})
    if "subject" in values and "subject" in change:
        values["subject"] = change["subject"]
    con.execute(f"INSERT INTO {table}({','.join(values)}) VALUES ({','.join('?' * len(values))})",
                list(values.values()))


ORPHANS: dict[str, tuple[str, str]] = {
    # name: (SQL or a marker for _copy_row, the words log verify names it with)
    "participant": ("copy:participants:did:did", "participant did:key:zFORGED"),
    "site": ("copy:sites:site_id:site_id", "site mine:forged"),
    "attestation": ("copy:attestations:id:attestation_id", "attestation forged-attestation"),
    "incident": ("copy:incidents:id:incident_id", "incident forged-incident"),
    "lot": ("copy:lots:lot_id:lot_id", "lot"),
    "input": ("INSERT INTO inputs(event, lot_id) SELECT event, lot_id FROM inputs LIMIT 1", "lineage"),
    "tree head copy": ("INSERT INTO tree_heads SELECT * FROM tree_heads ORDER BY rowid DESC LIMIT 1", "stored twice"),
    "older tree head moved last": (
        "INSERT INTO tree_heads SELECT * FROM tree_heads ORDER BY rowid LIMIT 1; "
        "DELETE FROM tree_heads WHERE rowid = (SELECT MIN(rowid) FROM tree_heads)", "tree heads were reordered"),
    "meta": ("INSERT INTO meta(key, value) VALUES ('operator_backup', 'did:key:z6Mk')", "meta row 'operator_backup'"),
    "merkle node": (f"INSERT INTO nodes(id, hash) VALUES ({node_key(0, 4096)}, zeroblob(32))", "Merkle nodes"),
    "anchor record": (
        "INSERT INTO meta(key, value) VALUES ('anchor/records', json_array(json_object('tree_size', 30, "
        "'root_hash', hex(zeroblob(32)))))", "anchor record of tree size 30 names no stored signed tree head"),
}
FORGED = {"did": "did:key:zFORGED", "site_id": "mine:forged", "attestation_id": "forged-attestation",
          "incident_id": "forged-incident", "lot_id": "ff" * 32 + ":0"}


@pytest.mark.parametrize("orphan", sorted(ORPHANS))
def test_state_row_no_event_produced_fails_log_verify(plain_db: str, orphan: str) -> None:
    sql, named = ORPHANS[orphan]
    con = sqlite3.connect(plain_db)
    if sql.startswith("copy:"):
        _, table, column, field = sql.split(":")
        _copy_row(con, table, column, {field: FORGED[field]})
    else:
        con.executescript(sql)
    con.commit()
    con.close()
    with pytest.raises(VerificationError, match=named):
        verify_log(SQLiteStore(plain_db))
    out = cli("log", "verify", "--db", plain_db)
    assert_fails_cleanly(out, "log verification", named.split(" ")[0])


# ------------------------------------------------------------------ corrupt and truncated files
def _truncate_file(path: str, keep: float) -> None:
    with open(path, "r+b") as fh:
        fh.truncate(int(os.path.getsize(path) * keep))


def _scribble(path: str, at: float) -> None:
    with open(path, "r+b") as fh:
        fh.seek(int(os.path.getsize(path) * at))
        fh.write(b"\xff" * 16384)


@pytest.mark.parametrize(
    "damage",
    [
        lambda db: _truncate_file(db, 0.5),
        lambda db: _truncate_file(db, 0.97),
        lambda db: _scribble(db, 0.3),
        lambda db: _scribble(db, 0.0),
        lambda db: Path(db).write_bytes(b"not a database" * 400),
    ],
    ids=["half", "tail", "pages", "header", "garbage"],
)
def test_corrupt_database_fails_in_one_line(anchored: Anchored, damage: Any, request: pytest.FixtureRequest) -> None:
    """``log verify`` reads every page; ``anchor verify`` reads only what anchoring needs, so a
    scribbled page of lots may pass it — but whenever either fails, it fails in one line."""
    damage(anchored.db)
    for command, what in (("log", "log verification"), ("anchor", "anchor verification")):
        out = cli(command, "verify", "--db", anchored.db)
        if command == "anchor" and "pages" in request.node.name and out.returncode == 0:
            continue
        assert out.returncode != 0, out.stdout
        assert "Traceback" not in out.stdout + out.stderr, out.stderr
        assert [line for line in out.stderr.splitlines() if line.strip()] == [
            line for line in out.stderr.splitlines() if f"{what} FAILED:" in line
        ], out.stderr
        assert f"{what} FAILED:" in out.stderr


def test_corrupt_chain_journal_fails_in_one_line(anchored: Anchored) -> None:
    _scribble(anchored.db + ".chain.sqlite", 0.5)
    out = cli("anchor", "verify", "--db", anchored.db)
    assert out.returncode != 0 and "Traceback" not in out.stderr
    assert "anchor verification FAILED:" in out.stderr


@pytest.mark.parametrize(("table", "key"), [("participants", "did"), ("sites", "site_id"), ("attestations", "id")])
def test_swapped_key_columns_fail_log_verify(tmp_path: Path, table: str, key: str) -> None:
    """A database administrator swaps the key column of two rows (records untouched): the ledger
    would then judge one auditor, site or attestation by another's record (the GBA index assessor
    looked up as the RMAP auditor). ``log verify`` looks every record up by its own key."""
    from support import Chain

    db = str(tmp_path / "ledger.db")
    c = Chain(SQLiteStore(db))
    c.ledger.close()
    verify_log(SQLiteStore(db))
    con = sqlite3.connect(db)
    a, b = (row[0] for row in con.execute(f"SELECT {key} FROM {table} ORDER BY {key} LIMIT 2"))
    with con:
        con.execute(f"UPDATE {table} SET {key} = 'swap' WHERE {key} = ?", (a,))
        con.execute(f"UPDATE {table} SET {key} = ? WHERE {key} = ?", (a, b))
        con.execute(f"UPDATE {table} SET {key} = ? WHERE {key} = 'swap'", (b,))
    con.close()
    with pytest.raises(VerificationError, match=r"does not hold that .* record"):
        verify_log(SQLiteStore(db))
    out = cli("log", "verify", "--db", db)
    assert_fails_cleanly(out, "log verification", "a key column differs from the log")
