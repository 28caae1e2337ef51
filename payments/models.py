"""Money moving in and out: fee payments, usage invoices, payouts, Stripe's events.

Every row here that says money moved points at the ledger entry that records it; the
ledger (royalties) stays the books, these rows say how the money travelled.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from licensing.models import License, LicenseRequest
from registry.models import Brand
from royalties.models import JournalEntry, Payee


class Backend(models.TextChoices):
    MANUAL = "manual", "Manual"
    STRIPE = "stripe", "Stripe"


class FeePayment(models.Model):
    """One attempt to collect what a license request owes before issue: the upfront fee
    and the prepaid minimum guarantee. A Stripe attempt is a Checkout Session; a manual
    one is an invoice an operator settles."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        PAID = "paid", "Paid"
        EXPIRED = "expired", "Expired"
        REFUNDED = "refunded", "Refunded"
        DISPUTED = "disputed", "Disputed"
        UNAPPLIED = "unapplied", "Paid, not applied (to refund)"

    request = models.ForeignKey(
        LicenseRequest, on_delete=models.PROTECT, related_name="fee_payments"
    )
    backend = models.CharField(max_length=10, choices=Backend.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    currency = models.CharField(max_length=3)
    upfront_fee = models.BigIntegerField()
    minimum_guarantee = models.BigIntegerField()
    amount = models.BigIntegerField(help_text="Minor units: the fee plus the guarantee.")
    checkout_session_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    checkout_url = models.URLField(max_length=2000, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    payment_intent_id = models.CharField(max_length=255, blank=True)
    charge_id = models.CharField(max_length=255, blank=True, db_index=True)
    receipt_url = models.URLField(max_length=2000, blank=True)
    reference = models.CharField(max_length=200, blank=True, help_text="Manual: the invoice.")
    license = models.ForeignKey(
        License, null=True, blank=True, on_delete=models.PROTECT, related_name="fee_payments"
    )
    refunded = models.BigIntegerField(default=0, help_text="Refunded so far.")
    disputed = models.BigIntegerField(default=0, help_text="Held back by disputes not won.")
    dispute_advance_charged = models.BigIntegerField(
        default=0, help_text="Used advance the open dispute charged to the brand."
    )
    created_at = models.DateTimeField(default=timezone.now)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["request"], condition=Q(status="paid"), name="one_paid_fee_per_request"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="fee_payment_positive"),
        ]

    def __str__(self) -> str:
        return f"fee #{self.pk} for request {self.request_id} ({self.status})"


class Invoice(models.Model):
    """Usage royalties a brand owes for one closed month, in one currency."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        PAID = "paid", "Paid"
        VOID = "void", "Void"

    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="invoices")
    month = models.DateField(help_text="The first day of the month invoiced.")
    currency = models.CharField(max_length=3)
    amount = models.BigIntegerField()
    backend = models.CharField(max_length=10, choices=Backend.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    number = models.CharField(max_length=40, unique=True)
    stripe_customer_id = models.CharField(max_length=255, blank=True)
    stripe_invoice_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    hosted_url = models.URLField(max_length=2000, blank=True)
    issued_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField()
    paid_at = models.DateTimeField(null=True, blank=True)
    reference = models.CharField(max_length=200, blank=True)
    charge_id = models.CharField(max_length=255, blank=True, db_index=True)

    class Meta:
        ordering = ["-month", "brand_id", "currency"]
        constraints = [
            models.UniqueConstraint(
                fields=["brand", "month", "currency"], name="one_invoice_per_brand_month"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="invoice_positive"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def overdue(self) -> bool:
        return self.status == self.Status.OPEN and timezone.now() > self.due_at


class InvoiceLine(models.Model):
    """A license's usage in the month, or (with no license) what was carried forward."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="lines")
    license = models.ForeignKey(
        License, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    description = models.CharField(max_length=200, blank=True)
    works = models.IntegerField()
    amount = models.BigIntegerField()
    # Of the amount, the union's pension and health charged on top of the works' prices
    # (licenses that follow a union agreement); the rest is the works' prices.
    pension_health = models.BigIntegerField(default=0)
    stripe_item_id = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "license"], name="invoice_line_once")
        ]

    def __str__(self) -> str:
        return f"{self.invoice}: {self.license or self.description} {self.amount}"

    @property
    def label(self) -> str:
        if self.license is None:
            return self.description
        label = f"{self.works} works under {self.license.license_id}"
        if self.pension_health:
            label += (
                f": price {self.price} + union pension & health {self.pension_health} "
                f"({self.invoice.currency} minor units)"
            )
        return label

    @property
    def price(self) -> int:
        """The works' prices: the line's amount less the pension and health on top."""
        return self.amount - self.pension_health


