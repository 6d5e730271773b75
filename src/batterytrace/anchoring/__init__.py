"""Anchoring the transparency log's signed tree heads on an EVM chain (CheckpointRegistry, Vyper).

One transaction anchors one checkpoint, however many events it covers. The default chain is an
in-process eth-tester/py-evm chain persisted beside the ledger; any JSON-RPC node works by
configuration.
"""

from __future__ import annotations

from batterytrace.anchoring.client import AnchorClient, connect_rpc
from batterytrace.anchoring.contract import checkpoint_hash, compile_registry, load_artifact
from batterytrace.anchoring.inprocess import InProcessChain, chain_path_for
from batterytrace.anchoring.records import AnchorConfig, AnchorRecord, load_records, record_for
from batterytrace.anchoring.service import Anchoring, RunSchedule, read_chain_key
from batterytrace.anchoring.verify import (
    chain_checkpoint,
    verify_anchor,
    verify_anchored_log,
    verify_anchored_passport,
    verify_passport_anchor,
)

__all__ = [
    "AnchorClient",
    "AnchorConfig",
    "AnchorRecord",
    "Anchoring",
    "InProcessChain",
    "RunSchedule",
    "chain_checkpoint",
    "chain_path_for",
    "checkpoint_hash",
    "compile_registry",
    "connect_rpc",
    "load_artifact",
    "load_records",
    "read_chain_key",
    "record_for",
    "verify_anchor",
    "verify_anchored_log",
    "verify_anchored_passport",
    "verify_passport_anchor",
]
