"""RFC 6962 Merkle trees: the Certificate Transparency known answers, and a naive cross-check."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claim_assess.ledger.merkle import (
    EMPTY_ROOT,
    MerkleFrontier,
    RangeHasher,
    consistency_proof,
    consistency_ranges,
    inclusion_proof,
    inclusion_ranges,
    leaf_hash,
    root_of,
    verify_consistency,
    verify_inclusion,
)

# The 8 leaves, roots and proofs used by Certificate Transparency and transparency-dev/merkle.
LEAVES = [bytes.fromhex(h) for h in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f",
)]  # fmt: skip
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",  # size 0
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
INCLUSION = [  # (leaf index, tree size, proof)
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    (0, 1, []),
]  # fmt: skip
CONSISTENCY = [  # (old size, new size, proof)
    (1, 1, []),
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]  # fmt: skip

HASHES = [leaf_hash(x) for x in LEAVES]


# --- an independent, naive transcription of RFC 6962 §2.1 (recursion over the data itself) -----


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def naive_mth(data: list[bytes]) -> bytes:
    if not data:
        return hashlib.sha256(b"").digest()
    if len(data) == 1:
        return hashlib.sha256(b"\x00" + data[0]).digest()
    k = _k(len(data))
    return hashlib.sha256(b"\x01" + naive_mth(data[:k]) + naive_mth(data[k:])).digest()


def naive_path(m: int, data: list[bytes]) -> list[bytes]:
    if len(data) <= 1:
        return []
    k = _k(len(data))
    if m < k:
        return naive_path(m, data[:k]) + [naive_mth(data[k:])]
    return naive_path(m - k, data[k:]) + [naive_mth(data[:k])]


def naive_subproof(m: int, data: list[bytes], whole: bool) -> list[bytes]:
    n = len(data)
    if m == n:
        return [] if whole else [naive_mth(data)]
    k = _k(n)
    if m <= k:
        return naive_subproof(m, data[:k], whole) + [naive_mth(data[k:])]
    return naive_subproof(m - k, data[k:], False) + [naive_mth(data[:k])]


# --- known answers ---------------------------------------------------------------------------


@pytest.mark.parametrize("size", range(9))
def test_root_of_every_prefix(size):
    assert root_of(HASHES[:size]).hex() == ROOTS[size]
    assert naive_mth(LEAVES[:size]).hex() == ROOTS[size]  # the cross-check agrees with CT too


def test_frontier_roots_while_growing():
    frontier = MerkleFrontier()
    assert frontier.root() == EMPTY_ROOT
    for i, data in enumerate(LEAVES):
        frontier.append_data(data)
        assert frontier.size == i + 1
        assert frontier.root().hex() == ROOTS[i + 1]
    assert len(frontier._stack) == 1  # 8 = one perfect subtree: O(log n) state


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION)
def test_inclusion_known_answers(index, size, proof):
    assert [h.hex() for h in inclusion_proof(HASHES[:size], index)] == proof
    root = bytes.fromhex(ROOTS[size])
    assert verify_inclusion(HASHES[index], index, size, [bytes.fromhex(p) for p in proof], root)


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY)
def test_consistency_known_answers(old, new, proof):
    assert [h.hex() for h in consistency_proof(HASHES[:new], old)] == proof
    path = [bytes.fromhex(p) for p in proof]
    assert verify_consistency(old, new, bytes.fromhex(ROOTS[old]), bytes.fromhex(ROOTS[new]), path)


@pytest.mark.parametrize(("index", "size", "proof"), [v for v in INCLUSION if v[2]])
def test_corrupted_inclusion_proofs_fail(index, size, proof):
    root, leaf = bytes.fromhex(ROOTS[size]), HASHES[index]
    path = [bytes.fromhex(p) for p in proof]
    assert not verify_inclusion(leaf, index + 1, size, path, root) or index + 1 >= size
    assert not verify_inclusion(leaf, index, size * 2, path, root)
    assert not verify_inclusion(leaf_hash(b"WrongLeaf"), index, size, path, root)
    assert not verify_inclusion(leaf, index, size, path, EMPTY_ROOT)
    assert not verify_inclusion(leaf, index, size, [*path, root], root)
    assert not verify_inclusion(leaf, index, size, [root, *path], root)
    assert not verify_inclusion(leaf, index, size, path[:-1], root)
    for i in range(len(path)):
        bad = list(path)
        bad[i] = bytes([bad[i][0] ^ 8]) + bad[i][1:]
        assert not verify_inclusion(leaf, index, size, bad, root)


@pytest.mark.parametrize(("old", "new", "proof"), [v for v in CONSISTENCY if v[2]])
def test_corrupted_consistency_proofs_fail(old, new, proof):
    r1, r2 = bytes.fromhex(ROOTS[old]), bytes.fromhex(ROOTS[new])
    path = [bytes.fromhex(p) for p in proof]
    assert not verify_consistency(old, new, r2, r1, path)
    assert not verify_consistency(old, new, leaf_hash(b"x"), r2, path)
    assert not verify_consistency(old, new, r1, r2, [])
    assert not verify_consistency(old, new, r1, r2, path[:-1])
    assert not verify_consistency(old, new, r1, r2, [*path, r2])
    assert not verify_consistency(old + 1, new, r1, r2, path)
    for i in range(len(path)):
        bad = list(path)
        bad[i] = bytes([bad[i][0] ^ 16]) + bad[i][1:]
        assert not verify_consistency(old, new, r1, r2, bad)


def test_trivial_consistency_cases():
    r = bytes.fromhex(ROOTS[3])
    assert verify_consistency(0, 5, EMPTY_ROOT, r, [])
    assert verify_consistency(3, 3, r, r, [])
    assert not verify_consistency(3, 3, r, EMPTY_ROOT, [])
    assert not verify_consistency(4, 3, r, r, [])


# --- every size against the naive recursion ---------------------------------------------------


def test_every_proof_up_to_40_leaves_agrees_with_the_naive_recursion():
    data = [bytes([i, i * 7 % 256]) for i in range(40)]
    hashes = [leaf_hash(d) for d in data]
    for n in range(1, 41):
        root = naive_mth(data[:n])
        assert root_of(hashes[:n]) == root
        for m in range(n):
            proof = inclusion_proof(hashes[:n], m)
            assert proof == naive_path(m, data[:n])
            assert verify_inclusion(hashes[m], m, n, proof, root)
            if n > 1:
                assert not verify_inclusion(hashes[m], (m + 1) % n, n, proof, root)
        for m in range(1, n + 1):
            proof = consistency_proof(hashes[:n], m)
            assert proof == (naive_subproof(m, data[:n], True) if m < n else [])
            assert verify_consistency(m, n, naive_mth(data[:m]), root, proof)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 3000), st.data())
def test_streamed_ranges_equal_in_memory_proofs(n, data):
    hashes = [hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(n)]
    m = data.draw(st.integers(0, n - 1))
    old = data.draw(st.integers(1, n))
    for ranges, expected in (
        (inclusion_ranges(m, n), inclusion_proof(hashes, m)),
        (consistency_ranges(old, n), consistency_proof(hashes, old)),
    ):
        hasher = RangeHasher(ranges)
        for i, h in enumerate(hashes):
            hasher.feed(i, h)
        assert hasher.hashes() == expected
