"""Appending to the log and signing checkpoints. Knows no other app."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from transparency import keys
from transparency.models import Checkpoint, LogEntry, LogHead, LogNode, LogSubject
from transparency.selectors import consistency_proof, load_head
from verifier.checkpoint import format_checkpoint
from verifier.events import EVENTS, event_problem
from verifier.events import subjects as event_subjects
from verifier.jcs import canonical_json
from verifier.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    frontier_append,
    frontier_root,
    leaf_hash,
    verify_consistency,
)
from verifier.note import sign_note


class LogError(RuntimeError):
    """The log would break one of its own promises; nothing was written."""


def rfc3339(moment: datetime | None = None) -> str:
    moment = (moment or timezone.now()).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def event(type_: str, **fields: Any) -> dict[str, Any]:
    """An event as the log stores it: its type, the time, then its own fields."""
    if type_ not in EVENTS:
        raise ValueError(f"unknown log event type {type_!r}")
    return {"type": type_, "at": rfc3339(), **fields}


def _split(frontier: bytes) -> list[bytes]:
    return [frontier[i : i + HASH_SIZE] for i in range(0, len(frontier), HASH_SIZE)]


def _locked_head() -> LogHead:
    """Lock the head row for the rest of the transaction.

    Why a row lock: every append reads the size and frontier and writes them back, so
    appenders must take turns; locking the one head row serialises exactly them (readers
    of entries and proofs never wait). On SQLite the write transaction itself serialises.
    """
    head = LogHead.objects.select_for_update().filter(pk=1).first()
    if head is None:
        LogHead.objects.get_or_create(pk=1)
        head = LogHead.objects.select_for_update().get(pk=1)
    return head


@transaction.atomic
def log_append(*, events: Sequence[Mapping[str, Any]]) -> list[LogEntry]:
    """Append events in order, in one transaction; return their entries with indices."""
    if not events:
        return []
    head = _locked_head()
    frontier, size = _split(bytes(head.frontier)), head.size
    entries: list[LogEntry] = []
    nodes: list[LogNode] = []
    now = timezone.now()
    subjects: list[LogSubject] = []
    for item in events:
        problem = event_problem(item)
        if problem is not None:
            raise LogError(f"refusing to log a malformed event: {problem}")
        subjects.extend(LogSubject(subject=s, index=size) for s in event_subjects(item))
        data = canonical_json(item)
        digest = leaf_hash(data)
        entries.append(
            LogEntry(
                index=size, data=data, leaf_hash=digest, event_type=item["type"], created_at=now
            )
        )
        frontier, completed = frontier_append(frontier, size, digest)
        nodes.extend(
            LogNode(level=s.level, position=s.index, hash=s.hash) for s in completed if s.level > 0
        )
        size += 1
    _bulk_insert(entries, nodes)
    if subjects:
        LogSubject.objects.bulk_create(subjects)
    head.size = size
    head.frontier = b"".join(frontier)
    head.root_hash = frontier_root(frontier)
    head.updated_at = now
    head.save(update_fields=["size", "frontier", "root_hash", "updated_at"])
    return entries


def log_append_one(*, item: Mapping[str, Any]) -> LogEntry:
    return log_append(events=[item])[0]


def _bulk_insert(entries: list[LogEntry], nodes: list[LogNode]) -> None:
    if connection.vendor == "postgresql":
        # COPY is several times faster than INSERT for the thousands of rows of a batch.
        with connection.cursor() as cursor:
            raw = cursor.cursor
            with raw.copy(
                "COPY transparency_logentry (index, data, leaf_hash, event_type, created_at) "
                "FROM STDIN"
            ) as copy:
                for e in entries:
                    copy.write_row((e.index, e.data, e.leaf_hash, e.event_type, e.created_at))
            if nodes:
                with raw.copy(
                    "COPY transparency_lognode (level, position, hash) FROM STDIN"
                ) as copy:
                    for n in nodes:
                        copy.write_row((n.level, n.position, n.hash))
        return
    LogEntry.objects.bulk_create(entries, batch_size=500)
    LogNode.objects.bulk_create(nodes, batch_size=500)


@transaction.atomic
def checkpoint_sign() -> Checkpoint:
    """Sign a checkpoint of the current tree, unless the latest one already covers it.

    Before signing, prove the new tree consistent with the latest checkpoint from the
    stored hashes: the log refuses to sign a history that contradicts one it signed.
    """
    head = _locked_head()
    latest = Checkpoint.objects.order_by("-tree_size").first()
    if latest is not None and latest.tree_size == head.size:
        return latest
    root = bytes(head.root_hash) if head.size else EMPTY_ROOT
    if latest is not None:
        if latest.tree_size > head.size:
            raise LogError(
                f"the log shrank from {latest.tree_size} to {head.size}; refusing to sign"
            )
        if latest.tree_size > 0:
            proof = consistency_proof(latest.tree_size, head.size, head=head)
            try:
                verify_consistency(
                    latest.tree_size, head.size, proof, bytes(latest.root_hash), root
                )
            except Exception as exc:
                raise LogError(
                    f"the tree at {head.size} is not consistent with the checkpoint at "
                    f"{latest.tree_size}; refusing to sign: {exc}"
                ) from exc
    body = format_checkpoint(keys.log_origin(), head.size, root)
    note = sign_note(body, keys.log_origin(), keys.signing_key())
    return Checkpoint.objects.create(tree_size=head.size, root_hash=root, note=note)


__all__ = ["LogError", "checkpoint_sign", "event", "load_head", "log_append", "log_append_one"]
