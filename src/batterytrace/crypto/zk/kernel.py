"""Balance kernels: Σ C_in − Σ C_out − C_loss = e·H, with a Schnorr proof of e bound to the event.

Statement: given public commitments (inputs, outputs, loss) and an event hash, the prover knows e
with E := Σ C_in − Σ C_out − C_loss = e·H. Since G and H are independent, knowing such an e
means the committed values balance: Σ v_in = Σ v_out + v_loss (mod ℓ; the range proofs on every
output and on the loss rule out wrap-around).

Proof (Schnorr over base H): R = k·H; c = challenge(transcript); s = k + c·e.
Verification: s·H − c·E − R = identity.
Transcript ("batterytrace/zk/kernel/v1"): event hash, G, H, the input, output and loss
commitments (counted), E, R → c.
Encoding: R ‖ s (64 bytes); R must be a valid non-identity point, s canonical and non-zero.
"""

from __future__ import annotations

from dataclasses import dataclass

from batterytrace.crypto.zk.batch import Equation, check_all
from batterytrace.crypto.zk.generators import G, H
from batterytrace.crypto.zk.group import IDENTITY, L, Point, random_scalar
from batterytrace.crypto.zk.rangeproof import decode_point, decode_scalar
from batterytrace.crypto.zk.transcript import Transcript
from batterytrace.errors import EncodingError, VerificationError

__all__ = ["KernelProof", "excess", "kernel_equation", "prove_kernel", "verify_kernel"]


@dataclass(frozen=True)
class KernelProof:
    R: Point
    s: int

    def to_bytes(self) -> bytes:
        return self.R.data + self.s.to_bytes(32, "little")

    @classmethod
    def from_bytes(cls, data: bytes) -> KernelProof:
        if len(data) != 64:
            raise EncodingError(f"a kernel proof is 64 bytes, got {len(data)}")
        return cls(decode_point(data[:32], "kernel R"), decode_scalar(data[32:], "kernel s"))


def excess(inputs: list[Point], outputs: list[Point], loss: Point | None) -> Point:
    """E = Σ inputs − Σ outputs − loss."""
    total = IDENTITY
    for c in inputs:
        total = total + c
    for c in outputs:
        total = total - c
    if loss is not None:
        total = total - loss
    return total


def _check_inputs(inputs: list[Point], outputs: list[Point], loss: Point | None) -> None:
    if not inputs or not outputs:
        raise VerificationError("kernel: an event needs at least one input and one output")
    named = [(f"input {i}", c) for i, c in enumerate(inputs)]
    named += [(f"output {i}", c) for i, c in enumerate(outputs)]
    if loss is not None:
        named.append(("loss", loss))
    for name, c in named:
        if c.is_identity():
            raise VerificationError(f"kernel: {name} commitment is the identity point")


def _transcript(
    event_hash: bytes, inputs: list[Point], outputs: list[Point], loss: Point | None, e: Point
) -> Transcript:
    t = Transcript(b"batterytrace/zk/kernel/v1")
    t.append(b"event", event_hash)
    t.append_point(b"gens/G", G)
    t.append_point(b"gens/H", H)
    t.append_points(b"in", inputs)
    t.append_points(b"out", outputs)
    t.append_points(b"loss", [] if loss is None else [loss])
    t.append_point(b"E", e)
    return t


def prove_kernel(
    excess_blinding: int,
    inputs: list[Point],
    outputs: list[Point],
    loss: Point | None,
    event_hash: bytes,
) -> KernelProof:
    """Sign the event with e = Σ r_in − Σ r_out − r_loss; refuse if the values do not balance."""
    _check_inputs(inputs, outputs, loss)
    e_point = excess(inputs, outputs, loss)
    e = excess_blinding % L
    if e == 0:
        raise ValueError("kernel: the excess blinding is zero; choose blindings that do not cancel")
    if H * e != e_point:
        raise ValueError("kernel: the commitments do not balance for this excess blinding")
    k = random_scalar()
    r_point = H * k
    t = _transcript(event_hash, inputs, outputs, loss, e_point)
    t.append_point(b"R", r_point)
    c = t.challenge(b"c")
    return KernelProof(r_point, (k + c * e) % L)


def kernel_equation(
    proof: KernelProof,
    inputs: list[Point],
    outputs: list[Point],
    loss: Point | None,
    event_hash: bytes,
) -> Equation:
    _check_inputs(inputs, outputs, loss)
    if proof.R.is_identity():
        raise VerificationError("kernel: R is the identity point")
    if not 0 < proof.s < L:
        raise VerificationError("kernel: s is zero or not reduced")
    e_point = excess(inputs, outputs, loss)
    if e_point.is_identity():
        raise VerificationError("kernel: the excess is the identity point")
    t = _transcript(event_hash, inputs, outputs, loss, e_point)
    t.append_point(b"R", proof.R)
    c = t.challenge(b"c")
    eq = Equation()
    eq.add_fixed(H, proof.s)
    eq.add_free(e_point, -c)
    eq.add_free(proof.R, -1)
    return eq


def verify_kernel(
    proof: KernelProof,
    inputs: list[Point],
    outputs: list[Point],
    loss: Point | None,
    event_hash: bytes,
) -> None:
    """Raise VerificationError unless the commitments balance and the kernel signs this event."""
    check_all([kernel_equation(proof, inputs, outputs, loss, event_hash)], "kernel")
