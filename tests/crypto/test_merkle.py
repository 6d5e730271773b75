"""RFC 9162 Merkle tree: known answers, the RFC's recursive definitions, and refusal of bad proofs."""

from __future__ import annotations

import hashlib

import pytest

from batterytrace.crypto.merkle import (
    EMPTY_ROOT,
    CompactTree,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)
from batterytrace.errors import VerificationError

# The eight leaves used by the Certificate Transparency test suite and the roots of their prefixes.
CT_LEAVES = [bytes.fromhex(h) for h in ("", "00", "10", "2021", "3031", "40414243",
                                         "5051525354555657", "606162636465666768696a6b6c6d6e6f")]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


# --- RFC 9162 §2.1.1–2.1.4 written out literally, as an independent reference ---------------
def mth(d: list[bytes]) -> bytes:
    n = len(d)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + mth(d[:k]) + mth(d[k:])).digest()


def path(m: int, d: list[bytes]) -> list[bytes]:
    n = len(d)
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return [*path(m, d[:k]), mth(d[k:])]
    return [*path(m - k, d[k:]), mth(d[:k])]


def subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [mth(d)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return [*subproof(m, d[:k], b), mth(d[k:])]
    return [*subproof(m - k, d[k:], False), mth(d[:k])]


def leaves(n: int) -> list[bytes]:
    return [f"leaf-{i}".encode() for i in range(n)]


class Tree:
    def __init__(self, data: list[bytes]) -> None:
        self.nodes: dict[tuple[int, int], bytes] = {}
        t = CompactTree()
        for x in data:
            for lv, ix, h in t.append(leaf_hash(x)):
                self.nodes[(lv, ix)] = h
        self.compact = t

    def get(self, level: int, index: int) -> bytes:
        return self.nodes[(level, index)]


def test_empty_tree_hash() -> None:
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert root_from_leaf_hashes([]) == EMPTY_ROOT
    assert CompactTree().root() == EMPTY_ROOT


def test_domain_separation_prefixes() -> None:
    assert leaf_hash(b"x") == hashlib.sha256(b"\x00x").digest()
    assert node_hash(b"a" * 32, b"b" * 32) == hashlib.sha256(b"\x01" + b"a" * 32 + b"b" * 32).digest()


@pytest.mark.parametrize("size", range(1, 9))
def test_certificate_transparency_roots(size: int) -> None:
    data = CT_LEAVES[:size]
    assert root_from_leaf_hashes([leaf_hash(x) for x in data]).hex() == CT_ROOTS[size - 1]
    assert Tree(data).compact.root().hex() == CT_ROOTS[size - 1]
    assert mth(data).hex() == CT_ROOTS[size - 1]


def test_rfc_inclusion_and_consistency_definitions_on_ct_leaves() -> None:
    tree = Tree(CT_LEAVES)
    for m in range(8):
        assert inclusion_proof(tree.get, m, 8) == path(m, CT_LEAVES)
    for old in range(1, 9):
        assert consistency_proof(tree.get, old, 8) == subproof(old, CT_LEAVES, True)


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 8, 9, 16, 17, 31, 33, 64, 100])
def test_every_inclusion_proof_matches_the_rfc_and_verifies(size: int) -> None:
    data = leaves(size)
    tree = Tree(data)
    root = tree.compact.root()
    assert root == mth(data)
    for m in range(size):
        proof = inclusion_proof(tree.get, m, size)
        assert proof == path(m, data)
        verify_inclusion(leaf_hash(data[m]), m, size, proof, root)


@pytest.mark.parametrize("new", [1, 2, 3, 4, 7, 8, 13, 32, 45])
def test_every_consistency_proof_matches_the_rfc_and_verifies(new: int) -> None:
    data = leaves(new)
    tree = Tree(data)
    for old in range(0, new + 1):
        proof = consistency_proof(tree.get, old, new)
        if 0 < old < new:
            assert proof == subproof(old, data, True)
        verify_consistency(old, new, mth(data[:old]), mth(data), proof)


