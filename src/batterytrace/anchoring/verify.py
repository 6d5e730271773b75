"""Verification of anchors: stored checkpoint ↔ chain record, the anchored history of a log, and
the chain link of a passport's evidence. Each function returns None or raises
``VerificationError`` (``SplitViewError``, carrying the portable evidence, for equivocation)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from batterytrace.anchoring._libs import quiet_chain_imports
from batterytrace.anchoring.client import AnchorClient, decode_anchored
from batterytrace.anchoring.contract import checkpoint_hash
from batterytrace.anchoring.records import AnchorRecord, load_records
from batterytrace.crypto.merkle import verify_consistency
from batterytrace.errors import EncodingError, VerificationError
from batterytrace.ledger.checkpoint import Checkpoint, SplitViewEvidence
from batterytrace.ledger.ledger import Ledger

if TYPE_CHECKING:
    from batterytrace.passport.verification import PassportVerification

__all__ = [
    "chain_checkpoint",
    "raise_split_view",
    "verify_anchor",
    "verify_anchored_log",
    "verify_anchored_passport",
    "verify_passport_anchor",
]


def raise_split_view(evidence: SplitViewEvidence) -> None:
    """Raise the ``SplitViewError`` of genuine ``evidence`` with the evidence object attached."""
    evidence.verify()
    err = evidence.error()
    err.evidence = evidence.to_dict()
    raise err


def _hex0(value: Any) -> str:
    return "0x" + bytes(value).hex()


def chain_checkpoint(event: dict[str, Any], ledger: str) -> Checkpoint:
    """Rebuild the signed checkpoint an ``Anchored`` event carries, as a tree head of ``ledger``
    (the event does not name the ledger; its signature and checkpoint hash bind it)."""
    try:
        return Checkpoint(event["log_id"], event["tree_size"], event["root_hash"],
                          event["timestamp_us"], event["signature"], ledger)
    except EncodingError as exc:
        raise VerificationError(f"the on-chain checkpoint is malformed: {exc}") from exc


def verify_anchor(client: AnchorClient, record: AnchorRecord, cp: Checkpoint) -> None:
    """Check that ``cp`` is on chain exactly where ``record`` says: chain id, contract,
    transaction receipt, block, event log and contract state all agree with the checkpoint."""
    quiet_chain_imports("web3")
    from web3.exceptions import TransactionNotFound

    if not record.matches(cp):
        raise VerificationError(
            f"anchor record (size {record.tree_size}, root {record.root_hash}) does not match the "
            f"checkpoint (size {cp.tree_size}, root {cp.root_hash.hex()})"
        )
    if record.checkpoint_hash != checkpoint_hash(cp).hex():
        raise VerificationError(f"anchor record of size {cp.tree_size} names another checkpoint hash")
    chain_id = client.chain_id()
    if chain_id != record.chain_id:
        raise VerificationError(f"anchor is on chain {record.chain_id}, the node serves chain {chain_id}")
    if client.address is None or client.address.lower() != record.contract.lower():
        raise VerificationError(f"anchor names contract {record.contract}, verifying against {client.address}")
    try:
        receipt = client.node("receipt", lambda: client.w3.eth.get_transaction_receipt(record.tx_hash))
    except TransactionNotFound as exc:
        raise VerificationError(f"anchor transaction {record.tx_hash} is not on chain {chain_id}") from exc
    except ValueError as exc:
        raise VerificationError(f"anchor transaction hash {record.tx_hash!r} is malformed: {exc}") from exc
    if receipt is None:
        raise VerificationError(f"anchor transaction {record.tx_hash} is not on chain {chain_id}")
    if int(receipt["status"]) != 1:
        raise VerificationError(f"anchor transaction {record.tx_hash} reverted")
    if int(receipt["blockNumber"]) != record.block_number or _hex0(receipt["blockHash"]) != record.block_hash.lower():
        raise VerificationError(
            f"anchor transaction {record.tx_hash} is in block {receipt['blockNumber']} "
            f"{_hex0(receipt['blockHash'])}, the record says block {record.block_number} {record.block_hash}"
        )
    logs = [log for log in receipt["logs"] if int(log["logIndex"]) == record.log_index]
    if not logs or str(logs[0]["address"]).lower() != record.contract.lower():
        raise VerificationError(
            f"anchor transaction {record.tx_hash} has no registry event at log index {record.log_index}"
        )
    try:
        ev = decode_anchored(client.contract, logs[0])
    except Exception as exc:
        raise VerificationError(f"anchor event at log index {record.log_index} does not decode: {exc}") from exc
    if ev["operator"].lower() != record.operator.lower():
        raise VerificationError(f"anchor event was sent by {ev['operator']}, the record says {record.operator}")
    on_chain = chain_checkpoint(ev, cp.ledger)
    if on_chain.tree_size == cp.tree_size and on_chain.root_hash != cp.root_hash:
        evidence = SplitViewEvidence.detect(cp, on_chain)
        if evidence is not None:
            try:
                evidence.verify()
            except VerificationError:
                pass
            else:
                raise_split_view(evidence)
    if (on_chain.tree_size, on_chain.root_hash) != (cp.tree_size, cp.root_hash) or ev["checkpoint_hash"] != checkpoint_hash(cp):
        raise VerificationError(
            f"the chain record (tx {record.tx_hash}) holds size {on_chain.tree_size} root "
            f"{on_chain.root_hash.hex()}, not the checkpoint of size {cp.tree_size} root {cp.root_hash.hex()}"
        )
    if on_chain != replace(cp, note_signature=None):  # the chain carries the JSON form only
        raise VerificationError(f"the checkpoint on chain (tx {record.tx_hash}) differs from the stored one")
    root, chash, _, block = client.stored(ev["operator"], cp.tree_size)
    if root != cp.root_hash or chash != checkpoint_hash(cp) or block != record.block_number:
        raise VerificationError(
            f"the registry's state for size {cp.tree_size} (root {root.hex()}, block {block}) "
            "disagrees with the anchor"
        )


def _split_views(checkpoints: Sequence[Checkpoint]) -> None:
    by_size: dict[int, Checkpoint] = {}
    for cp in checkpoints:
        seen = by_size.setdefault(cp.tree_size, cp)
        evidence = SplitViewEvidence.detect(seen, cp)
        if evidence is not None:
            raise_split_view(evidence)


def verify_anchored_log(ledger: Ledger, client: AnchorClient, operator: str | None = None) -> None:
    """``anchor verify``: every anchored checkpoint is a validly signed stored tree head, is on
    chain where its record says, matches the log as stored now, and each is consistent with the
    next (so a rewritten history is caught); and the registry's state for ``operator`` (the
    anchoring account; default: the client's) holds no anchor the store lacks and no size beyond
    the log, so a truncated log is caught too (``verify_chain_state``)."""
    from batterytrace.anchoring.chain_state import verify_chain_state  # it builds on this module

    records = load_records(ledger.store)
    account = operator or (client.account.address if client.account is not None else None)
    if account is None:
        raise VerificationError("no anchoring account to read the registry's state for")
    if not records:  # the chain may still know anchors whose records were deleted
        verify_chain_state(ledger, client, account, records)
        raise VerificationError("no checkpoint of this ledger is anchored")
    checkpoints = ledger.checkpoints()
    for cp in checkpoints:
        cp.verify(ledger.operator_did)
    _split_views(checkpoints)
    anchored: list[Checkpoint] = []
    for record in records:  # 1. each anchored checkpoint is a stored, signed head, on chain
        stored = [cp for cp in checkpoints if cp.tree_size == record.tree_size]
        if not stored:
            raise VerificationError(f"anchored checkpoint of size {record.tree_size} is not among the stored tree heads")
        cp = stored[0]
        if cp.root_hash.hex() != record.root_hash:
            raise VerificationError(
                f"stored checkpoint of size {cp.tree_size} has root {cp.root_hash.hex()}, "
                f"the anchored one {record.root_hash}"
            )
        verify_anchor(client, record, cp)
        anchored.append(cp)
    size_now = ledger.size()
    for previous, cp in itertools.pairwise(anchored):  # 2. history only grew
        if cp.tree_size > size_now:
            break
        proof = ledger.consistency_proof(previous.tree_size, cp.tree_size)
        try:
            verify_consistency(previous.tree_size, cp.tree_size, previous.root_hash, cp.root_hash, proof)
        except VerificationError as exc:
            raise VerificationError(
                f"anchored checkpoints {previous.tree_size} → {cp.tree_size} are not consistent: {exc}"
            ) from exc
    for cp in anchored:  # 3. the log as stored now is the one anchored
        if cp.tree_size > size_now:
            raise VerificationError(f"the log holds {size_now} events, fewer than the anchored size {cp.tree_size}")
        if ledger.root(cp.tree_size) != cp.root_hash:
            raise VerificationError(
                f"the log was rewritten: its first {cp.tree_size} events no longer hash to the "
                "anchored root"
            )
    verify_chain_state(ledger, client, account, records)  # 4. no anchor the store lacks


def verify_passport_anchor(claims: dict[str, Any], w3: Any, *, registry: str, registry_operator: str) -> None:
    """Check the chain link of a verified passport (``verify_passport``'s claims) through the
    Web3 ``w3`` against the verifier's pinned ``registry`` contract and ``registry_operator``
    account (its configuration, never addresses the passport's evidence names): the pinned
    registry must hold no other root for the checkpoint's size (else ``SplitViewError`` with
    the evidence), and the checkpoint must be on chain exactly where the evidence says, in the
    pinned registry, sent by the pinned operator."""
    evidence = claims.get("evidence")
    if not isinstance(evidence, dict) or "anchor" not in evidence:
        raise VerificationError("the passport's checkpoint carries no anchor reference")
    try:
        cp = Checkpoint.from_dict(evidence["checkpoint"])
        record = AnchorRecord.from_dict(evidence["anchor"])
    except EncodingError as exc:
        raise VerificationError(f"the passport's anchor evidence is malformed: {exc}") from exc
    try:
        client = AnchorClient(w3, None, registry, endpoint="the given provider")
    except ValueError as exc:
        raise VerificationError(f"the pinned registry address {registry!r} is malformed: {exc}") from exc
    for ev in client.anchored_events(registry_operator, cp.tree_size):  # every root the pinned registry knows
        on_chain = chain_checkpoint(ev, cp.ledger)
        if on_chain.root_hash != cp.root_hash:
            split = SplitViewEvidence.detect(cp, on_chain)
            if split is None:
                raise VerificationError(f"the pinned registry holds another root for size {cp.tree_size}")
            raise_split_view(split)  # a genuine other head: the log showed two views
    if record.contract.lower() != str(client.address).lower():
        raise VerificationError(f"the passport's anchor names registry {record.contract}, not the pinned "
                                f"registry {client.address}")
    if record.operator.lower() != registry_operator.lower():
        raise VerificationError(f"the passport's anchor names operator {record.operator}, not the pinned "
                                f"operator {registry_operator}")
    verify_anchor(client, record, cp)


def verify_anchored_passport(presentation: str, w3: Any, *, registry: str, registry_operator: str,
                             trusted_issuers: list[str] | None = None, log_operator: str | None = None,
                             now: int | None = None, ledger: Ledger | None = None) -> PassportVerification:
    """Verify a passport presentation (``verify_passport``) and then the chain link of its
    checkpoint in the pinned registry; returns the result with the anchor check passed. Every
    link — issuer signature, event, inclusion proof, checkpoint signature, figures, on-chain
    record — must hold."""
    from batterytrace.passport.issue import verify_passport
    from batterytrace.passport.verification import CheckResult

    result = verify_passport(presentation, trusted_issuers=trusted_issuers, log_operator=log_operator, now=now,
                             ledger=ledger)
    verify_passport_anchor(result.claims, w3, registry=registry, registry_operator=registry_operator)
    a = result.claims["evidence"]["anchor"]
    anchor = CheckResult("anchor", "passed", f"the checkpoint (tree size {a.get('tree_size')}) is recorded by the "
                         f"pinned registry {a.get('contract')} on chain {a.get('chain_id')}, block "
                         f"{a.get('block_number')}, and no other root for that size")
    checks = tuple(anchor if c.name == "anchor" else c for c in result.checks)
    return replace(result, checks=checks)
