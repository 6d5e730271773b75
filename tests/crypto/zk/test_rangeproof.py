"""Bulletproofs range proofs: round trips, aggregation, batching and every attack the brief lists."""

from __future__ import annotations

import pytest

from batterytrace.crypto.zk.generators import G, H
from batterytrace.crypto.zk.group import IDENTITY, L, Point, base_mul, random_scalar
from batterytrace.crypto.zk.pedersen import commit
from batterytrace.crypto.zk.rangeproof import (
    RangeProof,
    _prove,
    prove_range,
    verify_range,
    verify_range_batch,
)
from batterytrace.errors import EncodingError, VerificationError

CTX = b"event:0011"


def _proof(values: list[int], n_bits: int = 8, ctx: bytes = CTX) -> tuple[RangeProof, list[Point]]:
    return prove_range(values, [random_scalar() for _ in values], n_bits, ctx)


@pytest.mark.parametrize(
    ("values", "n_bits"),
    [
        ([0], 8),
        ([255], 8),
        ([2**48 - 1], 48),
        ([2**64 - 1], 64),
        ([7, 0, 200], 8),
        ([1, 2, 3, 4, 5], 16),
    ],
)
def test_honest_proofs_verify_and_round_trip(values: list[int], n_bits: int) -> None:
    proof, commitments = _proof(values, n_bits)
    verify_range(proof, commitments, n_bits, CTX)
    raw = proof.to_bytes()
    assert len(raw) == RangeProof.encoded_size(n_bits, len(values))
    decoded = RangeProof.from_bytes(raw, n_bits, len(values))
    assert decoded == proof
    verify_range(decoded, commitments, n_bits, CTX)


def test_prover_refuses_out_of_range_values() -> None:
    for value in (2**8, -1, L - 1):
        with pytest.raises(ValueError, match="outside"):
            _proof([value], 8)
    with pytest.raises(ValueError, match="bit length"):
        _proof([1], 65)


@pytest.mark.parametrize("value", [2**64, L - 1, 2**64 + 5])
def test_forged_proof_for_out_of_range_value_is_refused(value: int) -> None:
    # A dishonest prover commits to 2^64 or to ℓ − 1 ("−1") and proves the truncated bits.
    proof, commitments = _prove([value], [random_scalar()], 64, CTX)
    with pytest.raises(VerificationError, match="range proof"):
        verify_range(proof, commitments, 64, CTX)


def test_hidden_negative_output_in_an_aggregate_is_refused() -> None:
    proof, commitments = _prove([150, L - 50], [random_scalar(), random_scalar()], 64, CTX)
    with pytest.raises(VerificationError, match="range proof"):
        verify_range(proof, commitments, 64, CTX)


def test_wrong_commitment_is_refused() -> None:
    proof, commitments = _proof([42])
    for other in (commit(42, random_scalar()), commitments[0] + G, commitments[0] + H):
        with pytest.raises(VerificationError, match="does not hold"):
            verify_range(proof, [other], 8, CTX)


def test_proof_replayed_on_another_event_is_refused() -> None:
    proof, commitments = _proof([42])
    with pytest.raises(VerificationError, match="does not hold"):
        verify_range(proof, commitments, 8, b"event:0012")


def test_changing_any_public_input_after_proving_is_refused() -> None:
    # Frozen Heart: the bit length, the order of the commitments and the context are all bound.
    proof, commitments = prove_range([5, 9], [random_scalar(), random_scalar()], 64, CTX)
    with pytest.raises(VerificationError):
        verify_range(proof, commitments[::-1], 64, CTX)
    single, single_v = prove_range([5], [random_scalar()], 64, CTX)
    with pytest.raises(VerificationError):  # n = 48 pads to the same 64 positions
        verify_range(single, single_v, 48, CTX)
    with pytest.raises(VerificationError):
        verify_range(proof, commitments, 64, CTX + b"x")


