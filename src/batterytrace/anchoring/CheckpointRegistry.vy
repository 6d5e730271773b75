# pragma version ~=0.4.1
# pragma evm-version cancun
"""
@title batterytrace checkpoint registry
@notice Records the signed tree heads (checkpoints) of batterytrace transparency logs. One
        transaction anchors one checkpoint, however many events the tree holds. Only operators the
        owner registered may anchor, and an operator's tree size only grows.
"""

struct Record:
    root_hash: bytes32
    checkpoint_hash: bytes32
    block_time: uint256
    block_number: uint256

event OperatorRegistered:
    operator: indexed(address)

event OperatorRemoved:
    operator: indexed(address)

event Anchored:
    operator: indexed(address)
    tree_size: indexed(uint256)
    root_hash: bytes32
    checkpoint_hash: bytes32
    block_time: uint256
    log_id: String[128]
    timestamp_us: uint256
    signature: Bytes[64]

owner: public(address)
is_operator: public(HashMap[address, bool])
latest_size: public(HashMap[address, uint256])
anchor_count: public(HashMap[address, uint256])
records: HashMap[address, HashMap[uint256, Record]]


@deploy
def __init__():
    self.owner = msg.sender


@external
def register_operator(operator: address):
    assert msg.sender == self.owner, "only the owner registers operators"
    assert operator != empty(address), "operator is the zero address"
    self.is_operator[operator] = True
    log OperatorRegistered(operator=operator)


@external
def remove_operator(operator: address):
    assert msg.sender == self.owner, "only the owner removes operators"
    self.is_operator[operator] = False
    log OperatorRemoved(operator=operator)


@external
def anchor(
    tree_size: uint256,
    root_hash: bytes32,
    checkpoint_hash: bytes32,
    log_id: String[128],
    timestamp_us: uint256,
    signature: Bytes[64],
):
    """
    @notice Anchor one signed tree head. The full signed checkpoint goes into the event so anyone
            can rebuild it from the chain; storage keeps its root and hash for cheap lookups.
    """
    assert self.is_operator[msg.sender], "sender is not a registered operator"
    assert tree_size > self.latest_size[msg.sender], "tree size must grow"
    self.records[msg.sender][tree_size] = Record(
        root_hash=root_hash,
        checkpoint_hash=checkpoint_hash,
        block_time=block.timestamp,
        block_number=block.number,
    )
    self.latest_size[msg.sender] = tree_size
    self.anchor_count[msg.sender] += 1
    log Anchored(
        operator=msg.sender,
        tree_size=tree_size,
        root_hash=root_hash,
        checkpoint_hash=checkpoint_hash,
        block_time=block.timestamp,
        log_id=log_id,
        timestamp_us=timestamp_us,
        signature=signature,
    )


@view
@external
def checkpoint(operator: address, tree_size: uint256) -> Record:
    return self.records[operator][tree_size]
