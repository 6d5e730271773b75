"""Operator-signed tree heads (checkpoints) and split-view evidence.

A checkpoint's signed statement is the RFC 8785 canonical JSON of
``{"ledger", "log_id", "tree_size", "root_hash" (hex), "timestamp" (µs)}`` prefixed by the domain
tag ``batterytrace/tree-head/v2\\x00``; the operator signs it with Ed25519. ``ledger`` is the
ledger's identifier (domain separation: one operator key may run several ledgers, and a tree head
of one is never a tree head of another).

Each tree head also has a C2SP tlog-checkpoint form (c2sp.org/tlog-checkpoint): the signed note
``<origin>\n<tree size>\n<base64 root hash>\n`` signed by the same operator key under the key name
``<origin>``. The origin is ``batterytrace/`` followed by the ledger id, percent-encoded outside
``[A-Za-z0-9_.~:/-]`` (``checkpoint_origin``): unique per ledger, without spaces or plus signs.
The note carries no timestamp (the JSON form does); its root is the same RFC 9162 root.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from batterytrace.canonical import canonical_json
from batterytrace.crypto.signed_note import (
    NoteError,
    NoteVerifier,
    open_note,
    sign_note,
    signature_line,
)
from batterytrace.crypto.signing import SigningKey, public_key_from_did, verify_signature
from batterytrace.encoding import b64u_decode, b64u_encode, hex_decode
from batterytrace.errors import EncodingError, NotFoundError, SplitViewError, VerificationError

__all__ = [
    "TREE_HEAD_DOMAIN",
    "Checkpoint",
    "CheckpointNote",
    "SplitViewEvidence",
    "checkpoint_origin",
    "checkpoint_verifier",
    "sign_checkpoint",
    "verify_checkpoint_note",
]

TREE_HEAD_DOMAIN = b"batterytrace/tree-head/v2\x00"


@dataclass(frozen=True)
class Checkpoint:
    log_id: str  # the operator's did:key
    tree_size: int
    root_hash: bytes
    timestamp: int
    signature: bytes
    ledger: str  # the ledger's identifier (meta ``ledger_id``)
    #: the operator's Ed25519 signature of the C2SP checkpoint note (None: a head signed before
    #: tree heads had a note form)
    note_signature: bytes | None = None

    def __post_init__(self) -> None:
        if self.tree_size < 0 or len(self.root_hash) != 32 or len(self.signature) != 64:
            raise EncodingError("malformed checkpoint")
        if self.note_signature is not None and len(self.note_signature) != 64:
            raise EncodingError("malformed checkpoint: note signature")
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
        ``ledger`` (default: the ledger it names), in both forms: the JSON statement, and the
        checkpoint note when the tree head carries its signature (``note_signature``; a head
        without one was signed before tree heads had a note form). A note signature that does not
        verify under the operator's key for this ledger's origin, size and root is refused as a
        ``NoteError`` (``note.signature``): C2SP tooling reading the note form would refuse it."""
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
        if self.note_signature is not None:
            self.verify_note()

    def note_text(self) -> str:
        """The checkpoint body: origin, tree size, base64 root hash."""
        return _note_text(checkpoint_origin(self.ledger), self.tree_size, self.root_hash)

    def to_note(self) -> str:
        """The signed note (C2SP tlog-checkpoint) form of this tree head."""
        if self.note_signature is None:
            raise NotFoundError(f"the tree head of size {self.tree_size} was signed without a checkpoint note")
        origin = checkpoint_origin(self.ledger)
        verifier = checkpoint_verifier(self.ledger, self.log_id)
        return self.note_text() + "\n" + signature_line(origin, verifier.key_id, self.note_signature)

    def verify_note(self) -> None:
        """Raise unless the stored note signature verifies under the operator's checkpoint key."""
        verify_checkpoint_note(self.to_note(), checkpoint_verifier(self.ledger, self.log_id), expect=self)

    def to_dict(self, note: bool = True) -> dict[str, Any]:
        """The JSON form; with ``note``, the note form's signature too (``note_signature``)."""
        data: dict[str, Any] = {
            "ledger": self.ledger,
            "log_id": self.log_id,
            "tree_size": self.tree_size,
            "root_hash": self.root_hash.hex(),
            "timestamp": self.timestamp,
            "signature": b64u_encode(self.signature),
        }
        if note and self.note_signature is not None:  # the checkpoint note's signature (``to_note``)
            data["note_signature"] = b64u_encode(self.note_signature)
        return data

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
                note_signature=b64u_decode(data["note_signature"]) if data.get("note_signature") is not None else None,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise EncodingError(f"malformed checkpoint: {exc}") from exc


