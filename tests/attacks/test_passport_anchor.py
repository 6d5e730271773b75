"""Invariant 7 (passports): a passport's anchor is checked in the registry and for the operator
the verifier pins in its configuration, never at addresses the passport's own evidence names.
The attacker deploys a registry of its own on the same chain, anchors there what suits it, and
points the passport's evidence at it; a log operator that showed another root for the same size
in the pinned registry is caught as a split view, with the portable evidence."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from anchoring_support import World
from batterytrace.anchoring.client import AnchorClient
from batterytrace.anchoring.service import Anchoring
from batterytrace.anchoring.verify import verify_anchored_passport, verify_passport_anchor
from batterytrace.crypto.sdjwt import issue_sd_jwt
from batterytrace.demo.master_data import VOLTARA_VM75
from batterytrace.demo.scenario import build_scenario
from batterytrace.errors import SplitViewError, VerificationError
from batterytrace.ledger.checkpoint import Checkpoint, SplitViewEvidence, sign_checkpoint
from batterytrace.ledger.ledger import Ledger
from batterytrace.passport.issue import VCT, issue_passport, verify_passport
from batterytrace.storage.sqlite import SQLiteStore

NOW = 1_790_000_000


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    s = build_scenario(packs=2, legacy_packs=1)
    db = str(tmp_path / "ledger.db")
    ledger = Ledger(SQLiteStore(db), s.actors["operator"].did, s.ledger_id)
    assert not ledger.submit_batch(s.events, check_clock=False).rejected
    yield World(db, ledger, s.actors["operator"].signing_key, {k: a.signing_key for k, a in s.actors.items()},
                s.packs, [])
    ledger.close()


def pinned(anchoring: Anchoring) -> dict[str, Any]:
    """What the verifier is configured with: the registry and operator of the ledger it trusts."""
    return {"registry": anchoring.config.contract, "registry_operator": anchoring.config.operator}


def rogue_registry(anchoring: Anchoring) -> AnchorClient:
    """A registry the attacker deploys on the same chain, with itself as operator."""
    assert anchoring.chain is not None
    key = anchoring.chain.funded_keys()[3]
    owner = AnchorClient(anchoring.chain.w3, key, None, endpoint="inprocess")
    address = owner.deploy()
    rogue = AnchorClient(anchoring.chain.w3, key, address, endpoint="inprocess")
    rogue.register_operator(rogue.account.address)  # type: ignore[union-attr]
    return rogue


def anchored_passport(world: World, anchoring: Anchoring) -> dict[str, Any]:
    anchoring.anchor_latest(world.operator_key)
    p = issue_passport(world.ledger, world.packs[0], VOLTARA_VM75, world.keys["voltara"], issued_at=NOW)
    return verify_passport(p.present("public"), log_operator=world.ledger.operator_did, now=NOW).claims


def resign(world: World, claims: dict[str, Any]) -> str:
    body = {k: v for k, v in claims.items() if k not in ("iss", "iat", "exp", "vct")}
    return issue_sd_jwt(world.keys["voltara"], body, vct=VCT, issued_at=NOW, expires_at=NOW + 86400).present([])


def test_evidence_naming_another_registry_is_refused(world: World) -> None:
    """The genuine checkpoint, anchored by the attacker in its own registry: a verifier that
    followed the evidence would accept a registry nobody audits."""
    anchoring = Anchoring.setup(world.ledger)
    world.ledger.sign_tree_head(world.operator_key)  # signed, never anchored in the pinned registry
    p = issue_passport(world.ledger, world.packs[0], VOLTARA_VM75, world.keys["voltara"], issued_at=NOW)
    claims = verify_passport(p.present("public"), log_operator=world.ledger.operator_did, now=NOW).claims
    cp = Checkpoint.from_dict(claims["evidence"]["checkpoint"])
    record = rogue_registry(anchoring).anchor(cp)
    forged = copy.deepcopy(claims)
    forged["evidence"]["anchor"] = record.to_dict()
    with pytest.raises(VerificationError, match="not the pinned registry"):
        verify_anchored_passport(resign(world, forged), anchoring.client.w3, **pinned(anchoring),
                                 log_operator=world.ledger.operator_did, now=NOW)
    anchoring.close()


def test_evidence_naming_another_operator_is_refused(world: World) -> None:
    anchoring = Anchoring.setup(world.ledger)
    claims = anchored_passport(world, anchoring)
    forged = copy.deepcopy(claims)
    forged["evidence"]["anchor"]["operator"] = "0x" + "57" * 20
    with pytest.raises(VerificationError, match="not the pinned operator"):
        verify_passport_anchor(forged, anchoring.client.w3, **pinned(anchoring))
    verify_passport_anchor(claims, anchoring.client.w3, **pinned(anchoring))  # the genuine one holds
    anchoring.close()


def test_another_root_in_the_pinned_registry_is_a_split_view(world: World) -> None:
    """The log operator signs a second head for an anchored size and shows it, anchored in a
    registry of its choosing: the pinned registry's root for that size exposes the split."""
    anchoring = Anchoring.setup(world.ledger)
    claims = anchored_passport(world, anchoring)
    size = claims["evidence"]["checkpoint"]["tree_size"]
    other_view = sign_checkpoint(world.operator_key, size, b"\x0c" * 32, 7, ledger=world.ledger.ledger_id)
    forged = copy.deepcopy(claims)
    forged["evidence"]["checkpoint"] = other_view.to_dict()
    forged["evidence"]["anchor"] = rogue_registry(anchoring).anchor(other_view).to_dict()
    with pytest.raises(SplitViewError, match=f"signed two roots for tree size {size}") as caught:
        verify_passport_anchor(forged, anchoring.client.w3, **pinned(anchoring))
    evidence = SplitViewEvidence.from_dict(caught.value.evidence)
    evidence.verify()  # portable: two heads signed by the log operator for one size
    assert {evidence.first.root_hash, evidence.second.root_hash} == {other_view.root_hash,
                                                                    bytes.fromhex(claims["evidence"]["anchor"]["root_hash"])}
    anchoring.close()


def test_a_foreign_head_in_the_pinned_registry_is_no_split_view(world: World) -> None:
    """A root the log operator never signed is a failure, not evidence against the operator."""
    anchoring = Anchoring.setup(world.ledger)
    claims = anchored_passport(world, anchoring)
    size = claims["evidence"]["checkpoint"]["tree_size"]
    foreign = sign_checkpoint(world.keys["voltara"], size, b"\x0d" * 32, 7, ledger=world.ledger.ledger_id)
    forged = copy.deepcopy(claims)
    forged["evidence"]["checkpoint"] = foreign.to_dict()
    with pytest.raises(VerificationError) as caught:
        verify_passport_anchor(forged, anchoring.client.w3, **pinned(anchoring))
    assert not isinstance(caught.value, SplitViewError)
    anchoring.close()
