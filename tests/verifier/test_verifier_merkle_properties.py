"""Property tests: every generated proof verifies, every damaged one does not."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from verifier.errors import MerkleError
from verifier.merkle import (
    Subtree,
    consistency_proof,
    consistency_proof_from,
    frontier_append,
    frontier_coordinates,
    frontier_root,
    inclusion_proof,
    inclusion_proof_from,
    leaf_hash,
    range_hash_from_subtrees,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)

MAX_LEAVES = 70


@st.composite
def trees(draw: st.DrawFn, min_size: int = 1) -> list[bytes]:
    """Leaf hashes of a random tree. Leaves are made distinct on purpose: with two
    equal leaves, a proof for one really is a proof for the other."""
    size = draw(st.integers(min_value=min_size, max_value=MAX_LEAVES))
    salt = draw(st.binary(max_size=8))
    return [leaf_hash(i.to_bytes(4, "big") + salt) for i in range(size)]


def _flip(proof: list[bytes], element: int, bit: int) -> list[bytes]:
    damaged = list(proof)
    target = bytearray(damaged[element])
    target[bit // 8] ^= 1 << (bit % 8)
    damaged[element] = bytes(target)
    return damaged


class RangeRecorder:
    """A get_range_hash over a list that records what it is asked for."""

    def __init__(self, leaf_hashes: list[bytes]) -> None:
        self.leaf_hashes = leaf_hashes
        self.requests: list[tuple[int, int]] = []

    def __call__(self, start: int, end: int) -> bytes:
        self.requests.append((start, end))
        return root_from_leaf_hashes(self.leaf_hashes[start:end])


def _assert_node_shaped(start: int, end: int, size: int) -> None:
    # The documented promise to a database: each range is a complete aligned
    # subtree, or a right-edge range that starts aligned and ends at the tree size.
    width = end - start
    assert 0 <= start < end <= size
    if width & (width - 1) == 0 and start % width == 0:
        return
    assert end == size
    assert start % (1 << (width - 1).bit_length()) == 0


def _subtree_store(leaf_hashes: list[bytes]) -> dict[tuple[int, int], bytes]:
    """What a database log would hold: every subtree frontier_append reported."""
    store: dict[tuple[int, int], bytes] = {}
    frontier: list[bytes] = []
    for size, h in enumerate(leaf_hashes):
        frontier, completed = frontier_append(frontier, size, h)
        store.update({(s.level, s.index): s.hash for s in completed})
    return store


@settings(max_examples=150, deadline=None)
@given(trees(), st.data())
def test_every_inclusion_proof_verifies_and_the_range_variants_agree(
    leaf_hashes: list[bytes], data: st.DataObject
) -> None:
    size = len(leaf_hashes)
    index = data.draw(st.integers(min_value=0, max_value=size - 1), label="index")
    root = root_from_leaf_hashes(leaf_hashes)
    proof = inclusion_proof(leaf_hashes, index)
    verify_inclusion(leaf_hashes[index], index, size, proof, root)

    recorder = RangeRecorder(leaf_hashes)
    assert inclusion_proof_from(recorder, index, size) == proof
    assert len(recorder.requests) == len(proof)
    for start, end in recorder.requests:
        _assert_node_shaped(start, end, size)

    store = _subtree_store(leaf_hashes)
    from_store = range_hash_from_subtrees(lambda level, i: store[(level, i)])
    assert inclusion_proof_from(from_store, index, size) == proof


@settings(max_examples=150, deadline=None)
@given(trees(), st.data())
def test_an_inclusion_proof_for_an_older_tree_verifies_against_that_tree(
    leaf_hashes: list[bytes], data: st.DataObject
) -> None:
    old_size = data.draw(st.integers(min_value=1, max_value=len(leaf_hashes)), label="old_size")
    index = data.draw(st.integers(min_value=0, max_value=old_size - 1), label="index")
    proof = inclusion_proof(leaf_hashes, index, old_size)
    assert proof == inclusion_proof(leaf_hashes[:old_size], index)
    old_root = root_from_leaf_hashes(leaf_hashes[:old_size])
    verify_inclusion(leaf_hashes[index], index, old_size, proof, old_root)


@settings(max_examples=150, deadline=None)
@given(trees(min_size=2), st.data())
def test_a_damaged_inclusion_proof_or_wrong_index_fails(
    leaf_hashes: list[bytes], data: st.DataObject
) -> None:
    size = len(leaf_hashes)
    index = data.draw(st.integers(min_value=0, max_value=size - 1), label="index")
    root = root_from_leaf_hashes(leaf_hashes)
    proof = inclusion_proof(leaf_hashes, index)

    element = data.draw(st.integers(min_value=0, max_value=len(proof) - 1), label="element")
    bit = data.draw(st.integers(min_value=0, max_value=255), label="bit")
    with pytest.raises(MerkleError):
        verify_inclusion(leaf_hashes[index], index, size, _flip(proof, element, bit), root)
    # A flipped bit of the root or of the leaf fails just the same.
    with pytest.raises(MerkleError):
        verify_inclusion(leaf_hashes[index], index, size, proof, _flip([root], 0, bit)[0])
    with pytest.raises(MerkleError):
        verify_inclusion(_flip([leaf_hashes[index]], 0, bit)[0], index, size, proof, root)

    other = data.draw(st.integers(min_value=0, max_value=size - 1), label="other")
    assume(other != index)
    with pytest.raises(MerkleError):
        verify_inclusion(leaf_hashes[index], other, size, proof, root)
    with pytest.raises(MerkleError):
        verify_inclusion(leaf_hashes[other], index, size, proof, root)


@settings(max_examples=150, deadline=None)
@given(trees(), st.data())
def test_every_consistency_proof_verifies_and_the_range_variants_agree(
    leaf_hashes: list[bytes], data: st.DataObject
) -> None:
    n = len(leaf_hashes)
    m = data.draw(st.integers(min_value=1, max_value=n), label="m")
    proof = consistency_proof(leaf_hashes, m, n)
    verify_consistency(
        m, n, proof, root_from_leaf_hashes(leaf_hashes[:m]), root_from_leaf_hashes(leaf_hashes)
    )

    recorder = RangeRecorder(leaf_hashes)
    assert consistency_proof_from(recorder, m, n) == proof
    assert len(recorder.requests) == len(proof)
    for start, end in recorder.requests:
        _assert_node_shaped(start, end, n)

    store = _subtree_store(leaf_hashes)
    from_store = range_hash_from_subtrees(lambda level, i: store[(level, i)])
    assert consistency_proof_from(from_store, m, n) == proof


@settings(max_examples=150, deadline=None)
@given(trees(min_size=2), st.data())
def test_a_damaged_consistency_proof_or_wrong_size_fails(
    leaf_hashes: list[bytes], data: st.DataObject
) -> None:
    n = len(leaf_hashes)
    m = data.draw(st.integers(min_value=1, max_value=n - 1), label="m")
    root1 = root_from_leaf_hashes(leaf_hashes[:m])
    root2 = root_from_leaf_hashes(leaf_hashes)
    proof = consistency_proof(leaf_hashes, m, n)

    element = data.draw(st.integers(min_value=0, max_value=len(proof) - 1), label="element")
    bit = data.draw(st.integers(min_value=0, max_value=255), label="bit")
    with pytest.raises(MerkleError):
        verify_consistency(m, n, _flip(proof, element, bit), root1, root2)
    with pytest.raises(MerkleError):
        verify_consistency(m, n, proof, _flip([root1], 0, bit)[0], root2)
    with pytest.raises(MerkleError):
        verify_consistency(m, n, proof, root1, _flip([root2], 0, bit)[0])

    # A correct proof must not vouch for an old root the auditor never saw.
    wrong_root1 = data.draw(st.binary(min_size=32, max_size=32), label="wrong_root1")
    assume(wrong_root1 != root1)
    with pytest.raises(MerkleError):
        verify_consistency(m, n, proof, wrong_root1, root2)

    other = data.draw(st.integers(min_value=1, max_value=n), label="other")
    assume(other != m)
    with pytest.raises(MerkleError):
        verify_consistency(other, n, proof, root1, root2)
    with pytest.raises(MerkleError):
        verify_consistency(m, n, proof, root2, root1)


@settings(max_examples=100, deadline=None)
@given(trees(min_size=0))
def test_frontier_append_matches_full_recomputation(leaf_hashes: list[bytes]) -> None:
    frontier: list[bytes] = []
    for size, h in enumerate(leaf_hashes):
        frontier, completed = frontier_append(frontier, size, h)
        prefix = leaf_hashes[: size + 1]
        assert frontier_root(frontier) == root_from_leaf_hashes(prefix)
        assert completed[0] == Subtree(0, size, h)
        for subtree in completed:
            assert subtree.end <= size + 1
            assert subtree.hash == root_from_leaf_hashes(leaf_hashes[subtree.start : subtree.end])
        # The frontier is exactly the covering subtrees frontier_coordinates names.
        expected = [
            root_from_leaf_hashes(leaf_hashes[i << level : (i + 1) << level])
            for level, i in frontier_coordinates(size + 1)
        ]
        assert frontier == expected
