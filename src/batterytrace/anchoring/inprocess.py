"""The embedded EVM chain (eth-tester over py-evm), persisted as a replayable block journal.

py-evm keeps its state in memory, so the chain is made durable by journaling every mined block —
its number, timestamp, hash and signed raw transactions — into a small SQLite file beside the
ledger (``<db>.chain.sqlite``). Opening the chain replays the journal into a fresh chain from the
same genesis: block timestamps are restored before the transactions are applied and ``prevrandao``
is derived from the parent hash, so every block replays to the hash recorded for it (checked; a
journal that does not replay is refused). A later process therefore sees every earlier anchor at
the same block numbers, transaction hashes and log indices. See docs/adr/0005-anchoring.md.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from batterytrace.anchoring._libs import quiet_chain_imports
from batterytrace.errors import StorageError

__all__ = ["GENESIS_TIMESTAMP", "InProcessChain", "chain_path_for"]

GENESIS_TIMESTAMP = 1_700_000_000  # fixed so that every replay builds the same genesis block
_FORMAT = "batterytrace-chain-journal/1"
_ZERO_ADDRESS = b"\0" * 20


def chain_path_for(db_url: str) -> str | None:
    """Where the in-process chain of a SQLite ledger lives (None for the in-memory store)."""
    if db_url == ":memory:":
        return None
    return db_url.removeprefix("sqlite:///").removeprefix("sqlite://") + ".chain.sqlite"


def _backend_class() -> type[Any]:
    quiet_chain_imports("web3", "eth", "eth_tester")
    from eth_tester import PyEVMBackend
    from eth_utils.crypto import keccak

    class JournaledBackend(PyEVMBackend):  # type: ignore[misc]
        """Deterministic mining (timestamps under our control, prevrandao from the parent hash)
        and a hook that hands every mined block to the journal."""

        journal: InProcessChain | None = None
        replay_timestamp: int | None = None

        def _fresh_timestamp(self) -> None:
            parent = self.chain.get_canonical_head()
            if self.replay_timestamp is not None:
                ts = self.replay_timestamp
            else:
                ts = max(int(time.time()), parent.timestamp + 1)
            self.chain.header = self.chain.header.copy(timestamp=ts)

        def send_raw_transaction(self, raw_transaction: bytes) -> Any:
            if not self.chain.get_block().transactions:
                self._fresh_timestamp()
            return super().send_raw_transaction(raw_transaction)

        def mine_blocks(self, num_blocks: int = 1, coinbase: bytes = _ZERO_ADDRESS) -> tuple[bytes, ...]:
            hashes = []
            for _ in range(num_blocks):
                if not self.chain.get_block().transactions:
                    self._fresh_timestamp()
                pending = self.chain.get_block()
                raw = [tx.encode() if hasattr(tx, "encode") else _rlp(tx) for tx in pending.transactions]
                parent = self.chain.get_canonical_head()
                block = self.chain.mine_block(coinbase=coinbase, mix_hash=keccak(b"batterytrace/prevrandao" + parent.hash))
                if self.journal is not None:
                    self.journal._record(block.number, block.header.timestamp, block.hash, raw)
                hashes.append(block.hash)
            return tuple(hashes)

    return JournaledBackend


def _rlp(tx: Any) -> bytes:
    import rlp

    return bytes(rlp.encode(tx))


class InProcessChain:
    """An eth-tester chain with a Web3 in front of it; durable when ``path`` is given."""

    def __init__(self, path: str | None = None) -> None:
        quiet_chain_imports("web3", "eth", "eth_tester")
        from eth_tester import EthereumTester
        from eth_tester.backends.pyevm.main import get_default_genesis_params
        from web3 import EthereumTesterProvider, Web3

        self.path = path
        self._db: sqlite3.Connection | None = None
        backend = _backend_class()(
            genesis_parameters=get_default_genesis_params({"timestamp": GENESIS_TIMESTAMP})
        )
        self.backend = backend
        self.tester = EthereumTester(backend)
        self.w3 = Web3(EthereumTesterProvider(self.tester))
        if path is not None:
            self._open_journal(path)
            self.sync()
        backend.journal = self

    # ----------------------------------------------------------------------------- accounts
    def funded_keys(self) -> list[bytes]:
        """Private keys of the genesis accounts (eth-tester's well-known test keys)."""
        return [k.to_bytes() for k in self.backend.account_keys]

    # ------------------------------------------------------------------------------ journal
    def _open_journal(self, path: str) -> None:
        try:
            db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA busy_timeout=30000")
            db.execute("CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            db.execute(
                "CREATE TABLE IF NOT EXISTS blocks(number INTEGER PRIMARY KEY, timestamp INTEGER NOT NULL, "
                "hash BLOB NOT NULL, txs TEXT NOT NULL)"
            )
            db.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('format', ?)", (_FORMAT,))
            fmt = db.execute("SELECT value FROM meta WHERE key='format'").fetchone()[0]
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open the chain journal {path!r}: {exc}") from exc
        if fmt != _FORMAT:
            raise StorageError(f"{path!r} is not a batterytrace chain journal ({fmt!r})")
        self._db = db

    def _blocks_after(self, number: int) -> Iterator[tuple[int, int, bytes, list[str]]]:
        assert self._db is not None
        rows = self._db.execute(
            "SELECT number, timestamp, hash, txs FROM blocks WHERE number > ? ORDER BY number", (number,)
        ).fetchall()
        for n, ts, h, txs in rows:
            yield int(n), int(ts), bytes(h), list(json.loads(txs))

    def sync(self) -> None:
        """Replay journaled blocks this chain has not seen yet (written by another process)."""
        if self._db is None:
            return
        backend = self.backend
        saved, backend.journal = backend.journal, None
        try:
            head = backend.chain.get_canonical_head().block_number
            for number, ts, recorded, txs in self._blocks_after(head):
                if number != backend.chain.get_canonical_head().block_number + 1:
                    raise StorageError(f"the chain journal {self.path!r} skips to block {number}")
                backend.replay_timestamp = ts
                try:
                    backend._fresh_timestamp()
                    for raw in txs:
                        backend.send_raw_transaction(bytes.fromhex(raw))
                    (mined,) = backend.mine_blocks()
                except StorageError:
                    raise
                except Exception as exc:
                    raise StorageError(
                        f"the chain journal {self.path!r} does not replay at block {number}: {exc}"
                    ) from exc
                finally:
                    backend.replay_timestamp = None
                if mined != recorded:
                    raise StorageError(
                        f"the chain journal {self.path!r} is corrupt: block {number} replays to "
                        f"0x{mined.hex()}, recorded 0x{recorded.hex()}"
                    )
        finally:
            backend.journal = saved

    def _record(self, number: int, timestamp: int, block_hash: bytes, raw_txs: list[bytes]) -> None:
        if self._db is None:
            return
        with self._transaction() as db:
            last = db.execute("SELECT COALESCE(MAX(number), 0) FROM blocks").fetchone()[0]
            if last != number - 1:
                raise StorageError(
                    f"another process extended the chain journal {self.path!r} (it holds block {last}, "
                    f"this process mined block {number}); reopen the chain"
                )
            db.execute(
                "INSERT INTO blocks(number, timestamp, hash, txs) VALUES (?,?,?,?)",
                (number, timestamp, block_hash, json.dumps([r.hex() for r in raw_txs])),
            )

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        assert self._db is not None
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StorageError(f"cannot write the chain journal {self.path!r}: {exc}") from exc
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        else:
            self._db.execute("COMMIT")

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        self.backend.journal = None

    @staticmethod
    def remove(path: str) -> None:
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.unlink(path + suffix)
