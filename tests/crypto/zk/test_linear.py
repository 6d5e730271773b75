"""Threshold proofs over linear combinations of commitments."""

from __future__ import annotations

import pytest

from batterytrace.crypto.zk.generators import G
from batterytrace.crypto.zk.group import IDENTITY
from batterytrace.crypto.zk.linear import (
    LinearStatement,
    at_most,
    loss_bound,
    prove_linear,
    recycled_share,
    verify_linear,
)
from batterytrace.crypto.zk.pedersen import random_opening
from batterytrace.crypto.zk.rangeproof import _prove
from batterytrace.errors import VerificationError


def test_loss_within_tolerance() -> None:
    openings = [random_opening(6000), random_opening(4000), random_opening(200)]  # 2 % loss
    st = loss_bound(25, 2)  # 2.5 %
    proof, commitments = prove_linear(st, openings, b"event")
    verify_linear(st, commitments, proof, b"event")
    with pytest.raises(ValueError, match="does not hold"):
        prove_linear(loss_bound(15, 2), openings, b"event")
    with pytest.raises(VerificationError, match="loss-bound"):
        verify_linear(loss_bound(25, 2), commitments, proof, b"other event")


def test_recycled_share_threshold() -> None:
    rec, tot = random_opening(170), random_opening(1000)
    st = recycled_share(16)
    proof, commitments = prove_linear(st, [rec, tot])
    verify_linear(st, commitments, proof)
    with pytest.raises(ValueError, match="does not hold"):
        prove_linear(st, [random_opening(150), tot])
    # The same proof does not prove a stricter threshold (public input changed after proving).
    with pytest.raises(VerificationError, match="recycled-share>=17%"):
        verify_linear(recycled_share(17), commitments, proof)


def test_footprint_at_most_a_public_limit() -> None:
    fp = random_opening(72_000)
    st = at_most(75_000, "footprint-gCO2e")
    proof, commitments = prove_linear(st, [fp])
    verify_linear(st, commitments, proof)
    verify_linear(st, commitments, proof)
    with pytest.raises(VerificationError):
        verify_linear(at_most(74_000, "footprint-gCO2e"), commitments, proof)
    with pytest.raises(VerificationError):
        verify_linear(st, [commitments[0] + G], proof)


def test_negative_combination_cannot_be_proved_by_a_dishonest_prover() -> None:
    rec, tot = random_opening(100), random_opening(1000)  # 10 % < 16 %
    st = recycled_share(16)
    value = 100 * rec.value - 16 * tot.value  # −6000, i.e. ℓ − 6000 mod ℓ
    blinding = 100 * rec.blinding - 16 * tot.blinding
    commitments = [rec.commitment(), tot.commitment()]
    forged, combined = _prove([value], [blinding], 64, st.context(commitments, b""))
    assert combined[0] == st.combined(commitments)
    with pytest.raises(VerificationError, match="recycled-share"):
        verify_linear(st, commitments, forged)


def test_malformed_statements_and_identity_inputs_are_refused() -> None:
    o = random_opening(5)
    st = at_most(10)
    proof, commitments = prove_linear(st, [o])
    with pytest.raises(VerificationError, match="commitment 0 is the identity"):
        verify_linear(st, [IDENTITY], proof)
    with pytest.raises(VerificationError, match="one coefficient per commitment"):
        verify_linear(st, [*commitments, *commitments], proof)
    with pytest.raises(ValueError, match="below 2\\^64"):
        LinearStatement("x", (2**64,), 0).check(1)
