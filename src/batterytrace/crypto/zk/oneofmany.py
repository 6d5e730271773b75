"""Certified origin without naming the mine: a one-out-of-many proof (Groth–Kohlweiss 2015,
in the n-ary form of Bootle et al. 2015) used as a ring signature.

Statement: given a ring of public keys P_0..P_{N−1} (P = sk·G) and a message (the event hash),
the signer knows sk and an index ℓ with P_ℓ = sk·G. The ring is padded with members nobody holds
a key for (generators.ring_pad) to N' = n^m; (n, m) is a deterministic function of N.

Prover: write ℓ in base n (digits ℓ_j); σ_{j,i} = [ℓ_j = i]; random a_{j,i} (i ≥ 1),
a_{j,0} = −Σ_{i≥1} a_{j,i}. Matrix commitments over generators M_{j,i} with blinding base H:
A = Com(a), B = Com(σ), C = Com(a∘(1 − 2σ)), D = Com(−a∘a). With f_{j,i}(x) = σ_{j,i}·x + a_{j,i}
and p_i(x) = Π_j f_{j,i_j}(x) = Σ_k p_{i,k}·x^k (degree m only at i = ℓ), G_k = Σ_i p_{i,k}·P_i + ρ_k·G.
Challenge x; responses f_{j,i} (i ≥ 1), z_A = r_B·x + r_A, z_C = r_C·x + r_D,
z = sk·x^m − Σ_k ρ_k·x^k.

Verifier: f_{j,0} = x − Σ_{i≥1} f_{j,i};  x·B + A = Com(f; z_A);  x·C + D = Com(f∘(x − f); z_C);
Σ_i p_i(x)·P_i − Σ_k x^k·G_k = z·G — the three merged into one multi-scalar multiplication.

Transcript ("batterytrace/zk/one-of-many/v1"): message, G, H, N, n, m, every ring member,
A, B, C, D, G_0..G_{m−1} → x.
Encoding: A ‖ B ‖ C ‖ D ‖ G_0..G_{m−1} ‖ f_{j,i} (j < m, 1 ≤ i < n) ‖ z_A ‖ z_C ‖ z.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from batterytrace.crypto.zk.batch import Equation, check_all
from batterytrace.crypto.zk.generators import G, H, ring_gen, ring_pad
from batterytrace.crypto.zk.group import L, Point, base_mul, multiexp, random_scalar
from batterytrace.crypto.zk.rangeproof import decode_point, decode_scalar
from batterytrace.crypto.zk.transcript import Transcript
from batterytrace.errors import EncodingError, VerificationError

__all__ = [
    "CertificationRecord",
    "MembershipProof",
    "certified_ring",
    "prove_membership",
    "ring_shape",
    "verify_membership",
    "verify_membership_batch",
]

MAX_RING = 1 << 16


def ring_shape(size: int) -> tuple[int, int]:
    """The base n and digit count m used for a ring of ``size`` members (deterministic)."""
    if not 1 <= size <= MAX_RING:
        raise ValueError(f"a ring holds 1..{MAX_RING} members, got {size}")
    best: tuple[int, int, int] | None = None
    for n in range(2, 33):
        m, padded = 1, n
        while padded < size:
            m, padded = m + 1, padded * n
        # prover ≈ m·N' multiplications, verifier ≈ N'; matrix commitments ≈ 3·n·m
        cost = m * padded + 2 * padded + 4 * n * m
        if best is None or cost < best[0]:
            best = (cost, n, m)
    assert best is not None
    return best[1], best[2]


@dataclass(frozen=True)
class CertificationRecord:
    """A mine's key and the validity window of its certification (microseconds since the epoch)."""

    key: Point
    valid_from_us: int
    valid_to_us: int


def certified_ring(records: list[CertificationRecord], at_us: int) -> list[Point]:
    """Keys certified at ``at_us`` (valid_from ≤ at < valid_to), deduplicated, in canonical order.

    Expired or not-yet-valid certifications are left out, so a ring built for an event time
    never contains a mine whose attestation is not valid then.
    """
    keys = set()
    for rec in records:
        if rec.valid_to_us <= rec.valid_from_us:
            raise ValueError("a certification must end after it starts")
        if rec.key.is_identity():
            raise ValueError("a certified key cannot be the identity point")
        if rec.valid_from_us <= at_us < rec.valid_to_us:
            keys.add(rec.key)
    if not keys:
        raise ValueError("no certification is valid at that time")
    return sorted(keys, key=lambda p: p.data)


