"""Bulletproofs range proofs: single and aggregated, any bit length n ≤ 64, batch verification.

Statement: for public commitments V_j = v_j·G + γ_j·H (j < m) the prover knows (v_j, γ_j) with
0 ≤ v_j < 2^n. Bits of all values form a_L; the vector is padded with zero bits of weight 0 to the
next power of two N ≥ n·m, so neither n (e.g. 48) nor m need be powers of two. With the weights
W_i = z^(2+j)·2^k for position i = j·n + k (0 on padding), the prover shows
<a_L, W> = Σ z^(2+j)·v_j, a_L ∘ a_R = 0, a_R = a_L − 1 (Bünz et al. 2018, §4.3).

Transcript ("batterytrace/zk/rangeproof/v1"): context (e.g. the event hash), the generator tags
and G, H, n, m, every V_j; then A, S → y, z; T1, T2 → x; t̂, τx, μ → w; IPA rounds (L_j, R_j) → u_j.

Wire encoding (32-byte items): A ‖ S ‖ T1 ‖ T2 ‖ t̂ ‖ τx ‖ μ ‖ (L_j ‖ R_j)_j ‖ a ‖ b.
Decoding refuses wrong lengths, invalid or identity points, and non-canonical or zero scalars.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from batterytrace.crypto.zk.batch import Equation, check_all
from batterytrace.crypto.zk.generators import TAGS, G, H, vector_gens
from batterytrace.crypto.zk.group import (
    L,
    Point,
    batch_invert,
    multiexp,
    random_scalar,
    scalar_from_bytes,
)
from batterytrace.crypto.zk.ipa import challenge_vector, ipa_challenges, prove_ipa
from batterytrace.crypto.zk.pedersen import commit
from batterytrace.crypto.zk.transcript import Transcript
from batterytrace.errors import EncodingError, VerificationError

__all__ = [
    "MAX_BITS",
    "MAX_VALUES",
    "RangeProof",
    "prove_range",
    "range_equation",
    "verify_range",
    "verify_range_batch",
]

MAX_BITS = 64
MAX_VALUES = 64


def _padded(n_bits: int, m: int) -> int:
    size = n_bits * m
    return 1 << (size - 1).bit_length()


def _check_shape(n_bits: int, m: int) -> None:
    if not 1 <= n_bits <= MAX_BITS:
        raise ValueError(f"bit length must be 1..{MAX_BITS}, got {n_bits}")
    if not 1 <= m <= MAX_VALUES:
        raise ValueError(f"a range proof covers 1..{MAX_VALUES} values, got {m}")


@dataclass(frozen=True)
class RangeProof:
    A: Point
    S: Point
    T1: Point
    T2: Point
    t_hat: int
    tau_x: int
    mu: int
    ls: tuple[Point, ...]
    rs: tuple[Point, ...]
    a: int
    b: int

    def to_bytes(self) -> bytes:
        parts = [self.A.data, self.S.data, self.T1.data, self.T2.data]
        parts += [k.to_bytes(32, "little") for k in (self.t_hat, self.tau_x, self.mu)]
        for left, right in zip(self.ls, self.rs, strict=True):
            parts += [left.data, right.data]
        parts += [self.a.to_bytes(32, "little"), self.b.to_bytes(32, "little")]
        return b"".join(parts)

    @staticmethod
    def encoded_size(n_bits: int, m: int) -> int:
        rounds = _padded(n_bits, m).bit_length() - 1
        return 32 * (9 + 2 * rounds)

    @classmethod
    def from_bytes(cls, data: bytes, n_bits: int, m: int) -> RangeProof:
        _check_shape(n_bits, m)
        size = cls.encoded_size(n_bits, m)
        if len(data) != size:
            raise EncodingError(
                f"range proof for n={n_bits}, m={m} is {size} bytes, got {len(data)}"
            )
        items = [data[i : i + 32] for i in range(0, size, 32)]
        rounds = (len(items) - 9) // 2
        pt = [
            decode_point(raw, f"range proof {name}")
            for name, raw in zip(("A", "S", "T1", "T2"), items[:4], strict=True)
        ]
        sc = [
            decode_scalar(raw, f"range proof {name}")
            for name, raw in zip(("t_hat", "tau_x", "mu"), items[4:7], strict=True)
        ]
        lr = [
            decode_point(items[7 + k], f"range proof {'LR'[k % 2]}[{k // 2}]")
            for k in range(2 * rounds)
        ]
        a = decode_scalar(items[-2], "range proof a")
        b = decode_scalar(items[-1], "range proof b")
        return cls(
            pt[0], pt[1], pt[2], pt[3], sc[0], sc[1], sc[2], tuple(lr[0::2]), tuple(lr[1::2]), a, b
        )


def decode_point(raw: bytes, what: str) -> Point:
    """A proof element or commitment: a valid canonical point other than the identity."""
    try:
        p = Point.from_bytes(raw)
    except EncodingError as exc:
        raise EncodingError(f"{what}: {exc}") from exc
    if p.is_identity():
        raise EncodingError(f"{what} is the identity point")
    return p


def decode_scalar(raw: bytes, what: str) -> int:
    """A proof scalar: canonical (< ℓ) and non-zero."""
    try:
        k = scalar_from_bytes(raw)
    except EncodingError as exc:
        raise EncodingError(f"{what}: {exc}") from exc
    if k == 0:
        raise EncodingError(f"{what} is the zero scalar")
    return k


def _transcript(context: bytes, n_bits: int, commitments: list[Point]) -> Transcript:
    t = Transcript(b"batterytrace/zk/rangeproof/v1")
    t.append(b"context", context)
    t.append(b"gens/tags", TAGS["vector_g"] + b"|" + TAGS["vector_h"])
    t.append_point(b"gens/G", G)
    t.append_point(b"gens/H", H)
    t.append_u64(b"n", n_bits)
    t.append_points(b"V", commitments)
    return t


def _weights(n_bits: int, m: int, size: int, z: int) -> list[int]:
    w = [0] * size
    zj = z * z % L
    for j in range(m):
        p2 = 1
        for k in range(n_bits):
            w[j * n_bits + k] = zj * p2 % L
            p2 = p2 * 2 % L
        zj = zj * z % L
    return w


def _powers(x: int, count: int) -> list[int]:
    out = [1] * count
    for i in range(1, count):
        out[i] = out[i - 1] * x % L
    return out


def prove_range(
    values: list[int], blindings: list[int], n_bits: int, context: bytes
) -> tuple[RangeProof, list[Point]]:
    """Prove 0 ≤ v_j < 2^n for every value; return the proof and the commitments V_j."""
    _check_shape(n_bits, len(values))
    for j, v in enumerate(values):
        if not 0 <= v < 2**n_bits:
            raise ValueError(f"value {j} is outside [0, 2^{n_bits})")
    return _prove(values, blindings, n_bits, context)


def _prove(
    values: list[int], blindings: list[int], n_bits: int, context: bytes
) -> tuple[RangeProof, list[Point]]:
    """The prover without the range check (a dishonest prover, for the attack tests)."""
    m = len(values)
    if len(blindings) != m:
        raise ValueError("one blinding per value")
    size = _padded(n_bits, m)
    gs, hs = vector_gens(size)
    commitments = [commit(v, g) for v, g in zip(values, blindings, strict=True)]
    t = _transcript(context, n_bits, commitments)

    a_l = [0] * size
    for j, v in enumerate(values):
        for k in range(n_bits):
            a_l[j * n_bits + k] = (v >> k) & 1
    a_r = [(bit - 1) % L for bit in a_l]
    alpha, rho = random_scalar(), random_scalar()
    big_a = H * alpha
    for i in range(size):
        big_a = big_a + gs[i] if a_l[i] else big_a - hs[i]
    s_l = [random_scalar() for _ in range(size)]
    s_r = [random_scalar() for _ in range(size)]
    big_s = multiexp(s_l + s_r + [rho], gs + hs + [H])
    t.append_point(b"A", big_a)
    t.append_point(b"S", big_s)
    y = t.challenge(b"y")
    z = t.challenge(b"z")

    yn = _powers(y, size)
    w = _weights(n_bits, m, size, z)
    l0 = [(a_l[i] - z) % L for i in range(size)]
    l1 = s_l
    r0 = [(yn[i] * (a_r[i] + z) + w[i]) % L for i in range(size)]
    r1 = [yn[i] * s_r[i] % L for i in range(size)]
    t1 = (sum(l0[i] * r1[i] + l1[i] * r0[i] for i in range(size))) % L
    t2 = sum(l1[i] * r1[i] for i in range(size)) % L
    tau1, tau2 = random_scalar(), random_scalar()
    big_t1 = commit(t1, tau1)
    big_t2 = commit(t2, tau2)
    t.append_point(b"T1", big_t1)
    t.append_point(b"T2", big_t2)
    x = t.challenge(b"x")

    lv = [(l0[i] + l1[i] * x) % L for i in range(size)]
    rv = [(r0[i] + r1[i] * x) % L for i in range(size)]
    t_hat = sum(lv[i] * rv[i] for i in range(size)) % L
    zj = z * z % L
    tau_x = (tau2 * x * x + tau1 * x) % L
    for gamma in blindings:
        tau_x = (tau_x + zj * gamma) % L
        zj = zj * z % L
    mu = (alpha + rho * x) % L
    t.append_scalar(b"t_hat", t_hat)
    t.append_scalar(b"tau_x", tau_x)
    t.append_scalar(b"mu", mu)
    wq = t.challenge(b"w")
    y_inv = pow(y, -1, L)
    ls, rs, a, b = prove_ipa(t, wq, gs, hs, [1] * size, _powers(y_inv, size), lv, rv)
    proof = RangeProof(big_a, big_s, big_t1, big_t2, t_hat, tau_x, mu, tuple(ls), tuple(rs), a, b)
    return proof, commitments


def range_equation(
    proof: RangeProof, commitments: list[Point], n_bits: int, context: bytes
) -> Equation:
    """The single equation (t-check and IPA check merged with a random weight) for one proof."""
    m = len(commitments)
    try:
        _check_shape(n_bits, m)
    except ValueError as exc:
        raise VerificationError(f"range proof: {exc}") from exc
    size = _padded(n_bits, m)
    rounds = size.bit_length() - 1
    if len(proof.ls) != rounds or len(proof.rs) != rounds:
        raise VerificationError(f"range proof: expected {rounds} inner-product rounds")
    for name, k in (
        ("t_hat", proof.t_hat),
        ("tau_x", proof.tau_x),
        ("mu", proof.mu),
        ("a", proof.a),
        ("b", proof.b),
    ):
        if not 0 < k < L:
            raise VerificationError(f"range proof: scalar {name} is zero or not reduced")
    for name, p in [("A", proof.A), ("S", proof.S), ("T1", proof.T1), ("T2", proof.T2)] + [
        ("L/R", p) for p in proof.ls + proof.rs
    ]:
        if p.is_identity():
            raise VerificationError(f"range proof: {name} is the identity point")
    t = _transcript(context, n_bits, commitments)
    t.append_point(b"A", proof.A)
    t.append_point(b"S", proof.S)
    y = t.challenge(b"y")
    z = t.challenge(b"z")
    t.append_point(b"T1", proof.T1)
    t.append_point(b"T2", proof.T2)
    x = t.challenge(b"x")
    t.append_scalar(b"t_hat", proof.t_hat)
    t.append_scalar(b"tau_x", proof.tau_x)
    t.append_scalar(b"mu", proof.mu)
    wq = t.challenge(b"w")
    us = ipa_challenges(t, list(proof.ls), list(proof.rs))
    inverses = batch_invert([*us, y])
    us_inv, y_inv = inverses[:-1], inverses[-1]
    s = challenge_vector(us, us_inv)
    s_inv = challenge_vector(us_inv, us)
    c = secrets.randbits(128) | 1  # weight between the t-check and the IPA check

    y_inv_n = _powers(y_inv, size)
    sum_y = sum(_powers(y, size)) % L
    z2 = z * z % L
    zpow = _powers(z, m + 3)
    delta = ((z - z2) * sum_y - sum(zpow[3 + j] for j in range(m)) * (2**n_bits - 1)) % L
    w = _weights(n_bits, m, size, z)

    eq = Equation()
    eq.base = (c * (delta - proof.t_hat) + wq * (proof.t_hat - proof.a * proof.b)) % L
    eq.add_fixed(H, -(c * proof.tau_x + proof.mu))
    for j, v in enumerate(commitments):
        eq.add_free(v, c * zpow[2 + j])
    eq.add_free(proof.T1, c * x)
    eq.add_free(proof.T2, c * x * x)
    eq.add_free(proof.A, 1)
    eq.add_free(proof.S, x)
    for j in range(rounds):
        eq.add_free(proof.ls[j], us[j] * us[j])
        eq.add_free(proof.rs[j], us_inv[j] * us_inv[j])
    eq.vec_g = [(-z - proof.a * s[i]) % L for i in range(size)]
    eq.vec_h = [(z + y_inv_n[i] * (w[i] - proof.b * s_inv[i])) % L for i in range(size)]
    return eq


def _check_commitments(commitments: list[Point]) -> None:
    for j, v in enumerate(commitments):
        if v.is_identity():
            raise VerificationError(f"range proof: commitment {j} is the identity point")


def verify_range(proof: RangeProof, commitments: list[Point], n_bits: int, context: bytes) -> None:
    """Raise VerificationError unless ``proof`` shows every committed value is in [0, 2^n)."""
    _check_commitments(commitments)
    check_all([range_equation(proof, commitments, n_bits, context)], "range proof")


def verify_range_batch(items: list[tuple[RangeProof, list[Point], int, bytes]]) -> None:
    """Verify many (proof, commitments, n_bits, context) at once: one multi-scalar multiplication."""
    equations = []
    for proof, commitments, n_bits, context in items:
        _check_commitments(commitments)
        equations.append(range_equation(proof, commitments, n_bits, context))
    check_all(equations, f"batch of {len(items)} range proofs")
