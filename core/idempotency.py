"""``Idempotency-Key`` for requests that record or move something: a retry returns the
first answer and changes nothing."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from core.models import IdempotencyRecord

MAX_KEY_LENGTH = 200


def request_digest(*parts: bytes) -> str:
    """What a key is bound to: the SHA-256 of the request's parts (path, body), so that a
    key reused on another endpoint or with another body is refused, not replayed."""
    return hashlib.sha256(b"\n".join(parts)).hexdigest()


class IdempotencyConflict(ValidationError):
    """The key was used before for a different request."""


def with_idempotency(
    *, owner: str, key: str, body_sha256: str, run: Callable[[], tuple[int, Any]]
) -> tuple[int, Any]:
    """Run ``run()`` once per (owner, key); a retry returns the first answer and writes
    nothing. The caller holds the transaction.

    The key's row is inserted first, in the same transaction as the work: a concurrent
    retry waits on the unique index, then finds the committed answer.
    """
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ValidationError(
            {
                "Idempotency-Key": [
                    f"Send an Idempotency-Key header (at most {MAX_KEY_LENGTH} characters)."
                ]
            }
        )
    existing = IdempotencyRecord.objects.filter(owner=owner, key=key).first()
    if existing is None:
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    owner=owner, key=key, request_sha256=body_sha256, status_code=0, response=""
                )
                status_code, response = run()
                record.status_code, record.response = status_code, json.dumps(response)
                record.save(update_fields=["status_code", "response"])
                return status_code, response
        except IntegrityError:
            existing = IdempotencyRecord.objects.get(owner=owner, key=key)
    if existing.request_sha256 != body_sha256:
        raise IdempotencyConflict(
            {"Idempotency-Key": ["This key was used for a different request; use a new key."]}
        )
    return existing.status_code, json.loads(existing.response)