@dataclass(frozen=True)
class MembershipProof:
    A: Point
    B: Point
    C: Point
    D: Point
    gk: tuple[Point, ...]
    f: tuple[tuple[int, ...], ...]  # f[j][i-1] for 1 ≤ i < n
    z_a: int
    z_c: int
    z: int

    def to_bytes(self) -> bytes:
        parts = [self.A.data, self.B.data, self.C.data, self.D.data] + [p.data for p in self.gk]
        parts += [k.to_bytes(32, "little") for row in self.f for k in row]
        parts += [k.to_bytes(32, "little") for k in (self.z_a, self.z_c, self.z)]
        return b"".join(parts)

    @staticmethod
    def encoded_size(ring_size: int) -> int:
        n, m = ring_shape(ring_size)
        return 32 * (4 + m + m * (n - 1) + 3)

    @classmethod
    def from_bytes(cls, data: bytes, ring_size: int) -> MembershipProof:
        try:
            n, m = ring_shape(ring_size)
        except ValueError as exc:
            raise EncodingError(f"membership proof: {exc}") from exc
        size = cls.encoded_size(ring_size)
        if len(data) != size:
            raise EncodingError(
                f"membership proof for {ring_size} members is {size} bytes, got {len(data)}"
            )
        items = [data[i : i + 32] for i in range(0, size, 32)]
        pts = [
            decode_point(raw, f"membership proof point {i}") for i, raw in enumerate(items[: 4 + m])
        ]
        scalars = [
            decode_scalar(raw, f"membership proof scalar {i}")
            for i, raw in enumerate(items[4 + m :])
        ]
        f = tuple(tuple(scalars[j * (n - 1) : (j + 1) * (n - 1)]) for j in range(m))
        return cls(
            pts[0], pts[1], pts[2], pts[3], tuple(pts[4:]), f, scalars[-3], scalars[-2], scalars[-1]
        )


def _padded_ring(ring: list[Point]) -> tuple[list[Point], int, int]:
    try:
        n, m = ring_shape(len(ring))
    except ValueError as exc:
        raise VerificationError(f"membership proof: {exc}") from exc
    seen = set()
    for i, p in enumerate(ring):
        if p.is_identity():
            raise VerificationError(f"ring member {i} is the identity point")
        if p in seen:
            raise VerificationError(f"ring member {i} appears twice")
        seen.add(p)
    return list(ring) + [ring_pad(i) for i in range(len(ring), n**m)], n, m


def _transcript(message: bytes, ring: list[Point], n: int, m: int) -> Transcript:
    t = Transcript(b"batterytrace/zk/one-of-many/v1")
    t.append(b"message", message)
    t.append_point(b"gens/G", G)
    t.append_point(b"gens/H", H)
    t.append_u64(b"n", n)
    t.append_u64(b"m", m)
    t.append_points(b"ring", ring)
    return t


def _matrix_commit(values: list[list[int]], blinding: int, n: int) -> Point:
    scalars = [v for row in values for v in row]
    gens = [ring_gen(k) for k in range(len(scalars))]
    return multiexp([*scalars, blinding], [*gens, H])


def _poly_products(f: list[list[list[int]]], n: int, m: int) -> list[list[int]]:
    """p_i = Π_j f[j][i_j] as coefficient lists, for i = Σ i_j·n^j."""
    polys: list[list[int]] = [[1]]
    for j in range(m):
        new: list[list[int]] = [[]] * (len(polys) * n)
        stride = len(polys)
        for digit in range(n):
            lin = f[j][digit]  # [constant, x-coefficient]
            for idx, p in enumerate(polys):
                out = [0] * (len(p) + 1)
                for k, c in enumerate(p):
                    out[k] = (out[k] + c * lin[0]) % L
                    out[k + 1] = (out[k + 1] + c * lin[1]) % L
                new[digit * stride + idx] = out
        polys = new
    return polys


