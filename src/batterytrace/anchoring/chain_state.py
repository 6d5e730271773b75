"""What the registry knows about this ledger's anchoring account, against what the store holds.

A database administrator can delete the tail of an anchored log — its events, Merkle nodes, tree
heads, state rows and anchor records together — leaving a shorter log that is consistent in itself
and whose remaining anchor records still check out one by one. The chain cannot be edited that
way: the registry keeps, per operator account, the latest anchored size, the number of anchors and
an ``Anchored`` event carrying the whole signed checkpoint of each. ``verify_chain_state`` reads
all three and fails when the chain knows an anchor the store lacks, a size beyond the log or a
root the log no longer hashes to; another root for a size the store holds a signed head of is a
split view, raised with its portable evidence (ADR 5).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from batterytrace.anchoring.client import AnchorClient
from batterytrace.anchoring.records import AnchorRecord
from batterytrace.anchoring.verify import chain_checkpoint, raise_split_view
from batterytrace.errors import VerificationError
from batterytrace.ledger.checkpoint import Checkpoint, SplitViewEvidence
from batterytrace.ledger.ledger import Ledger

__all__ = ["verify_chain_state"]


def _where(ev: dict[str, Any]) -> str:
    return f"block {ev['block_number']}, tx {ev['tx_hash']}"


def _raise_split_view(heads: Sequence[Checkpoint], on_chain: Checkpoint) -> None:
    for cp in heads:
        evidence = SplitViewEvidence.detect(cp, on_chain)
        if evidence is None:
            continue
        try:
            evidence.verify()
        except VerificationError:
            continue  # not signed by the same operator: reported below as a foreign checkpoint
        raise_split_view(evidence)


def _check_records(records: Sequence[AnchorRecord], client: AnchorClient, operator: str) -> None:
    for r in records:
        if client.address is None or r.contract.lower() != client.address.lower():
            raise VerificationError(f"the anchor record of tree size {r.tree_size} names registry {r.contract}, "
                                    f"this ledger anchors in {client.address}")
        if r.operator.lower() != operator.lower():
            raise VerificationError(f"the anchor record of tree size {r.tree_size} names account {r.operator}, "
                                    f"this ledger anchors as {operator}")


def verify_chain_state(ledger: Ledger, client: AnchorClient, operator: str, records: Sequence[AnchorRecord]) -> None:
    """Fail unless every anchor ``operator`` made in the registry is one of ``records`` (the
    store's), within the log as stored now and of a root the log hashes to; raises
    ``SplitViewError`` with evidence when the chain holds another root for a stored head's size."""
    _check_records(records, client, operator)
    latest = client.latest_size(operator)
    count = client.anchor_count(operator)
    size = ledger.size()
    if latest > size:
        raise VerificationError(
            f"the registry {client.address} holds an anchor of tree size {latest} by {operator}, but the "
            f"log holds only {size} events: the log was truncated or rolled back after it was anchored"
        )
    events = sorted(client.operator_anchors(operator), key=lambda ev: int(ev["tree_size"]))
    if len(events) != count:
        raise VerificationError(f"the registry counts {count} anchors by {operator}, the node returns "
                                f"{len(events)} Anchored events")
    sizes = [int(ev["tree_size"]) for ev in events]
    if len(set(sizes)) != len(sizes) or (sizes[-1] if sizes else 0) != latest:
        raise VerificationError(f"the registry's Anchored events by {operator} do not grow to its latest size {latest}")
    stored = {(r.tree_size, r.root_hash) for r in records}
    heads: dict[int, list[Checkpoint]] = {}
    for cp in ledger.checkpoints():
        heads.setdefault(cp.tree_size, []).append(cp)
    for ev in events:
        on_chain = chain_checkpoint(ev, ledger.ledger_id)
        _raise_split_view(heads.get(on_chain.tree_size, []), on_chain)
        try:
            on_chain.verify(ledger.operator_did)
        except VerificationError as exc:
            raise VerificationError(f"the chain's anchor of tree size {on_chain.tree_size} ({_where(ev)}) is not a "
                                    f"checkpoint of this ledger's operator: {exc}") from exc
        if ledger.root(on_chain.tree_size) != on_chain.root_hash:
            raise VerificationError(
                f"the log was rewritten: its first {on_chain.tree_size} events no longer hash to the root "
                f"anchored on chain ({_where(ev)})"
            )
        if (on_chain.tree_size, on_chain.root_hash.hex()) not in stored:
            raise VerificationError(
                f"the chain holds an anchor of tree size {on_chain.tree_size} ({_where(ev)}) that the store's "
                "anchor records lack: anchor records were deleted"
            )
