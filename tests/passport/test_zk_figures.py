"""Passport figures of confidential packs proved in zero knowledge: honest proofs verify; any
changed figure, moved or swapped proof, foreign commitment, missing or extra proof is refused."""

from __future__ import annotations

import contextlib
import copy
from typing import Any

import pytest

from batterytrace.crypto.zk import Opening, random_opening
from batterytrace.errors import VerificationError
from batterytrace.passport.zk_figures import prove_share_figures, share_claims, verify_share_figures

EVENT = "ab" * 32
PID = "urn:batterytrace:passport:04099999000751:VM75-1:1"
GRAMS = {"Co/certified/CD": 5_834, "Co/recycled-post/—": 1_166, "Co/uncertified/CD": 0 + 3_000,
         "Ni/certified/ID": 50_000, "Ni/recycled-post/—": 4_000, "Ni/uncertified/PH": 6_000}


def _proved(grams: dict[str, int] = GRAMS) -> tuple[dict[str, Opening], dict[str, str], dict[str, Any], dict[str, Any]]:
    openings = {k: random_opening(v) for k, v in grams.items()}
    commitments = {k: o.commitment().hex() for k, o in openings.items()}
    mf, proofs = prove_share_figures(openings, EVENT, PID)
    summary = {"recycled_percent": mf.recycled_percent, "origin_mix_percent": mf.origin_mix_percent,
               "certified_percent": mf.certified_percent}
    return openings, commitments, summary, proofs


@pytest.fixture(scope="module")
def proved() -> tuple[dict[str, Opening], dict[str, str], dict[str, Any], dict[str, Any]]:
    return _proved()


def test_claims_follow_from_the_bucket_keys() -> None:
    paths = {"/".join(c.path) for c in share_claims(GRAMS)}
    assert paths == {
        "recycled_percent/Co/pre", "recycled_percent/Co/post", "recycled_percent/Co/total", "certified_percent/Co",
        "origin_mix_percent/Co/CD",
        "recycled_percent/Ni/pre", "recycled_percent/Ni/post", "recycled_percent/Ni/total", "certified_percent/Ni",
        "origin_mix_percent/Ni/ID", "origin_mix_percent/Ni/PH",
    }


def test_honest_figures_verify_and_are_floored_to_a_basis_point(proved: Any) -> None:
    _, commitments, summary, proofs = proved
    mf = verify_share_figures(commitments, summary, proofs, EVENT, PID)
    assert mf.recycled_percent["Co"] == {"pre": 0.0, "post": 11.66, "total": 11.66}  # 1166 / 10000
    assert mf.certified_percent == {"Co": 58.34, "Ni": 83.33}  # 50000 / 60000 = 83.333…
    assert mf.origin_mix_percent["Ni"] == {"ID": 89.28, "PH": 10.71}  # of mined Ni: 50000/56000, 6000/56000
    assert mf.art8["Co"]["2031"] == {"target": 16.0, "met": False}
    assert mf.art8["Ni"]["2031"] == {"target": 6.0, "met": True} and mf.element_g == {}


def test_art8_verdict_at_the_threshold() -> None:
    _, commitments, summary, proofs = _proved({"Co/recycled-post/—": 1_600, "Co/certified/CD": 8_400})
    assert verify_share_figures(commitments, summary, proofs, EVENT, PID).art8["Co"]["2031"]["met"] is True
    _, commitments, summary, proofs = _proved({"Co/recycled-post/—": 1_599, "Co/certified/CD": 8_401})
    assert verify_share_figures(commitments, summary, proofs, EVENT, PID).art8["Co"]["2031"]["met"] is False


@pytest.mark.parametrize("path", [("recycled_percent", "Co", "post"), ("certified_percent", "Ni"),
                                  ("origin_mix_percent", "Ni", "PH"), ("recycled_percent", "Co", "pre")])
@pytest.mark.parametrize("delta", [0.01, -0.01, 1.0])
def test_a_changed_figure_is_refused(proved: Any, path: tuple[str, ...], delta: float) -> None:
    _, commitments, summary, proofs = proved
    forged = copy.deepcopy(summary)
    node = forged
    for name in path[:-1]:
        node = node[name]
    if node[path[-1]] + delta < 0:
        delta = -delta
    node[path[-1]] = round(node[path[-1]] + delta, 2)
    with pytest.raises(VerificationError):
        verify_share_figures(commitments, forged, proofs, EVENT, PID)


@pytest.mark.parametrize("value", [11.665, True, "11.66", None, -0.01, 100.01, float("nan")])
def test_malformed_figures_are_refused(proved: Any, value: Any) -> None:
    _, commitments, summary, proofs = proved
    forged = copy.deepcopy(summary)
    forged["recycled_percent"]["Co"]["post"] = value
    with pytest.raises(VerificationError):
        verify_share_figures(commitments, forged, proofs, EVENT, PID)


