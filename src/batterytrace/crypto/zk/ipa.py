"""The Bulletproofs inner-product argument (prover side and the verifier's challenge expansion).

Statement: for generators (G_i), (H'_i) with H'_i = f_i·H_i (per-element factors, e.g. y^-i),
and Q = w·B, the prover knows vectors a, b with P = <a, G> + <b, H'> + <a, b>·Q. Each of the
log2 N rounds sends L = <a_lo, G_hi> + <b_hi, H'_lo> + <a_lo, b_hi>·Q and
R = <a_hi, G_lo> + <b_lo, H'_hi> + <a_hi, b_lo>·Q, draws u from the transcript and folds
a ← u·a_lo + u⁻¹·a_hi, b ← u⁻¹·b_lo + u·b_hi, G ← u⁻¹·G_lo + u·G_hi, H' ← u·H'_lo + u⁻¹·H'_hi.

Folding generators costs one scalar multiplication per element instead of two: a folded generator
is kept as (factor, point) with point = X_lo + (ratio)·X_hi, so only the ratio multiplies a point.
The verifier never folds: it expands the challenges into s_i = Π_j u_j^(±1) and checks one equation.
"""

from __future__ import annotations

from batterytrace.crypto.zk.group import L, Point, batch_invert, multiexp
from batterytrace.crypto.zk.transcript import Transcript

__all__ = ["challenge_vector", "ipa_challenges", "prove_ipa"]


def _inner(a: list[int], b: list[int]) -> int:
    return sum(x * y for x, y in zip(a, b, strict=True)) % L


def prove_ipa(
    transcript: Transcript,
    w: int,
    g_points: list[Point],
    h_points: list[Point],
    g_factors: list[int],
    h_factors: list[int],
    a: list[int],
    b: list[int],
) -> tuple[list[Point], list[Point], int, int]:
    """Return (L_j), (R_j), a, b. ``len(a)`` must be a power of two."""
    n = len(a)
    if n == 0 or n & (n - 1):
        raise ValueError("the inner-product argument needs a power-of-two length")
    gp, hp, gf, hf = list(g_points), list(h_points), list(g_factors), list(h_factors)
    a, b = list(a), list(b)
    ls: list[Point] = []
    rs: list[Point] = []
    while n > 1:
        half = n // 2
        a_lo, a_hi, b_lo, b_hi = a[:half], a[half:], b[:half], b[half:]
        c_l, c_r = _inner(a_lo, b_hi), _inner(a_hi, b_lo)
        left = multiexp(
            [a_lo[i] * gf[half + i] for i in range(half)] + [b_hi[i] * hf[i] for i in range(half)],
            gp[half:n] + hp[:half],
            base_scalar=c_l * w,
        )
        right = multiexp(
            [a_hi[i] * gf[i] for i in range(half)] + [b_lo[i] * hf[half + i] for i in range(half)],
            gp[:half] + hp[half:n],
            base_scalar=c_r * w,
        )
        ls.append(left)
        rs.append(right)
        transcript.append_point(b"ipa/L", left)
        transcript.append_point(b"ipa/R", right)
        u = transcript.challenge(b"ipa/u")
        u_inv = pow(u, -1, L)
        a = [(a_lo[i] * u + a_hi[i] * u_inv) % L for i in range(half)]
        b = [(b_lo[i] * u_inv + b_hi[i] * u) % L for i in range(half)]
        if half > 1:
            u2, u2_inv = u * u % L, u_inv * u_inv % L
            inv = batch_invert(gf[:half] + hf[:half])
            new_gp, new_hp, new_gf, new_hf = [], [], [], []
            for i in range(half):
                new_gf.append(u_inv * gf[i] % L)
                new_gp.append(gp[i] + gp[half + i] * (u2 * gf[half + i] * inv[i]))
                new_hf.append(u * hf[i] % L)
                new_hp.append(hp[i] + hp[half + i] * (u2_inv * hf[half + i] * inv[half + i]))
            gp, hp, gf, hf = new_gp, new_hp, new_gf, new_hf
        n = half
    return ls, rs, a[0], b[0]


def ipa_challenges(transcript: Transcript, ls: list[Point], rs: list[Point]) -> list[int]:
    """Replay the transcript over the rounds; return the challenges u_1..u_k."""
    us = []
    for left, right in zip(ls, rs, strict=True):
        transcript.append_point(b"ipa/L", left)
        transcript.append_point(b"ipa/R", right)
        us.append(transcript.challenge(b"ipa/u"))
    return us


def challenge_vector(us: list[int], inv: list[int]) -> list[int]:
    """s_i = Π_j u_j^(+1 if bit j of i (MSB = round 1) is set else −1), for i < 2^k.

    ``inv`` holds the inverses of ``us``; swapping the two arguments gives (1/s_i).
    """
    s = [1]
    for j in range(len(us) - 1, -1, -1):
        s = [v * inv[j] % L for v in s] + [v * us[j] % L for v in s]
    return s
