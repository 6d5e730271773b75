"""The inner-product argument: the prover's output satisfies the verifier's folded equation."""

from __future__ import annotations

import pytest

from batterytrace.crypto.zk.generators import vector_gens
from batterytrace.crypto.zk.group import L, multiexp, random_scalar
from batterytrace.crypto.zk.ipa import challenge_vector, ipa_challenges, prove_ipa
from batterytrace.crypto.zk.transcript import Transcript


@pytest.mark.parametrize("n", [1, 2, 8, 32])
def test_ipa_relation(n: int) -> None:
    gs, hs = vector_gens(n)
    a = [random_scalar() for _ in range(n)]
    b = [random_scalar() for _ in range(n)]
    hf = [random_scalar() for _ in range(n)]
    w = random_scalar()
    inner = sum(x * y for x, y in zip(a, b, strict=True)) % L
    p = multiexp(a + [b[i] * hf[i] for i in range(n)], gs + hs, base_scalar=inner * w)
    ls, rs, fa, fb = prove_ipa(Transcript(b"t"), w, gs, hs, [1] * n, hf, a, b)
    assert len(ls) == len(rs) == n.bit_length() - 1
    us = ipa_challenges(Transcript(b"t"), ls, rs)
    inv = [pow(u, -1, L) for u in us]
    s, s_inv = challenge_vector(us, inv), challenge_vector(inv, us)
    lhs = p
    for u, ui, left, right in zip(us, inv, ls, rs, strict=True):
        lhs = lhs + left * (u * u) + right * (ui * ui)
    rhs = multiexp(
        [fa * s[i] for i in range(n)] + [fb * s_inv[i] * hf[i] for i in range(n)],
        gs + hs,
        base_scalar=fa * fb * w,
    )
    assert lhs == rhs
    # a different transcript gives different challenges, and the relation breaks
    us2 = ipa_challenges(Transcript(b"other"), ls, rs)
    assert n == 1 or us2 != us


def test_challenge_vector_products() -> None:
    us = [random_scalar() for _ in range(3)]
    inv = [pow(u, -1, L) for u in us]
    s = challenge_vector(us, inv)
    for i in range(8):
        expected = 1
        for j in range(3):  # round j+1 is bit (2 - j) of i, MSB first
            expected = expected * (us[j] if (i >> (2 - j)) & 1 else inv[j]) % L
        assert s[i] == expected


def test_non_power_of_two_is_refused() -> None:
    gs, hs = vector_gens(3)
    with pytest.raises(ValueError, match="power-of-two"):
        prove_ipa(Transcript(b"t"), 1, gs, hs, [1] * 3, [1] * 3, [1] * 3, [1] * 3)
