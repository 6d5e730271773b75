"""Pedersen commitments C = v·G + r·H on ristretto255 (v in integer grams, r a random scalar).

Hiding: r is uniform, so C is uniform whatever v. Binding: opening C to two different values
reveals log_G(H), which nobody knows (H comes from hash-to-point, see generators.py).
The commitment is additively homomorphic: C(v1, r1) + C(v2, r2) = C(v1 + v2, r1 + r2).
"""

from __future__ import annotations

from dataclasses import dataclass

from batterytrace.crypto.zk.generators import H
from batterytrace.crypto.zk.group import L, Point, base_mul, random_scalar
from batterytrace.errors import VerificationError

__all__ = ["Opening", "commit", "open_commitment", "random_opening"]


@dataclass(frozen=True)
class Opening:
    """The private opening (value, blinding) of a commitment; sent privately, never logged."""

    value: int
    blinding: int

    def commitment(self) -> Point:
        return commit(self.value, self.blinding)


def commit(value: int, blinding: int) -> Point:
    """``value·G + blinding·H`` (both reduced mod ℓ)."""
    return base_mul(value) + H * blinding


def random_opening(value: int) -> Opening:
    return Opening(value, random_scalar())


def open_commitment(commitment: Point, opening: Opening) -> None:
    """Raise VerificationError unless ``opening`` opens ``commitment``."""
    if not 0 <= opening.blinding < L:
        raise VerificationError("opening blinding is not a reduced scalar")
    if commit(opening.value, opening.blinding) != commitment:
        raise VerificationError("the opening does not match the commitment")
