"""Stripe webhooks: verified, stored raw (each event once), processed after commit.

Events may arrive twice (a second delivery is a no-op: the event id is unique) and out
of order: an event about something not recorded yet (a refund before the payment it
refunds) waits, and is tried again after each event processed and by a beat task.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from payments import gateway, services
from payments.models import StripeEvent

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 50


class BadEvent(ValueError):
    pass


def receive(payload: bytes, signature: str | None) -> tuple[StripeEvent, bool]:
    """Verify and store a delivery. Raises gateway.SignatureError or BadEvent."""
    try:
        event = gateway.construct_event(payload, signature)
        text = payload.decode("utf-8")
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadEvent(f"the body is not a Stripe event: {exc}") from exc
    if not isinstance(event.get("id"), str) or not isinstance(event.get("type"), str):
        raise BadEvent("the event has no id or type")
    stored, created = StripeEvent.objects.get_or_create(
        event_id=event["id"][:255],
        defaults={
            "type": event["type"][:100],
            "payload": text,
            "object_created": int(event.get("created") or 0),
        },
    )
    if created:
        from payments.tasks import event_process

        transaction.on_commit(lambda: event_process.delay(stored.pk))
    return stored, created


def process(pk: int) -> bool:
    """Apply one stored event; True once it is done (now or before)."""
    with transaction.atomic():
        event = StripeEvent.objects.select_for_update().get(pk=pk)
        if event.processed_at is not None:
            return True
        data: dict[str, Any] = json.loads(event.payload)
        handler = services.HANDLERS.get(event.type)
        try:
            with transaction.atomic():
                if handler is not None:
                    handler(data["data"]["object"], data)
        except services.NotYet as exc:
            event.attempts += 1
            event.error = str(exc)[:500]
            event.save(update_fields=["attempts", "error"])
            return False
        event.processed_at = timezone.now()
        event.error = ""
        event.save(update_fields=["processed_at", "error"])
    return True


def process_waiting() -> int:
    """Try again the events that waited for an earlier one, oldest first."""
    done = 0
    waiting = StripeEvent.objects.filter(
        processed_at__isnull=True, attempts__gt=0, attempts__lt=MAX_ATTEMPTS
    ).order_by("object_created", "pk")
    for pk in waiting.values_list("pk", flat=True)[:200]:
        done += process(pk)
    return done