def test_inclusion_refuses_tampering() -> None:
    data = leaves(13)
    tree = Tree(data)
    root = tree.compact.root()
    proof = inclusion_proof(tree.get, 5, 13)
    good = leaf_hash(data[5])
    with pytest.raises(VerificationError):
        verify_inclusion(leaf_hash(b"forged"), 5, 13, proof, root)
    with pytest.raises(VerificationError):
        verify_inclusion(good, 4, 13, proof, root)  # wrong index
    with pytest.raises(VerificationError):
        verify_inclusion(good, 5, 8, proof, root)  # wrong size (another proof shape)
    with pytest.raises(VerificationError):
        verify_inclusion(good, 5, 13, proof[:-1], root)  # too short
    with pytest.raises(VerificationError):
        verify_inclusion(good, 5, 13, [*proof, proof[0]], root)  # too long
    with pytest.raises(VerificationError):
        verify_inclusion(good, 5, 13, [proof[0][:31], *proof[1:]], root)  # malformed element
    with pytest.raises(VerificationError):
        verify_inclusion(good, 13, 13, proof, root)  # index outside the tree
    for i in range(len(proof)):
        bent = list(proof)
        bent[i] = bytes([bent[i][0] ^ 0x80]) + bent[i][1:]
        with pytest.raises(VerificationError):
            verify_inclusion(good, 5, 13, bent, root)
    with pytest.raises(VerificationError):
        verify_inclusion(good, 5, 13, proof, bytes(32))


def test_inner_node_cannot_pass_as_a_leaf() -> None:
    """The 0x00/0x01 prefixes stop a second-preimage: an inner node is not a leaf of a shorter tree."""
    data = leaves(4)
    tree = Tree(data)
    root = tree.compact.root()
    forged_leaf_data = leaf_hash(data[0]) + leaf_hash(data[1])  # the 64 bytes under node (1, 0)
    assert node_hash(leaf_hash(data[0]), leaf_hash(data[1])) == tree.get(1, 0)
    with pytest.raises(VerificationError):
        verify_inclusion(leaf_hash(forged_leaf_data), 0, 2, [tree.get(1, 1)], root)


def test_consistency_refuses_rewritten_history() -> None:
    data = leaves(20)
    tree = Tree(data)
    new_root = tree.compact.root()
    proof = consistency_proof(tree.get, 7, 20)
    verify_consistency(7, 20, mth(data[:7]), new_root, proof)
    forked = [*data[:3], b"rewritten", *data[4:7]]
    with pytest.raises(VerificationError):
        verify_consistency(7, 20, mth(forked), new_root, proof)
    with pytest.raises(VerificationError):
        verify_consistency(7, 20, mth(data[:7]), bytes(32), proof)
    with pytest.raises(VerificationError):
        verify_consistency(7, 20, mth(data[:7]), new_root, proof[:-1])
    with pytest.raises(VerificationError):
        verify_consistency(7, 20, mth(data[:7]), new_root, [*proof, proof[0]])
    with pytest.raises(VerificationError):
        verify_consistency(8, 20, mth(data[:7]), new_root, proof)
    with pytest.raises(VerificationError):
        verify_consistency(21, 20, mth(data[:7]), new_root, proof)
    with pytest.raises(VerificationError):
        verify_consistency(20, 20, mth(data), mth(forked), [])
    with pytest.raises(VerificationError):
        verify_consistency(0, 20, EMPTY_ROOT, new_root, proof)


def test_compact_tree_resumes_from_stored_nodes() -> None:
    data = leaves(37)
    tree = Tree(data[:21])
    resumed = CompactTree.from_source(tree.get, 21)
    for x in data[21:]:
        resumed.append(leaf_hash(x))
    assert resumed.root() == mth(data)
