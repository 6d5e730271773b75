"""The Fiat–Shamir transcript: deterministic, and sensitive to every absorbed input."""

from __future__ import annotations

from batterytrace.crypto.zk.group import BASEPOINT, L
from batterytrace.crypto.zk.transcript import Transcript


def _run(protocol: bytes, items: list[tuple[bytes, bytes]]) -> int:
    t = Transcript(protocol)
    for label, data in items:
        t.append(label, data)
    return t.challenge(b"c")


def test_same_inputs_same_challenge() -> None:
    items = [(b"a", b"1"), (b"b", b"2")]
    assert _run(b"p", items) == _run(b"p", items)
    assert 0 < _run(b"p", items) < L


def test_every_input_changes_the_challenge() -> None:
    base = _run(b"p", [(b"a", b"1"), (b"b", b"2")])
    variants = [
        _run(b"q", [(b"a", b"1"), (b"b", b"2")]),
        _run(b"p", [(b"a", b"2"), (b"b", b"2")]),
        _run(b"p", [(b"x", b"1"), (b"b", b"2")]),
        _run(b"p", [(b"b", b"2"), (b"a", b"1")]),
        _run(b"p", [(b"a", b"1b"), (b"", b"2")]),  # boundary shift is not a collision
        _run(b"p", [(b"a", b"1")]),
    ]
    assert base not in variants and len(set(variants)) == len(variants)


def test_successive_challenges_differ_and_copies_are_independent() -> None:
    t = Transcript(b"p")
    t.append_point(b"P", BASEPOINT)
    twin = t.copy()
    c1, c2 = t.challenge(b"c"), t.challenge(b"c")
    assert c1 != c2
    assert twin.challenge(b"c") == c1


def test_signed_integers_are_encoded_injectively() -> None:
    def ch(v: int) -> int:
        t = Transcript(b"p")
        t.append_int(b"v", v)
        return t.challenge(b"c")

    assert len({ch(v) for v in (0, 1, -1, 255, 256, -256)}) == 6
