"""The in-process chain persists as a block journal: another open (and another process) sees
every earlier anchor at the same coordinates; a journal that does not replay is refused."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from anchoring_support import random_checkpoint
from batterytrace.anchoring.client import AnchorClient
from batterytrace.anchoring.inprocess import InProcessChain, chain_path_for
from batterytrace.anchoring.verify import verify_anchor
from batterytrace.crypto.signing import SigningKey
from batterytrace.errors import StorageError

KEY = SigningKey.generate()
SRC = str(Path(__file__).resolve().parents[2] / "src")


def _deploy(path: str) -> tuple[str, list[bytes]]:
    chain = InProcessChain(path)
    keys = chain.funded_keys()
    owner = AnchorClient(chain.w3, keys[0], None, before_send=chain.sync)
    address = owner.deploy()
    owner.register_operator(AnchorClient(chain.w3, keys[1], address).account.address)  # type: ignore[union-attr]
    chain.close()
    return address, keys


def test_chain_path_beside_the_ledger() -> None:
    assert chain_path_for("/x/ledger.db") == "/x/ledger.db.chain.sqlite"
    assert chain_path_for("sqlite:///x/l.db") == "x/l.db.chain.sqlite"  # as open_store reads it
    assert chain_path_for(":memory:") is None


def test_second_open_and_subprocess_see_earlier_anchors(tmp_path: Path) -> None:
    path = str(tmp_path / "l.db.chain.sqlite")
    address, keys = _deploy(path)
    chain = InProcessChain(path)
    op = AnchorClient(chain.w3, keys[1], address, before_send=chain.sync)
    cps = [random_checkpoint(KEY, n) for n in (4, 9, 17)]
    records = [op.anchor(cp) for cp in cps]
    chain.close()

    reopened = InProcessChain(path)
    reader = AnchorClient(reopened.w3, None, address)
    for cp, record in zip(cps, records, strict=True):
        verify_anchor(reader, record, cp)
        assert reader.find(cp, record.operator) == record
    reopened.close()

    script = (
        "import json,sys\n"
        "from batterytrace.anchoring.inprocess import InProcessChain\n"
        "from batterytrace.anchoring.client import AnchorClient\n"
        "c = InProcessChain(sys.argv[1]); a = AnchorClient(c.w3, None, sys.argv[2])\n"
        "print(json.dumps([a.latest_size(sys.argv[3]), c.w3.eth.block_number]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, path, address, records[0].operator],
        capture_output=True, text=True, check=True, env={"PYTHONPATH": SRC}, timeout=120,
    )
    assert json.loads(out.stdout) == [17, records[-1].block_number]


def test_two_writers_take_turns(tmp_path: Path) -> None:
    path = str(tmp_path / "c.sqlite")
    address, keys = _deploy(path)
    a, b = InProcessChain(path), InProcessChain(path)
    op_a = AnchorClient(a.w3, keys[1], address, before_send=a.sync)
    op_b = AnchorClient(b.w3, keys[1], address, before_send=b.sync)
    op_a.anchor(random_checkpoint(KEY, 1))
    op_b.anchor(random_checkpoint(KEY, 2))  # b catches up with a's block before sending
    op_a.anchor(random_checkpoint(KEY, 3))
    a.close()
    b.close()
    c = InProcessChain(path)
    assert AnchorClient(c.w3, None, address).latest_size(op_a.account.address) == 3  # type: ignore[union-attr]
    c.close()


def test_writer_that_missed_a_block_is_refused(tmp_path: Path) -> None:
    path = str(tmp_path / "c.sqlite")
    address, keys = _deploy(path)
    a, b = InProcessChain(path), InProcessChain(path)
    AnchorClient(a.w3, keys[1], address, before_send=a.sync).anchor(random_checkpoint(KEY, 1))
    stale = AnchorClient(b.w3, keys[0], address)  # no sync hook: mines on an outdated head
    with pytest.raises(StorageError, match="another process extended the chain journal"):
        stale.register_operator("0x" + "44" * 20)
    a.close()
    b.close()


@pytest.mark.parametrize("column", ["hash", "txs", "timestamp"])
def test_tampered_journal_is_refused(tmp_path: Path, column: str) -> None:
    path = str(tmp_path / "c.sqlite")
    _deploy(path)
    db = sqlite3.connect(path)
    if column == "hash":
        db.execute("UPDATE blocks SET hash = ? WHERE number = 2", (b"\x11" * 32,))
    elif column == "timestamp":
        db.execute("UPDATE blocks SET timestamp = timestamp + 5 WHERE number = 2")
    else:
        (txs,) = db.execute("SELECT txs FROM blocks WHERE number = 2").fetchone()
        raw = json.loads(txs)[0]
        db.execute("UPDATE blocks SET txs = ? WHERE number = 2", (json.dumps([raw[:-2] + "00"]),))
    db.commit()
    db.close()
    with pytest.raises(StorageError, match="block 2"):
        InProcessChain(path)


def test_not_a_journal_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute("INSERT INTO meta VALUES ('format', 'something else')")
    db.commit()
    db.close()
    with pytest.raises(StorageError, match="not a batterytrace chain journal"):
        InProcessChain(str(path))
