"""Reads of the log: entries, proofs, checkpoints. Each proof costs a few queries."""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import Q

from transparency.models import Checkpoint, LogEntry, LogHead, LogNode
from verifier.merkle import (
    RangeHash,
    consistency_proof_from,
    inclusion_proof_from,
    range_hash_from_subtrees,
)

MAX_ENTRIES_PER_PAGE = 1000


class ProofRequestError(ValueError):
    """A proof was asked for sizes or indices the log cannot answer; says which."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def load_head() -> LogHead:
    return LogHead.objects.filter(pk=1).first() or LogHead(pk=1)


class _SubtreeStore:
    """Fetches exactly the subtree hashes a proof needs, in at most two queries.

    A dry run of the proof records which (level, position) it reads; one query per table
    then loads them all, and the real run reads from memory.
    """

    def __init__(self) -> None:
        self.wanted: set[tuple[int, int]] = set()
        self.loaded: dict[tuple[int, int], bytes] = {}

    def record(self, level: int, position: int) -> bytes:
        self.wanted.add((level, position))
        return b"\x00" * 32

    def load(self) -> None:
        leaves = [p for lvl, p in self.wanted if lvl == 0]
        inner = [(lvl, p) for lvl, p in self.wanted if lvl > 0]
        if leaves:
            for index, digest in LogEntry.objects.filter(index__in=leaves).values_list(
                "index", "leaf_hash"
            ):
                self.loaded[(0, index)] = bytes(digest)
        if inner:
            by_level: dict[int, list[int]] = {}
            for lvl, p in inner:
                by_level.setdefault(lvl, []).append(p)
            condition = Q()
            for lvl, positions in by_level.items():
                condition |= Q(level=lvl, position__in=positions)
            for lvl, p, digest in LogNode.objects.filter(condition).values_list(
                "level", "position", "hash"
            ):
                self.loaded[(lvl, p)] = bytes(digest)
        missing = self.wanted - self.loaded.keys()
        if missing:
            raise LookupError(f"the log is missing stored subtrees {sorted(missing)[:5]}")

    def get(self, level: int, position: int) -> bytes:
        return self.loaded[(level, position)]


def _two_pass(build: Callable[[RangeHash], list[bytes]]) -> list[bytes]:
    store = _SubtreeStore()
    build(range_hash_from_subtrees(store.record))
    store.load()
    return build(range_hash_from_subtrees(store.get))


def inclusion_proof(index: int, tree_size: int, *, head: LogHead | None = None) -> list[bytes]:
    size = (head or load_head()).size
    if tree_size < 1 or tree_size > size:
        raise ProofRequestError("tree_size", f"tree_size must be between 1 and {size}")
    if index < 0 or index >= tree_size:
        raise ProofRequestError(
            "index", f"index must be between 0 and tree_size - 1 ({tree_size - 1})"
        )
    return _two_pass(lambda get: inclusion_proof_from(get, index, tree_size))


def inclusion_proofs(indices: list[int], tree_size: int) -> list[list[bytes]]:
    """Many inclusion proofs in one tree, their subtrees fetched together."""
    if not indices:
        return []
    size = load_head().size
    if tree_size < 1 or tree_size > size or any(i < 0 or i >= tree_size for i in indices):
        raise ProofRequestError("index", f"indices must lie in a tree of at most {size} entries")
    store = _SubtreeStore()
    for index in indices:
        inclusion_proof_from(range_hash_from_subtrees(store.record), index, tree_size)
    store.load()
    get = range_hash_from_subtrees(store.get)
    return [inclusion_proof_from(get, index, tree_size) for index in indices]


def consistency_proof(first: int, second: int, *, head: LogHead | None = None) -> list[bytes]:
    size = (head or load_head()).size
    if second < 1 or second > size:
        raise ProofRequestError("second", f"second must be between 1 and {size}")
    if first < 1 or first > second:
        raise ProofRequestError("first", f"first must be between 1 and second ({second})")
    return _two_pass(lambda get: consistency_proof_from(get, first, second))


def entries(start: int, end: int) -> list[LogEntry]:
    size = load_head().size
    if start < 0 or start > size:
        raise ProofRequestError("start", f"start must be between 0 and {size}")
    if end <= start:
        raise ProofRequestError("end", "end must be greater than start (end is exclusive)")
    end = min(end, start + MAX_ENTRIES_PER_PAGE, size)
    return list(LogEntry.objects.filter(index__gte=start, index__lt=end).order_by("index"))


def latest_checkpoint() -> Checkpoint | None:
    return Checkpoint.objects.order_by("-tree_size").first()


def recent_entries(limit: int = 20) -> list[LogEntry]:
    return list(LogEntry.objects.order_by("-index")[:limit])
