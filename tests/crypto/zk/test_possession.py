"""Proof of possession of a ring key: verifies only for its key and message; forged, tampered
and malformed proofs are refused."""

from __future__ import annotations

import pytest

from batterytrace.crypto.zk import PossessionProof, prove_possession, verify_possession
from batterytrace.crypto.zk.group import IDENTITY, L, base_mul, random_scalar
from batterytrace.errors import EncodingError, VerificationError

SK = random_scalar()
KEY = base_mul(SK)
MSG = b"register mine:kasonta"


def test_valid_proof_verifies_and_round_trips() -> None:
    proof = prove_possession(SK, MSG)
    verify_possession(proof, KEY, MSG)
    again = PossessionProof.from_bytes(proof.to_bytes())
    assert again == proof and len(proof.to_bytes()) == 64
    verify_possession(again, KEY, MSG)


@pytest.mark.parametrize(
    ("what", "make"),
    [
        ("another message", lambda p: (p, KEY, MSG + b"!")),
        ("another key", lambda p: (p, base_mul(SK + 1), MSG)),
        ("s changed", lambda p: (PossessionProof(p.R, (p.s + 1) % L), KEY, MSG)),
        ("R changed", lambda p: (PossessionProof(p.R + KEY, p.s), KEY, MSG)),
        ("identity key", lambda p: (p, IDENTITY, MSG)),
        ("identity R", lambda p: (PossessionProof(IDENTITY, p.s), KEY, MSG)),
        ("zero s", lambda p: (PossessionProof(p.R, 0), KEY, MSG)),
        ("unreduced s", lambda p: (PossessionProof(p.R, p.s + L), KEY, MSG)),
    ],
)
def test_tampered_or_forged_proofs_fail(what: str, make: object) -> None:
    proof = prove_possession(SK, MSG)
    args = make(proof)  # type: ignore[operator]
    with pytest.raises(VerificationError):
        verify_possession(*args)


def test_forgery_without_the_secret_fails() -> None:
    """A proof made with another secret does not verify for the victim's key."""
    forged = prove_possession(random_scalar(), MSG)
    with pytest.raises(VerificationError):
        verify_possession(forged, KEY, MSG)


@pytest.mark.parametrize(
    "data",
    [b"", b"\x00" * 63, b"\x00" * 65, b"\x00" * 64, b"\xff" * 64, base_mul(5).data + L.to_bytes(32, "little")],
)
def test_malformed_encodings(data: bytes) -> None:
    with pytest.raises(EncodingError):
        PossessionProof.from_bytes(data)


def test_zero_secret_is_refused() -> None:
    with pytest.raises(ValueError):
        prove_possession(L, MSG)
