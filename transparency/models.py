"""The append-only log: entries, stored subtree hashes, the head, signed checkpoints.

Rows here are never updated or deleted by the application; `log_audit` recomputes every
hash from the stored data to catch anything changed behind its back.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class LogEntry(models.Model):
    """One leaf: the RFC 8785 JSON of one event, and its RFC 9162 leaf hash."""

    index = models.BigIntegerField(primary_key=True)
    data = models.BinaryField()
    leaf_hash = models.BinaryField(max_length=32)
    event_type = models.CharField(max_length=40, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "log entries"
        ordering = ["index"]

    def __str__(self) -> str:
        return f"#{self.index} {self.event_type}"


class LogSubject(models.Model):
    """Who an entry is about (``license:<id>``, ``voice:<id>``, ``work:<id>``...), as
    ``verifier.events.subjects`` says: how a verifier finds every event that changes the
    standing of a license or a work without reading the whole log. Written with the
    entry; like it, never changed."""

    pk = models.CompositePrimaryKey("subject", "index")
    subject = models.CharField(max_length=220)
    index = models.BigIntegerField()

    def __str__(self) -> str:
        return f"#{self.index} about {self.subject}"


class LogNode(models.Model):
    """The hash of a complete, aligned subtree of 2**level leaves (level >= 1).

    Stored as the log grows, so that any proof needs only O(log n) rows. Level 0 hashes
    are the entries' own leaf hashes.
    """

    pk = models.CompositePrimaryKey("level", "position")
    level = models.PositiveSmallIntegerField()
    position = models.BigIntegerField()
    hash = models.BinaryField(max_length=32)

    def __str__(self) -> str:
        return f"node {self.level}/{self.position}"


class LogHead(models.Model):
    """The single row that says how big the tree is. Appends lock it (see services)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    size = models.BigIntegerField(default=0)
    # The compact range: hashes of the complete subtrees covering [0, size), left to
    # right, concatenated. With it an append needs no read of older nodes.
    frontier = models.BinaryField(default=b"")
    root_hash = models.BinaryField(max_length=32, default=b"")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="loghead_singleton")]

    def __str__(self) -> str:
        return f"log head at size {self.size}"


class Checkpoint(models.Model):
    """A signed C2SP checkpoint, kept so that auditors can fetch any earlier one."""

    tree_size = models.BigIntegerField(unique=True)
    root_hash = models.BinaryField(max_length=32)
    note = models.TextField(help_text="The signed note, exactly as served.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-tree_size"]
        get_latest_by = "tree_size"

    def __str__(self) -> str:
        return f"checkpoint at size {self.tree_size}"
