"""Generated works, the double-entry ledger, payees and idempotency records.

Ledger rules: a journal entry has one currency and postings that sum to zero (checked
by services everywhere and, on PostgreSQL, by a deferred constraint trigger); entries and
postings are append-only (the database refuses UPDATE and DELETE on PostgreSQL); a
correction is a reversing entry; every entry has a unique idempotency key.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from licensing.models import License, UnionAgreement
from registry.models import Brand, Performer, VoiceModel


class Payee(models.Model):
    """Someone royalties are paid to: a performer, an agent, an estate, a union fund."""

    class Kind(models.TextChoices):
        PERFORMER = "performer", "Performer"
        AGENT = "agent", "Agent"
        ESTATE = "estate", "Estate"
        UNION = "union", "Union pension & health"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    name = models.CharField(max_length=200)
    performer = models.ForeignKey(
        Performer, null=True, blank=True, on_delete=models.PROTECT, related_name="payees"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="payees",
    )
    # A union fund's payee: the fund an agreement's pension and health contributions are
    # paid to (made on first use, named after the agreement's fund).
    union_agreement = models.OneToOneField(
        UnionAgreement,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="fund_payee",
    )
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"


def masked_account(reference: str) -> str:
    """An account number as pages show it: its last four characters only."""
    tail = reference[-4:]
    return f"•••• {tail}" if len(reference) > 4 else "••••"


class CooganTrust(models.Model):
    """The blocked trust account (a Coogan account) a minor performer's set-aside is paid
    into, as the guardian names it. The reference is shown masked on pages."""

    payee = models.OneToOneField(Payee, on_delete=models.PROTECT, related_name="coogan_trust")
    institution = models.CharField(max_length=200, help_text="The bank or trust company.")
    reference = models.CharField(max_length=100, help_text="The account's number or reference.")
    named_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    named_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.institution} {self.masked_reference}"

    @property
    def masked_reference(self) -> str:
        return masked_account(self.reference)


class TrustDeposit(models.Model):
    """A minor's set-aside for one closed month and currency, paid (always by hand: a
    Coogan account is a bank account) into the trust account the guardian named. Made
    by the month's payout run; an operator records the bank transfer, which books it
    out of the blocked trust account. Never two for a payee, month and currency, unless
    one failed (the bank sent it back): the money is then held again."""

    class Status(models.TextChoices):
        PENDING = "pending", "To pay into the trust"
        PAID = "paid", "Paid into the trust"
        FAILED = "failed", "Failed (held again)"

    payee = models.ForeignKey(Payee, on_delete=models.PROTECT, related_name="trust_deposits")
    month = models.DateField(help_text="The closed month whose set-aside this pays in.")
    currency = models.CharField(max_length=3)
    amount = models.BigIntegerField(help_text="Minor units.")
    # The trust account as it was named when the deposit was made: a guardian who names
    # another one later changes where the next deposit goes, not where this one went.
    institution = models.CharField(max_length=200)
    account_reference = models.CharField(max_length=100)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    reference = models.CharField(max_length=200, blank=True, help_text="The bank transfer's.")
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-month", "payee_id", "currency"]
        constraints = [
            models.UniqueConstraint(
                fields=["payee", "month", "currency"],
                condition=~Q(status="failed"),
                name="one_trust_deposit_per_payee_month",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="trust_deposit_positive"),
        ]

    def __str__(self) -> str:
        return f"trust deposit #{self.pk} {self.payee} {self.month:%Y-%m} {self.amount}"

    @property
    def masked_account(self) -> str:
        return masked_account(self.account_reference)


class VoiceSplit(models.Model):
    """Who shares a voice's royalties, in basis points summing to 10000 per voice."""

    voice = models.ForeignKey(VoiceModel, on_delete=models.CASCADE, related_name="splits")
    payee = models.ForeignKey(Payee, on_delete=models.PROTECT, related_name="splits")
    bps = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["voice", "payee"], name="split_once_per_payee"),
            models.CheckConstraint(condition=Q(bps__gt=0, bps__lte=10000), name="split_bps_range"),
        ]

    def __str__(self) -> str:
        return f"{self.voice}: {self.payee} {self.bps / 100}%"


