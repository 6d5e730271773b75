"""End to end on the in-process chain: event → inclusion proof → signed checkpoint → on-chain
record, each link verified; tampering with the log, the stored checkpoint or the chain record is
caught and named; split views become portable evidence."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from anchoring_support import World
from batterytrace.anchoring.contract import checkpoint_hash
from batterytrace.anchoring.records import RECORDS_KEY, AnchorRecord, load_records
from batterytrace.anchoring.service import Anchoring
from batterytrace.anchoring.verify import verify_anchor
from batterytrace.crypto.merkle import CompactTree, leaf_hash, verify_inclusion
from batterytrace.errors import ConfigError, SplitViewError, VerificationError
from batterytrace.ledger.checkpoint import Checkpoint, SplitViewEvidence, sign_checkpoint
from batterytrace.ledger.ledger import Ledger
from batterytrace.model.events import SignedEvent
from batterytrace.storage.base import WriteBatch
from batterytrace.storage.rows import node_key
from batterytrace.storage.sqlite import SQLiteStore

SRC = str(Path(__file__).resolve().parents[2] / "src")


def anchored_twice(world: World) -> Anchoring:
    anchoring = Anchoring.setup(world.ledger)
    anchoring.anchor_latest(world.operator_key)
    world.submit_rest()
    anchoring.anchor_latest(world.operator_key)
    return anchoring


def test_event_to_chain_every_link(world: World) -> None:
    anchoring = anchored_twice(world)
    anchoring.verify()
    ledger = world.ledger
    first, second = anchoring.records()
    assert (first.tree_size, second.tree_size) == (60, ledger.size())
    # one event, proved into the anchored checkpoint, which is proved on chain
    seq, event = ledger.event_by_hash(ledger.store.get_event(42).event_hash.hex())  # type: ignore[misc]
    cp = next(c for c in ledger.checkpoints() if c.tree_size == second.tree_size)
    cp.verify(ledger.operator_did)
    verify_inclusion(leaf_hash(event.leaf_data(ledger.ingestion_time(seq))), seq, cp.tree_size, ledger.inclusion_proof(seq, cp.tree_size), cp.root_hash)
    verify_anchor(anchoring.client, second, cp)
    assert second.chain_id == anchoring.client.chain_id() and second.contract == anchoring.config.contract
    anchoring.close()


def test_a_later_process_sees_and_verifies_every_anchor(world: World) -> None:
    anchored_twice(world).close()
    world.ledger.close()
    again = Anchoring.open(Ledger(SQLiteStore(world.db)))
    again.verify()
    assert [r.tree_size for r in again.records()] == [60, 123]
    again.close()
    out = subprocess.run(
        [sys.executable, "-c", "from batterytrace.cli import main; main()", "anchor", "verify", "--db", world.db],
        capture_output=True, text=True, env={"PYTHONPATH": SRC, "COLUMNS": "200"}, timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "anchors verified: 2 checkpoints" in out.stdout


def test_anchor_latest_is_idempotent(world: World) -> None:
    anchoring = Anchoring.setup(world.ledger)
    a = anchoring.anchor_latest(world.operator_key)
    assert anchoring.anchor_latest(world.operator_key) == a
    assert len(anchoring.records()) == 1
    with pytest.raises(ConfigError, match="already set up"):
        Anchoring.setup(world.ledger)
    anchoring.close()


def _replace_record(world: World, **changes: object) -> None:
    records = load_records(world.ledger.store)
    records[-1] = dataclasses.replace(records[-1], **changes)  # type: ignore[arg-type]
    with world.ledger.store.write_lock():
        world.ledger.store.apply(WriteBatch(meta={RECORDS_KEY: json.dumps([r.to_dict() for r in records])}))


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"tx_hash": "0x" + "ab" * 32}, "is not on chain"),
        ({"tx_hash": "nonsense"}, "anchor transaction"),
        ({"block_number": 2}, "the record says block 2"),
        ({"block_hash": "0x" + "cd" * 32}, "the record says block"),
        ({"log_index": 3}, "no registry event at log index 3"),
        ({"chain_id": 1}, "anchor is on chain 1"),
        ({"contract": "0x" + "12" * 20}, "names contract"),
        ({"operator": "0x" + "34" * 20}, "anchor event was sent by"),
        ({"checkpoint_hash": "ef" * 32}, "names another checkpoint hash"),
        ({"root_hash": "00" * 32}, "stored checkpoint of size 123 has root"),
    ],
)
def test_tampered_chain_record_is_named(world: World, changes: dict[str, object], named: str) -> None:
    anchoring = anchored_twice(world)
    _replace_record(world, **changes)
    with pytest.raises(VerificationError, match=named):
        anchoring.verify()
    anchoring.close()


def test_record_of_another_checkpoint_is_refused(world: World) -> None:
    anchoring = anchored_twice(world)
    first, second = anchoring.records()
    cp = next(c for c in world.ledger.checkpoints() if c.tree_size == second.tree_size)
    with pytest.raises(VerificationError, match="does not match the checkpoint"):
        verify_anchor(anchoring.client, first, cp)
    anchoring.close()


def test_record_pointing_at_another_anchor_tx_is_caught(world: World) -> None:
    anchoring = anchored_twice(world)
    first, _second = anchoring.records()
    _replace_record(world, tx_hash=first.tx_hash, block_number=first.block_number, block_hash=first.block_hash)
    with pytest.raises(VerificationError, match="not the checkpoint of size 123"):
        anchoring.verify()
    anchoring.close()


def test_tampered_stored_checkpoint_is_caught(world: World) -> None:
    anchoring = anchored_twice(world)
    db = sqlite3.connect(world.db)
    db.execute("UPDATE tree_heads SET root = ? WHERE tree_size = 60", (b"\x01" * 32,))
    db.commit()
    db.close()
    with pytest.raises(VerificationError, match="checkpoint signature does not verify"):
        anchoring.verify()
    anchoring.close()


def test_re_signed_checkpoint_differing_from_chain_is_caught(world: World) -> None:
    """The operator key re-signs a different head for an anchored size and the stored head is
    swapped for it: the stored and anchored roots differ."""
    anchoring = anchored_twice(world)
    forged = sign_checkpoint(world.operator_key, 60, b"\x02" * 32, 5, ledger=world.ledger.ledger_id)
    db = sqlite3.connect(world.db)
    # swapped in both forms, as the operator key signs them (a stale note signature is refused first)
    db.execute("UPDATE tree_heads SET root = ?, timestamp = ?, signature = ?, note_signature = ? WHERE tree_size = 60",
               (forged.root_hash, forged.timestamp, forged.signature, forged.note_signature))
    db.commit()
    db.close()
    with pytest.raises(VerificationError, match="stored checkpoint of size 60 has root 0202"):
        anchoring.verify()
    anchoring.close()


def test_rewritten_history_fails_consistency(world: World) -> None:
    """The operator anchors the log, then rewrites an early leaf (recomputing every Merkle node),
    grows the log, signs and anchors the new head — the chain accepts, the size grew. The
    consistency proof between the two anchored checkpoints fails."""
    anchoring = Anchoring.setup(world.ledger)
    anchoring.anchor_latest(world.operator_key)
    world.submit_rest()
    store = world.ledger.store
    leaves = [leaf_hash(SignedEvent.from_stored(e.canonical, e.signature).leaf_data(e.ingested_at)) for e in store.iter_events()]
    leaves[10] = leaf_hash(b"a rewritten event")
    tree, nodes = CompactTree(), []
    for leaf in leaves:
        nodes.extend(tree.append(leaf))
    db = sqlite3.connect(world.db)
    db.execute("DELETE FROM nodes")
    db.executemany("INSERT INTO nodes(id, hash) VALUES (?,?)", [(node_key(lv, ix), h) for lv, ix, h in nodes])
    db.commit()
    db.close()
    world.ledger._tree = None
    anchoring.anchor_latest(world.operator_key)  # signs and anchors the rewritten head
    with pytest.raises(VerificationError, match="anchored checkpoints 60 → 123 are not consistent"):
        anchoring.verify()
    anchoring.close()


def test_split_view_in_stored_heads_is_portable_evidence(world: World) -> None:
    anchoring = anchored_twice(world)
    other = sign_checkpoint(world.operator_key, 60, b"\x07" * 32, 9, ledger=world.ledger.ledger_id)
    with world.ledger.store.write_lock():
        from batterytrace.storage.base import TreeHeadRecord

        world.ledger.store.apply(WriteBatch(tree_heads=[TreeHeadRecord(60, other.root_hash, other.timestamp, other.signature, other.log_id)]))
    with pytest.raises(SplitViewError, match="signed two roots for tree size 60") as caught:
        anchoring.verify()
    evidence = SplitViewEvidence.from_dict(caught.value.evidence)
    evidence.verify()  # portable: checks on its own, with nothing but the two checkpoints
    assert {evidence.first.root_hash, evidence.second.root_hash} >= {other.root_hash}
    anchoring.close()


def test_split_view_against_the_chain(world: World) -> None:
    """A checkpoint shown to someone (say, in a passport) that differs from the one on chain for
    the same size: the chain's signed copy and the shown one form the evidence."""
    anchoring = anchored_twice(world)
    record = anchoring.records()[0]
    shown = sign_checkpoint(world.operator_key, 60, b"\x09" * 32, 77, ledger=world.ledger.ledger_id)
    forged_record = dataclasses.replace(record, root_hash=shown.root_hash.hex(),
                                        checkpoint_hash=checkpoint_hash(shown).hex())
    with pytest.raises(SplitViewError, match="split view") as caught:
        verify_anchor(anchoring.client, forged_record, shown)
    evidence = SplitViewEvidence.from_dict(caught.value.evidence)
    evidence.verify()
    assert shown in (evidence.first, evidence.second)
    anchoring.close()


def test_verify_without_anchors_and_unsetup_ledger(world: World) -> None:
    with pytest.raises(ConfigError, match="not set up for anchoring"):
        Anchoring.open(world.ledger)
    anchoring = Anchoring.setup(world.ledger)
    with pytest.raises(VerificationError, match="no checkpoint of this ledger is anchored"):
        anchoring.verify()
    anchoring.close()


def test_malformed_record_is_refused() -> None:
    from batterytrace.errors import EncodingError

    with pytest.raises(EncodingError):
        AnchorRecord.from_dict({"tree_size": 1})
    with pytest.raises(EncodingError):
        Checkpoint.from_dict({"tree_size": "x"})


def test_log_rewritten_after_anchoring_is_caught(world: World) -> None:
    anchoring = Anchoring.setup(world.ledger)
    anchoring.anchor_latest(world.operator_key)
    db = sqlite3.connect(world.db)  # the subtree of leaves 0..31 now hashes to something else
    db.execute("UPDATE nodes SET hash = ? WHERE id = ?", (b"\x05" * 32, node_key(5, 0)))
    db.commit()
    db.close()
    with pytest.raises(VerificationError, match="the log was rewritten: its first 60 events"):
        anchoring.verify()
    anchoring.close()
