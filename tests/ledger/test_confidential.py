"""The confidential wire helpers: binding hash, mode detection, groups, strict decoding."""

from __future__ import annotations

import pytest

from batterytrace.crypto.zk import random_opening
from batterytrace.errors import RuleViolationError
from batterytrace.ledger.confidential import (
    binding_hash,
    bucket_groups,
    decode_commitments,
    is_confidential_body,
)


def test_binding_hash_covers_everything_but_the_proofs() -> None:
    body = {"kind": "transform", "nonce": "n", "outputs": [{"commitments": {"Co/certified/CD": "aa"}}]}
    h = binding_hash(body)
    assert binding_hash({**body, "proofs": {"x": 1}}) == h
    for change in ({"nonce": "m"}, {"loss": {}}, {"outputs": []}, {"extra": None}):
        assert binding_hash({**body, **change}) != h
    assert len(h) == 32


def test_mode_detection() -> None:
    assert is_confidential_body({"outputs": [{"buckets": {}}, {"commitments": {}}]})
    assert is_confidential_body({"proofs": {}})
    assert not is_confidential_body({"outputs": [{"buckets": {"Co/certified/CD": 1}}]})
    assert not is_confidential_body({"outputs": "nonsense"})


def test_groups_per_bucket_and_per_element_for_recycling() -> None:
    ins = [{"Co/certified/CD": "a", "Ni/uncertified/ID": "b"}, {"Co/certified/CD": "c"}]
    outs = [{"Co/certified/CD": "x"}, {"Co/certified/CD": "y", "Ni/uncertified/ID": "z"}]
    assert bucket_groups("transform", ins, outs) == {
        "Co/certified/CD": (["a", "c"], ["x", "y"]),
        "Ni/uncertified/ID": (["b"], ["z"]),
    }
    rec = bucket_groups("recycle", ins, [{"Co/recycled-post/—": "x", "Ni/recycled-post/—": "z"}])
    assert rec == {"Co/recycled-post/—": (["a", "c"], ["x"]), "Ni/recycled-post/—": (["b"], ["z"])}
    for kind, i, o, rule in [
        ("transform", ins, [{"Co/certified/CD": "x"}], "zk.balance"),  # Ni dropped
        ("transform", [{"Co/certified/CD": "a"}], outs, "zk.balance"),  # Ni created
        ("recycle", ins, [{"Co/recycled-post/—": "x"}], "zk.balance"),  # Ni has no output
        ("recycle", ins, [{"Co/recycled-post/—": "x", "Co/recycled-pre/—": "w"}], "recycled.origin"),
        ("transform", [{"Co/certified/CD": "a"}], [{"Co/certified/CD": str(i)} for i in range(64)], "zk.malformed"),
    ]:
        with pytest.raises(RuleViolationError) as info:
            bucket_groups(kind, i, o)
        assert info.value.rule == rule


def test_commitment_decoding_is_strict() -> None:
    good = random_opening(5).commitment().hex()
    assert set(decode_commitments({"Co/certified/CD": good}, "c")) == {"Co/certified/CD"}
    assert decode_commitments({}, "loss", allow_empty=True) == {}
    for bad in ([], {}, {"Co/certified/CD": good.upper()}, {"Co/x/CD": good}, {"Co/certified/CD": good[:-2]},
                {"Co/certified/CD": None}):
        with pytest.raises(RuleViolationError) as info:
            decode_commitments(bad, "c")
        assert info.value.rule == "zk.malformed"


def test_deferred_proofs_roll_back_and_fail_on_a_false_proof() -> None:
    from batterytrace.crypto.zk import prove_range
    from batterytrace.errors import VerificationError
    from batterytrace.ledger.confidential import DeferredProofs

    ctx = b"ctx"
    o = random_opening(7)
    proof, points = prove_range([o.value], [o.blinding], 48, ctx)
    d = DeferredProofs()
    assert not d
    d.ranges.append((proof, points, 48, ctx))
    mark = d.mark()
    d.ranges.append((proof, [random_opening(7).commitment()], 48, ctx))  # wrong commitment
    with pytest.raises(VerificationError):
        d.verify()
    d.rollback(mark)
    d.verify()
    assert d.mark() == (0, 1, 0)