class ConnectedAccount(models.Model):
    """A payee's Stripe Connect account (v1 Express, with the transfers capability)."""

    payee = models.OneToOneField(Payee, on_delete=models.PROTECT, related_name="connected")
    stripe_account_id = models.CharField(max_length=255, unique=True)
    transfers_active = models.BooleanField(default=False)
    details_submitted = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    state_at = models.DateTimeField(
        null=True, blank=True, help_text="When Stripe's snapshot we hold was taken."
    )

    def __str__(self) -> str:
        return f"{self.payee}: {self.stripe_account_id}"


class PayoutRun(models.Model):
    month = models.DateField(help_text="The closed month whose balances are paid.")
    backend = models.CharField(max_length=10, choices=Backend.choices)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    paid = models.IntegerField(default=0)
    failed = models.IntegerField(default=0)
    waiting = models.IntegerField(
        default=0,
        help_text="Payees without a payout account, set-asides without a named trust.",
    )

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"payout run {self.month:%Y-%m} #{self.pk}"


class Payout(models.Model):
    """One transfer to one payee for one month and currency: never two."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        PAID = "paid", "Paid"
        FAILED = "failed", "Failed"
        REVERSED = "reversed", "Reversed"

    run = models.ForeignKey(PayoutRun, on_delete=models.PROTECT, related_name="payouts")
    payee = models.ForeignKey(Payee, on_delete=models.PROTECT, related_name="payouts")
    month = models.DateField()
    currency = models.CharField(max_length=3)
    amount = models.BigIntegerField()
    backend = models.CharField(max_length=10, choices=Backend.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    destination = models.CharField(max_length=255, blank=True)
    transfer_id = models.CharField(max_length=255, blank=True, db_index=True)
    reference = models.CharField(max_length=200, blank=True)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-month", "payee_id"]
        constraints = [
            # A failed or reversed payout does not count: the money is owed again.
            models.UniqueConstraint(
                fields=["payee", "month", "currency"],
                condition=~Q(status__in=["failed", "reversed"]),
                name="one_payout_per_payee_month",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payout_positive"),
        ]

    def __str__(self) -> str:
        return f"payout #{self.pk} {self.payee} {self.month:%Y-%m} {self.amount} {self.currency}"

    @property
    def idempotency_key(self) -> str:
        return f"payout:{self.pk}"

    @property
    def transfer_group(self) -> str:
        return f"period-{self.month:%Y-%m}"


class CashMovement(models.Model):
    """A ledger entry that moved cash, and the outside object that moved it (a Stripe
    charge, refund, dispute, transfer; a bank reference for manual settlement).
    Reconciliation matches these against the payment provider's balance."""

    entry = models.OneToOneField(JournalEntry, on_delete=models.PROTECT, related_name="movement")
    backend = models.CharField(max_length=10, choices=Backend.choices)
    source = models.CharField(
        max_length=255, db_index=True, help_text="The Stripe object (ch_, re_, dp_, tr_, trr_)."
    )
    at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.entry.kind} {self.source}"


class StripeEvent(models.Model):
    """A webhook delivery, stored raw before anything is done with it."""

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    payload = models.TextField(help_text="The body exactly as received.")
    object_created = models.BigIntegerField(help_text="The event's `created`, for ordering.")
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.IntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, db_index=True, help_text="When to try a failed event again."
    )

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.event_id} {self.type}"


class Reconciliation(models.Model):
    month = models.DateField()
    backend = models.CharField(max_length=10, choices=Backend.choices)
    ran_at = models.DateTimeField(default=timezone.now)
    matched = models.IntegerField()
    mismatches = models.JSONField()
    totals = models.JSONField()

    class Meta:
        ordering = ["-ran_at"]

    def __str__(self) -> str:
        return f"reconciliation {self.month:%Y-%m} at {self.ran_at:%Y-%m-%d %H:%M}"

    @property
    def ok(self) -> bool:
        return not self.mismatches
