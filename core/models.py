"""The ground floor's one table: first answers to idempotent requests."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class IdempotencyRecord(models.Model):
    """The first response to an (owner, Idempotency-Key): a retry gets it back unchanged.

    ``owner`` names who sent the key (``brand:<id>``), so two clients' keys never meet;
    the ground floor knows no app's tables, so it is a name rather than a foreign key.
    """

    owner = models.CharField(max_length=60)
    key = models.CharField(max_length=200)
    request_sha256 = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    # Text, not JSON: a retry must get the same bytes, and jsonb would reorder the keys.
    response = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner", "key"], name="core_idempotency_once")
        ]

    def __str__(self) -> str:
        return f"{self.owner}:{self.key}"