def test_every_tampered_element_is_refused() -> None:
    proof, commitments = _proof([77, 3])
    raw = proof.to_bytes()
    for offset in range(0, len(raw), 32):
        item = raw[offset : offset + 32]
        try:
            replacement = (Point.from_bytes(item) + G).data
        except EncodingError:
            replacement = ((int.from_bytes(item, "little") + 1) % L).to_bytes(32, "little")
        forged = raw[:offset] + replacement + raw[offset + 32 :]
        with pytest.raises((VerificationError, EncodingError)):
            verify_range(RangeProof.from_bytes(forged, 8, 2), commitments, 8, CTX)


def test_malformed_encodings_are_refused_naming_the_element() -> None:
    proof, _ = _proof([1])
    raw = proof.to_bytes()
    with pytest.raises(EncodingError, match="bytes"):
        RangeProof.from_bytes(raw[:-1], 8, 1)
    with pytest.raises(EncodingError, match="A is the identity"):
        RangeProof.from_bytes(IDENTITY.data + raw[32:], 8, 1)
    with pytest.raises(EncodingError, match="S: invalid"):
        RangeProof.from_bytes(raw[:32] + b"\xff" * 32 + raw[64:], 8, 1)
    with pytest.raises(EncodingError, match="t_hat is the zero scalar"):
        RangeProof.from_bytes(raw[:128] + bytes(32) + raw[160:], 8, 1)
    with pytest.raises(EncodingError, match="mu: non-canonical"):
        RangeProof.from_bytes(raw[:192] + L.to_bytes(32, "little") + raw[224:], 8, 1)


def test_identity_commitment_and_zero_scalars_are_refused() -> None:
    proof, _ = _proof([0])
    with pytest.raises(VerificationError, match="commitment 0 is the identity"):
        verify_range(proof, [IDENTITY], 8, CTX)
    zeroed = RangeProof(
        proof.A,
        proof.S,
        proof.T1,
        proof.T2,
        proof.t_hat,
        proof.tau_x,
        proof.mu,
        proof.ls,
        proof.rs,
        0,
        proof.b,
    )
    with pytest.raises(VerificationError, match="scalar a is zero"):
        verify_range(zeroed, [commit(0, 1)], 8, CTX)


def test_batch_verification_accepts_honest_and_refuses_one_bad_proof() -> None:
    items = []
    for values, n_bits in (([1], 8), ([2, 3], 8), ([2**40], 48), ([9, 9, 9], 16)):
        proof, commitments = _proof(values, n_bits)
        items.append((proof, commitments, n_bits, CTX))
    verify_range_batch(items)
    bad_proof, bad_v = _prove([256], [random_scalar()], 8, CTX)
    with pytest.raises(VerificationError, match="batch of 5 range proofs"):
        verify_range_batch([*items, (bad_proof, bad_v, 8, CTX)])
    with pytest.raises(VerificationError, match="batch"):
        verify_range_batch([*items[:2], (items[2][0], items[2][1], 48, b"other")])


def test_commitments_are_homomorphic() -> None:
    r1, r2 = random_scalar(), random_scalar()
    assert commit(3, r1) + commit(4, r2) == commit(7, r1 + r2)
    assert commit(5, 0) == base_mul(5)


@pytest.mark.parametrize("values", [[2**48], [1, 2**48 + 1, 3], [5, L - 1, 7]])
def test_padded_48_bit_aggregates_refuse_out_of_range_values(values: list[int]) -> None:
    proof, commitments = _prove(values, [random_scalar() for _ in values], 48, CTX)
    with pytest.raises(VerificationError, match="range proof"):
        verify_range(proof, commitments, 48, CTX)
    honest, honest_v = prove_range([2**48 - 1, 0, 9], [random_scalar() for _ in range(3)], 48, CTX)
    verify_range(honest, honest_v, 48, CTX)


def test_statement_shape_errors_are_verification_errors() -> None:
    proof, commitments = _proof([3])
    with pytest.raises(VerificationError, match=r"covers 1\.\.64 values"):
        verify_range(proof, [], 8, CTX)
    with pytest.raises(VerificationError, match="bit length"):
        verify_range(proof, commitments, 0, CTX)
    with pytest.raises(VerificationError, match="inner-product rounds"):
        verify_range(proof, commitments, 16, CTX)
