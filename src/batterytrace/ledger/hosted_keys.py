"""Hosted (custodial) signing keys: the service keeps a participant's Ed25519 key, encrypted at
rest, and signs that participant's plain EPCIS events with it (``ledger.epcis_capture``).

A hosted key *is* the participant's registered did: the operator creates it
(``create_hosted_key``), registers the participant under that did, and issues it a participant
credential. Moving to an own key later is a key rotation like any other.

At rest each key is a service meta row ``hosted-key/<did>`` holding the seed sealed with
XChaCha20-Poly1305 (libsodium AEAD) under the key-encryption key (KEK, 32 random bytes given to the
service as a file, never stored in the database); the associated data binds the row to its ledger
and did, so a row copied to another did or ledger does not open. The KEK's id (a hash) is stored
so a wrong KEK is named as such.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from nacl.bindings import (
    crypto_aead_xchacha20poly1305_ietf_decrypt,
    crypto_aead_xchacha20poly1305_ietf_encrypt,
    crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
)
from nacl.exceptions import CryptoError

from batterytrace.crypto.signing import SigningKey
from batterytrace.encoding import b64u_decode, b64u_encode, hex_decode
from batterytrace.errors import ConfigError, EncodingError, VerificationError
from batterytrace.storage.base import Store, WriteBatch

__all__ = [
    "HOSTED_KEY_PREFIX",
    "KeyEncryptionKey",
    "check_hosted_key_rows",
    "create_hosted_key",
    "hosted_dids",
    "is_hosted",
    "load_hosted_key",
]

HOSTED_KEY_PREFIX = "hosted-key/"
_AAD = b"batterytrace/hosted-key/v1\x00"


class KeyEncryptionKey:
    """32 secret bytes that seal hosted keys. ``repr`` never shows them."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) != 32:
            raise ConfigError("a key-encryption key has 32 bytes")
        self._secret = secret

    @property
    def key_id(self) -> str:
        return hashlib.sha256(b"batterytrace/kek-id\x00" + self._secret).hexdigest()[:16]

    @classmethod
    def generate(cls) -> KeyEncryptionKey:
        return cls(os.urandom(32))

    @classmethod
    def load(cls, path: Path) -> KeyEncryptionKey:
        """A KEK file: 64 hex digits (``save`` writes it with mode 0600)."""
        try:
            text = path.read_text().strip()
        except OSError as exc:
            raise ConfigError(f"cannot read key-encryption key file {path}: {exc.strerror}") from exc
        try:
            return cls(hex_decode(text, 32))
        except EncodingError as exc:
            raise ConfigError(f"key-encryption key file {path} does not hold 32 bytes as hex") from exc

    def save(self, path: Path) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(self._secret.hex() + "\n")

    def seal(self, plaintext: bytes, aad: bytes) -> tuple[bytes, bytes]:
        nonce = os.urandom(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES)
        return nonce, crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, aad, nonce, self._secret)

    def open(self, nonce: bytes, ciphertext: bytes, aad: bytes) -> bytes:
        try:
            return bytes(crypto_aead_xchacha20poly1305_ietf_decrypt(ciphertext, aad, nonce, self._secret))
        except (CryptoError, ValueError, TypeError) as exc:
            raise VerificationError("hosted key does not decrypt (tampered row, or sealed for another did/ledger)") from exc

    def __repr__(self) -> str:
        return f"KeyEncryptionKey(id={self.key_id})"


def _aad(ledger_id: str, did: str) -> bytes:
    return _AAD + ledger_id.encode() + b"\x00" + did.encode()


def create_hosted_key(store: Store, ledger_id: str, kek: KeyEncryptionKey, key: SigningKey | None = None) -> str:
    """A new random Ed25519 key held by the service for a participant (or ``key``, a participant's
    existing key handed into custody); returns its did (register the participant under it). Only
    the sealed seed is stored; an existing row for the did is never replaced."""
    key = key or SigningKey.generate()
    if is_hosted(store, key.did):
        raise ConfigError(f"the service already holds the key of {key.did}")
    nonce, sealed = kek.seal(key.seed, _aad(ledger_id, key.did))
    row = json.dumps({"did": key.did, "kek": kek.key_id, "nonce": b64u_encode(nonce), "sealed": b64u_encode(sealed)},
                     sort_keys=True)
    with store.write_lock():
        store.apply(WriteBatch(meta={HOSTED_KEY_PREFIX + key.did: row}))
    return key.did


def is_hosted(store: Store, did: str) -> bool:
    return store.get_meta(HOSTED_KEY_PREFIX + did) is not None


def hosted_dids(store: Store) -> list[str]:
    return sorted(k.removeprefix(HOSTED_KEY_PREFIX) for k in store.meta_with_prefix(HOSTED_KEY_PREFIX))


def load_hosted_key(store: Store, ledger_id: str, kek: KeyEncryptionKey, did: str) -> SigningKey | None:
    """The hosted key of ``did`` (None when the service holds none); ``VerificationError`` when
    its row is corrupt or was sealed under another KEK, did or ledger."""
    text = store.get_meta(HOSTED_KEY_PREFIX + did)
    if text is None:
        return None
    try:
        row = json.loads(text)
        kek_id, nonce, sealed = str(row["kek"]), b64u_decode(row["nonce"]), b64u_decode(row["sealed"])
    except (ValueError, KeyError, TypeError, EncodingError) as exc:
        raise VerificationError(f"the hosted key row of {did} is corrupt: {exc}") from exc
    if kek_id != kek.key_id:
        raise VerificationError(f"the hosted key of {did} is sealed under key-encryption key {kek_id}, "
                                f"not the configured {kek.key_id}")
    key = SigningKey(kek.open(nonce, sealed, _aad(ledger_id, did)))
    if key.did != did:
        raise VerificationError(f"the hosted key row of {did} holds the key of {key.did}")
    return key


def check_hosted_key_rows(store: Store) -> None:
    """``log verify`` (without the KEK): every hosted key row is keyed by the did it names and
    holds a sealed seed, never a bare one."""
    for key, text in store.meta_with_prefix(HOSTED_KEY_PREFIX).items():
        try:
            row = json.loads(text)
            did, sealed, nonce = str(row["did"]), b64u_decode(row["sealed"]), b64u_decode(row["nonce"])
        except (ValueError, KeyError, TypeError, EncodingError) as exc:
            raise VerificationError(f"hosted key row {key!r} is corrupt: {exc}") from exc
        if key != HOSTED_KEY_PREFIX + did:
            raise VerificationError(f"hosted key row {key!r} names {did!r}")
        if len(sealed) != 32 + 16 or len(nonce) != crypto_aead_xchacha20poly1305_ietf_NPUBBYTES \
                or set(row) != {"did", "kek", "nonce", "sealed"}:
            raise VerificationError(f"hosted key row {key!r} is not a sealed seed")
