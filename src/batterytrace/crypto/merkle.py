"""RFC 9162 (Certificate Transparency 2.0) Merkle tree hashing, proofs and their verification.

Hashes: ``leaf = SHA-256(0x00 || data)``, ``node = SHA-256(0x01 || left || right)``, the empty tree
hashes to ``SHA-256("")``. Proof generation works against a ``NodeSource``: any callable that
returns the hash of the perfect, aligned subtree ``(level, index)`` (level 0 = leaf hashes), so the
same code serves an in-memory tree and a database of stored nodes. Verification functions return
nothing and raise ``VerificationError`` on any mismatch.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

from batterytrace.errors import VerificationError

__all__ = [
    "EMPTY_ROOT",
    "LEAF_PREFIX",
    "NODE_PREFIX",
    "CompactTree",
    "NodeSource",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root_from_leaf_hashes",
    "subtree_hash",
    "verify_consistency",
    "verify_inclusion",
]

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()

NodeSource = Callable[[int, int], bytes]
"""``get(level, index)`` → hash of the perfect subtree covering leaves [index·2^level, (index+1)·2^level)."""


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def _split(n: int) -> int:
    """Largest power of two strictly smaller than n (n ≥ 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def subtree_hash(get: NodeSource, start: int, end: int) -> bytes:
    """MTH(D[start:end]) where the range is a left-aligned RFC 9162 subrange."""
    n = end - start
    if n <= 0:
        return EMPTY_ROOT
    if n & (n - 1) == 0 and start % n == 0:
        return get(n.bit_length() - 1, start // n)
    k = _split(n)
    return node_hash(subtree_hash(get, start, start + k), subtree_hash(get, start + k, end))


def root_from_leaf_hashes(leaves: Sequence[bytes]) -> bytes:
    """MTH over already-hashed leaves, computed directly (used by tests and log verification)."""
    if not leaves:
        return EMPTY_ROOT
    level = list(leaves)
    # Fold pairwise; an odd node at the end is promoted, which matches the RFC's split rule.
    while len(level) > 1:
        nxt = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def inclusion_proof(get: NodeSource, index: int, size: int) -> list[bytes]:
    """PATH(index, D[size]) per RFC 9162 §2.1.3.1."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of size {size}")
    path: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            path.append(subtree_hash(get, start + k, end))
            end = start + k
        else:
            path.append(subtree_hash(get, start, start + k))
            start += k
    path.reverse()
    return path


def consistency_proof(get: NodeSource, old_size: int, new_size: int) -> list[bytes]:
    """PROOF(old_size, D[new_size]) per RFC 9162 §2.1.4.1."""
    if not 0 <= old_size <= new_size:
        raise ValueError(f"no consistency proof from {old_size} to {new_size}")
    if old_size == 0 or old_size == new_size:
        return []
    proof: list[bytes] = []
    start, end, m, complete = 0, new_size, old_size, True
    while True:
        n = end - start
        if m == n:
            if not complete:
                proof.append(subtree_hash(get, start, end))
            break
        k = _split(n)
        if m <= k:
            proof.append(subtree_hash(get, start + k, end))
            end = start + k
        else:
            proof.append(subtree_hash(get, start, start + k))
            start += k
            m -= k
            complete = False
    proof.reverse()
    return proof


def verify_inclusion(
    leaf: bytes, index: int, size: int, path: Sequence[bytes], root: bytes
) -> None:
    """Check that the leaf hash ``leaf`` sits at ``index`` of the tree (``size``, ``root``)."""
    if not 0 <= index < size:
        raise VerificationError(f"inclusion: index {index} outside tree of size {size}")
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if len(p) != 32:
            raise VerificationError("inclusion: proof element is not 32 bytes")
        if sn == 0:
            raise VerificationError("inclusion: proof is too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise VerificationError("inclusion: proof is too short")
    if r != root:
        raise VerificationError("inclusion: computed root does not match the tree head")


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree (old_size, old_root) is a prefix of (new_size, new_root)."""
    if not 0 <= old_size <= new_size:
        raise VerificationError(f"consistency: old size {old_size} exceeds new size {new_size}")
    if any(len(p) != 32 for p in proof):
        raise VerificationError("consistency: proof element is not 32 bytes")
    if old_size == 0:
        if proof:
            raise VerificationError("consistency: proof from the empty tree must be empty")
        return
    if old_size == new_size:
        if proof:
            raise VerificationError("consistency: proof between equal sizes must be empty")
        if old_root != new_root:
            raise VerificationError("consistency: same size but different roots")
        return
    if not proof:
        raise VerificationError("consistency: empty proof")
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise VerificationError("consistency: proof is too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise VerificationError("consistency: proof is too short")
    if fr != old_root:
        raise VerificationError("consistency: proof does not reproduce the old root")
    if sr != new_root:
        raise VerificationError("consistency: proof does not reproduce the new root")


class CompactTree:
    """Append-only tree state kept as its right frontier: O(log n) memory, O(1) amortised appends.

    ``append`` returns every perfect subtree node it completed as ``(level, index, hash)`` so a
    store can persist them and later serve proofs through a ``NodeSource``.
    """

    def __init__(self, size: int = 0, frontier: Sequence[bytes] = ()) -> None:
        self.size = size
        # frontier[level]: the latest completed node at that level (only meaningful for set bits)
        self._frontier: list[bytes] = list(frontier)

    @classmethod
    def from_source(cls, get: NodeSource, size: int) -> CompactTree:
        frontier: list[bytes] = []
        for level in range(size.bit_length()):
            frontier.append(get(level, (size >> level) - 1) if size >> level & 1 else b"")
        return cls(size, frontier)

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        index, level, h = self.size, 0, leaf
        created = [(0, index, h)]
        while index & 1:
            h = node_hash(self._frontier[level], h)
            level += 1
            index >>= 1
            created.append((level, index, h))
        if len(self._frontier) <= level:
            self._frontier.extend([b""] * (level + 1 - len(self._frontier)))
        self._frontier[level] = h
        self.size += 1
        return created

    def root(self) -> bytes:
        if self.size == 0:
            return EMPTY_ROOT
        r: bytes | None = None
        for level in range(self.size.bit_length()):
            if self.size >> level & 1:
                r = self._frontier[level] if r is None else node_hash(self._frontier[level], r)
        assert r is not None
        return r
