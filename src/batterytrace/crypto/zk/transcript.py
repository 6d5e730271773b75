"""A Merlin-style Fiat–Shamir transcript: every public input is absorbed before any challenge.

Layout (all lengths are 4-byte big-endian): the state starts as
``SHA-512("batterytrace/zk/transcript/v1" ‖ len ‖ protocol-label)``; ``append(label, data)``
replaces it by ``SHA-512(state ‖ 0x01 ‖ len ‖ label ‖ len ‖ data)``; ``challenge(label)`` computes
``out = SHA-512(state ‖ 0x02 ‖ len ‖ label)``, sets ``state = SHA-512(state ‖ 0x03 ‖ out)`` and
returns ``out mod ℓ`` (re-drawn in the negligible case it is zero). Distinct operation bytes and
length prefixes make the encoding injective, so two transcripts yield the same challenge only if
they absorbed the same labelled sequence. Unlike Merlin it is built on SHA-512 rather than STROBE.
"""

from __future__ import annotations

import hashlib

from batterytrace.crypto.zk.group import L, Point, scalar_to_bytes

__all__ = ["Transcript"]

_DOMAIN = b"batterytrace/zk/transcript/v1"


def _lp(data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + data


class Transcript:
    """The prover and the verifier build identical transcripts; challenges are derived from them."""

    __slots__ = ("_state",)

    def __init__(self, protocol: bytes) -> None:
        self._state = hashlib.sha512(_DOMAIN + _lp(protocol)).digest()

    def append(self, label: bytes, data: bytes) -> None:
        self._state = hashlib.sha512(self._state + b"\x01" + _lp(label) + _lp(data)).digest()

    def append_point(self, label: bytes, point: Point) -> None:
        self.append(label, point.data)

    def append_points(self, label: bytes, points: list[Point]) -> None:
        self.append(label + b"/count", len(points).to_bytes(8, "big"))
        for p in points:
            self.append(label, p.data)

    def append_scalar(self, label: bytes, scalar: int) -> None:
        self.append(label, scalar_to_bytes(scalar))

    def append_u64(self, label: bytes, value: int) -> None:
        self.append(label, value.to_bytes(8, "big"))

    def append_int(self, label: bytes, value: int) -> None:
        """A signed integer of any size (coefficients, limits): sign byte and magnitude."""
        magnitude = abs(value)
        body = magnitude.to_bytes((magnitude.bit_length() + 7) // 8 or 1, "big")
        self.append(label, (b"-" if value < 0 else b"+") + body)

    def challenge(self, label: bytes) -> int:
        while True:
            out = hashlib.sha512(self._state + b"\x02" + _lp(label)).digest()
            self._state = hashlib.sha512(self._state + b"\x03" + out).digest()
            c = int.from_bytes(out, "little") % L
            if c:
                return c

    def copy(self) -> Transcript:
        twin = Transcript.__new__(Transcript)
        twin._state = self._state
        return twin
