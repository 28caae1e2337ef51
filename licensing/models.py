"""Offers, license requests, licenses and the keys that sign them."""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from core.money import validate_currency
from registry.models import Brand, VoiceModel
from verifier.keys import KeyStatus, judge_key_status

EXCLUDED_CONTENT_CHOICES = [
    ("political", "Political"),
    ("adult", "Adult"),
    ("hate", "Hate"),
    ("religious", "Religious"),
    ("gambling", "Gambling"),
    ("alcohol_tobacco", "Alcohol / tobacco"),
    ("competitor_brands", "Named competitor brands"),
]
EXCLUDED_CONTENT_CODES = frozenset(code for code, _ in EXCLUDED_CONTENT_CHOICES)

MEDIA_CHOICES = [
    ("tv", "TV"),
    ("radio", "Radio"),
    ("online_video", "Online video"),
    ("streaming_audio", "Streaming audio"),
    ("podcast", "Podcast"),
    ("social", "Social media"),
    ("in_app", "In app / assistant"),
    ("in_game", "In game"),
    ("cinema", "Cinema"),
    ("out_of_home", "Out of home"),
    ("telephony", "Telephony / IVR"),
    ("e_learning", "E-learning platforms"),
]
MEDIA_CODES = frozenset(code for code, _ in MEDIA_CHOICES)

MAX_TERM_DAYS = 3653  # ten years
MAX_TERM_DAYS_MINOR = 1826  # five years


class UnionAgreement(models.Model):
    """A union agreement offers may follow (SAG-AFTRA's commercials contract, say),
    configured by operators: a minimum fee per work in each currency, and a pension and
    health contribution charged to the brand on top of each work's price and paid to the
    union's fund (a payee of kind union, which the royalties floor keeps)."""

    code = models.SlugField(max_length=40, unique=True, help_text="Stated in licenses.")
    name = models.CharField(max_length=200)
    pension_health_bps = models.PositiveIntegerField(
        help_text="Pension & health, in basis points of each work's price (1100 = 11%)."
    )
    fund_name = models.CharField(
        max_length=200, help_text="The union fund paid the contributions (its payee's name)."
    )
    active = models.BooleanField(default=True, help_text="New offers may follow it.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(pension_health_bps__lte=10000), name="union_ph_max_100pc"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def minimum_for(self, currency: str) -> int | None:
        """The minimum fee per work in ``currency`` (minor units), or None if it sets none."""
        found = self.minimums.filter(currency=currency).first()
        return None if found is None else found.per_work


class UnionMinimum(models.Model):
    """An agreement's minimum fee per work in one currency."""

    agreement = models.ForeignKey(UnionAgreement, on_delete=models.CASCADE, related_name="minimums")
    currency = models.CharField(max_length=3, validators=[validate_currency], help_text="ISO 4217.")
    per_work = models.BigIntegerField(help_text="Minor units (cents for USD).")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agreement", "currency"], name="union_minimum_once"),
            models.CheckConstraint(condition=Q(per_work__gte=0), name="union_minimum_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.agreement.code}: {self.per_work} {self.currency}"


class Offer(models.Model):
    """A performer's standing offer on a voice. Its terms live in immutable versions."""

    class Status(models.TextChoices):
        PUBLISHED = "published", "Published"
        WITHDRAWN = "withdrawn", "Withdrawn"

    voice = models.ForeignKey(VoiceModel, on_delete=models.PROTECT, related_name="offers")
    title = models.CharField(max_length=120)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PUBLISHED)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.title} ({self.voice})"

    @property
    def current(self) -> OfferVersion:
        # offer_publish creates an offer and its first version in one transaction.
        return self.versions.latest("number")


