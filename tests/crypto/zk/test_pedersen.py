"""Pedersen commitments and openings."""

from __future__ import annotations

import pytest

from batterytrace.crypto.zk.generators import G, H
from batterytrace.crypto.zk.group import L, random_scalar
from batterytrace.crypto.zk.pedersen import Opening, commit, open_commitment, random_opening
from batterytrace.errors import VerificationError


def test_commitment_is_v_g_plus_r_h_and_homomorphic() -> None:
    r1, r2 = random_scalar(), random_scalar()
    assert commit(3, r1) == G * 3 + H * r1
    assert commit(3, r1) + commit(4, r2) == commit(7, r1 + r2)
    assert commit(L - 1, r1) == -(G) + H * r1  # "−1" wraps mod ℓ: what range proofs rule out


def test_hiding_same_value_different_blindings() -> None:
    assert random_opening(10).commitment() != random_opening(10).commitment()


def test_openings_are_checked() -> None:
    o = random_opening(12)
    open_commitment(o.commitment(), o)
    with pytest.raises(VerificationError, match="does not match"):
        open_commitment(o.commitment(), Opening(13, o.blinding))
    with pytest.raises(VerificationError, match="does not match"):
        open_commitment(o.commitment(), Opening(12, o.blinding + 1))
    with pytest.raises(VerificationError, match="not a reduced scalar"):
        open_commitment(o.commitment(), Opening(12, o.blinding + L))