class EstateShare(models.Model):
    """Who inherits a late performer's royalties, as the operator recorded with the death:
    one estate, or heirs whose basis points sum to 10000. Every voice of the performer is
    split this way from the death on, and voices the estate registers later too, until
    whoever acts for the estate sets a voice's split otherwise."""

    performer = models.ForeignKey(Performer, on_delete=models.PROTECT, related_name="estate")
    payee = models.ForeignKey(Payee, on_delete=models.PROTECT, related_name="+")
    bps = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["performer", "payee"], name="estate_share_once"),
            models.CheckConstraint(
                condition=Q(bps__gt=0, bps__lte=10000), name="estate_share_bps_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.performer}: {self.payee} {self.bps / 100}%"


class Account(models.Model):
    class Kind(models.TextChoices):
        BRAND_RECEIVABLE = "brand_receivable", "Brand receivable"
        ADVANCE = "advance", "Advance held (minimum guarantee)"
        PAYEE_PAYABLE = "payee_payable", "Payee payable"
        PLATFORM_REVENUE = "platform_revenue", "Platform revenue"
        CASH = "cash", "Cash / clearing"
        PROCESSING_FEES = "processing_fees", "Payment processing fees"
        # A minor performer's earnings set aside (Coogan): blocked, never paid out by a
        # payout run; paid to the trust account the guardian names.
        MINOR_TRUST = "minor_trust", "Set aside in trust (Coogan, blocked)"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    currency = models.CharField(max_length=3)
    # "platform", "brand:<id>", "payee:<id>" or "license:<id>": one unique key that works
    # on every database (NULL-aware unique constraints do not exist on SQLite).
    owner = models.CharField(max_length=60)
    brand = models.ForeignKey(Brand, null=True, blank=True, on_delete=models.PROTECT)
    payee = models.ForeignKey(Payee, null=True, blank=True, on_delete=models.PROTECT)
    license = models.ForeignKey(License, null=True, blank=True, on_delete=models.PROTECT)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "currency", "owner"], name="account_unique")
        ]

    def __str__(self) -> str:
        owner = self.brand or self.payee or self.license or "platform"
        return f"{self.kind}:{owner}:{self.currency}"


class JournalEntry(models.Model):
    """A balanced, append-only entry: what moved (its kind), about what (its source: a
    license, a work, a payment, a payout), and once only (its idempotency key, made of
    the two by :func:`royalties.ledger.entry_key`)."""

    class Kind(models.TextChoices):
        WORKS = "works", "Works recorded"
        WORK_VOID = "work_void", "Work voided"
        ADVANCE = "advance", "Minimum guarantee prepaid"
        ADVANCE_REAPPLIED = "advance_reapplied", "Advance applied to later works after a void"
        ADVANCE_TO_BRAND = "advance_to_brand", "Used advance given back to the brand charged for it"
        TRUE_UP = "true_up", "Minimum guarantee true-up"
        FEE = "fee", "Upfront fee"
        FEE_UNAPPLIED = "fee_unapplied", "Payment not applied: the brand's credit"
        FEE_REFUND = "fee_refund", "Fee refunded"
        FEE_CHARGEBACK = "fee_chargeback", "Fee disputed"
        FEE_RESTORED = "fee_restored", "Fee dispute won"
        INVOICE_PAYMENT = "invoice_payment", "Usage invoice paid"
        INVOICE_REFUND = "invoice_refund", "Usage invoice refunded"
        INVOICE_CHARGEBACK = "invoice_chargeback", "Usage invoice disputed"
        INVOICE_RESTORED = "invoice_restored", "Usage invoice dispute won"
        PROCESSING_FEE = "processing_fee", "Payment processing fee"
        PAYOUT = "payout", "Payout"
        PAYOUT_REVERSAL = "payout_reversal", "Payout reversed"
        ESTATE_TRANSFER = "estate_transfer", "Royalties moved to the estate from the date of death"
        TRUST_DEPOSIT = "trust_deposit", "Set-aside paid into the minor's trust account"

    # Payouts and their reversals: what a statement shows as paid out, not earned.
    PAYOUT_KINDS: ClassVar[tuple[str, ...]] = (Kind.PAYOUT, Kind.PAYOUT_REVERSAL)
    # Payments of usage invoices (and their reversals): they settle invoices, not usage.
    INVOICE_SETTLEMENT_KINDS: ClassVar[tuple[str, ...]] = (
        Kind.INVOICE_PAYMENT,
        Kind.INVOICE_REFUND,
        Kind.INVOICE_CHARGEBACK,
        Kind.INVOICE_RESTORED,
    )

    kind = models.CharField(max_length=20, choices=Kind.choices)
    source = models.CharField(max_length=180, help_text="What the entry is about, by our ids.")
    idempotency_key = models.CharField(max_length=200, unique=True)
    currency = models.CharField(max_length=3)
    memo = models.CharField(max_length=300)
    reverses = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversals"
    )
    # For entries that split money among payees (works, fees, true-ups): the platform's
    # fee and the payees' shares it was split by, so a reversal splits exactly the same.
    split = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name_plural = "journal entries"
        indexes = [models.Index(fields=["kind", "source"])]

    def __str__(self) -> str:
        return f"{self.idempotency_key}: {self.memo}"


class Posting(models.Model):
    """One line of an entry: positive debits, negative credits, in minor units."""

    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="postings")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="postings")
    amount = models.BigIntegerField()
    # Dimensions for statements: which license and period the money belongs to.
    license = models.ForeignKey(License, null=True, blank=True, on_delete=models.PROTECT)
    # Statement dimensions, carried on the payee's legs and signed like the amount, so
    # that a reversal takes its works back out: what the entry recorded for the license
    # (works, time, gross royalty, part covered by the advance, platform fee). A
    # statement then reads the payee's own postings only, as cheaply as a plain SUM.
    works = models.IntegerField(default=0)
    milliseconds = models.BigIntegerField(default=0)
    gross = models.BigIntegerField(default=0)
    recouped = models.BigIntegerField(default=0)
    fee = models.BigIntegerField(default=0)
    # On a payee's leg: what of its part went to its blocked trust account instead (a
    # minor's set-aside). On the brand's leg: the union's pension and health charged on
    # top of the price, which its invoice shows apart.
    set_aside = models.BigIntegerField(default=0)
    pension_health = models.BigIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["account", "entry"])]

    def __str__(self) -> str:
        return f"{self.account} {self.amount:+d}"


