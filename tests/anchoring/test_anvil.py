"""Integration against a real node: anvil (npm package @foundry-rs/anvil, installed by
scripts/node-tools.sh), started on 127.0.0.1 by the test and stopped after. Skips when anvil is
absent, fails instead where CI requires services (BATTERYTRACE_REQUIRE_SERVICES=1)."""

from __future__ import annotations

import copy
import dataclasses
import json
import secrets
from collections.abc import Iterator

import pytest

from anchoring_support import World
from batterytrace.anchoring.anvil import ANVIL_KEYS, AnvilNode, find_anvil
from batterytrace.anchoring.client import AnchorClient, connect_rpc
from batterytrace.anchoring.records import RECORDS_KEY, load_records
from batterytrace.anchoring.service import Anchoring
from batterytrace.anchoring.verify import verify_passport_anchor
from batterytrace.demo.master_data import VOLTARA_VM75
from batterytrace.errors import AnchorError, VerificationError
from batterytrace.passport.issue import issue_passport, verify_passport
from batterytrace.storage.base import WriteBatch
from conftest import missing_service

NOW = 1_790_000_000


@pytest.fixture
def anvil() -> Iterator[AnvilNode]:
    if find_anvil() is None:
        missing_service("anvil is not installed (scripts/node-tools.sh installs @foundry-rs/anvil into tools/node)")
    with AnvilNode() as node:
        yield node


def test_passport_provably_on_anvil(world: World, anvil: AnvilNode) -> None:
    anchoring = Anchoring.setup(world.ledger, endpoint=anvil.url, key=ANVIL_KEYS[0])
    assert anchoring.config.chain_id == 31337 and anchoring.config.chain_state is None
    first = anchoring.anchor_latest(world.operator_key)
    world.submit_rest()
    second = anchoring.anchor_latest(world.operator_key)
    assert second.block_number > first.block_number
    assert anchoring.anchor_latest(world.operator_key) == second  # idempotent
    anchoring.verify()
    p = issue_passport(world.ledger, world.packs[0], VOLTARA_VM75, world.keys["voltara"], issued_at=NOW)
    claims = verify_passport(p.present("public"), log_operator=world.ledger.operator_did, now=NOW).claims
    verify_passport_anchor(claims, connect_rpc(anvil.url), registry=anchoring.config.contract,
                           registry_operator=anchoring.config.operator)
    forged = copy.deepcopy(claims)
    forged["evidence"]["anchor"]["tx_hash"] = first.tx_hash
    with pytest.raises(VerificationError):
        verify_passport_anchor(forged, connect_rpc(anvil.url), registry=anchoring.config.contract,
                               registry_operator=anchoring.config.operator)
    # a later process: reopen from the stored configuration, with the key from the environment
    reopened = Anchoring.open(world.ledger, key=ANVIL_KEYS[0])
    reopened.verify()
    records = load_records(world.ledger.store)
    records[0] = dataclasses.replace(records[0], root_hash="11" * 32)
    with world.ledger.store.write_lock():
        world.ledger.store.apply(WriteBatch(meta={RECORDS_KEY: json.dumps([r.to_dict() for r in records])}))
    with pytest.raises(VerificationError, match="stored checkpoint of size 60 has root"):
        reopened.verify()


def test_refusals_on_anvil(anvil: AnvilNode) -> None:
    w3 = connect_rpc(anvil.url)
    owner = AnchorClient(w3, ANVIL_KEYS[0], None, endpoint=anvil.url)
    address = owner.deploy()
    stranger = AnchorClient(w3, ANVIL_KEYS[1], address, endpoint=anvil.url)
    with pytest.raises(AnchorError, match="only the owner registers operators"):
        stranger.register_operator(stranger.account.address)  # type: ignore[union-attr]
    fn = stranger.contract.functions.anchor(3, b"\1" * 32, b"\2" * 32, "did:key:z", 1, b"\3" * 64)  # type: ignore[union-attr]
    with pytest.raises(AnchorError, match="sender is not a registered operator"):
        stranger._transact(fn, "the anchor")
    poor = AnchorClient(w3, secrets.token_bytes(32), address, endpoint=anvil.url)
    with pytest.raises(AnchorError, match=r"is unfunded .*balance 0 wei"):
        poor.register_operator(poor.account.address)  # type: ignore[union-attr]
    tx = w3.eth.send_transaction({"from": owner.account.address, "to": poor.account.address, "value": 1000})  # type: ignore[union-attr]
    w3.eth.wait_for_transaction_receipt(tx)
    with pytest.raises(AnchorError, match=r"is unfunded .*balance 1000 wei, the registry deployment needs up to"):
        poor.deploy()


def test_receipt_timeout_is_a_clear_error() -> None:
    if find_anvil() is None:
        missing_service("anvil is not installed (scripts/node-tools.sh installs @foundry-rs/anvil into tools/node)")
    with AnvilNode(no_mining=True) as node:
        client = AnchorClient(connect_rpc(node.url), ANVIL_KEYS[0], None, endpoint=node.url, receipt_timeout_s=1.5)
        with pytest.raises(AnchorError, match=r"no receipt for the registry deployment .* within 1\.5 s"):
            client.deploy()
