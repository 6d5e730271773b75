"""Verification equations as one multi-scalar multiplication, alone or batched with random weights.

A verifier does not check its equations one by one: it states them as "Σ k_i·P_i = identity",
adds them up with independent random weights (128-bit, from ``secrets``) and evaluates a single
multi-scalar multiplication. Terms on the shared bases (the base point, H, the vector generators)
are merged first, so a batch of k range proofs of N bits costs 2N + k·(2·log2 N + 4 + m) scalar
multiplications instead of k·(2N + …). If the combined sum is not the identity, at least one
equation is false (a false one survives a random weighting with probability ≤ 2^-128).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from batterytrace.crypto.zk.generators import vector_g, vector_h
from batterytrace.crypto.zk.group import L, Point, multiexp
from batterytrace.errors import VerificationError

__all__ = ["Equation", "check_all"]


class Equation:
    """Coefficients of one verification equation, which holds when its sum is the identity."""

    __slots__ = ("base", "fixed", "free", "vec_g", "vec_h")

    def __init__(self) -> None:
        self.base = 0  # coefficient of the ristretto255 base point (G, the value base)
        self.fixed: dict[Point, int] = {}  # shared named generators (H, ring generators...)
        self.vec_g: list[int] = []
        self.vec_h: list[int] = []
        self.free: list[tuple[int, Point]] = []  # proof- or statement-specific points

    def add_fixed(self, point: Point, k: int) -> None:
        self.fixed[point] = (self.fixed.get(point, 0) + k) % L

    def add_free(self, point: Point, k: int) -> None:
        self.free.append((k % L, point))

    def scaled(self, weight: int) -> Equation:
        out = Equation()
        out.base = self.base * weight % L
        out.fixed = {p: k * weight % L for p, k in self.fixed.items()}
        out.vec_g = [k * weight % L for k in self.vec_g]
        out.vec_h = [k * weight % L for k in self.vec_h]
        out.free = [(k * weight % L, p) for k, p in self.free]
        return out

    def evaluate(self) -> Point:
        scalars: list[int] = []
        points: list[Point] = []
        for p, k in self.fixed.items():
            scalars.append(k)
            points.append(p)
        for i, k in enumerate(self.vec_g):
            scalars.append(k)
            points.append(vector_g(i))
        for i, k in enumerate(self.vec_h):
            scalars.append(k)
            points.append(vector_h(i))
        for k, p in self.free:
            scalars.append(k)
            points.append(p)
        return multiexp(scalars, points, base_scalar=self.base)


def _merge(into: Equation, eq: Equation, weight: int) -> None:
    into.base = (into.base + eq.base * weight) % L
    for p, k in eq.fixed.items():
        into.fixed[p] = (into.fixed.get(p, 0) + k * weight) % L
    for name in ("vec_g", "vec_h"):
        acc: list[int] = getattr(into, name)
        src: list[int] = getattr(eq, name)
        if len(acc) < len(src):
            acc.extend([0] * (len(src) - len(acc)))
        for i, k in enumerate(src):
            acc[i] = (acc[i] + k * weight) % L
    into.free.extend((k * weight % L, p) for k, p in eq.free)


def check_all(
    equations: list[Equation],
    what: str,
    weight: Callable[[], int] = lambda: secrets.randbits(128) | 1,
) -> None:
    """Raise VerificationError naming ``what`` unless every equation holds.

    A single equation is evaluated as is; several are combined with random weights.
    """
    if not equations:
        return
    combined = Equation()
    for i, eq in enumerate(equations):
        _merge(combined, eq, 1 if i == 0 else weight())
    if not combined.evaluate().is_identity():
        raise VerificationError(f"{what}: the verification equation does not hold")