def prove_membership(ring: list[Point], secret_key: int, message: bytes) -> MembershipProof:
    """Sign ``message`` as "one of the ring"; refuse if sk·G is not a ring member."""
    sk = secret_key % L
    if sk == 0:
        raise ValueError("the secret key is zero")
    mine = base_mul(sk)
    try:
        index = ring.index(mine)
    except ValueError:
        raise ValueError("this key is not in the ring (not certified at that time)") from None
    padded, n, m = _padded_ring(ring)
    digits = [(index // n**j) % n for j in range(m)]
    sigma = [[1 if digits[j] == i else 0 for i in range(n)] for j in range(m)]
    a = []
    for _ in range(m):
        row = [0] + [random_scalar() for _ in range(n - 1)]
        row[0] = -sum(row[1:]) % L
        a.append(row)
    r_a, r_b, r_c, r_d = (random_scalar() for _ in range(4))
    big_a = _matrix_commit(a, r_a, n)
    big_b = H * r_b
    for j in range(m):
        big_b = big_b + ring_gen(j * n + digits[j])
    big_c = _matrix_commit(
        [[a[j][i] * (1 - 2 * sigma[j][i]) % L for i in range(n)] for j in range(m)], r_c, n
    )
    big_d = _matrix_commit([[-a[j][i] * a[j][i] % L for i in range(n)] for j in range(m)], r_d, n)
    polys = _poly_products([[[a[j][i], sigma[j][i]] for i in range(n)] for j in range(m)], n, m)
    rho = [random_scalar() for _ in range(m)]
    gk = [multiexp([p[k] for p in polys], padded, base_scalar=rho[k]) for k in range(m)]
    t = _transcript(message, ring, n, m)
    for label, p in ((b"A", big_a), (b"B", big_b), (b"C", big_c), (b"D", big_d)):
        t.append_point(label, p)
    t.append_points(b"G_k", gk)
    x = t.challenge(b"x")
    f = tuple(tuple((sigma[j][i] * x + a[j][i]) % L for i in range(1, n)) for j in range(m))
    z = sk * pow(x, m, L)
    for k in range(m):
        z -= rho[k] * pow(x, k, L)
    return MembershipProof(
        big_a,
        big_b,
        big_c,
        big_d,
        tuple(gk),
        f,
        (r_b * x + r_a) % L,
        (r_c * x + r_d) % L,
        z % L,
    )


def membership_equation(proof: MembershipProof, ring: list[Point], message: bytes) -> Equation:
    padded, n, m = _padded_ring(ring)
    if len(proof.gk) != m or len(proof.f) != m or any(len(row) != n - 1 for row in proof.f):
        raise VerificationError("membership proof: wrong shape for this ring size")
    for name, p in (("A", proof.A), ("B", proof.B), ("C", proof.C), ("D", proof.D)):
        if p.is_identity():
            raise VerificationError(f"membership proof: {name} is the identity point")
    if any(p.is_identity() for p in proof.gk):
        raise VerificationError("membership proof: a G_k is the identity point")
    for k in [proof.z_a, proof.z_c, proof.z, *(v for row in proof.f for v in row)]:
        if not 0 < k < L:
            raise VerificationError("membership proof: a scalar is zero or not reduced")
    t = _transcript(message, ring, n, m)
    for label, p in ((b"A", proof.A), (b"B", proof.B), (b"C", proof.C), (b"D", proof.D)):
        t.append_point(label, p)
    t.append_points(b"G_k", list(proof.gk))
    x = t.challenge(b"x")
    full = [[(x - sum(row)) % L, *row] for row in proof.f]
    w1, w2 = secrets.randbits(128) | 1, secrets.randbits(128) | 1
    eq = Equation()
    for j in range(m):
        for i in range(n):
            fv = full[j][i]
            eq.add_fixed(ring_gen(j * n + i), w1 * fv + w2 * fv * (x - fv))
    eq.add_fixed(H, w1 * proof.z_a + w2 * proof.z_c)
    eq.add_free(proof.B, -w1 * x)
    eq.add_free(proof.A, -w1)
    eq.add_free(proof.C, -w2 * x)
    eq.add_free(proof.D, -w2)
    # p_i(x) by prefix products over the digits
    values = [1]
    for j in range(m):
        values = [v * full[j][digit] % L for digit in range(n) for v in values]
    for p, v in zip(padded, values, strict=True):
        eq.add_fixed(p, v)  # merged across a batch that shares the ring
    xk = 1
    for k in range(m):
        eq.add_free(proof.gk[k], -xk)
        xk = xk * x % L
    eq.base = -proof.z % L
    return eq


def verify_membership(proof: MembershipProof, ring: list[Point], message: bytes) -> None:
    """Raise VerificationError unless a holder of a ring member's key signed ``message``."""
    if not ring:
        raise VerificationError("membership proof: the ring is empty")
    check_all([membership_equation(proof, ring, message)], "membership proof")


def verify_membership_batch(items: list[tuple[MembershipProof, list[Point], bytes]]) -> None:
    """Verify many (proof, ring, message) at once; proofs over the same ring share its terms."""
    equations = []
    for index, (proof, ring, message) in enumerate(items):
        if not ring:
            raise VerificationError(f"membership proof {index}: the ring is empty")
        try:
            equations.append(membership_equation(proof, ring, message))
        except VerificationError as exc:
            raise VerificationError(f"membership proof {index}: {exc}") from exc
    check_all(equations, f"batch of {len(items)} membership proofs")
