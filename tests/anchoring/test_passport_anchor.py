"""A passport whose checkpoint is anchored carries the anchor; its chain link verifies against the
chain (also from a fresh process view of the in-process chain) and refuses forged links."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from anchoring_support import World
from batterytrace.anchoring.contract import checkpoint_hash
from batterytrace.anchoring.inprocess import InProcessChain
from batterytrace.anchoring.service import Anchoring
from batterytrace.anchoring.verify import verify_anchored_passport, verify_passport_anchor
from batterytrace.demo.master_data import VOLTARA_VM75
from batterytrace.errors import SplitViewError, VerificationError
from batterytrace.ledger.checkpoint import SplitViewEvidence, sign_checkpoint
from batterytrace.passport.issue import issue_passport, verify_passport

NOW = 1_790_000_000


def pin(anchoring: Anchoring) -> dict[str, Any]:
    """The verifier's configuration: the registry and operator it trusts."""
    return {"registry": anchoring.config.contract, "registry_operator": anchoring.config.operator}


def passport_claims(world: World, anchoring: Anchoring | None) -> dict[str, Any]:
    world.submit_rest()
    if anchoring is not None:
        anchoring.anchor_latest(world.operator_key)
    else:
        world.ledger.sign_tree_head(world.operator_key)
    p = issue_passport(world.ledger, world.packs[0], VOLTARA_VM75, world.keys["voltara"], issued_at=NOW)
    return verify_passport(p.present("public"), log_operator=world.ledger.operator_did, now=NOW).claims


def test_passport_event_is_in_a_checkpoint_that_is_on_chain(world: World) -> None:
    anchoring = Anchoring.setup(world.ledger)
    claims = passport_claims(world, anchoring)
    anchor = claims["evidence"]["anchor"]
    assert anchor["tree_size"] == claims["evidence"]["checkpoint"]["tree_size"] == world.ledger.size()
    assert anchor["tx_hash"].startswith("0x") and anchor["chain_id"] == anchoring.config.chain_id
    verify_passport_anchor(claims, anchoring.client.w3, **pin(anchoring))
    assert anchoring.chain is not None and anchoring.chain.path == world.db + ".chain.sqlite"
    anchoring.close()
    fresh = InProcessChain(anchoring.chain.path)  # what a later process sees
    verify_passport_anchor(claims, fresh.w3, **pin(anchoring))
    fresh.close()


def test_verify_anchored_passport_checks_every_link(world: World) -> None:
    anchoring = Anchoring.setup(world.ledger)
    world.submit_rest()
    anchoring.anchor_latest(world.operator_key)
    p = issue_passport(world.ledger, world.packs[1], VOLTARA_VM75, world.keys["voltara"], issued_at=NOW)
    claims = verify_anchored_passport(p.present("public"), anchoring.client.w3, **pin(anchoring),
                                      log_operator=world.ledger.operator_did, now=NOW).claims
    assert claims["evidence"]["anchor"]["tree_size"] == world.ledger.size()
    with pytest.raises(VerificationError):  # the offline links are checked first
        verify_anchored_passport(p.present("public"), anchoring.client.w3, **pin(anchoring),
                                 log_operator=world.keys["voltara"].did, now=NOW)
    anchoring.close()


def test_unanchored_passport_has_no_anchor(world: World) -> None:
    anchoring = Anchoring.setup(world.ledger)
    claims = passport_claims(world, None)
    assert "anchor" not in claims["evidence"]
    with pytest.raises(VerificationError, match="carries no anchor reference"):
        verify_passport_anchor(claims, anchoring.client.w3, **pin(anchoring))
    anchoring.close()


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("tx_hash", "0x" + "77" * 32, "is not on chain"),
        ("block_number", 1, "the record says block 1"),
        ("log_index", 9, "no registry event at log index 9"),
        ("chain_id", 5, "anchor is on chain 5"),
        ("contract", "0x" + "56" * 20, "names registry 0x5656.*not the pinned registry"),
        ("contract", "not-an-address", "names registry not-an-address"),
        ("operator", "0x" + "57" * 20, "not the pinned operator"),
        ("tree_size", "x", "anchor evidence is malformed"),
    ],
)
def test_forged_anchor_links_are_refused(world: World, field: str, value: object, named: str) -> None:
    anchoring = Anchoring.setup(world.ledger)
    claims = copy.deepcopy(passport_claims(world, anchoring))
    claims["evidence"]["anchor"][field] = value
    with pytest.raises(VerificationError, match=named):
        verify_passport_anchor(claims, anchoring.client.w3, **pin(anchoring))
    anchoring.close()


def test_passport_checkpoint_differing_from_chain_is_a_split_view(world: World) -> None:
    anchoring = Anchoring.setup(world.ledger)
    claims = copy.deepcopy(passport_claims(world, anchoring))
    size = claims["evidence"]["checkpoint"]["tree_size"]
    shown = sign_checkpoint(world.operator_key, size, b"\x0a" * 32, 3, ledger=world.ledger.ledger_id)
    claims["evidence"]["checkpoint"] = shown.to_dict()
    claims["evidence"]["anchor"]["root_hash"] = shown.root_hash.hex()
    claims["evidence"]["anchor"]["checkpoint_hash"] = checkpoint_hash(shown).hex()
    with pytest.raises(SplitViewError, match=f"signed two roots for tree size {size}") as caught:
        verify_passport_anchor(claims, anchoring.client.w3, **pin(anchoring))
    SplitViewEvidence.from_dict(caught.value.evidence).verify()
    anchoring.close()


def test_passport_checkpoint_swapped_for_another_is_refused(world: World) -> None:
    """The checkpoint replaced by one the anchor does not describe (signed by someone else)."""
    anchoring = Anchoring.setup(world.ledger)
    claims = copy.deepcopy(passport_claims(world, anchoring))
    other = sign_checkpoint(world.keys["voltara"], 5, b"\x0b" * 32, 3, ledger=world.ledger.ledger_id)
    claims["evidence"]["checkpoint"] = other.to_dict()
    with pytest.raises(VerificationError, match="does not match the checkpoint"):
        verify_passport_anchor(claims, anchoring.client.w3, **pin(anchoring))
    anchoring.close()