class OfferVersion(models.Model):
    """The terms of an offer at one moment. Never changed: a change is a new version,
    so terms already licensed stay exactly as they were."""

    offer = models.ForeignKey(Offer, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    uses = models.JSONField()
    excluded_content = models.JSONField(default=list)
    excluded_brands = models.JSONField(default=list, help_text="Named competitor brands.")
    territories = models.JSONField(help_text="ISO 3166-1 alpha-2 codes, or WORLD.")
    languages = models.JSONField(help_text="BCP 47 tags.")
    media = models.JSONField()
    max_term_days = models.PositiveIntegerField()
    max_works = models.PositiveIntegerField(null=True, blank=True)
    max_seconds = models.PositiveBigIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3)
    upfront_fee = models.BigIntegerField(help_text="Minor units.")
    per_work = models.BigIntegerField(default=0, help_text="Minor units per work.")
    # Rates finer than a minor unit: exact decimals, six places, in minor units per second.
    per_second = models.DecimalField(max_digits=18, decimal_places=6, default=0)
    revenue_share_bps = models.PositiveIntegerField(default=0)
    minimum_guarantee = models.BigIntegerField(default=0, help_text="Minor units.")
    requires_approval = models.BooleanField(default=True)
    exclusive = models.BooleanField(default=False)
    # Signed into each license's terms as ``measured_only`` and enforced on every work
    # (licensing.permission): only works recorded with their audio, which the registry
    # hashes and measures itself, never a duration the brand merely declares.
    measured_only = models.BooleanField(
        default=False,
        help_text="Works must be recorded with their audio, so the registry measures them.",
    )
    # Checked when a brand requests a license (licensing.services.request_submit): only
    # brands that proved control of their domain may ask. On for new offers; offers made
    # before it existed accepted every brand, and still do.
    verified_brands_only = models.BooleanField(
        default=True,
        help_text="Only brands that verified their legal name and domain may request.",
    )
    # The union agreement the terms follow: each work's price is at least its minimum,
    # and its pension and health contribution is charged on top (signed into licenses).
    union_agreement = models.ForeignKey(
        UnionAgreement, null=True, blank=True, on_delete=models.PROTECT, related_name="versions"
    )
    # The agreement's terms as they stood when the version was published: a later change
    # to the agreement in the admin applies to offers published after it, never to this
    # version's requests and licenses (the brand asked on these).
    union_code = models.CharField(max_length=40, blank=True)
    union_name = models.CharField(max_length=200, blank=True)
    union_pension_health_bps = models.PositiveIntegerField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["offer", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["offer", "number"], name="offer_version_unique"),
            models.CheckConstraint(
                condition=Q(
                    upfront_fee__gte=0, per_work__gte=0, per_second__gte=0, minimum_guarantee__gte=0
                ),
                name="offer_prices_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(revenue_share_bps__lte=10000), name="offer_share_max_100pc"
            ),
            models.CheckConstraint(
                condition=Q(max_term_days__lte=MAX_TERM_DAYS), name="offer_term_max_10y"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.offer} v{self.number}"

    @property
    def union_terms(self) -> dict[str, object] | None:
        """The union agreement's terms this version follows, as published (or None)."""
        if self.union_agreement_id is None or self.union_pension_health_bps is None:
            return None
        return {
            "code": self.union_code,
            "name": self.union_name,
            "pension_health_bps": self.union_pension_health_bps,
        }


