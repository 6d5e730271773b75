"""Thresholds over linear combinations of commitments: Σ a_i·v_i − c ≥ 0.

Statement: given public commitments C_i, public integer coefficients a_i and a public integer c,
the prover knows openings (v_i, r_i) with 0 ≤ Σ a_i·v_i − c < 2^n. The verifier forms
D = Σ a_i·C_i − c·G = (Σ a_i·v_i − c)·G + (Σ a_i·r_i)·H homomorphically and checks a range proof
on D, whose transcript context binds the statement (label, coefficients, constant, C_i).

Soundness needs the integer Σ a_i·v_i − c not to wrap mod ℓ: with each v_i range-proved below
2^64 and |a_i|, |c| < 2^64 the combination stays far below ℓ/2 ≈ 2^251, so a negative combination
is ≥ ℓ − 2^145 mod ℓ (up to 2^16 terms) and no proof for [0, 2^n) exists.

Uses: loss ≤ tolerance: tol·ΣC_in − 1000·C_loss ≥ 0 (tol in per mille); recycled share ≥ 16 %:
100·C_rec − 16·C_tot ≥ 0; footprint ≤ X: −C_fp + X·G ≥ 0, i.e. a = [−1], c = −X.
"""

from __future__ import annotations

from dataclasses import dataclass

from batterytrace.crypto.zk.batch import Equation, check_all
from batterytrace.crypto.zk.group import L, Point, multiexp
from batterytrace.crypto.zk.pedersen import Opening
from batterytrace.crypto.zk.rangeproof import RangeProof, prove_range, range_equation
from batterytrace.crypto.zk.transcript import Transcript
from batterytrace.errors import VerificationError

__all__ = [
    "LinearStatement",
    "at_most",
    "linear_equation",
    "loss_bound",
    "prove_linear",
    "recycled_share",
    "verify_linear",
]

COEFFICIENT_LIMIT = 2**64
MAX_TERMS = 2**16


@dataclass(frozen=True)
class LinearStatement:
    """Σ coefficients[i]·v_i − constant ≥ 0, proved in ``n_bits`` bits, under a purpose label."""

    label: str
    coefficients: tuple[int, ...]
    constant: int
    n_bits: int = 64

    def check(self, count: int) -> None:
        if len(self.coefficients) != count or not 0 < count <= MAX_TERMS:
            raise ValueError(f"one coefficient per commitment, 1..{MAX_TERMS} of them")
        for a in (*self.coefficients, self.constant):
            if abs(a) >= COEFFICIENT_LIMIT:
                raise ValueError("coefficients and constant must be below 2^64 in magnitude")

    def combined(self, commitments: list[Point]) -> Point:
        return multiexp(list(self.coefficients), commitments, base_scalar=-self.constant)

    def context(self, commitments: list[Point], extra: bytes) -> bytes:
        t = Transcript(b"batterytrace/zk/linear/v1")
        t.append(b"label", self.label.encode())
        t.append(b"extra", extra)
        t.append_u64(b"count", len(self.coefficients))
        for a in self.coefficients:
            t.append_int(b"a", a)
        t.append_int(b"c", self.constant)
        t.append_points(b"C", commitments)
        # The range proof's transcript absorbs this digest of the whole statement as its context.
        return t.challenge(b"statement").to_bytes(32, "little")


def prove_linear(
    statement: LinearStatement, openings: list[Opening], extra: bytes = b""
) -> tuple[RangeProof, list[Point]]:
    """Prove the statement from the openings; return the proof and the commitments it is about."""
    statement.check(len(openings))
    value = sum(a * o.value for a, o in zip(statement.coefficients, openings, strict=True))
    value -= statement.constant
    if not 0 <= value < 2**statement.n_bits:
        raise ValueError(f"statement {statement.label!r} does not hold for these openings")
    blinding = sum(a * o.blinding for a, o in zip(statement.coefficients, openings, strict=True))
    commitments = [o.commitment() for o in openings]
    context = statement.context(commitments, extra)
    proof, combined = prove_range([value], [blinding % L], statement.n_bits, context)
    if combined[0] != statement.combined(commitments):
        raise AssertionError("homomorphic combination mismatch")  # internal consistency
    return proof, commitments


def linear_equation(
    statement: LinearStatement, commitments: list[Point], proof: RangeProof, extra: bytes = b""
) -> Equation:
    """The verification equation of a threshold proof (for batching with others)."""
    try:
        statement.check(len(commitments))
    except ValueError as exc:
        raise VerificationError(f"{statement.label}: {exc}") from exc
    for i, c in enumerate(commitments):
        if c.is_identity():
            raise VerificationError(f"{statement.label}: commitment {i} is the identity point")
    combined = statement.combined(commitments)
    if combined.is_identity():
        # D = identity means the combination and its blinding are both zero: 0 ≥ 0 holds but a
        # range proof cannot bind an identity commitment; refuse rather than special-case it.
        raise VerificationError(f"{statement.label}: the combined commitment is the identity")
    context = statement.context(commitments, extra)
    try:
        return range_equation(proof, [combined], statement.n_bits, context)
    except VerificationError as exc:
        raise VerificationError(f"{statement.label}: {exc}") from exc


def verify_linear(
    statement: LinearStatement, commitments: list[Point], proof: RangeProof, extra: bytes = b""
) -> None:
    """Raise VerificationError unless Σ a_i·v_i − c ≥ 0 holds for the committed values."""
    check_all([linear_equation(statement, commitments, proof, extra)], f"{statement.label} proof")


def loss_bound(tolerance_per_mille: int, inputs: int) -> LinearStatement:
    """tol·Σ v_in − 1000·v_loss ≥ 0 over commitments [C_in..., C_loss]."""
    return LinearStatement("loss-bound", (tolerance_per_mille,) * inputs + (-1000,), 0)


def recycled_share(percent: int) -> LinearStatement:
    """100·v_rec − percent·v_tot ≥ 0 over commitments [C_rec, C_tot]."""
    return LinearStatement(f"recycled-share>={percent}%", (100, -percent), 0)


def at_most(limit: int, label: str = "at-most") -> LinearStatement:
    """v ≤ limit over the commitment [C]."""
    return LinearStatement(f"{label}<={limit}", (-1,), -limit)
