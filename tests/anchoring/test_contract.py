"""The CheckpointRegistry contract: the checked-in artifact matches its source, it records and
emits checkpoints, and it refuses strangers, non-owners and shrinking trees."""

from __future__ import annotations

import pytest

from anchoring_support import Registry, random_checkpoint
from batterytrace.anchoring.client import decode_anchored
from batterytrace.anchoring.contract import checkpoint_hash, compile_registry, load_artifact
from batterytrace.crypto.signing import SigningKey
from batterytrace.errors import AnchorError

KEY = SigningKey.generate()


def test_checked_in_artifact_is_the_compiled_source() -> None:
    fresh, stored = compile_registry(), load_artifact()
    assert fresh.abi == stored.abi
    assert fresh.bytecode == stored.bytecode
    assert fresh.compiler == stored.compiler


def test_records_checkpoint_and_emits_event(registry: Registry) -> None:
    op = registry.operator
    cp = random_checkpoint(KEY, 1000)
    record = op.anchor(cp)
    addr = op.account.address  # type: ignore[union-attr]
    root, chash, block_time, block = op.stored(addr, 1000)
    assert (root, chash, block) == (cp.root_hash, checkpoint_hash(cp), record.block_number)
    assert block_time == registry.chain.w3.eth.get_block(block)["timestamp"] == record.block_time
    assert op.latest_size(addr) == 1000
    receipt = registry.chain.w3.eth.get_transaction_receipt(record.tx_hash)
    ev = decode_anchored(op.contract, receipt["logs"][record.log_index])
    assert ev["operator"] == addr and ev["tree_size"] == 1000 and ev["root_hash"] == cp.root_hash
    assert (ev["log_id"], ev["timestamp_us"], ev["signature"]) == (cp.log_id, cp.timestamp, cp.signature)
    assert op.contract.functions.anchor_count(addr).call() == 1  # type: ignore[union-attr]


def test_refuses_unregistered_operator(registry: Registry) -> None:
    with pytest.raises(AnchorError, match="not a registered operator"):
        registry.stranger.anchor(random_checkpoint(KEY, 5))
    # Straight to the contract, past the client's own check:
    fn = registry.stranger.contract.functions.anchor(  # type: ignore[union-attr]
        5, b"\1" * 32, b"\2" * 32, KEY.did, 1, b"\3" * 64)
    with pytest.raises(AnchorError, match="sender is not a registered operator"):
        registry.stranger._transact(fn, "the anchor")


def test_refuses_decreasing_or_equal_tree_size(registry: Registry) -> None:
    op = registry.operator
    op.anchor(random_checkpoint(KEY, 10))
    with pytest.raises(AnchorError, match="tree size never decreases"):
        op.anchor(random_checkpoint(KEY, 9))
    for size in (9, 10):
        fn = op.contract.functions.anchor(size, b"\1" * 32, b"\2" * 32, KEY.did, 1, b"\3" * 64)  # type: ignore[union-attr]
        with pytest.raises(AnchorError, match="tree size must grow"):
            op._transact(fn, "the anchor")
    assert op.latest_size(op.account.address) == 10  # type: ignore[union-attr]


def test_refuses_non_owner_registering_and_removing(registry: Registry) -> None:
    stranger = registry.stranger.account.address  # type: ignore[union-attr]
    with pytest.raises(AnchorError, match="only the owner registers operators"):
        registry.stranger.register_operator(stranger)
    with pytest.raises(AnchorError, match="only the owner registers operators"):
        registry.operator.register_operator(stranger)
    fn = registry.stranger.contract.functions.remove_operator(registry.operator.account.address)  # type: ignore[union-attr]
    with pytest.raises(AnchorError, match="only the owner removes operators"):
        registry.stranger._transact(fn, "removal")
    assert not registry.stranger.is_operator(stranger)


def test_refuses_zero_address_and_removed_operator(registry: Registry) -> None:
    with pytest.raises(AnchorError, match="zero address"):
        registry.owner.register_operator("0x" + "00" * 20)
    op_addr = registry.operator.account.address  # type: ignore[union-attr]
    registry.owner._transact(registry.owner.contract.functions.remove_operator(op_addr), "removal")  # type: ignore[union-attr]
    with pytest.raises(AnchorError, match="not a registered operator"):
        registry.operator.anchor(random_checkpoint(KEY, 3))


def test_operators_have_separate_sequences(registry: Registry) -> None:
    registry.owner.register_operator(registry.stranger.account.address)  # type: ignore[union-attr]
    registry.operator.anchor(random_checkpoint(KEY, 50))
    registry.stranger.anchor(random_checkpoint(KEY, 7))  # another operator's log: its own sizes
    assert registry.stranger.latest_size(registry.stranger.account.address) == 7  # type: ignore[union-attr]
