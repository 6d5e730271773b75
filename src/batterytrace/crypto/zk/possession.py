"""Proof of possession of a ring key: a Schnorr proof of knowledge of sk with P = sk·G, bound to
a message (who registers the key, for which site, in which event).

It stops anyone from registering a key they cannot use, or someone else's key (which would let
them appear in, or pad, a ring they do not belong to): only the holder of sk can produce it.

Proof: R = k·G; c = challenge(transcript); s = k + c·sk.   Verification: s·G − c·P − R = identity.
Transcript ("batterytrace/zk/key-possession/v1"): message, G, P, R → c.
Encoding: R ‖ s (64 bytes); R a valid non-identity point, s canonical and non-zero.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from batterytrace.crypto.zk.batch import Equation, check_all
from batterytrace.crypto.zk.generators import G
from batterytrace.crypto.zk.group import L, Point, base_mul, random_scalar
from batterytrace.crypto.zk.rangeproof import decode_point, decode_scalar
from batterytrace.crypto.zk.transcript import Transcript
from batterytrace.errors import EncodingError, VerificationError

__all__ = ["PossessionProof", "prove_possession", "verify_possession"]


@dataclass(frozen=True)
class PossessionProof:
    R: Point
    s: int

    def to_bytes(self) -> bytes:
        return self.R.data + self.s.to_bytes(32, "little")

    @classmethod
    def from_bytes(cls, data: bytes) -> PossessionProof:
        if len(data) != 64:
            raise EncodingError(f"a proof of possession is 64 bytes, got {len(data)}")
        return cls(decode_point(data[:32], "possession R"), decode_scalar(data[32:], "possession s"))


def _transcript(key: Point, message: bytes) -> Transcript:
    t = Transcript(b"batterytrace/zk/key-possession/v1")
    t.append(b"message", message)
    t.append_point(b"gens/G", G)
    t.append_point(b"key", key)
    return t


def prove_possession(secret_key: int, message: bytes, *, deterministic: bool = False) -> PossessionProof:
    """Prove knowledge of ``secret_key`` for sk·G, bound to ``message``. ``deterministic`` derives
    the nonce from the secret and the message (as EdDSA does) instead of drawing it, so the same
    key and message give the same proof (reproducible documents); the nonce stays secret and
    differs for every message either way."""
    sk = secret_key % L
    if sk == 0:
        raise ValueError("the secret key is zero")
    if deterministic:
        seed = hashlib.sha512(b"batterytrace/zk/key-possession/nonce\x00" + sk.to_bytes(32, "little") + message)
        k = int.from_bytes(seed.digest(), "little") % (L - 1) + 1
    else:
        k = random_scalar()
    r_point = base_mul(k)
    t = _transcript(base_mul(sk), message)
    t.append_point(b"R", r_point)
    c = t.challenge(b"c")
    return PossessionProof(r_point, (k + c * sk) % L)


def verify_possession(proof: PossessionProof, key: Point, message: bytes) -> None:
    """Raise VerificationError unless the holder of key's secret made ``proof`` for ``message``."""
    if key.is_identity():
        raise VerificationError("possession: the key is the identity point")
    if proof.R.is_identity():
        raise VerificationError("possession: R is the identity point")
    if not 0 < proof.s < L:
        raise VerificationError("possession: s is zero or not reduced")
    t = _transcript(key, message)
    t.append_point(b"R", proof.R)
    c = t.challenge(b"c")
    eq = Equation()
    eq.base = proof.s
    eq.add_free(key, -c)
    eq.add_free(proof.R, -1)
    check_all([eq], "proof of possession")