class LicenseUsage(models.Model):
    """Counters that caps are checked against; its row is the lock for a license's works."""

    license = models.OneToOneField(
        License, on_delete=models.PROTECT, primary_key=True, related_name="usage"
    )
    works = models.PositiveIntegerField(default=0)
    milliseconds = models.PositiveBigIntegerField(default=0)
    advance_left = models.BigIntegerField(default=0)
    advance_released = models.BooleanField(default=False)
    # Advance the works had used when a refund or chargeback took the guarantee back: the
    # brand was charged for it, and a void gives it back to the brand first.
    advance_charged = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"usage of {self.license_id}"


class Work(models.Model):
    """A work a brand generated with a licensed voice, priced and receipted."""

    work_id = models.CharField(max_length=40, unique=True)
    license = models.ForeignKey(License, on_delete=models.PROTECT, related_name="works")
    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="works")
    client_ref = models.CharField(max_length=200)
    content_sha256 = models.CharField(max_length=64, db_index=True)
    duration_ms = models.PositiveBigIntegerField()
    characters = models.PositiveIntegerField(null=True, blank=True)
    language = models.CharField(max_length=35)
    territory = models.CharField(max_length=5)
    use = models.CharField(max_length=20)
    medium = models.CharField(max_length=20)
    title = models.CharField(max_length=300, blank=True)
    declared_revenue = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3)
    price = models.BigIntegerField()
    from_advance = models.BigIntegerField(default=0)
    recorded_at = models.DateTimeField(db_index=True)
    log_index = models.BigIntegerField(unique=True)
    receipt = models.TextField()
    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="works")
    voided_at = models.DateTimeField(null=True, blank=True)
    void_entry = models.ForeignKey(
        JournalEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="voided_works"
    )
    void_log_index = models.BigIntegerField(null=True, blank=True, unique=True)
    measured = models.BooleanField(
        default=False,
        help_text="The registry measured the audio's duration itself (else the brand declared it).",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["brand", "client_ref"], name="work_client_ref_once")
        ]
        indexes = [models.Index(fields=["license", "recorded_at"])]

    def __str__(self) -> str:
        return self.work_id


class WorkStamp(models.Model):
    """A copy of a work's audio stamped with content credentials: its own SHA-256, so a
    lookup by the stamped file's hash finds the work as the recorded audio's hash does."""

    work = models.ForeignKey(Work, on_delete=models.PROTECT, related_name="stamps")
    stamped_sha256 = models.CharField(max_length=64, unique=True)
    format = models.CharField(max_length=20)
    stamped_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.work_id}: {self.stamped_sha256[:12]}"


class WorkAttempt(models.Model):
    """A work refused under a license: performers see what was tried outside the terms."""

    license = models.ForeignKey(
        License, null=True, blank=True, on_delete=models.PROTECT, related_name="attempts"
    )
    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="work_attempts")
    license_ref = models.CharField(max_length=40)
    client_ref = models.CharField(max_length=200, blank=True)
    reason = models.CharField(max_length=40)
    detail = models.CharField(max_length=300)
    payload = models.JSONField()
    at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.reason} for {self.license_ref}"


class Period(models.Model):
    """A calendar month (UTC). Once closed, its statements are frozen."""

    month = models.DateField(unique=True, help_text="The first day of the month.")
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-month"]

    def __str__(self) -> str:
        return self.month.strftime("%Y-%m")


class Statement(models.Model):
    """A payee's statement for a closed period, in one currency: written once, never changed."""

    payee = models.ForeignKey(Payee, on_delete=models.PROTECT, related_name="statements")
    period = models.ForeignKey(Period, on_delete=models.PROTECT, related_name="statements")
    currency = models.CharField(max_length=3)
    opening = models.BigIntegerField()
    earnings = models.BigIntegerField()
    payouts = models.BigIntegerField()
    closing = models.BigIntegerField()
    lines = models.JSONField(help_text="Per license: works, seconds, gross, recouped, fee, share.")
    created_at = models.DateTimeField(default=timezone.now)
    jws = models.TextField(
        blank=True, help_text="The signed statement (timbre-statement+jws); empty before signing."
    )
    log_index = models.BigIntegerField(null=True, blank=True, unique=True)

    class Meta:
        ordering = ["-period__month", "currency"]
        constraints = [
            models.UniqueConstraint(fields=["payee", "period", "currency"], name="statement_once"),
            models.CheckConstraint(
                condition=Q(
                    closing=models.F("opening") + models.F("earnings") - models.F("payouts")
                ),
                name="statement_adds_up",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.payee} {self.period} {self.currency}"
