"""Recompute the whole log from its stored data and compare with every stored hash, and
check that every entry is a well-formed event of a known type (verifier.events)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from transparency.models import Checkpoint, LogEntry, LogHead, LogNode
from verifier.errors import JSONError
from verifier.events import event_problem
from verifier.jcs import parse_json_strict
from verifier.merkle import EMPTY_ROOT, frontier_append, frontier_root, leaf_hash

BATCH = 10_000


@dataclass
class AuditReport:
    size: int = 0
    problems: list[str] = field(default_factory=list)
    first_bad_index: int | None = None
    bad_indices: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def flag(self, index: int, message: str, *, within: int | None = None) -> None:
        """Record a problem at ``index``. For a subtree over [index, within), a bad index
        already found inside it is the more precise culprit and is kept instead."""
        if within is not None:
            inside = [i for i in self.bad_indices if index <= i < within]
            index = min(inside) if inside else index
        self.bad_indices.append(index)
        if self.first_bad_index is None or index < self.first_bad_index:
            self.first_bad_index = index
        self.problems.append(message)


def _entries() -> Iterator[tuple[int, bytes, bytes]]:
    last = -1
    while True:
        rows = list(
            LogEntry.objects.filter(index__gt=last)
            .order_by("index")
            .values_list("index", "data", "leaf_hash")[:BATCH]
        )
        if not rows:
            return
        for index, data, digest in rows:
            yield index, bytes(data), bytes(digest)
        last = rows[-1][0]


def _event_problem(data: bytes) -> str | None:
    """Why a stored entry is not a well-formed event (verifier.events), or None."""
    try:
        return event_problem(parse_json_strict(data))
    except JSONError as exc:
        return f"not strict JSON ({exc.message})"


def audit_log() -> AuditReport:
    report = AuditReport()
    checkpoints = {c.tree_size: bytes(c.root_hash) for c in Checkpoint.objects.all()}
    if 0 in checkpoints and checkpoints[0] != EMPTY_ROOT:
        report.flag(0, "the checkpoint at size 0 does not carry the empty tree's root")
    frontier: list[bytes] = []
    pending: dict[tuple[int, int], tuple[bytes, int]] = {}
    expected_index = 0
    bad_roots: list[int] = []  # flagged after the subtrees, which locate the edit better
    for index, data, stored in _entries():
        if index != expected_index:
            report.flag(
                expected_index, f"index {expected_index} is missing (next stored is {index})"
            )
            break
        digest = leaf_hash(data)
        if digest != stored:
            report.flag(index, f"entry {index}: its data no longer matches its stored leaf hash")
        problem = _event_problem(data)
        if problem is not None:
            report.flag(index, f"entry {index}: {problem}")
        frontier, completed = frontier_append(frontier, index, digest)
        for subtree in completed:
            if subtree.level > 0:
                pending[(subtree.level, subtree.index)] = (subtree.hash, index)
        expected_index += 1
        if expected_index in checkpoints and frontier_root(frontier) != checkpoints[expected_index]:
            bad_roots.append(expected_index)
        if len(pending) >= BATCH:
            _compare_nodes(pending, report)
    _compare_nodes(pending, report)
    for size in bad_roots:
        report.flag(
            0, f"the root recomputed at size {size} differs from its signed checkpoint", within=size
        )
    report.size = expected_index
    head = LogHead.objects.filter(pk=1).first()
    head_size = head.size if head else 0
    if head_size != expected_index:
        report.flag(
            expected_index, f"the head says size {head_size}, the entries run to {expected_index}"
        )
    elif head is not None and head_size and bytes(head.root_hash) != frontier_root(frontier):
        report.flag(0, "the head's root differs from the recomputed root", within=expected_index)
    for size in checkpoints:
        if size > expected_index:
            report.flag(
                expected_index, f"a checkpoint was signed at size {size}, beyond the entries"
            )
    return report


def _compare_nodes(pending: dict[tuple[int, int], tuple[bytes, int]], report: AuditReport) -> None:
    """Check recomputed subtree hashes against the stored ones that proofs are built from."""
    if not pending:
        return
    levels: dict[int, list[int]] = {}
    for level, position in pending:
        levels.setdefault(level, []).append(position)
    # Lowest levels first: the smallest mismatching subtree locates the edit best.
    for level, positions in sorted(levels.items()):
        stored = dict(
            LogNode.objects.filter(
                level=level, position__gte=min(positions), position__lte=max(positions)
            ).values_list("position", "hash")
        )
        for position in positions:
            expected, last_leaf = pending[(level, position)]
            first_leaf = position << level
            got = stored.get(position)
            if got is None:
                report.flag(
                    first_leaf, f"the subtree over entries {first_leaf}..{last_leaf} is not stored"
                )
            elif bytes(got) != expected:
                report.flag(
                    first_leaf,
                    f"the stored subtree over entries {first_leaf}..{last_leaf} no longer matches "
                    "the entries' data",
                    within=last_leaf + 1,
                )
    pending.clear()
