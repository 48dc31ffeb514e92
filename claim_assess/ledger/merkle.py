"""RFC 6962 / RFC 9162 Merkle trees over ledger lines: a compact frontier, proofs, proof checks.

leaf = SHA-256(0x00 ‖ bytes), node = SHA-256(0x01 ‖ left ‖ right), and a tree of n leaves splits
at k, the largest power of two below n. The writer and verify never hold the leaves: a
``MerkleFrontier`` keeps one hash per set bit of the size (O(log n)), which is enough for the root.

Proofs are described first as the leaf *ranges* whose subtree hashes they list (``inclusion_ranges``,
``consistency_ranges``): ranges are disjoint, so one streaming pass with a frontier per range
(``RangeHasher``) yields the proof without holding the file. The check functions follow RFC 9162
§2.1.3.2 and §2.1.4.2 literally and share no code with the generators, so a bug in one shows up
as a disagreement in the tests.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

_sha256 = hashlib.sha256
EMPTY_ROOT = _sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    return _sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return _sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """Largest power of two strictly below n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


class MerkleFrontier:
    """The right edge of a growing tree: perfect-subtree hashes, largest first (a compact range)."""

    __slots__ = ("_stack", "size")

    def __init__(self) -> None:
        self._stack: list[bytes] = []
        self.size = 0

    def append(self, leaf: bytes) -> None:
        """Add a leaf *hash* (see leaf_hash)."""
        h, n, stack = leaf, self.size, self._stack
        while n & 1:  # every trailing 1 bit is a finished subtree of the same height: merge
            h = node_hash(stack.pop(), h)
            n >>= 1
        stack.append(h)
        self.size += 1

    def append_data(self, data: bytes) -> None:
        self.append(_sha256(b"\x00" + data).digest())

    def root(self) -> bytes:
        stack = self._stack
        if not stack:
            return EMPTY_ROOT
        h = stack[-1]
        for left in reversed(stack[:-1]):
            h = node_hash(left, h)
        return h

    def copy(self) -> MerkleFrontier:
        other = MerkleFrontier()
        other._stack = list(self._stack)
        other.size = self.size
        return other


def root_of(leaves: Iterable[bytes]) -> bytes:
    """Root over leaf hashes."""
    frontier = MerkleFrontier()
    for leaf in leaves:
        frontier.append(leaf)
    return frontier.root()


Range = tuple[int, int]  # [start, end) of leaf indexes


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """The ranges whose subtree hashes form PATH(index, D[0:size]), in proof order (leaf upward)."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of size {size}")
    out: list[Range] = []
    lo, hi, m = 0, size, index
    while hi - lo > 1:
        k = _split(hi - lo)
        if m < k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            lo, m = lo + k, m - k
    out.reverse()
    return out


def consistency_ranges(old_size: int, new_size: int) -> list[Range]:
    """The ranges whose subtree hashes form PROOF(old_size, D[0:new_size]) (RFC 6962 §2.1.2)."""
    if not 0 <= old_size <= new_size:
        raise ValueError(f"no consistency proof from size {old_size} to {new_size}")
    if old_size in (0, new_size):
        return []
    out: list[Range] = []
    lo, hi, m, whole = 0, new_size, old_size, True
    while m != hi - lo:
        k = _split(hi - lo)
        if m <= k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            lo, m, whole = lo + k, m - k, False
    if not whole:
        out.append((lo, hi))
    out.reverse()
    return out


class RangeHasher:
    """Subtree hashes of disjoint leaf ranges from one pass over the leaves, O(log n) memory."""

    def __init__(self, ranges: Sequence[Range]) -> None:
        self._ranges = list(ranges)
        self._order = sorted(range(len(self._ranges)), key=lambda i: self._ranges[i][0])
        self._next = 0
        self._active: MerkleFrontier | None = None
        self._results: list[bytes | None] = [None] * len(self._ranges)

    def feed(self, index: int, leaf: bytes) -> None:
        if self._next >= len(self._order):
            return
        slot = self._order[self._next]
        start, end = self._ranges[slot]
        if index < start:
            return
        if self._active is None:
            self._active = MerkleFrontier()
        self._active.append(leaf)
        if index == end - 1:
            self._results[slot] = self._active.root()
            self._active = None
            self._next += 1

    def hashes(self) -> list[bytes]:
        missing = [self._ranges[i] for i, h in enumerate(self._results) if h is None]
        if missing:
            raise ValueError(f"leaves of ranges {missing} were never fed")
        return [h for h in self._results if h is not None]


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """PATH(index) over in-memory leaf hashes (tests, MemoryLedger)."""
    return [root_of(leaves[a:b]) for a, b in inclusion_ranges(index, len(leaves))]


def consistency_proof(leaves: Sequence[bytes], old_size: int) -> list[bytes]:
    return [root_of(leaves[a:b]) for a, b in consistency_ranges(old_size, len(leaves))]


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2: does ``proof`` show leaf hash ``leaf`` at ``index`` under ``root``?"""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> bool:
    """RFC 9162 §2.1.4.2: is the tree (new_size, new_root) an extension of (old_size, old_root)?"""
    if not 0 <= old_size <= new_size:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0:
        return not proof  # the empty tree is a prefix of every tree
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # an exact power of two: the old root is a node of the new tree
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root
