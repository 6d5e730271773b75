"""Ed25519 (RFC 8032 vectors) and did:key encoding."""

from __future__ import annotations

import pytest

from batterytrace.crypto.signing import (
    SigningKey,
    did_from_public_key,
    public_key_from_did,
    verify_signature,
)
from batterytrace.errors import EncodingError, VerificationError

RFC8032 = [
    ("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"),
    ("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
]


@pytest.mark.parametrize(("seed", "public", "msg", "sig"), RFC8032)
def test_rfc8032_vectors(seed: str, public: str, msg: str, sig: str) -> None:
    key = SigningKey(bytes.fromhex(seed))
    assert key.public_key.hex() == public
    assert key.sign(bytes.fromhex(msg)).hex() == sig
    verify_signature(bytes.fromhex(public), bytes.fromhex(msg), bytes.fromhex(sig))


def test_signature_refusals() -> None:
    _seed, public, msg, sig = RFC8032[1]
    pk, m, s = bytes.fromhex(public), bytes.fromhex(msg), bytes.fromhex(sig)
    with pytest.raises(VerificationError):
        verify_signature(pk, m + b"\x00", s)
    with pytest.raises(VerificationError):
        verify_signature(pk, m, s[:63])
    with pytest.raises(VerificationError):
        verify_signature(pk, m, bytes([s[0] ^ 1]) + s[1:])
    with pytest.raises(VerificationError):
        verify_signature(pk[:31], m, s)


def test_did_key_round_trip_and_multicodec_prefix() -> None:
    key = SigningKey.from_label("did-test")
    did = key.did
    assert did.startswith("did:key:z6Mk")  # base58btc of 0xed01 || key
    assert public_key_from_did(did) == key.public_key
    assert did_from_public_key(key.public_key) == did


@pytest.mark.parametrize(
    "bad", ["did:web:example.com", "did:key:", "did:key:zzzz", "did:key:z6Mk0OIl", "did:key:f" + "00" * 34]
)
def test_malformed_did_keys(bad: str) -> None:
    with pytest.raises(EncodingError):
        public_key_from_did(bad)


def test_secret_is_not_printed() -> None:
    key = SigningKey.from_label("secret")
    assert key.seed.hex() not in repr(key)


def test_cached_key_material_signs_like_libsodium_key_objects() -> None:
    import os

    from nacl.signing import SigningKey as NaclSigningKey

    from batterytrace.crypto.signing import did_from_public_key

    for n in range(20):
        seed = os.urandom(32)
        key = SigningKey(seed)
        message = os.urandom(n * 7)
        reference = NaclSigningKey(seed)
        assert key.sign(message) == reference.sign(message).signature
        assert key.public_key == bytes(reference.verify_key)
        assert key.did == did_from_public_key(bytes(reference.verify_key))
        assert key == SigningKey(seed) and hash(key) == hash(SigningKey(seed))


def test_overlong_dids_are_refused_before_decoding() -> None:
    """base58 decoding costs the square of the length: 200,000 characters took 12 s. The length
    is judged first, so the refusal is immediate."""
    import time

    from batterytrace.crypto.signing import MAX_DID_CHARS
    from batterytrace.encoding import MAX_B58_CHARS, b58decode

    did = SigningKey.from_label("x").did
    assert len(did) <= MAX_DID_CHARS and public_key_from_did(did)
    for text in ("did:key:z" + "2" * 200_000, did + "1", did + "2" * (MAX_DID_CHARS - len(did) + 1)):
        start = time.perf_counter()
        with pytest.raises(EncodingError, match="did:key"):
            public_key_from_did(text)
        assert time.perf_counter() - start < 0.05
    start = time.perf_counter()
    with pytest.raises(EncodingError, match="base58"):
        b58decode("2" * 200_000)
    assert time.perf_counter() - start < 0.05
    assert b58decode("2" * MAX_B58_CHARS)
