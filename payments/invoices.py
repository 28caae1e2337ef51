"""Usage invoices: one per brand and currency for a closed month, sent through Stripe or
settled by hand; unpaid past their grace period, they suspend the brand's licenses."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from core.months import month_start
from licensing import services as licensing
from licensing.models import LicenseHold
from payments import gateway
from payments.books import (
    backend,
    balance_fee,
    booking_time,
    brand_paid,
    charge_of,
    manual_source,
    movement,
    operator_reference,
    processing_fee,
)
from payments.models import Backend, Invoice, InvoiceLine
from registry.models import Brand, User
from royalties.ledger import Kind
from royalties.selectors import brands_owe, month_closed, works_in_month

logger = logging.getLogger(__name__)


def invoices_issue(*, month: date) -> list[Invoice]:
    """One invoice per brand and currency for a closed month: what the brand owes up to
    its end, less what earlier invoices already asked for. Lines are the month's usage per
    license, and what was carried forward (arrears, or a credit). Safe to run twice: an
    invoice exists once, and Stripe calls carry its id; a Stripe failure for one brand
    does not stop the others (it is retried on the next run)."""
    month = month_start(month)
    if not month_closed(month):
        raise ValidationError({"month": [f"{month:%Y-%m} is not closed yet."]})
    via = backend()
    for (brand_id, currency), owes in brands_owe(month).items():
        with transaction.atomic():
            brand = Brand.objects.select_for_update().get(pk=brand_id)
            if Invoice.objects.filter(brand=brand, month=month, currency=currency).exists():
                continue
            asked = (
                Invoice.objects.filter(brand=brand, currency=currency)
                .exclude(status=Invoice.Status.VOID)
                .aggregate(t=Sum("amount"))["t"]
                or 0
            )
            amount = owes.total - asked
            if amount <= 0:
                continue  # nothing new owed (or a credit, carried forward)
            now = timezone.now()
            invoice = Invoice.objects.create(
                brand=brand,
                month=month,
                currency=currency,
                amount=amount,
                backend=via,
                number=f"TMB-{month:%Y%m}-{brand_id:05d}-{currency}",
                issued_at=now,
                due_at=now + timedelta(days=settings.TIMBRE_INVOICE_DAYS_DUE),
            )
            for license_pk, line_amount in owes.lines:
                InvoiceLine.objects.create(
                    invoice=invoice,
                    license_id=license_pk,
                    works=works_in_month(license_pk, month),
                    amount=line_amount,
                    pension_health=owes.pension_health.get(license_pk, 0),
                )
            carried = amount - sum(line for _, line in owes.lines)
            if carried:
                InvoiceLine.objects.create(
                    invoice=invoice,
                    license=None,
                    works=0,
                    amount=carried,
                    description="Carried forward from earlier months"
                    if carried > 0
                    else "Credit from earlier months",
                )
    invoices = list(Invoice.objects.filter(month=month).select_related("brand"))
    for invoice in invoices:
        if invoice.backend == Backend.STRIPE and not invoice.stripe_invoice_id:
            try:
                _send_stripe_invoice(invoice)
            except gateway.StripeError:
                logger.exception("invoice %s could not be sent to Stripe", invoice.number)
    return invoices


def _send_stripe_invoice(invoice: Invoice) -> None:
    if not invoice.stripe_customer_id:
        known = (
            Invoice.objects.filter(brand=invoice.brand)
            .exclude(stripe_customer_id="")
            .values_list("stripe_customer_id", flat=True)
            .first()
        )
        invoice.stripe_customer_id = known or gateway.customer_create(
            brand_id=invoice.brand_id, name=invoice.brand.name, email=invoice.brand.billing_email
        )
        invoice.save(update_fields=["stripe_customer_id"])
    lines = list(invoice.lines.select_related("license"))
    sent = gateway.invoice_create(invoice, lines, days_until_due=settings.TIMBRE_INVOICE_DAYS_DUE)
    Invoice.objects.filter(pk=invoice.pk).update(
        stripe_invoice_id=sent["id"], hosted_url=sent.get("hosted_invoice_url") or ""
    )


def _invoice_settled(invoice: Invoice, *, source: str, at: datetime, reference: str) -> None:
    entry = brand_paid(
        kind=Kind.INVOICE_PAYMENT,
        source=str(invoice.pk),
        brand=invoice.brand,
        currency=invoice.currency,
        amount=invoice.amount,
        memo=f"{invoice.number} paid by {invoice.brand.name}",
        at=at,
    )
    movement(entry, source, at, invoice.backend)
    invoice.status = Invoice.Status.PAID
    invoice.paid_at = at
    invoice.reference = reference[:200]
    invoice.charge_id = charge_of(source)
    invoice.save(update_fields=["status", "paid_at", "reference", "charge_id"])
    licensing.holds_release(reason=LicenseHold.Reason.INVOICE_OVERDUE, ref=invoice.number)


@transaction.atomic
def invoice_settle_manually(*, operator: User, invoice: Invoice, reference: str) -> Invoice:
    reference = operator_reference(operator, reference, "settles invoices", "the payment's")
    invoice = Invoice.objects.select_for_update().select_related("brand").get(pk=invoice.pk)
    if invoice.status != Invoice.Status.OPEN:
        raise ValidationError({"status": [f"This invoice is {invoice.status}."]})
    _invoice_settled(
        invoice, source=manual_source(reference), at=timezone.now(), reference=reference
    )
    return invoice


def invoice_paid(obj: dict[str, Any], event: dict[str, Any]) -> None:
    invoice = Invoice.objects.select_for_update().filter(stripe_invoice_id=obj["id"]).first()
    if invoice is None:
        ours = str((obj.get("metadata") or {}).get("invoice_id", ""))
        invoice = (
            Invoice.objects.select_for_update().filter(pk=int(ours)).first()
            if ours.isdigit()
            else None
        )
        if invoice is None:
            logger.warning("invoice %s is not one of ours", obj.get("id"))
            return
    if invoice.status == Invoice.Status.PAID:
        return
    charge = gateway.charge_of_invoice(obj["id"])
    source = charge["id"] if charge else obj["id"]
    at = booking_time((charge or {}).get("created") or event.get("created"))
    _invoice_settled(invoice, source=source, at=at, reference=obj.get("number") or obj["id"])
    if charge:
        processing_fee(
            source=charge["id"], currency=invoice.currency, amount=balance_fee(charge), at=at
        )


def invoices_enforce(*, now: datetime | None = None) -> int:
    """Suspend the licenses of brands with an invoice unpaid past its grace period."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.TIMBRE_INVOICE_GRACE_DAYS)
    held = 0
    for invoice in Invoice.objects.filter(status=Invoice.Status.OPEN, due_at__lt=cutoff):
        held += licensing.brand_licenses_hold(
            brand_id=invoice.brand_id, reason=LicenseHold.Reason.INVOICE_OVERDUE, ref=invoice.number
        )
    return held
