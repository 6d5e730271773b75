"""Generators: fixed, distinct, derived from their named tags."""

from __future__ import annotations

from batterytrace.crypto.zk.generators import (
    TAGS,
    G,
    H,
    ring_gen,
    ring_pad,
    vector_g,
    vector_gens,
    vector_h,
)
from batterytrace.crypto.zk.group import BASEPOINT, hash_to_point


def test_generators_come_from_their_tags() -> None:
    assert G == BASEPOINT
    assert hash_to_point(TAGS["H"]) == H
    assert vector_g(5) == hash_to_point(TAGS["vector_g"], 5)
    assert vector_h(5) == hash_to_point(TAGS["vector_h"], 5)
    assert ring_gen(2) == hash_to_point(TAGS["ring_gen"], 2)
    assert ring_pad(2) == hash_to_point(TAGS["ring_pad"], 2)


def test_generators_are_distinct_and_not_the_identity() -> None:
    gs, hs = vector_gens(64)
    everything = [
        G,
        H,
        *gs,
        *hs,
        *(ring_gen(i) for i in range(32)),
        *(ring_pad(i) for i in range(32)),
    ]
    assert len(set(everything)) == len(everything)
    assert not any(p.is_identity() for p in everything)
    assert len(set(TAGS.values())) == len(TAGS)
