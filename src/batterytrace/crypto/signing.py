"""Ed25519 signing keys and ``did:key`` identifiers (libsodium via PyNaCl).

A ``did:key`` for Ed25519 is ``did:key:z`` + base58btc(0xed 0x01 || 32-byte public key).
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass

from nacl.bindings import crypto_sign, crypto_sign_BYTES, crypto_sign_seed_keypair
from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey as _NaclSigningKey
from nacl.signing import VerifyKey as _NaclVerifyKey

from batterytrace.encoding import b58decode, b58encode
from batterytrace.errors import EncodingError, VerificationError

__all__ = ["MAX_DID_CHARS", "SigningKey", "did_from_public_key", "public_key_from_did", "verify_signature"]

_ED25519_MULTICODEC = b"\xed\x01"
_DID_PREFIX = "did:key:z"
#: an Ed25519 did:key has 56 characters; anything much longer is refused before base58 decoding,
#: whose cost grows with the square of the length (200,000 characters took 12 s)
MAX_DID_CHARS = 64


def did_from_public_key(public_key: bytes) -> str:
    if len(public_key) != 32:
        raise EncodingError("an Ed25519 public key has 32 bytes")
    return _DID_PREFIX + b58encode(_ED25519_MULTICODEC + public_key)


def public_key_from_did(did: str) -> bytes:
    """The Ed25519 public key a did:key names; raises ``EncodingError`` for anything else."""
    if not isinstance(did, str) or not did.startswith(_DID_PREFIX):
        raise EncodingError(f"not an Ed25519 did:key: {str(did)[:40]!r}")
    if len(did) > MAX_DID_CHARS:
        raise EncodingError(f"not an Ed25519 did:key: {len(did)} characters, at most {MAX_DID_CHARS}")
    return _key_of_did(did)


@functools.lru_cache(maxsize=65536)
def _key_of_did(did: str) -> bytes:
    # memoised: ingest decodes the same few actors' dids for every event (invalid dids raise,
    # and exceptions are not cached)
    raw = b58decode(did[len(_DID_PREFIX) :])
    if len(raw) != 34 or raw[:2] != _ED25519_MULTICODEC:
        raise EncodingError(f"not an Ed25519 did:key: {did[:40]!r}")
    if did_from_public_key(raw[2:]) != did:
        raise EncodingError("non-canonical did:key")
    return raw[2:]


@dataclass(frozen=True)
class SigningKey:
    """An Ed25519 private key. ``seed`` is the 32-byte secret."""

    seed: bytes

    def __post_init__(self) -> None:
        if len(self.seed) != 32:
            raise EncodingError("an Ed25519 seed has 32 bytes")

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(bytes(_NaclSigningKey.generate()))

    @classmethod
    def from_label(cls, label: str) -> SigningKey:
        """A deterministic key for demos and tests. Never use for real participants."""
        return cls(hashlib.sha256(b"batterytrace/demo-key/" + label.encode()).digest())

    @functools.cached_property
    def _keypair(self) -> tuple[bytes, bytes]:
        # (public key, libsodium secret key): derived once per key, not once per signature
        public, secret = crypto_sign_seed_keypair(self.seed)
        return bytes(public), bytes(secret)

    @property
    def public_key(self) -> bytes:
        return self._keypair[0]

    @functools.cached_property
    def did(self) -> str:
        return did_from_public_key(self.public_key)

    def sign(self, message: bytes) -> bytes:
        return bytes(crypto_sign(message, self._keypair[1])[:crypto_sign_BYTES])

    def __repr__(self) -> str:  # never print the secret
        return f"SigningKey(did={self.did!r})"


def verify_signature(public_key: bytes, message: bytes, signature: bytes) -> None:
    """Raise ``VerificationError`` unless ``signature`` is a valid Ed25519 signature."""
    if len(signature) != 64:
        raise VerificationError("an Ed25519 signature has 64 bytes")
    try:
        _NaclVerifyKey(public_key).verify(message, signature)
    except (BadSignatureError, ValueError, TypeError) as exc:
        raise VerificationError("Ed25519 signature does not verify") from exc
