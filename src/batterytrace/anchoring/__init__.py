"""Anchoring the transparency log's signed tree heads on an EVM chain (CheckpointRegistry, Vyper).

One transaction anchors one checkpoint, however many events it covers. The default chain is an
in-process eth-tester/py-evm chain persisted beside the ledger; any JSON-RPC node works by
configuration.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

# The names are imported on first use (PEP 562): a process that only reads anchor records (passport
# issuance) does not load the chain client, contract, in-process chain and service modules.
_HOME = {
    "client": ("AnchorClient", "connect_rpc"),
    "contract": ("checkpoint_hash", "compile_registry", "load_artifact"),
    "inprocess": ("InProcessChain", "chain_path_for"),
    "records": ("AnchorConfig", "AnchorRecord", "load_records", "record_for"),
    "service": ("Anchoring", "RunSchedule", "read_chain_key"),
    "verify": ("chain_checkpoint", "verify_anchor", "verify_anchored_log", "verify_anchored_passport",
               "verify_passport_anchor"),
}
_MODULE_OF = {name: module for module, names in _HOME.items() for name in names}


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_MODULE_OF})


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
