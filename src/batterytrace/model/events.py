"""Signed events: RFC 8785 canonical body, SHA-256 event hash, Ed25519 signature by the actor.

Wire form: ``{"event": {...body...}, "signature": "<base64url>"}``. The signature covers
``b"batterytrace/event/v1\\x00" || SHA-256(JCS(body))``. The body names the ledger it is meant
for (``ledger``). The log leaf for an accepted event is ``event_hash || signature || ingested_at``
(the ledger's acceptance time, µs, 8 bytes big-endian; 104 bytes), so the Merkle tree commits to
the body, its signature and when the ledger accepted it.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Any

from batterytrace.canonical import (
    canonical_json,
    canonical_json_plain,
    parse_json,
    parse_json_probed,
)
from batterytrace.crypto.signing import SigningKey, public_key_from_did, verify_signature
from batterytrace.encoding import b64u_decode, b64u_encode
from batterytrace.errors import EncodingError, VerificationError

__all__ = [
    "EVENT_KINDS",
    "SIGNING_DOMAIN",
    "SignedEvent",
    "new_nonce",
    "sign_event",
    "signing_input",
]

SIGNING_DOMAIN = b"batterytrace/event/v1\x00"

EVENT_KINDS = frozenset(
    {
        "register_participant",
        "accredit",
        "register_site",
        "register_ring_key",
        "set_policy",
        "extract",
        "ship",
        "receive",
        "transform",
        "aggregate",
        "disaggregate",
        "attest",
        "incident",
        "lifecycle",
        "recycle",
        "rotate_key",
    }
)


def new_nonce() -> str:
    return secrets.token_hex(12)


def signing_input(event_hash: bytes) -> bytes:
    return SIGNING_DOMAIN + event_hash


@dataclass(frozen=True)
class SignedEvent:
    """An event body and its signature. Construction checks shape, not ledger rules."""

    body: dict[str, Any]
    signature: bytes
    canonical: bytes = field(repr=False, default=b"")
    event_hash: bytes = field(repr=False, default=b"")

    def __post_init__(self) -> None:
        if not isinstance(self.body, dict):
            raise EncodingError("an event body is a JSON object")
        for name in ("kind", "time", "actor", "nonce"):
            if not isinstance(self.body.get(name), str):
                raise EncodingError(f"event field {name!r} is required and must be a string")
        if "signer" in self.body and not isinstance(self.body["signer"], str):
            raise EncodingError("event field 'signer' must be a string (the did:key that signed for the actor)")
        if self.body["kind"] not in EVENT_KINDS:
            raise EncodingError(f"unknown event kind {self.body['kind']!r}")
        if len(self.signature) != 64:
            raise EncodingError("an Ed25519 signature has 64 bytes")
        if not self.canonical:
            canonical = canonical_json(self.body)
            object.__setattr__(self, "canonical", canonical)
            object.__setattr__(self, "event_hash", hashlib.sha256(canonical).digest())

    @property
    def kind(self) -> str:
        return str(self.body["kind"])

    @property
    def actor(self) -> str:
        return str(self.body["actor"])

    @property
    def signer(self) -> str:
        """The did:key whose key signed the body: ``signer`` when the body names one (a participant
        acting with a key rotated in by the operator, ``rotate_key``), else the actor itself. The
        ledger checks that it is the actor's key in force (rules ``key.signer``, ``key.rotated``)."""
        value = self.body.get("signer")
        return value if isinstance(value, str) else self.actor

    @property
    def ledger(self) -> str | None:
        """The identifier of the ledger the signer meant the event for (``None`` when absent)."""
        value = self.body.get("ledger")
        return value if isinstance(value, str) else None

    @functools.cached_property
    def hash_hex(self) -> str:
        return self.event_hash.hex()

    def leaf_data(self, ingested_at: int) -> bytes:
        """The Merkle leaf of this event accepted at ``ingested_at`` (µs, the ledger's clock)."""
        return self.event_hash + self.signature + ingested_at.to_bytes(8, "big")

    def verify_signature(self) -> None:
        """Raise ``VerificationError`` unless the signer's key (``signer``, by default the actor)
        signed this body."""
        try:
            key = public_key_from_did(self.signer)
        except EncodingError as exc:
            what = "signer" if "signer" in self.body else "actor"
            raise VerificationError(f"{what} is not a valid did:key: {exc}") from exc
        verify_signature(key, signing_input(self.event_hash), self.signature)

    def to_wire(self) -> dict[str, Any]:
        return {"event": self.body, "signature": b64u_encode(self.signature)}

    def wire_bytes(self) -> bytes:
        return canonical_json(self.to_wire())

    @classmethod
    def from_wire(cls, wire: Any) -> SignedEvent:
        if not isinstance(wire, dict) or set(wire) != {"event", "signature"}:
            raise EncodingError("a signed event is {'event': {...}, 'signature': '...'}")
        sig = wire["signature"]
        if not isinstance(sig, str):
            raise EncodingError("signature must be base64url text")
        return cls(wire["event"], b64u_decode(sig))

    @classmethod
    def from_wire_bytes(cls, data: bytes) -> SignedEvent:
        return cls.from_wire(parse_json(data))

    @classmethod
    def from_stored(cls, canonical: bytes, signature: bytes) -> SignedEvent:
        """Rebuild from stored canonical bytes; recomputes the hash (detects edited rows). A plain
        body (no floats: most events) is re-encoded by the C encoder (``canonical_json_plain``)."""
        body, plain = parse_json_probed(canonical)
        if plain and isinstance(body, dict):
            if canonical_json_plain(body) != canonical:
                raise EncodingError("stored event bytes are not canonical JSON")
            return cls(body, signature, canonical, hashlib.sha256(canonical).digest())
        ev = cls(body, signature)
        if ev.canonical != canonical:
            raise EncodingError("stored event bytes are not canonical JSON")
        return ev


def sign_event(body: dict[str, Any], key: SigningKey, *, ledger: str) -> SignedEvent:
    """Canonicalise, hash and sign ``body`` for the ledger whose identifier is ``ledger``; fills
    ``actor`` and ``nonce`` when absent. The identifier is part of the signed body (field
    ``ledger``), so the event is valid on that ledger only (domain separation). A body naming a
    ``signer`` (a participant acting with a rotated-in key) must name this key's did there; its
    ``actor`` is then the participant's registered did."""
    body = dict(body)
    if body.setdefault("ledger", ledger) != ledger:
        raise EncodingError(f"the event names ledger {body['ledger']!r}, not {ledger!r}")
    body.setdefault("actor", key.did)
    body.setdefault("nonce", new_nonce())
    body.setdefault("v", 1)
    if "signer" in body:
        if body["signer"] != key.did:
            raise EncodingError("the event's signer must be the signing key's did")
    elif body["actor"] != key.did:
        raise EncodingError("the event actor must be the signing key's did")
    canonical = canonical_json(body)
    event_hash = hashlib.sha256(canonical).digest()
    return SignedEvent(body, key.sign(signing_input(event_hash)), canonical, event_hash)
