"""Reads of the log: entries, proofs, checkpoints. Each proof costs a few queries."""

from __future__ import annotations

from collections.abc import Callable

from django.db import connection
from django.db.models import Q

from transparency.models import Checkpoint, LogEntry, LogHead, LogNode, LogSubject
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

    The store of a signed tree is kept for later calls (``kept``): a complete subtree
    never changes once the log holds it, and the root hash names the tree, so what was
    fetched for one proof in that tree answers the next. Only the latest few trees are
    kept, each up to a bounded number of hashes.
    """

    MAX_KEPT_TREES = 2
    MAX_KEPT_HASHES = 50_000  # about 10 MB
    # (tree_size, root_hash) -> store; a class attribute, shared by the process's threads.
    _kept: dict[tuple[int, bytes], _SubtreeStore] = {}

    def __init__(self, *, dry_run: bool = False) -> None:
        self.wanted: set[tuple[int, int]] = set()
        self.loaded: dict[tuple[int, int], bytes] = {}
        # Proofs in one tree ask for the same upper siblings and right-edge ranges again
        # and again: each range is folded once (see range_hash).
        self.ranges: dict[tuple[int, int], bytes] = {}
        self.proofs: dict[int, tuple[bytes, ...]] = {}  # leaf index -> its inclusion proof
        self._fold = range_hash_from_subtrees(self.record if dry_run else self.get)

    @classmethod
    def kept(cls, tree_size: int, root_hash: bytes) -> _SubtreeStore | None:
        store = cls._kept.get((tree_size, root_hash))
        if store is not None and store.size() > cls.MAX_KEPT_HASHES:
            # Start the tree afresh rather than grow without bound; calls in progress keep
            # the store they hold.
            store = cls._kept[(tree_size, root_hash)] = _SubtreeStore()
        return store

    @classmethod
    def keep(cls, tree_size: int, root_hash: bytes, store: _SubtreeStore) -> None:
        while len(cls._kept) >= cls.MAX_KEPT_TREES:
            cls._kept.pop(next(iter(cls._kept)), None)  # the oldest first
        cls._kept[(tree_size, root_hash)] = store

    def size(self) -> int:
        return len(self.loaded) + len(self.ranges) + len(self.proofs)

    def record(self, level: int, position: int) -> bytes:
        self.wanted.add((level, position))
        return b"\x00" * 32

    def load(self, wanted: set[tuple[int, int]] | None = None) -> None:
        """Fetch the wanted subtrees (by default those recorded) that are not loaded yet."""
        wanted = self.wanted if wanted is None else wanted
        fetch = wanted - self.loaded.keys()
        leaves = [p for lvl, p in fetch if lvl == 0]
        inner = [(lvl, p) for lvl, p in fetch if lvl > 0]
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
        missing = wanted - self.loaded.keys()
        if missing:
            raise LookupError(f"the log is missing stored subtrees {sorted(missing)[:5]}")

    def get(self, level: int, position: int) -> bytes:
        return self.loaded[(level, position)]

    def range_hash(self, start: int, end: int) -> bytes:
        value = self.ranges.get((start, end))
        if value is None:
            value = self.ranges[(start, end)] = self._fold(start, end)
        return value


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


def inclusion_proofs(
    indices: list[int], tree_size: int, *, root_hash: bytes | None = None
) -> list[list[bytes]]:
    """Many inclusion proofs in one tree, their subtrees fetched together.

    Give the tree's signed ``root_hash`` (a checkpoint's) and the subtrees fetched are
    kept for later calls in the same tree (see :class:`_SubtreeStore`).
    """
    if not indices:
        return []
    store = _SubtreeStore.kept(tree_size, root_hash) if root_hash is not None else None
    # A kept tree was checked against the head when it was first asked for, and the log
    # only grows.
    size = tree_size if store is not None else load_head().size
    if tree_size < 1 or tree_size > size or any(i < 0 or i >= tree_size for i in indices):
        raise ProofRequestError("index", f"indices must lie in a tree of at most {size} entries")
    if store is None:
        store = _SubtreeStore()
        if root_hash is not None:
            _SubtreeStore.keep(tree_size, root_hash, store)
    proofs = store.proofs
    todo = [index for index in indices if index not in proofs]
    if todo and store.loaded:
        # In a kept tree most proofs need only subtrees that earlier ones fetched.
        try:
            for index in todo:
                proofs[index] = tuple(inclusion_proof_from(store.range_hash, index, tree_size))
        except KeyError:  # some subtree is not in the store yet: fetch what is missing
            todo = [index for index in todo if index not in proofs]
        else:
            todo = []
    if todo:
        dry_run = _SubtreeStore(dry_run=True)
        for index in todo:
            inclusion_proof_from(dry_run.range_hash, index, tree_size)
        store.load(dry_run.wanted)
        for index in todo:
            proofs[index] = tuple(inclusion_proof_from(store.range_hash, index, tree_size))
    return [list(proofs[index]) for index in indices]


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


def latest_tree_head() -> tuple[int, bytes] | None:
    """The size and root of the latest signed checkpoint, without its note: what proofs
    are built against, fetched as two columns on the verification hot path."""
    with connection.cursor() as cursor:  # raw: compiling the ORM query costs more than running it
        cursor.execute(
            "SELECT tree_size, root_hash FROM transparency_checkpoint "
            "ORDER BY tree_size DESC LIMIT 1"
        )
        row = cursor.fetchone()
    return None if row is None else (row[0], bytes(row[1]))


def latest_checkpoint() -> Checkpoint | None:
    return Checkpoint.objects.order_by("-tree_size").first()


def recent_entries(limit: int = 20) -> list[LogEntry]:
    return list(LogEntry.objects.order_by("-index")[:limit])


# A license's or a voice's events are a handful; a bound keeps the answer small anyway.
MAX_EVENTS_ABOUT = 1000


def events_about(subject: str, tree_size: int | None = None) -> list[int]:
    """The indices of the events about ``subject`` (``license:<id>``, ``voice:<id>``,
    ``work:<id>``...), in log order, within the first ``tree_size`` entries."""
    rows = LogSubject.objects.filter(subject=subject)
    if tree_size is not None:
        rows = rows.filter(index__lt=tree_size)
    return list(rows.order_by("index").values_list("index", flat=True)[:MAX_EVENTS_ABOUT])
