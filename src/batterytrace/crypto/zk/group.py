"""The ristretto255 group over libsodium: points, scalars mod ℓ, multi-scalar multiplication.

Points are immutable wrappers around their canonical 32-byte encoding; every group operation is
one libsodium call (pysodium's ctypes handle is reused, the buffers are created here to avoid
pysodium's per-call argument checks on hot paths).

Edge cases libsodium leaves to the caller are handled here:

* ``crypto_scalarmult_ristretto255`` (and ``_base``) refuse a result equal to the identity. The
  group has prime order ℓ, so ``k·P`` is the identity exactly when ``k ≡ 0 (mod ℓ)`` or ``P`` is the
  identity; both are answered without calling libsodium.
* The identity (all-zero encoding) is a valid point. Whether it is acceptable as an *input*
  (a commitment, a proof element, a ring member) is decided by the statement modules, which refuse it.
* Scalars are Python ints reduced mod ℓ; decoding refuses non-canonical encodings (≥ ℓ).
"""

from __future__ import annotations

import ctypes
import hashlib
import secrets
from collections.abc import Sequence

import pysodium

from batterytrace.errors import EncodingError

__all__ = [
    "BASEPOINT",
    "IDENTITY",
    "L",
    "Point",
    "base_mul",
    "batch_invert",
    "hash_to_point",
    "multiexp",
    "multiexp_buckets",
    "point_from_uniform",
    "random_scalar",
    "scalar_from_bytes",
    "scalar_to_bytes",
]

L = 2**252 + 27742317777372353535851937790883648493
"""The prime order ℓ of ristretto255."""

_sodium = pysodium.sodium
_ZERO32 = bytes(32)


def _buf() -> ctypes.Array[ctypes.c_char]:
    return ctypes.create_string_buffer(32)


class Point:
    """A ristretto255 element, held as its canonical encoding."""

    __slots__ = ("data",)

    data: bytes

    def __init__(self, data: bytes) -> None:
        """Validate like ``from_bytes``; results of group operations skip this (``_point``)."""
        checked = Point.from_bytes(data)
        object.__setattr__(self, "data", checked.data)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Point is immutable")

    @classmethod
    def from_bytes(cls, data: bytes) -> Point:
        """Decode a canonical encoding; refuse wrong lengths and invalid or non-canonical points."""
        if not isinstance(data, bytes | bytearray) or len(data) != 32:
            raise EncodingError("a ristretto255 point is exactly 32 bytes")
        raw = bytes(data)
        if _sodium.crypto_core_ristretto255_is_valid_point(raw) != 1:
            raise EncodingError(f"invalid ristretto255 point encoding {raw.hex()}")
        return _point(raw)

    @classmethod
    def from_hex(cls, text: str) -> Point:
        try:
            raw = bytes.fromhex(text)
        except (ValueError, TypeError) as exc:
            raise EncodingError(f"point is not hex: {exc}") from exc
        return cls.from_bytes(raw)

    def hex(self) -> str:
        return self.data.hex()

    def is_identity(self) -> bool:
        return self.data == _ZERO32

    def __add__(self, other: Point) -> Point:
        if self.data == _ZERO32:
            return other
        if other.data == _ZERO32:
            return self
        out = _buf()
        if _sodium.crypto_core_ristretto255_add(out, self.data, other.data) != 0:
            raise EncodingError("ristretto255 addition refused its input")
        return _point(out.raw)

    def __sub__(self, other: Point) -> Point:
        if other.data == _ZERO32:
            return self
        out = _buf()
        if _sodium.crypto_core_ristretto255_sub(out, self.data, other.data) != 0:
            raise EncodingError("ristretto255 subtraction refused its input")
        return _point(out.raw)

    def __neg__(self) -> Point:
        return IDENTITY - self

    def __mul__(self, scalar: int) -> Point:
        k = scalar % L
        if k == 0 or self.data == _ZERO32:
            return IDENTITY
        out = _buf()
        if _sodium.crypto_scalarmult_ristretto255(out, k.to_bytes(32, "little"), self.data) != 0:
            raise EncodingError("ristretto255 scalar multiplication refused its input")
        return _point(out.raw)

    __rmul__ = __mul__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Point) and self.data == other.data

    def __hash__(self) -> int:
        return hash(self.data)

    def __repr__(self) -> str:
        return f"Point({self.data.hex()})"


def _point(raw: bytes) -> Point:
    """Wrap an encoding libsodium produced or already validated."""
    p = Point.__new__(Point)
    object.__setattr__(p, "data", raw)
    return p


IDENTITY = _point(_ZERO32)


def base_mul(scalar: int) -> Point:
    """``scalar·B`` for the ristretto255 base point B (libsodium's fixed-base table)."""
    k = scalar % L
    if k == 0:
        return IDENTITY
    out = _buf()
    if _sodium.crypto_scalarmult_ristretto255_base(out, k.to_bytes(32, "little")) != 0:
        raise EncodingError("ristretto255 base multiplication refused its input")
    return _point(out.raw)


