"""Balance kernels: Σ C_in − Σ C_out − C_loss = e·H with a Schnorr proof bound to the event."""

from __future__ import annotations

import pytest

from batterytrace.crypto.zk.generators import G, H
from batterytrace.crypto.zk.group import IDENTITY, L, random_scalar
from batterytrace.crypto.zk.kernel import KernelProof, excess, prove_kernel, verify_kernel
from batterytrace.crypto.zk.pedersen import Opening, commit, random_opening
from batterytrace.crypto.zk.rangeproof import prove_range, verify_range
from batterytrace.errors import EncodingError, VerificationError

EVENT = bytes.fromhex("aa" * 32)


def _event(
    ins: list[int], outs: list[int], loss: int
) -> tuple[list[Opening], list[Opening], Opening]:
    return [random_opening(v) for v in ins], [random_opening(v) for v in outs], random_opening(loss)


def _e(ins: list[Opening], outs: list[Opening], loss: Opening) -> int:
    return (sum(o.blinding for o in ins) - sum(o.blinding for o in outs) - loss.blinding) % L


def test_balanced_event_verifies_and_round_trips() -> None:
    ins, outs, loss = _event([1000, 500], [1200, 250], 50)
    c_in, c_out, c_loss = (
        [o.commitment() for o in ins],
        [o.commitment() for o in outs],
        loss.commitment(),
    )
    proof = prove_kernel(_e(ins, outs, loss), c_in, c_out, c_loss, EVENT)
    verify_kernel(proof, c_in, c_out, c_loss, EVENT)
    verify_kernel(KernelProof.from_bytes(proof.to_bytes()), c_in, c_out, c_loss, EVENT)
    assert excess(c_in, c_out, c_loss) == H * _e(ins, outs, loss)


def test_prover_refuses_unbalanced_values() -> None:
    ins, outs, loss = _event([1000], [990], 5)
    c_in, c_out = [o.commitment() for o in ins], [o.commitment() for o in outs]
    with pytest.raises(ValueError, match="do not balance"):
        prove_kernel(_e(ins, outs, loss), c_in, c_out, loss.commitment(), EVENT)


def test_inflating_output_is_refused() -> None:
    ins, outs, loss = _event([1000], [950], 50)
    c_in, c_out, c_loss = (
        [o.commitment() for o in ins],
        [o.commitment() for o in outs],
        loss.commitment(),
    )
    proof = prove_kernel(_e(ins, outs, loss), c_in, c_out, c_loss, EVENT)
    with pytest.raises(VerificationError, match="kernel"):
        verify_kernel(proof, c_in, [c_out[0] + G], c_loss, EVENT)


def test_hidden_negative_output_passes_the_kernel_but_not_the_range_proof() -> None:
    # 100 g in, 150 g and "−50 g" (ℓ − 50) out: the kernel balances mod ℓ, the range proof refuses.
    ins, outs, loss = _event([100], [150, L - 50], 0)
    c_in, c_out, c_loss = (
        [o.commitment() for o in ins],
        [o.commitment() for o in outs],
        loss.commitment(),
    )
    proof = prove_kernel(_e(ins, outs, loss), c_in, c_out, c_loss, EVENT)
    verify_kernel(proof, c_in, c_out, c_loss, EVENT)
    with pytest.raises(ValueError, match="outside"):
        prove_range([o.value for o in outs], [o.blinding for o in outs], 48, EVENT)
    from batterytrace.crypto.zk.rangeproof import _prove

    forged, v = _prove([o.value for o in outs], [o.blinding for o in outs], 48, EVENT)
    assert v == c_out
    with pytest.raises(VerificationError, match="range proof"):
        verify_range(forged, c_out, 48, EVENT)


def test_replay_on_another_event_and_changed_inputs_are_refused() -> None:
    ins, outs, loss = _event([700, 300], [600, 380], 20)
    c_in, c_out, c_loss = (
        [o.commitment() for o in ins],
        [o.commitment() for o in outs],
        loss.commitment(),
    )
    proof = prove_kernel(_e(ins, outs, loss), c_in, c_out, c_loss, EVENT)
    with pytest.raises(VerificationError, match="kernel"):
        verify_kernel(proof, c_in, c_out, c_loss, bytes.fromhex("ab" * 32))
    with pytest.raises(VerificationError, match="kernel"):
        verify_kernel(proof, c_in[::-1], c_out, c_loss, EVENT)  # same excess, different statement
    with pytest.raises(VerificationError, match="kernel"):
        # Moving the loss into the outputs keeps E but changes the statement.
        verify_kernel(proof, c_in, [*c_out, c_loss], None, EVENT)


def test_tampered_and_malformed_kernels_are_refused() -> None:
    ins, outs, loss = _event([10], [9], 1)
    c_in, c_out, c_loss = (
        [o.commitment() for o in ins],
        [o.commitment() for o in outs],
        loss.commitment(),
    )
    proof = prove_kernel(_e(ins, outs, loss), c_in, c_out, c_loss, EVENT)
    with pytest.raises(VerificationError, match="equation does not hold"):
        verify_kernel(KernelProof(proof.R, proof.s + 1), c_in, c_out, c_loss, EVENT)
    with pytest.raises(VerificationError, match="equation does not hold"):
        verify_kernel(KernelProof(proof.R + H, proof.s), c_in, c_out, c_loss, EVENT)
    with pytest.raises(VerificationError, match="R is the identity"):
        verify_kernel(KernelProof(IDENTITY, proof.s), c_in, c_out, c_loss, EVENT)
    with pytest.raises(VerificationError, match="s is zero"):
        verify_kernel(KernelProof(proof.R, 0), c_in, c_out, c_loss, EVENT)
    with pytest.raises(VerificationError, match="output 0 commitment is the identity"):
        verify_kernel(proof, c_in, [IDENTITY], c_loss, EVENT)
    with pytest.raises(EncodingError, match="64 bytes"):
        KernelProof.from_bytes(proof.to_bytes()[:-1])
    with pytest.raises(EncodingError, match="kernel s is the zero scalar"):
        KernelProof.from_bytes(proof.R.data + bytes(32))
    with pytest.raises(EncodingError, match="kernel s: non-canonical"):
        KernelProof.from_bytes(proof.R.data + L.to_bytes(32, "little"))
    with pytest.raises(EncodingError, match="kernel R is the identity"):
        KernelProof.from_bytes(bytes(32) + proof.to_bytes()[32:])


def test_identity_excess_and_zero_blinding_are_refused() -> None:
    r = random_scalar()
    c_in, c_out = [commit(5, r)], [commit(5, r)]
    with pytest.raises(ValueError, match="excess blinding is zero"):
        prove_kernel(0, c_in, c_out, None, EVENT)
    with pytest.raises(VerificationError, match="excess is the identity"):
        verify_kernel(KernelProof(H, 1), c_in, c_out, None, EVENT)

