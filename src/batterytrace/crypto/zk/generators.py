"""Generators, each derived by hash-to-point from a named domain-separation tag.

* ``G`` — the value base of Pedersen commitments: the ristretto255 base point (fast fixed-base
  multiplication in libsodium).
* ``H`` — the blinding base: hash_to_point("batterytrace/zk/pedersen/H").
* ``vector_g(i)``, ``vector_h(i)`` — the Bulletproofs vector generators, derived lazily and cached.
* ``ring_gen(i)`` — the matrix-commitment generators of the one-out-of-many proof.
* ``ring_pad(i)`` — filler ring members nobody holds a key for.

No generator's discrete logarithm with respect to another is known to anyone.
"""

from __future__ import annotations

from functools import lru_cache

from batterytrace.crypto.zk.group import BASEPOINT, Point, hash_to_point

__all__ = ["TAGS", "G", "H", "ring_gen", "ring_pad", "vector_g", "vector_gens", "vector_h"]

TAGS = {
    "H": b"batterytrace/zk/pedersen/H",
    "vector_g": b"batterytrace/zk/bulletproofs/G",
    "vector_h": b"batterytrace/zk/bulletproofs/H",
    "ring_gen": b"batterytrace/zk/one-of-many/M",
    "ring_pad": b"batterytrace/zk/one-of-many/pad",
}

G: Point = BASEPOINT
H: Point = hash_to_point(TAGS["H"])


@lru_cache(maxsize=8192)
def vector_g(i: int) -> Point:
    return hash_to_point(TAGS["vector_g"], i)


@lru_cache(maxsize=8192)
def vector_h(i: int) -> Point:
    return hash_to_point(TAGS["vector_h"], i)


def vector_gens(n: int) -> tuple[list[Point], list[Point]]:
    """The first ``n`` Bulletproofs generators (G_i) and (H_i)."""
    return [vector_g(i) for i in range(n)], [vector_h(i) for i in range(n)]


@lru_cache(maxsize=1024)
def ring_gen(i: int) -> Point:
    return hash_to_point(TAGS["ring_gen"], i)


@lru_cache(maxsize=4096)
def ring_pad(i: int) -> Point:
    return hash_to_point(TAGS["ring_pad"], i)
