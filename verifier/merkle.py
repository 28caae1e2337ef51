"""RFC 9162 §2.1 Merkle trees: hashing, proof generation and proof verification.

Terms used below:

* ``MTH(D[a:b])`` — the RFC's Merkle Tree Hash of leaves ``a`` (inclusive) to
  ``b`` (exclusive). Unbalanced trees split at the largest power of two smaller
  than the number of leaves; nothing is ever duplicated (unlike Bitcoin).
* *complete aligned subtree* ``(level, index)`` — the leaves
  ``[index * 2**level, (index + 1) * 2**level)``. Once the log has that many leaves
  its hash never changes, which is what makes it storable.
* *frontier* (RFC 6962's "compact range" of ``[0, n)``) — the hashes of the
  complete aligned subtrees that cover the first ``n`` leaves, left to right,
  one per set bit of ``n``, in decreasing size. It is all a log needs to keep in
  order to append a leaf and to compute its root.

Proofs can be generated from a full list of leaf hashes (tests, small trees), or
from a callable ``get_range_hash(start, end) -> MTH(D[start:end])`` so that a
database can serve the O(log n) hashes a proof needs. Every range such a callable
is asked for is a node of the RFC tree of the requested size, which means it is
one of:

* a complete aligned subtree ``[i * 2**h, (i + 1) * 2**h)``, or
* a right-edge range ``[i * 2**h, size)`` with ``0 < size - i * 2**h < 2**h``,
  whose hash is the fold of the complete aligned subtrees covering it.

:func:`range_hash_from_subtrees` turns a lookup of stored complete subtrees
``(level, index) -> hash`` into such a callable.

All failures raise :class:`~verifier.errors.MerkleError` with a stable code.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from verifier.errors import MerkleError

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "RangeHash",
    "Subtree",
    "SubtreeLookup",
    "consistency_proof",
    "consistency_proof_from",
    "frontier_append",
    "frontier_coordinates",
    "frontier_from_leaf_hashes",
    "frontier_root",
    "inclusion_proof",
    "inclusion_proof_from",
    "leaf_hash",
    "node_hash",
    "range_hash_from_subtrees",
    "root_from_consistency_proof",
    "root_from_inclusion_proof",
    "root_from_leaf_hashes",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
# RFC 9162 §2.1.1: the hash of an empty tree is the hash of the empty string.
EMPTY_ROOT = hashlib.sha256(b"").digest()

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"

RangeHash = Callable[[int, int], bytes]
"""``get_range_hash(start, end)`` returns ``MTH(D[start:end])`` (see module doc)."""

SubtreeLookup = Callable[[int, int], bytes]
"""``get_subtree(level, index)`` returns the hash of a complete aligned subtree."""


# --- hashing -----------------------------------------------------------------


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162 §2.1.1 leaf hash: SHA-256(0x00 || data)."""
    # The distinct prefixes for leaves and nodes stop a node from being passed off
    # as a leaf (second-preimage attack on the tree).
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 §2.1.1 interior node hash: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def _split_point(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (for ``n >= 2``)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_from_leaf_hashes(leaf_hashes: Sequence[bytes]) -> bytes:
    """``MTH`` of a whole list of leaf hashes; ``EMPTY_ROOT`` for an empty list."""
    for h in leaf_hashes:
        _require_hash(h, "leaf hash")
    if not leaf_hashes:
        return EMPTY_ROOT
    return _mth(leaf_hashes, 0, len(leaf_hashes))


def _mth(leaf_hashes: Sequence[bytes], start: int, end: int) -> bytes:
    # Direct transcription of the RFC's recursive definition; depth is log2(n).
    if end - start == 1:
        return leaf_hashes[start]
    k = _split_point(end - start)
    return node_hash(_mth(leaf_hashes, start, start + k), _mth(leaf_hashes, start + k, end))


# --- proof generation from a full list ---------------------------------------


def inclusion_proof(
    leaf_hashes: Sequence[bytes], index: int, size: int | None = None
) -> list[bytes]:
    """RFC 9162 §2.1.3.1 ``PATH(index, D[0:size])``, leaf to root.

    ``size`` defaults to the whole list; it may be smaller to prove inclusion in an
    older tree.
    """
    size = len(leaf_hashes) if size is None else size
    _check_tree_size(size, len(leaf_hashes))
    _check_index(index, size)
    return _path(leaf_hashes, index, 0, size)


def _path(leaf_hashes: Sequence[bytes], m: int, start: int, end: int) -> list[bytes]:
    if end - start == 1:
        return []
    k = _split_point(end - start)
    if m < k:
        return [*_path(leaf_hashes, m, start, start + k), _mth(leaf_hashes, start + k, end)]
    return [*_path(leaf_hashes, m - k, start + k, end), _mth(leaf_hashes, start, start + k)]


def consistency_proof(leaf_hashes: Sequence[bytes], m: int, n: int | None = None) -> list[bytes]:
    """RFC 9162 §2.1.4.1 ``PROOF(m, D[0:n])``: the tree of size ``m`` is a prefix
    of the tree of size ``n``. ``n`` defaults to the whole list; ``m == n`` gives
    the empty proof."""
    n = len(leaf_hashes) if n is None else n
    _check_tree_size(n, len(leaf_hashes))
    _check_consistency_sizes(m, n)
    return _subproof(leaf_hashes, m, 0, n, True)


def _subproof(
    leaf_hashes: Sequence[bytes], m: int, start: int, end: int, whole: bool
) -> list[bytes]:
    # ``whole`` is the RFC's flag b: true while the old tree is exactly the left
    # edge of the range, in which case the verifier already knows its hash.
    n = end - start
    if m == n:
        return [] if whole else [_mth(leaf_hashes, start, end)]
    k = _split_point(n)
    if m <= k:
        return [
            *_subproof(leaf_hashes, m, start, start + k, whole),
            _mth(leaf_hashes, start + k, end),
        ]
    return [
        *_subproof(leaf_hashes, m - k, start + k, end, False),
        _mth(leaf_hashes, start, start + k),
    ]


# --- proof generation from a range-hash callable ------------------------------


def inclusion_proof_from(get_range_hash: RangeHash, index: int, size: int) -> list[bytes]:
    """Same proof as :func:`inclusion_proof`, asking ``get_range_hash`` for the
    ``ceil(log2(size))`` sibling ranges instead of reading every leaf.

    The ranges requested are the siblings on the path from the leaf to the root
    (see the module doc for their shape).
    """
    _check_index(index, size)
    siblings_root_first: list[bytes] = []
    start, end = 0, size
    # Walk down from the root; each step keeps the half that holds the leaf and
    # records the hash of the other half.
    while end - start > 1:
        k = _split_point(end - start)
        if index < start + k:
            siblings_root_first.append(_fetch(get_range_hash, start + k, end))
            end = start + k
        else:
            siblings_root_first.append(_fetch(get_range_hash, start, start + k))
            start = start + k
    siblings_root_first.reverse()
    return siblings_root_first


def consistency_proof_from(get_range_hash: RangeHash, m: int, n: int) -> list[bytes]:
    """Same proof as :func:`consistency_proof`, asking ``get_range_hash`` for at
    most ``ceil(log2(n)) + 1`` ranges (see the module doc for their shape)."""
    _check_consistency_sizes(m, n)
    proof_root_first: list[bytes] = []
    start, end, old_size, whole = 0, n, m, True
    while old_size != end - start:
        k = _split_point(end - start)
        if old_size <= k:
            proof_root_first.append(_fetch(get_range_hash, start + k, end))
            end = start + k
        else:
            proof_root_first.append(_fetch(get_range_hash, start, start + k))
            start, old_size, whole = start + k, old_size - k, False
    if not whole:
        proof_root_first.append(_fetch(get_range_hash, start, end))
    proof_root_first.reverse()
    return proof_root_first


def _fetch(get_range_hash: RangeHash, start: int, end: int) -> bytes:
    value = get_range_hash(start, end)
    # A store that hands back garbage must fail here, loudly, not produce a proof
    # that fails for every auditor.
    if not isinstance(value, bytes) or len(value) != HASH_SIZE:
        raise ValueError(f"get_range_hash({start}, {end}) did not return a {HASH_SIZE}-byte hash")
    return value


def range_hash_from_subtrees(get_subtree: SubtreeLookup) -> RangeHash:
    """Adapt a store of complete aligned subtrees to the ``get_range_hash`` the
    ``*_from`` functions take.

    ``get_subtree(level, index)`` must return the hash of leaves
    ``[index * 2**level, (index + 1) * 2**level)`` (level 0 is a leaf hash). A
    right-edge range is answered by folding the complete subtrees that cover it,
    so each requested range costs at most ``log2(size)`` lookups.
    """

    def get_range_hash(start: int, end: int) -> bytes:
        width = end - start
        if start < 0 or width <= 0:
            raise ValueError(f"empty or negative range [{start}, {end})")
        # Only ranges that start on a boundary of their own enclosing power of two
        # are nodes of an RFC 9162 tree; anything else means a caller bug.
        enclosing = 1 << (width - 1).bit_length()
        if start % enclosing:
            raise ValueError(f"range [{start}, {end}) is not a node of an RFC 9162 tree")
        covering: list[bytes] = []
        position = start
        for level in range(width.bit_length() - 1, -1, -1):
            if width >> level & 1:
                covering.append(_fetch_subtree(get_subtree, level, position >> level))
                position += 1 << level
        return frontier_root(covering)

    return get_range_hash


def _fetch_subtree(get_subtree: SubtreeLookup, level: int, index: int) -> bytes:
    value = get_subtree(level, index)
    if not isinstance(value, bytes) or len(value) != HASH_SIZE:
        raise ValueError(f"get_subtree({level}, {index}) did not return a {HASH_SIZE}-byte hash")
    return value


# --- frontier (compact range of [0, n)) ---------------------------------------


@dataclass(frozen=True)
class Subtree:
    """A complete aligned subtree: leaves ``[start, end)``, with its hash."""

    level: int
    index: int
    hash: bytes

    @property
    def start(self) -> int:
        return self.index << self.level

    @property
    def end(self) -> int:
        return (self.index + 1) << self.level


def frontier_coordinates(size: int) -> list[tuple[int, int]]:
    """The ``(level, index)`` of each frontier subtree of a tree of ``size`` leaves,
    left to right — what a store must look up to rebuild the frontier."""
    if size < 0:
        raise MerkleError("merkle.bad_size", f"tree size {size} is negative")
    coordinates: list[tuple[int, int]] = []
    position = 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            coordinates.append((level, position >> level))
            position += 1 << level
    return coordinates


def frontier_root(frontier: Sequence[bytes]) -> bytes:
    """The root of the tree whose frontier this is (``EMPTY_ROOT`` if empty).

    The smaller subtrees on the right combine first: that is exactly how the RFC's
    recursive split treats the ragged right edge of an unbalanced tree.
    """
    for h in frontier:
        _require_hash(h, "frontier hash")
    if not frontier:
        return EMPTY_ROOT
    root = frontier[-1]
    for left in reversed(frontier[:-1]):
        root = node_hash(left, root)
    return root


def frontier_append(
    frontier: Sequence[bytes], size: int, new_leaf_hash: bytes
) -> tuple[list[bytes], list[Subtree]]:
    """Append one leaf to a tree of ``size`` leaves given by its ``frontier``.

    Returns the new frontier and every complete subtree that the new leaf
    completes, smallest first: the leaf itself at ``(0, size)``, then one per
    carry (as when adding 1 to ``size`` in binary). A store that keeps these rows
    can answer every ``get_subtree`` that :func:`range_hash_from_subtrees` asks.
    """
    if size < 0:
        raise MerkleError("merkle.bad_size", f"tree size {size} is negative")
    if len(frontier) != size.bit_count():
        raise MerkleError(
            "merkle.bad_frontier",
            f"a tree of {size} leaves has {size.bit_count()} frontier hashes, got {len(frontier)}",
        )
    for h in frontier:
        _require_hash(h, "frontier hash")
    _require_hash(new_leaf_hash, "leaf hash")

    stack = list(frontier)
    current = Subtree(0, size, new_leaf_hash)
    completed = [current]
    # Each trailing 1 bit of ``size`` is a subtree of the same height as ``current``
    # waiting on the frontier for its right sibling: merge them.
    while (size >> current.level) & 1:
        left = stack.pop()
        current = Subtree(current.level + 1, current.index >> 1, node_hash(left, current.hash))
        completed.append(current)
    stack.append(current.hash)
    return stack, completed


def frontier_from_leaf_hashes(leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """The frontier of a tree, computed from all its leaf hashes."""
    frontier: list[bytes] = []
    for size, h in enumerate(leaf_hashes):
        frontier, _ = frontier_append(frontier, size, h)
    return frontier


# --- verification -------------------------------------------------------------


def root_from_inclusion_proof(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes]
) -> bytes:
    """RFC 9162 §2.1.3.2 steps 1-4: the root that ``proof`` implies for a leaf.

    Checks sizes and the proof length; the caller compares the result with a root
    it trusts (or use :func:`verify_inclusion`).
    """
    _require_hash(leaf_hash, "leaf hash")
    _check_index(index, size)
    for position, h in enumerate(proof):
        _require_hash(h, f"proof[{position}]")
    # The proof length is fully determined by (index, size): the levels where the
    # leaf's path and the tree's right edge diverge ("inner") plus the right-edge
    # levels above that, where the leaf's subtree is a left child ("border").
    inner = (index ^ (size - 1)).bit_length()
    border = (index >> inner).bit_count()
    if len(proof) != inner + border:
        raise MerkleError(
            "merkle.bad_proof_length",
            f"an inclusion proof for leaf {index} of {size} has {inner + border} hashes, "
            f"got {len(proof)}",
        )

    fn, sn = index, size - 1
    r = leaf_hash
    for p in proof:
        if sn == 0:  # unreachable after the length check; kept as the RFC states it
            raise MerkleError("merkle.bad_proof_length", "inclusion proof is too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            # Skip the levels where this node is the last one on its level and so
            # has no right sibling (the tree's ragged right edge).
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise MerkleError("merkle.bad_proof_length", "inclusion proof is too short")
    return r


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """RFC 9162 §2.1.3.2: raise :class:`MerkleError` unless ``proof`` shows that
    ``leaf_hash`` is leaf ``index`` of the tree of ``size`` leaves with ``root``."""
    _require_hash(root, "root hash")
    computed = root_from_inclusion_proof(leaf_hash, index, size, proof)
    if not hmac.compare_digest(computed, root):
        raise MerkleError(
            "merkle.root_mismatch",
            f"inclusion proof for leaf {index} does not lead to the root of the tree "
            f"of size {size}",
        )


def root_from_consistency_proof(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes
) -> bytes:
    """RFC 9162 §2.1.4.2: check that ``proof`` leads to ``root1`` and return the
    root it implies for the tree of ``size2`` (compare it with a trusted root, or
    use :func:`verify_consistency`)."""
    _require_hash(root1, "first root hash")
    for position, h in enumerate(proof):
        _require_hash(h, f"proof[{position}]")
    _check_consistency_sizes(size1, size2)
    if size1 == size2:
        if proof:
            raise MerkleError(
                "merkle.bad_proof_length", "trees of equal size need an empty consistency proof"
            )
        return root1

    # Like inclusion: the old tree's last leaf (size1 - 1) is proven to be in both
    # trees, except that the levels below the old tree's largest complete subtree
    # containing that leaf are skipped (``shift``).
    inner = ((size1 - 1) ^ (size2 - 1)).bit_length()
    border = ((size1 - 1) >> inner).bit_count()
    shift = (size1 & -size1).bit_length() - 1  # trailing zero bits of size1
    # When size1 is a power of two the old tree is itself that subtree, the
    # verifier knows its hash (root1) and the proof leaves it out.
    seeded = size1 == 1 << shift
    path = [root1, *proof] if seeded else list(proof)
    expected = (inner - shift) + border + (0 if seeded else 1)
    if len(proof) != expected:
        raise MerkleError(
            "merkle.bad_proof_length",
            f"a consistency proof from {size1} to {size2} has {expected} hashes, got {len(proof)}",
        )

    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:  # unreachable after the length check; kept as the RFC states it
            raise MerkleError("merkle.bad_proof_length", "consistency proof is too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise MerkleError("merkle.bad_proof_length", "consistency proof is too short")
    if not hmac.compare_digest(fr, root1):
        raise MerkleError(
            "merkle.root_mismatch",
            f"consistency proof does not lead to the root of the tree of size {size1}",
        )
    return sr


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """RFC 9162 §2.1.4.2: raise :class:`MerkleError` unless ``proof`` shows that the
    tree of ``size1`` leaves with ``root1`` is a prefix of the tree of ``size2``
    leaves with ``root2``.

    ``size1 == 0`` is rejected: every tree extends the empty tree, so such a
    "proof" proves nothing and is more likely a caller bug than a real question.
    """
    _require_hash(root2, "second root hash")
    computed = root_from_consistency_proof(size1, size2, proof, root1)
    if not hmac.compare_digest(computed, root2):
        raise MerkleError(
            "merkle.root_mismatch",
            f"consistency proof does not lead to the root of the tree of size {size2}",
        )


# --- argument checks ------------------------------------------------------------


def _require_hash(value: object, what: str) -> None:
    if not isinstance(value, bytes):
        raise MerkleError("merkle.bad_hash", f"{what} must be bytes, not {type(value).__name__}")
    if len(value) != HASH_SIZE:
        raise MerkleError(
            "merkle.bad_hash", f"{what} is {len(value)} bytes; SHA-256 hashes are {HASH_SIZE}"
        )


def _check_index(index: int, size: int) -> None:
    if size < 0:
        raise MerkleError("merkle.bad_size", f"tree size {size} is negative")
    if not 0 <= index < size:
        raise MerkleError(
            "merkle.index_out_of_range", f"leaf index {index} is not in a tree of {size} leaves"
        )


def _check_tree_size(size: int, available: int) -> None:
    if not 0 <= size <= available:
        raise MerkleError(
            "merkle.bad_size", f"tree size {size} is not between 0 and the {available} leaves given"
        )


def _check_consistency_sizes(size1: int, size2: int) -> None:
    if size1 <= 0:
        raise MerkleError("merkle.bad_size", f"first tree size must be at least 1, got {size1}")
    if size1 > size2:
        raise MerkleError(
            "merkle.bad_size", f"first tree size {size1} is larger than second tree size {size2}"
        )
