"""Payouts: what payees are owed for a closed month, sent as Stripe Connect transfers or
recorded by hand; transfers that come back are owed again."""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.months import month_start
from payments import gateway
from payments.books import (
    NotYet,
    backend,
    booking_time,
    manual_source,
    movement,
    operator_reference,
    payee_paid,
)
from payments.models import Backend, ConnectedAccount, Payout, PayoutRun
from payments.trust import trust_deposits_make
from registry.models import User
from royalties.ledger import Kind
from royalties.selectors import payees_owed
from royalties.statements import closed_period_locked

logger = logging.getLogger(__name__)


def owed(month: date) -> dict[tuple[int, str], int]:
    """Per payee and currency: what a payout for that month should send. Earned up to the
    month's end, less every payout made or under way (whenever it was made)."""
    balances = payees_owed(month)
    under_way = Payout.objects.filter(status__in=[Payout.Status.PENDING, Payout.Status.SENDING])
    for payee_id, currency, amount in under_way.values_list("payee_id", "currency", "amount"):
        if (payee_id, currency) in balances:
            balances[(payee_id, currency)] -= amount
    return balances


def payout_run(*, month: date) -> PayoutRun:
    """Pay every payee whose balance for a closed month reaches the threshold: one payout
    per payee, month and currency. Run again after a crash, it finishes what is under way
    and pays nobody twice."""
    month = month_start(month)
    via = backend()
    with transaction.atomic():
        # The closed period's row, locked: one payout run of a month at a time.
        if closed_period_locked(month) is None:
            raise ValidationError({"month": [f"{month:%Y-%m} is not closed yet."]})
        run = PayoutRun.objects.create(month=month, backend=via)
        accounts = {c.payee_id: c for c in ConnectedAccount.objects.filter(transfers_active=True)}
        for (payee_id, currency), amount in sorted(owed(month).items()):
            if amount < settings.TIMBRE_PAYOUT_THRESHOLD:
                continue
            destination = ""
            if via == Backend.STRIPE:
                if payee_id not in accounts:
                    run.waiting += 1
                    continue
                destination = accounts[payee_id].stripe_account_id
            try:
                with transaction.atomic():
                    Payout.objects.create(
                        run=run,
                        payee_id=payee_id,
                        month=month,
                        currency=currency,
                        amount=amount,
                        backend=via,
                        destination=destination,
                    )
            except IntegrityError:
                continue  # this month's payout exists already
        # The month's set-asides go into the minors' trust accounts, by hand whatever
        # the backend; a set-aside without a named trust waits like a payee without an
        # account.
        run.waiting += trust_deposits_make(month=month)
        run.save(update_fields=["waiting"])
    if via == Backend.STRIPE:
        for pk in Payout.objects.filter(
            month=month,
            backend=Backend.STRIPE,
            status__in=[Payout.Status.PENDING, Payout.Status.SENDING],
        ).values_list("pk", flat=True):
            payout_send(payout_id=pk)
    counts = Payout.objects.filter(month=month)
    run.paid = counts.filter(status=Payout.Status.PAID).count()
    run.failed = counts.filter(status=Payout.Status.FAILED).count()
    run.finished_at = timezone.now()
    run.save(update_fields=["paid", "failed", "finished_at"])
    return run


def _book_payout(payout: Payout, *, source: str, at: datetime) -> None:
    entry = payee_paid(
        kind=Kind.PAYOUT,
        source=str(payout.pk),
        payee=payout.payee,
        currency=payout.currency,
        amount=payout.amount,
        memo=f"payout {payout.month:%Y-%m} to {payout.payee.name}",
        at=at,
    )
    movement(entry, source, at, payout.backend)


def payout_send(*, payout_id: int) -> Payout | None:
    """Send one Stripe payout. 'sending' is committed before the call: if the worker dies
    mid-call, the next run first looks for the transfer it may have made."""
    with transaction.atomic():
        payout = (
            Payout.objects.select_for_update(skip_locked=True)
            .filter(pk=payout_id, status__in=[Payout.Status.PENDING, Payout.Status.SENDING])
            .first()
        )
        if payout is None:
            return None  # done already, or another worker is on it
        interrupted = payout.status == Payout.Status.SENDING
        payout.status = Payout.Status.SENDING
        payout.save(update_fields=["status"])
    with transaction.atomic():
        payout = (
            Payout.objects.select_for_update(skip_locked=True)
            .select_related("payee")
            .filter(pk=payout_id, status=Payout.Status.SENDING)
            .first()
        )
        if payout is None:
            return None
        try:
            transfer = gateway.transfer_find(payout) if interrupted else None
            if transfer is None:
                transfer = gateway.transfer_create(payout)
        except gateway.StripeError as exc:
            if gateway.outcome_unknown(exc):
                # Stripe may or may not have made it: stays 'sending', looked up next run.
                logger.warning("payout %s: outcome unknown (%s)", payout.pk, exc)
                return payout
            payout.status = Payout.Status.FAILED
            payout.error = (getattr(exc, "user_message", None) or str(exc))[:500]
            payout.save(update_fields=["status", "error"])
            logger.warning("payout %s failed: %s", payout.pk, payout.error)
            return payout
        now = timezone.now()
        payout.status = Payout.Status.PAID
        payout.transfer_id = transfer["id"]
        payout.paid_at = now
        payout.save(update_fields=["status", "transfer_id", "paid_at"])
        _book_payout(payout, source=transfer["id"], at=now)
    return payout


@transaction.atomic
def payout_record_manually(*, operator: User, payout: Payout, reference: str) -> Payout:
    """An operator paid a payee by bank transfer: record it with the bank's reference."""
    reference = operator_reference(operator, reference, "records payouts", "the bank transfer's")
    payout = Payout.objects.select_for_update().select_related("payee").get(pk=payout.pk)
    if payout.status != Payout.Status.PENDING or payout.backend != Backend.MANUAL:
        raise ValidationError({"status": [f"This payout is {payout.status}."]})
    now = timezone.now()
    payout.status = Payout.Status.PAID
    payout.reference = reference[:200]
    payout.paid_at = now
    payout.save(update_fields=["status", "reference", "paid_at"])
    _book_payout(payout, source=manual_source(reference), at=now)
    return payout


def transfer_reversed(transfer: dict[str, Any], event: dict[str, Any]) -> None:
    """Money came back from a payee's account: each reversal is booked once, their balance
    owes it again, and the next run pays it."""
    payout = (
        Payout.objects.select_for_update()
        .select_related("payee")
        .filter(transfer_id=transfer["id"])
        .first()
    )
    if payout is None:
        raise NotYet(f"no payout with transfer {transfer['id']} yet")
    current = gateway.transfer_get(transfer["id"])
    for reversal in (current.get("reversals") or {}).get("data") or []:
        amount = int(reversal["amount"])
        at = booking_time(reversal.get("created") or event.get("created"))
        entry = payee_paid(
            kind=Kind.PAYOUT_REVERSAL,
            source=f"{payout.pk}:reversal:{reversal['id']}",
            payee=payout.payee,
            currency=payout.currency,
            amount=-amount,
            memo=f"payout {payout.pk} reversed ({reversal['id']})",
            at=at,
        )
        movement(entry, reversal["id"], at, payout.backend)
    if int(current.get("amount_reversed") or 0) >= payout.amount:
        payout.status = Payout.Status.REVERSED
        payout.save(update_fields=["status"])
