"""One-out-of-many ring proofs over certified mine keys."""

from __future__ import annotations

import pytest

from batterytrace.crypto.zk.generators import G
from batterytrace.crypto.zk.group import IDENTITY, L, Point, base_mul, random_scalar
from batterytrace.crypto.zk.oneofmany import (
    CertificationRecord,
    MembershipProof,
    certified_ring,
    prove_membership,
    ring_shape,
    verify_membership,
)
from batterytrace.errors import EncodingError, VerificationError

MSG = b"extraction-event-hash"
DAY = 86_400_000_000


def _keys(count: int) -> tuple[list[int], list[Point]]:
    sks = [random_scalar() for _ in range(count)]
    return sks, [base_mul(s) for s in sks]


@pytest.mark.parametrize("size", [1, 2, 3, 5, 16, 17, 40])
def test_every_member_can_sign_and_proofs_round_trip(size: int) -> None:
    sks, ring = _keys(size)
    for idx in {0, size // 2, size - 1}:
        proof = prove_membership(ring, sks[idx], MSG)
        verify_membership(proof, ring, MSG)
        raw = proof.to_bytes()
        assert len(raw) == MembershipProof.encoded_size(size)
        verify_membership(MembershipProof.from_bytes(raw, size), ring, MSG)


def test_ring_shapes_cover_the_ring() -> None:
    for size in (1, 2, 16, 100, 256, 1000, 1024):
        n, m = ring_shape(size)
        assert n**m >= size and n >= 2
    with pytest.raises(ValueError):
        ring_shape(0)


def test_non_member_cannot_sign() -> None:
    _, ring = _keys(8)
    with pytest.raises(ValueError, match="not in the ring"):
        prove_membership(ring, random_scalar(), MSG)


def test_member_outside_the_certified_set_is_refused() -> None:
    _sks, certified = _keys(8)
    rogue = random_scalar()
    # The rogue signs over a ring it extended with its own key; the verifier uses the certified set.
    proof = prove_membership([*certified, base_mul(rogue)], rogue, MSG)
    with pytest.raises(VerificationError, match="membership proof"):
        verify_membership(proof, certified, MSG)


def test_expired_certification_is_refused() -> None:
    sks, keys = _keys(4)
    records = [CertificationRecord(k, 0, 100 * DAY) for k in keys[:3]]
    records.append(CertificationRecord(keys[3], 0, 10 * DAY))  # expired on day 10
    old_ring = certified_ring(records, 5 * DAY)
    ring_now = certified_ring(records, 20 * DAY)
    assert keys[3] in old_ring and keys[3] not in ring_now
    with pytest.raises(ValueError, match="not certified at that time"):
        prove_membership(ring_now, sks[3], MSG)
    stale = prove_membership(old_ring, sks[3], MSG)  # a proof built on an out-of-date ring
    with pytest.raises(VerificationError, match="membership proof"):
        verify_membership(stale, ring_now, MSG)
    with pytest.raises(ValueError, match="no certification"):
        certified_ring(records, 200 * DAY)
    with pytest.raises(ValueError, match="must end after"):
        certified_ring([CertificationRecord(keys[0], 10, 10)], 10)


def test_replay_on_another_event_and_changed_ring_are_refused() -> None:
    sks, ring = _keys(16)
    proof = prove_membership(ring, sks[3], MSG)
    with pytest.raises(VerificationError):
        verify_membership(proof, ring, b"another event")
    with pytest.raises(VerificationError):
        verify_membership(proof, ring[::-1], MSG)
    _, extra = _keys(1)
    with pytest.raises(VerificationError):
        verify_membership(proof, [*ring[:-1], extra[0]], MSG)


def test_tampered_proofs_are_refused() -> None:
    sks, ring = _keys(9)
    proof = prove_membership(ring, sks[4], MSG)
    raw = proof.to_bytes()
    for offset in range(0, len(raw), 32):
        item = raw[offset : offset + 32]
        try:
            replacement = (Point.from_bytes(item) + G).data
        except EncodingError:
            replacement = ((int.from_bytes(item, "little") + 1) % L).to_bytes(32, "little")
        forged = raw[:offset] + replacement + raw[offset + 32 :]
        with pytest.raises((VerificationError, EncodingError)):
            verify_membership(MembershipProof.from_bytes(forged, 9), ring, MSG)


def test_identity_members_zero_scalars_and_malformed_input_are_refused() -> None:
    sks, ring = _keys(4)
    proof = prove_membership(ring, sks[0], MSG)
    with pytest.raises(VerificationError, match="ring member 2 is the identity"):
        verify_membership(proof, [ring[0], ring[1], IDENTITY, ring[3]], MSG)
    with pytest.raises(VerificationError, match="appears twice"):
        verify_membership(proof, [ring[0], ring[1], ring[1], ring[3]], MSG)
    with pytest.raises(VerificationError, match="ring is empty"):
        verify_membership(proof, [], MSG)
    raw = proof.to_bytes()
    with pytest.raises(EncodingError, match="bytes"):
        MembershipProof.from_bytes(raw + bytes(32), 4)
    with pytest.raises(EncodingError, match="point 0 is the identity"):
        MembershipProof.from_bytes(bytes(32) + raw[32:], 4)
    with pytest.raises(EncodingError, match="zero scalar"):
        MembershipProof.from_bytes(raw[:-32] + bytes(32), 4)
    with pytest.raises(EncodingError, match="non-canonical"):
        MembershipProof.from_bytes(raw[:-32] + L.to_bytes(32, "little"), 4)
    with pytest.raises(ValueError, match="secret key is zero"):
        prove_membership(ring, 0, MSG)
    with pytest.raises(ValueError, match="identity"):
        certified_ring([CertificationRecord(IDENTITY, 0, 10)], 5)


def test_batch_verification_over_a_shared_ring() -> None:
    from batterytrace.crypto.zk.oneofmany import verify_membership_batch

    sks, ring = _keys(32)
    items = [(prove_membership(ring, sks[i], b"event %d" % i), ring, b"event %d" % i) for i in range(4)]
    verify_membership_batch(items)
    forged = (items[2][0], ring, b"event 99")
    with pytest.raises(VerificationError, match="batch of 4 membership proofs"):
        verify_membership_batch([*items[:2], forged, items[3]])
    with pytest.raises(VerificationError, match="membership proof 1: the ring is empty"):
        verify_membership_batch([items[0], (items[1][0], [], b"x")])
