"""Operator-signed tree heads (checkpoints) and split-view evidence.

A checkpoint's signed statement is the RFC 8785 canonical JSON of
``{"ledger", "log_id", "tree_size", "root_hash" (hex), "timestamp" (µs)}`` prefixed by the domain
tag ``batterytrace/tree-head/v2\\x00``; the operator signs it with Ed25519. ``ledger`` is the
ledger's identifier (domain separation: one operator key may run several ledgers, and a tree head
of one is never a tree head of another).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from batterytrace.canonical import canonical_json
from batterytrace.crypto.signing import SigningKey, public_key_from_did, verify_signature
from batterytrace.encoding import b64u_decode, b64u_encode, hex_decode
from batterytrace.errors import EncodingError, SplitViewError, VerificationError

__all__ = ["TREE_HEAD_DOMAIN", "Checkpoint", "SplitViewEvidence", "sign_checkpoint"]

TREE_HEAD_DOMAIN = b"batterytrace/tree-head/v2\x00"


@dataclass(frozen=True)
class Checkpoint:
    log_id: str  # the operator's did:key
    tree_size: int
    root_hash: bytes
    timestamp: int
    signature: bytes
    ledger: str  # the ledger's identifier (meta ``ledger_id``)

    def __post_init__(self) -> None:
        if self.tree_size < 0 or len(self.root_hash) != 32 or len(self.signature) != 64:
            raise EncodingError("malformed checkpoint")
        if not isinstance(self.ledger, str) or not self.ledger:
            raise EncodingError("malformed checkpoint: no ledger id")

    def statement(self) -> bytes:
        return TREE_HEAD_DOMAIN + canonical_json(
            {
                "ledger": self.ledger,
                "log_id": self.log_id,
                "tree_size": self.tree_size,
                "root_hash": self.root_hash.hex(),
                "timestamp": self.timestamp,
            }
        )

    def verify(self, operator_did: str | None = None, ledger: str | None = None) -> None:
        """Raise unless signed by ``operator_did`` (default: the log id it names) for the ledger
        ``ledger`` (default: the ledger it names)."""
        did = operator_did or self.log_id
        if did != self.log_id:
            raise VerificationError("checkpoint names another log operator")
        if ledger is not None and ledger != self.ledger:
            raise VerificationError(f"checkpoint is a tree head of ledger {self.ledger}, not of {ledger}")
        try:
            key = public_key_from_did(did)
        except EncodingError as exc:
            raise VerificationError(f"checkpoint log id is not a did:key: {exc}") from exc
        try:
            verify_signature(key, self.statement(), self.signature)
        except VerificationError as exc:
            raise VerificationError("checkpoint signature does not verify") from exc

    def to_dict(self) -> dict[str, Any]:
        return {
            "ledger": self.ledger,
            "log_id": self.log_id,
            "tree_size": self.tree_size,
            "root_hash": self.root_hash.hex(),
            "timestamp": self.timestamp,
            "signature": b64u_encode(self.signature),
        }

    @classmethod
    def from_dict(cls, data: Any) -> Checkpoint:
        try:
            return cls(
                log_id=str(data["log_id"]),
                tree_size=int(data["tree_size"]),
                root_hash=hex_decode(data["root_hash"], 32),
                timestamp=int(data["timestamp"]),
                signature=b64u_decode(data["signature"]),
                ledger=str(data["ledger"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise EncodingError(f"malformed checkpoint: {exc}") from exc


def sign_checkpoint(key: SigningKey, tree_size: int, root_hash: bytes, timestamp: int, *, ledger: str) -> Checkpoint:
    unsigned = Checkpoint(key.did, tree_size, root_hash, timestamp, b"\0" * 64, ledger)
    return Checkpoint(key.did, tree_size, root_hash, timestamp, key.sign(unsigned.statement()), ledger)


@dataclass(frozen=True)
class SplitViewEvidence:
    """Two validly signed checkpoints of one log, same size, different roots: portable proof of
    equivocation by the operator."""

    first: Checkpoint
    second: Checkpoint

    @classmethod
    def detect(cls, a: Checkpoint, b: Checkpoint) -> SplitViewEvidence | None:
        if a.ledger == b.ledger and a.log_id == b.log_id and a.tree_size == b.tree_size and a.root_hash != b.root_hash:
            return cls(a, b)
        return None

    def verify(self) -> None:
        """Check the evidence is genuine (both signatures valid, same log and size, roots differ)."""
        self.first.verify()
        self.second.verify()
        if self.first.log_id != self.second.log_id or self.first.ledger != self.second.ledger:
            raise VerificationError("evidence checkpoints come from different logs")
        if self.first.tree_size != self.second.tree_size:
            raise VerificationError("evidence checkpoints have different sizes")
        if self.first.root_hash == self.second.root_hash:
            raise VerificationError("evidence checkpoints agree; no split view")

    def error(self) -> SplitViewError:
        return SplitViewError(
            f"split view: operator {self.first.log_id} signed two roots for tree size "
            f"{self.first.tree_size}: {self.first.root_hash.hex()} and {self.second.root_hash.hex()}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {"type": "split-view", "first": self.first.to_dict(), "second": self.second.to_dict()}

    @classmethod
    def from_dict(cls, data: Any) -> SplitViewEvidence:
        if not isinstance(data, dict) or data.get("type") != "split-view":
            raise EncodingError("not split-view evidence")
        return cls(Checkpoint.from_dict(data["first"]), Checkpoint.from_dict(data["second"]))