def sign_checkpoint(key: SigningKey, tree_size: int, root_hash: bytes, timestamp: int, *, ledger: str) -> Checkpoint:
    """Sign a tree head in both forms: the JSON statement and the C2SP checkpoint note."""
    unsigned = Checkpoint(key.did, tree_size, root_hash, timestamp, b"\0" * 64, ledger)
    note = sign_note(unsigned.note_text(), checkpoint_origin(ledger), key)
    note_signature = base64.b64decode(note.rsplit(" ", 1)[1])[4:]
    return Checkpoint(key.did, tree_size, root_hash, timestamp, key.sign(unsigned.statement()), ledger, note_signature)


def checkpoint_origin(ledger: str) -> str:
    """The checkpoint origin (and note key name) of the ledger ``ledger``: ``batterytrace/`` and
    the ledger id, percent-encoded outside ``[A-Za-z0-9_.~:/-]`` (so injective, and never a space
    or a plus sign)."""
    return "batterytrace/" + quote(ledger, safe=":/~")


def checkpoint_verifier(ledger: str, operator_did: str) -> NoteVerifier:
    """The note verifier of the ledger's checkpoints: key name = origin, the operator's key."""
    try:
        key = public_key_from_did(operator_did)
    except EncodingError as exc:
        raise NoteError("note.vkey", f"the operator is not an Ed25519 did:key: {exc}") from exc
    return NoteVerifier.of(checkpoint_origin(ledger), key)


def _note_text(origin: str, tree_size: int, root_hash: bytes) -> str:
    return f"{origin}\n{tree_size}\n{base64.b64encode(root_hash).decode('ascii')}\n"


@dataclass(frozen=True)
class CheckpointNote:
    """A verified checkpoint note: its origin, tree size and root hash (and extension lines)."""

    origin: str
    tree_size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()


def verify_checkpoint_note(
    note: str | bytes, verifier: NoteVerifier | str, *, origin: str | None = None, expect: Checkpoint | None = None
) -> CheckpointNote:
    """Verify a C2SP checkpoint note with ``verifier`` (a ``NoteVerifier`` or vkey text).

    The origin must be ``origin`` (default: the verifier's key name) — ``note.origin``; the body
    three or more non-empty lines, a decimal size without leading zeros and a base64 32-byte root
    — ``note.malformed``; with ``expect`` (the JSON form of the same tree head), its size and root
    must be those — ``note.mismatch``. Signature refusals are those of ``open_note``."""
    if isinstance(verifier, str):
        verifier = NoteVerifier.parse(verifier)
    text = open_note(note, verifier)
    lines = text.split("\n")[:-1]
    if len(lines) < 3 or any(not line for line in lines):
        raise NoteError("note.malformed", "a checkpoint has an origin, a tree size and a root hash line")
    found_origin, size_line, root_line = lines[0], lines[1], lines[2]
    wanted = verifier.name if origin is None else origin
    if found_origin != wanted:
        raise NoteError("note.origin", f"the checkpoint is of log {found_origin[:200]!r}, not {wanted!r}")
    if not size_line.isascii() or not size_line.isdigit() or (size_line != "0" and size_line.startswith("0")) \
            or len(size_line) > 20:
        raise NoteError("note.malformed", f"tree size {size_line[:40]!r} is not a decimal without leading zeros")
    try:
        root = base64.b64decode(root_line.encode("ascii"), validate=True)
    except (ValueError, binascii.Error) as exc:
        raise NoteError("note.malformed", "the root hash line is not base64") from exc
    if len(root) != 32 or base64.b64encode(root).decode("ascii") != root_line:
        raise NoteError("note.malformed", "the root hash is not a base64 32-byte hash")
    found = CheckpointNote(found_origin, int(size_line), root, tuple(lines[3:]))
    if expect is not None:
        if found.tree_size != expect.tree_size:
            raise NoteError("note.mismatch", f"the note is of tree size {found.tree_size}; the tree head of {expect.tree_size}")
        if found.root_hash != expect.root_hash:
            raise NoteError("note.mismatch", f"the note's root differs from the tree head's at size {expect.tree_size}")
    return found


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
