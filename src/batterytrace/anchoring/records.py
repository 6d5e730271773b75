"""Anchor records and the anchoring configuration, kept in the ledger store's meta table.

Using ``meta`` needs no new table, so the memory, SQLite and PostgreSQL stores hold anchors
unchanged: ``anchor/config`` is the chain the ledger anchors on, ``anchor/records`` the JSON list
of every anchored checkpoint in tree-size order.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from batterytrace.errors import EncodingError, StorageError
from batterytrace.ledger.checkpoint import Checkpoint
from batterytrace.storage.base import Store, WriteBatch

__all__ = [
    "CONFIG_KEY",
    "INPROCESS",
    "RECORDS_KEY",
    "AnchorConfig",
    "AnchorRecord",
    "add_record",
    "load_config",
    "load_records",
    "record_for",
    "save_config",
]

CONFIG_KEY = "anchor/config"
RECORDS_KEY = "anchor/records"
INPROCESS = "inprocess"


@dataclass(frozen=True)
class AnchorRecord:
    """Where one checkpoint sits on chain."""

    tree_size: int
    root_hash: str  # hex
    checkpoint_hash: str  # hex, see contract.checkpoint_hash
    chain_id: int
    contract: str  # checksummed address
    operator: str  # the account that anchored (checksummed address)
    block_number: int
    block_hash: str  # 0x hex
    tx_hash: str  # 0x hex
    log_index: int
    block_time: int  # seconds, from the block

    def __post_init__(self) -> None:
        if self.tree_size <= 0 or len(self.root_hash) != 64 or len(self.checkpoint_hash) != 64:
            raise EncodingError("malformed anchor record")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> AnchorRecord:
        try:
            return cls(
                tree_size=int(data["tree_size"]), root_hash=str(data["root_hash"]),
                checkpoint_hash=str(data["checkpoint_hash"]), chain_id=int(data["chain_id"]),
                contract=str(data["contract"]), operator=str(data["operator"]),
                block_number=int(data["block_number"]), block_hash=str(data["block_hash"]),
                tx_hash=str(data["tx_hash"]), log_index=int(data["log_index"]),
                block_time=int(data["block_time"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise EncodingError(f"malformed anchor record: {exc}") from exc

    def matches(self, cp: Checkpoint) -> bool:
        return self.tree_size == cp.tree_size and self.root_hash == cp.root_hash.hex()


@dataclass(frozen=True)
class AnchorConfig:
    """``endpoint`` is ``inprocess`` or a JSON-RPC URL; ``chain_state`` the journal file of an
    in-process chain when configured (None: beside a SQLite ledger, ``<db>.chain.sqlite``, so the
    two move together; an in-memory ledger's chain is not persisted)."""

    endpoint: str
    chain_id: int
    contract: str
    operator: str
    chain_state: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> AnchorConfig:
        try:
            state = data.get("chain_state")
            return cls(str(data["endpoint"]), int(data["chain_id"]), str(data["contract"]),
                       str(data["operator"]), None if state is None else str(state))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise EncodingError(f"malformed anchoring configuration: {exc}") from exc


def _load_json(store: Store, key: str) -> Any:
    text = store.get_meta(key)
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise StorageError(f"stored {key} is corrupt: {exc}") from exc


def load_config(store: Store) -> AnchorConfig | None:
    data = _load_json(store, CONFIG_KEY)
    return None if data is None else AnchorConfig.from_dict(data)


def save_config(store: Store, config: AnchorConfig) -> None:
    with store.write_lock():
        store.apply(WriteBatch(meta={CONFIG_KEY: json.dumps(config.to_dict(), sort_keys=True)}))


def load_records(store: Store) -> list[AnchorRecord]:
    data = _load_json(store, RECORDS_KEY)
    if data is None:
        return []
    if not isinstance(data, list):
        raise StorageError("stored anchor records are not a list")
    try:
        return [AnchorRecord.from_dict(d) for d in data]
    except EncodingError as exc:
        raise StorageError(f"stored anchor records are corrupt: {exc}") from exc


def add_record(store: Store, record: AnchorRecord) -> None:
    """Store ``record`` (replacing one of the same size and chain), keeping tree-size order."""
    with store.write_lock():
        records = [
            r for r in load_records(store)
            if (r.tree_size, r.chain_id, r.contract) != (record.tree_size, record.chain_id, record.contract)
        ]
        records.append(record)
        records.sort(key=lambda r: r.tree_size)
        text = json.dumps([r.to_dict() for r in records], sort_keys=True)
        store.apply(WriteBatch(meta={RECORDS_KEY: text}))


def record_for(store: Store, cp: Checkpoint) -> AnchorRecord | None:
    """The anchor of exactly this checkpoint (same size and root), if it was anchored."""
    for r in load_records(store):
        if r.matches(cp):
            return r
    return None