class LicenseRequest(models.Model):
    class Status(models.TextChoices):
        SUBMITTED = "submitted", "Submitted"
        APPROVED = "approved", "Approved"
        DECLINED = "declined", "Declined"
        AWAITING_PAYMENT = "awaiting_payment", "Awaiting payment"
        ISSUED = "issued", "Issued"
        WITHDRAWN = "withdrawn", "Withdrawn"
        EXPIRED = "expired", "Expired"

    OPEN: ClassVar[tuple[str, ...]] = (Status.SUBMITTED, Status.APPROVED, Status.AWAITING_PAYMENT)

    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="license_requests")
    offer_version = models.ForeignKey(
        OfferVersion, on_delete=models.PROTECT, related_name="requests"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    campaign = models.CharField(max_length=200)
    product = models.CharField(max_length=200)
    script_summary = models.TextField()
    channels = models.CharField(max_length=300, blank=True)
    uses = models.JSONField()
    territories = models.JSONField()
    languages = models.JSONField()
    media = models.JSONField()
    valid_from = models.DateField()
    valid_until = models.DateField()
    exclusive = models.BooleanField(default=False)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.SUBMITTED)
    decision_note = models.CharField(max_length=500, blank=True)
    expires_at = models.DateTimeField(help_text="Lapses if nobody acts by then.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "expires_at"])]

    def __str__(self) -> str:
        return f"Request #{self.pk} by {self.brand} for {self.offer_version.offer.voice}"

    @property
    def voice(self) -> VoiceModel:
        return self.offer_version.offer.voice


class RequestTransition(models.Model):
    """Who moved a request from one state to the next, and when."""

    request = models.ForeignKey(
        LicenseRequest, on_delete=models.CASCADE, related_name="transitions"
    )
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.CharField(max_length=500, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.request_id}: {self.from_status or '-'} -> {self.to_status}"


class SigningKey(models.Model):
    """A license-signing key's public half and status. The private half lives in a file."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        RETIRED = "retired", "Retired"
        COMPROMISED = "compromised", "Compromised"

    kid = models.CharField(max_length=64, unique=True, help_text="RFC 7638 thumbprint")
    public_jwk = models.JSONField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE)
    added_log_index = models.BigIntegerField()
    status_log_index = models.BigIntegerField(help_text="Log index at which the status began.")
    compromised_from_index = models.BigIntegerField(
        null=True, blank=True, help_text="Licenses logged at or after this index are invalid."
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["status"], condition=Q(status="active"), name="one_active_signing_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kid[:12]}… ({self.status})"

    def key_status(self) -> KeyStatus:
        return KeyStatus(self.kid, self.status, self.status_log_index, self.compromised_from_index)


class License(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        EXPIRED = "expired", "Expired"
        REVOKED = "revoked", "Revoked"
        SUSPENDED = "suspended", "Suspended"
        NOT_YET_VALID = "not_yet_valid", "Not yet valid"
        KEY_COMPROMISED = "key_compromised", "Signing key compromised"
        KEY_RETIRED = "key_retired_before_logging", "Signing key retired before logging"

    license_id = models.CharField(max_length=40, unique=True)
    request = models.OneToOneField(LicenseRequest, on_delete=models.PROTECT, related_name="license")
    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="licenses")
    voice = models.ForeignKey(VoiceModel, on_delete=models.PROTECT, related_name="licenses")
    offer_version = models.ForeignKey(
        OfferVersion, on_delete=models.PROTECT, related_name="licenses"
    )
    document = models.JSONField()
    jws = models.TextField()
    jws_sha256 = models.CharField(max_length=64, unique=True)
    signing_key = models.ForeignKey(SigningKey, on_delete=models.PROTECT, related_name="licenses")
    log_index = models.BigIntegerField(unique=True)
    valid_from = models.DateField()
    valid_until = models.DateField()
    uses = models.JSONField()
    territories = models.JSONField()
    exclusive = models.BooleanField(default=False)
    payment_ref = models.CharField(max_length=200)
    issued_at = models.DateTimeField()
    revoked = models.BooleanField(default=False)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    revocation_reason = models.CharField(max_length=40, blank=True)
    revocation_note = models.CharField(max_length=500, blank=True)
    revocation_log_index = models.BigIntegerField(null=True, blank=True)
    # True while any LicenseHold on it is open (a disputed fee, an overdue invoice): kept by
    # services beside the holds, so that status checks read one column.
    on_hold = models.BooleanField(default=False)

    class Meta:
        ordering = ["-issued_at"]

    def __str__(self) -> str:
        return self.license_id

    def status_at(self, today: date | None = None) -> str:
        """This license's status on ``today`` (default: today): see :func:`license_status`."""
        return license_status(
            revoked=self.revoked,
            on_hold=self.on_hold,
            voice_status=self.voice.status,
            valid_from=self.valid_from,
            valid_until=self.valid_until,
            key=self.signing_key.key_status(),
            log_index=self.log_index,
            today=today or timezone.now().date(),
        )


def license_status(
    *,
    revoked: bool,
    on_hold: bool,
    voice_status: str,
    valid_from: date,
    valid_until: date,
    key: KeyStatus,
    log_index: int,
    today: date,
) -> str:
    """The one answer to "what is this license's status now?", from its facts.

    In order: a key that no longer vouches for it (compromised from before it was
    logged), revoked, suspended (on hold for money, or the voice not live), not yet
    valid (its term starts later), expired, active. Every page, API, verdict and check
    of a work asks this.
    """
    refused = judge_key_status(key, log_index).reason
    if refused is not None:
        return refused
    if revoked:
        return License.Status.REVOKED
    if on_hold or voice_status != VoiceModel.Status.ACTIVE:
        return License.Status.SUSPENDED
    if today < valid_from:
        return License.Status.NOT_YET_VALID
    if today > valid_until:
        return License.Status.EXPIRED
    return License.Status.ACTIVE


class LicenseHold(models.Model):
    """A suspension of a license for money reasons: the fee's payment was refunded or
    disputed, or the brand's usage invoice is overdue. Released when the cause is cured."""

    class Reason(models.TextChoices):
        REFUNDED = "refunded", "Fee refunded"
        DISPUTED = "disputed", "Fee payment disputed"
        INVOICE_OVERDUE = "invoice_overdue", "Usage invoice overdue"

    license = models.ForeignKey(License, on_delete=models.PROTECT, related_name="holds")
    reason = models.CharField(max_length=20, choices=Reason.choices)
    ref = models.CharField(max_length=200, help_text="What caused it: a dispute, an invoice.")
    started_at = models.DateTimeField(default=timezone.now)
    released_at = models.DateTimeField(null=True, blank=True)
    log_index = models.BigIntegerField(null=True, blank=True)
    released_log_index = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["license", "reason", "ref"],
                condition=Q(released_at__isnull=True),
                name="one_open_hold_per_cause",
            )
        ]

    def __str__(self) -> str:
        return f"{self.license_id} held: {self.reason} ({self.ref})"
