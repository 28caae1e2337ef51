"""Stripe webhooks: verified, stored raw (each event once), processed after commit.

Events may arrive twice (a second delivery is a no-op: the event id is unique) and out
of order: an event about something not recorded yet (a refund before the payment it
refunds) waits, and is tried again after each event processed and by a beat task. An
event whose processing fails for any other reason (Stripe unreachable, a bug) is kept
with its error and retried later, with a growing delay; nothing is dropped silently.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from payments import connect, fees, gateway, invoices, payouts, reversals
from payments.books import NotYet
from payments.models import StripeEvent

logger = logging.getLogger(__name__)

# Stripe retries a delivery for three days; an event still waiting after a week is
# left for an operator (it shows in the admin with its error).
GIVE_UP_AFTER = timedelta(days=7)


class BadEvent(ValueError):
    pass


# The events a Stripe webhook endpoint sends here, and what each does.
HANDLERS: dict[str, Callable[[dict[str, Any], dict[str, Any]], None]] = {
    "checkout.session.completed": fees.checkout_completed,
    "checkout.session.async_payment_succeeded": fees.checkout_completed,
    "checkout.session.expired": fees.checkout_expired,
    "checkout.session.async_payment_failed": fees.checkout_expired,
    "charge.refunded": reversals.charge_refunded,
    "charge.dispute.created": reversals.dispute_created,
    "charge.dispute.closed": reversals.dispute_closed,
    "invoice.paid": invoices.invoice_paid,
    "transfer.reversed": payouts.transfer_reversed,
    "account.updated": connect.account_updated,
}


def _checked(event: Any) -> dict[str, Any]:
    """An event of the shape every handler relies on, or BadEvent."""
    if not isinstance(event, dict):
        raise BadEvent("the body is not a Stripe event object")
    if not isinstance(event.get("id"), str) or not isinstance(event.get("type"), str):
        raise BadEvent("the event has no id or type")
    created = event.get("created")
    if not isinstance(created, int) or isinstance(created, bool):
        raise BadEvent("the event's `created` is not a Unix time")
    data = event.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("object"), dict):
        raise BadEvent("the event has no data.object")
    if not isinstance(data["object"].get("id"), str):
        raise BadEvent("the event's object has no id")
    return event


def receive(payload: bytes, signature: str | None) -> tuple[StripeEvent, bool]:
    """Verify and store a delivery. Raises gateway.SignatureError or BadEvent."""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadEvent("the body is not UTF-8 text") from exc
    gateway.verify_signature(payload, signature)  # over the exact bytes received
    try:
        event = _checked(json.loads(text))
    except ValueError as exc:
        if isinstance(exc, BadEvent):
            raise
        raise BadEvent(f"the body is not JSON: {exc}") from exc
    stored, created = StripeEvent.objects.get_or_create(
        event_id=event["id"][:255],
        defaults={
            "type": event["type"][:100],
            "payload": text,
            "object_created": event["created"],
        },
    )
    if created:
        from payments.tasks import event_process

        transaction.on_commit(lambda: event_process.delay(stored.pk))
    return stored, created


def _retry_delay(attempts: int) -> timedelta:
    return min(timedelta(minutes=2) * 2 ** min(attempts, 10), timedelta(hours=6))


def process(pk: int) -> bool:
    """Apply one stored event; True once it is done (now or before). Never raises for
    what the event does: a failure is recorded on the event and retried later."""
    with transaction.atomic():
        event = StripeEvent.objects.select_for_update().get(pk=pk)
        if event.processed_at is not None:
            return True
        data: dict[str, Any] = json.loads(event.payload)
        handler = HANDLERS.get(event.type)
        now = timezone.now()
        try:
            with transaction.atomic():
                if handler is not None:
                    handler(data["data"]["object"], data)
        except NotYet as exc:
            # Waits for the event it depends on: tried again after each event processed.
            event.attempts += 1
            event.error = str(exc)[:500]
            event.next_attempt_at = now
            event.save(update_fields=["attempts", "error", "next_attempt_at"])
            return False
        except Exception as exc:
            logger.exception("Stripe event %s (%s) failed", event.event_id, event.type)
            event.attempts += 1
            event.error = f"{type(exc).__name__}: {exc}"[:500]
            event.next_attempt_at = now + _retry_delay(event.attempts)
            event.save(update_fields=["attempts", "error", "next_attempt_at"])
            return False
        event.processed_at = now
        event.error = ""
        event.save(update_fields=["processed_at", "error"])
    return True


def process_waiting() -> int:
    """Try again the events that are due: those waiting for an earlier event, and failed
    ones whose delay has passed, oldest first."""
    now = timezone.now()
    due = StripeEvent.objects.filter(
        processed_at__isnull=True,
        next_attempt_at__lte=now,
        received_at__gte=now - GIVE_UP_AFTER,
    ).order_by("object_created", "pk")
    return sum(process(pk) for pk in due.values_list("pk", flat=True)[:200])