BASEPOINT = base_mul(1)


def multiexp(scalars: Sequence[int], points: Sequence[Point], base_scalar: int = 0) -> Point:
    """``Σ scalars[i]·points[i] + base_scalar·B``.

    One libsodium scalar multiplication and one addition per non-zero term. libsodium exposes
    only encoded points, so every addition pays a decode and an encode (≈ 12 µs here) while a
    full scalar multiplication costs ≈ 39 µs; a bucket (Pippenger) method needs about
    (253/c)·(n + 2^c) additions, which is more than n multiplications + n additions for every
    window c — see docs/zk.md "Performance". Terms with a zero scalar or the identity are skipped.
    """
    if len(scalars) != len(points):
        raise ValueError("multiexp needs as many scalars as points")
    smul = _sodium.crypto_scalarmult_ristretto255
    add = _sodium.crypto_core_ristretto255_add
    acc: bytes | None = None
    tmp = _buf()
    out = _buf()
    for k, p in zip(scalars, points, strict=True):
        k %= L
        if k == 0 or p.data == _ZERO32:
            continue
        if smul(tmp, k.to_bytes(32, "little"), p.data) != 0:
            raise EncodingError("ristretto255 scalar multiplication refused its input")
        if acc is None:
            acc = tmp.raw
        else:
            if add(out, acc, tmp.raw) != 0:
                raise EncodingError("ristretto255 addition refused its input")
            acc = out.raw
    total = IDENTITY if acc is None else _point(acc)
    if base_scalar % L:
        total = total + base_mul(base_scalar)
    return total


def multiexp_buckets(scalars: Sequence[int], points: Sequence[Point], window: int = 6) -> Point:
    """``Σ scalars[i]·points[i]`` by the bucket (Pippenger) method, with additions only.

    Kept to measure against ``multiexp`` (the bench reports both): with libsodium's encoded-point
    additions it is an order of magnitude slower at the sizes used here, so no prover or
    verifier calls it.
    """
    if len(scalars) != len(points):
        raise ValueError("multiexp needs as many scalars as points")
    if not 1 <= window <= 16:
        raise ValueError("window must be 1..16 bits")
    reduced = [k % L for k in scalars]
    mask = (1 << window) - 1
    total = IDENTITY
    for w in range((253 + window - 1) // window - 1, -1, -1):
        for _ in range(window):
            total = total + total
        buckets = [IDENTITY] * (1 << window)
        for k, p in zip(reduced, points, strict=True):
            digit = (k >> (w * window)) & mask
            if digit:
                buckets[digit] = buckets[digit] + p
        running = IDENTITY
        window_sum = IDENTITY
        for digit in range(mask, 0, -1):
            running = running + buckets[digit]
            window_sum = window_sum + running
        total = total + window_sum
    return total


def batch_invert(values: Sequence[int]) -> list[int]:
    """Inverses mod ℓ of non-zero scalars with one modular inversion (Montgomery's trick)."""
    prefix = [1] * (len(values) + 1)
    for i, v in enumerate(values):
        if v % L == 0:
            raise ValueError("cannot invert the zero scalar")
        prefix[i + 1] = prefix[i] * v % L
    inv = pow(prefix[-1], -1, L)
    out = [0] * len(values)
    for i in range(len(values) - 1, -1, -1):
        out[i] = inv * prefix[i] % L
        inv = inv * values[i] % L
    return out


def random_scalar() -> int:
    """A uniformly random non-zero scalar from ``secrets``."""
    return secrets.randbelow(L - 1) + 1


def scalar_to_bytes(k: int) -> bytes:
    return (k % L).to_bytes(32, "little")


def scalar_from_bytes(data: bytes) -> int:
    """Decode a canonical little-endian scalar; values ≥ ℓ are refused."""
    if len(data) != 32:
        raise EncodingError("a scalar is exactly 32 bytes")
    k = int.from_bytes(data, "little")
    if k >= L:
        raise EncodingError("non-canonical scalar (≥ ℓ)")
    return k


def hash_to_point(tag: bytes, index: int = 0) -> Point:
    """RFC 9496 one-way map of SHA-512(u16(len tag) ‖ tag ‖ u64(index)) — no known discrete log."""
    if not tag:
        raise ValueError("hash_to_point needs a domain-separation tag")
    digest = hashlib.sha512(len(tag).to_bytes(2, "big") + tag + index.to_bytes(8, "big")).digest()
    return point_from_uniform(digest)


def point_from_uniform(data: bytes) -> Point:
    """The RFC 9496 ``from_uniform_bytes`` map on 64 bytes (libsodium ``from_hash``)."""
    if len(data) != 64:
        raise ValueError("the ristretto255 hash-to-group map takes 64 bytes")
    out = _buf()
    if _sodium.crypto_core_ristretto255_from_hash(out, data) != 0:
        raise EncodingError("ristretto255 from_hash failed")
    return _point(out.raw)
