"""Adversarial and malformed registry events: a policy the ledger cannot apply must be refused when
it is set, not crash the rules of every later event."""

from __future__ import annotations

from typing import Any

import pytest

from batterytrace.model.policy import DEFAULT_POLICY
from support import Chain


@pytest.fixture
def c() -> Chain:
    return Chain()


def policy(**changes: Any) -> dict[str, Any]:
    data = DEFAULT_POLICY.to_dict()
    sourcing = changes.pop("sourcing", None)
    if sourcing is not None:
        data["sourcing"] = sourcing
    tol = changes.pop("loss_tolerance_permille", None)
    if tol is not None:
        data["loss_tolerance_permille"] = {**data["loss_tolerance_permille"], **tol}
    data.update(changes)
    return data


@pytest.mark.parametrize(
    "bad",
    [
        policy(sourcing=[[{"scheme": "RMAP", "min_score": "75"}]]),
        policy(sourcing=[[{"scheme": "RMAP", "min_score": True}]]),
        policy(sourcing=[[{"scheme": "RMAP", "level": 5}]]),
        policy(sourcing=[[{"scheme": 5}]]),
        policy(sourcing=[[]]),
        policy(sourcing=[{"scheme": "RMAP"}]),
        policy(loss_tolerance_permille={"transform": True}),
        policy(loss_tolerance_permille={"transform": "50"}),
        policy(loss_tolerance_permille={"transform": 50.9}),
        policy(assay_tolerance_permille=-1),
        policy(weighbridge_tolerance_permille="5"),
        policy(max_clock_skew_s=-300),
        policy(min_ring_size=1),
        policy(min_ring_size="3"),
        policy(min_ring_size=1 << 17),
    ],
)
def test_malformed_policy_is_refused_when_set(c: Chain, bad: dict[str, Any]) -> None:
    assert c.reject(c.sign("operator", {"kind": "set_policy", "policy": bad})).rule == "policy"


def test_a_refused_policy_leaves_extraction_working(c: Chain) -> None:
    bad = policy(sourcing=[[{"scheme": "RMAP", "min_score": "75"}]])
    c.ledger.submit_batch([c.sign("operator", {"kind": "set_policy", "policy": bad})])
    c.extract("kasonta")  # certified extraction still judged (was: TypeError inside the rules)


def test_well_formed_policy_is_accepted(c: Chain) -> None:
    c.accept(c.sign("operator", {"kind": "set_policy", "policy": policy(max_clock_skew_s=60)}))


def test_min_ring_size_round_trips_and_is_omitted_at_its_default() -> None:
    from batterytrace.model.policy import LedgerPolicy

    assert "min_ring_size" not in DEFAULT_POLICY.to_dict()
    assert LedgerPolicy.from_dict(DEFAULT_POLICY.to_dict()).min_ring_size == 2
    five = LedgerPolicy.from_dict(policy(min_ring_size=5))
    assert five.min_ring_size == 5 and five.to_dict()["min_ring_size"] == 5