def test_proofs_are_bound_to_the_event_the_passport_and_the_figure(proved: Any) -> None:
    _, commitments, summary, proofs = proved
    with pytest.raises(VerificationError):
        verify_share_figures(commitments, summary, proofs, "cd" * 32, PID)
    with pytest.raises(VerificationError):
        verify_share_figures(commitments, summary, proofs, EVENT, PID.replace("VM75-1", "VM75-2"))
    swapped = copy.deepcopy(proofs)
    a, b = "certified_percent/Co", "recycled_percent/Co/post"
    swapped[a]["upper"], swapped[b]["upper"] = swapped[b]["upper"], swapped[a]["upper"]
    with pytest.raises(VerificationError):
        verify_share_figures(commitments, summary, swapped, EVENT, PID)
    sides = copy.deepcopy(proofs)
    sides[b]["lower"], sides[b]["upper"] = sides[b]["upper"], sides[b]["lower"]
    with pytest.raises(VerificationError):
        verify_share_figures(commitments, summary, sides, EVENT, PID)


def test_other_commitments_to_the_same_grams_are_refused(proved: Any) -> None:
    _, commitments, summary, proofs = proved
    _, other, _, _ = _proved()  # same grams, fresh blindings
    with pytest.raises(VerificationError):
        verify_share_figures(other, summary, proofs, EVENT, PID)
    moved = {**commitments, "Co/certified/CD": commitments["Co/uncertified/CD"], "Co/uncertified/CD": commitments["Co/certified/CD"]}
    with pytest.raises(VerificationError):
        verify_share_figures(moved, summary, proofs, EVENT, PID)


def test_missing_extra_or_malformed_proofs_are_refused(proved: Any) -> None:
    _, commitments, summary, proofs = proved
    for change in (
        lambda p: p.pop("origin_mix_percent/Ni/PH"),
        lambda p: p.update({"certified_percent/Mn": {"upper": p["certified_percent/Co"]["upper"]}}),
        lambda p: p["recycled_percent/Co/post"].pop("lower"),
        lambda p: p["recycled_percent/Co/pre"].update(lower=p["recycled_percent/Co/post"]["lower"]),
        lambda p: p["certified_percent/Ni"].update(upper=p["certified_percent/Ni"]["upper"][:-2]),
        lambda p: p["certified_percent/Ni"].update(upper="zz" + p["certified_percent/Ni"]["upper"][2:]),
        lambda p: p["certified_percent/Ni"].update(upper=None),
        lambda p: p.update({"certified_percent/Ni": "x"}),
    ):
        forged = copy.deepcopy(proofs)
        change(forged)
        with pytest.raises(VerificationError):
            verify_share_figures(commitments, summary, forged, EVENT, PID)
    with pytest.raises(VerificationError):
        verify_share_figures(commitments, summary, None, EVENT, PID)


def test_malformed_or_identity_commitments_are_refused(proved: Any) -> None:
    _, commitments, summary, proofs = proved
    for bad in ("00" * 32, "ff" * 32, "ab", 7):
        with pytest.raises(VerificationError):
            verify_share_figures({**commitments, "Co/certified/CD": bad}, summary, proofs, EVENT, PID)
    with pytest.raises(VerificationError):
        verify_share_figures({**commitments, "not a key": commitments["Co/certified/CD"]}, summary, proofs, EVENT, PID)


def test_a_share_of_nothing_cannot_be_stated() -> None:
    with pytest.raises(ValueError):
        prove_share_figures({"Co/certified/CD": random_opening(0)}, EVENT, PID)


def _forged_proofs(openings: dict[str, Opening], stated: dict[str, int]) -> dict[str, dict[str, str]]:
    """A dishonest issuer's proofs: every statement the verifier builds for the stated basis
    points that holds for the openings, proved; the others left out."""
    from batterytrace.crypto.zk import prove_linear
    from batterytrace.passport.zk_figures import _extra, _statements

    out: dict[str, dict[str, str]] = {}
    for claim in share_claims(openings):
        name = "/".join(claim.path)
        items = [openings[k] for k in claim.denominator]
        out[name] = {}
        for side, st in _statements(claim, stated[name]).items():
            with contextlib.suppress(ValueError):  # a false statement cannot be proved
                out[name][side] = prove_linear(st, items, _extra(EVENT, PID, claim))[0].to_bytes().hex()
    return out


def test_a_whole_share_cannot_be_stated_as_99_99() -> None:
    """num = den (only certified cobalt, one country): the share is 100 %; at b = 9 999 the upper
    statement's coefficients are all 0 ("0 − 1 ≥ 0", false) and must not be left out."""
    openings = {"Co/certified/CD": random_opening(7_000)}
    commitments = {k: o.commitment().hex() for k, o in openings.items()}
    stated = {"recycled_percent/Co/pre": 0, "recycled_percent/Co/post": 0, "recycled_percent/Co/total": 0,
              "certified_percent/Co": 9_999, "origin_mix_percent/Co/CD": 9_999}
    summary = {"recycled_percent": {"Co": {"pre": 0.0, "post": 0.0, "total": 0.0}},
               "certified_percent": {"Co": 99.99}, "origin_mix_percent": {"Co": {"CD": 99.99}}}
    with pytest.raises(VerificationError):
        verify_share_figures(commitments, summary, _forged_proofs(openings, stated), EVENT, PID)


@pytest.mark.parametrize("value", [1e308, -1e308, 10**400, float("inf")])
def test_huge_figures_are_refused_as_verification_errors(proved: Any, value: Any) -> None:
    _, commitments, summary, proofs = proved
    forged = copy.deepcopy(summary)
    forged["recycled_percent"]["Co"]["post"] = value
    with pytest.raises(VerificationError):
        verify_share_figures(commitments, forged, proofs, EVENT, PID)
