"""People, brands, API keys, voice models and consent.

State changes that touch one row live here as methods; use cases that write several
rows live in services.py.
"""

from __future__ import annotations

import hashlib
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django_countries.fields import CountryField

# The fixed taxonomy of uses a voice may be licensed for. Offers (licensing) draw on it.
USE_CHOICES = [
    ("advertising", "Advertising"),
    ("audiobook", "Audiobook"),
    ("dubbing", "Dubbing / translation"),
    ("podcast", "Podcast"),
    ("video_game", "Video game"),
    ("assistant_ivr", "Assistant / IVR"),
    ("film_tv", "Film / TV"),
    ("social_media", "Social media"),
    ("e_learning", "E-learning"),
]
USE_CODES = frozenset(code for code, _ in USE_CHOICES)


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("An email address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractUser):
    """A person who signs in with an email address."""

    username = None  # type: ignore[assignment]  # no username: Django's documented way to drop AbstractUser's field
    email = models.EmailField("email address", unique=True)
    display_name = models.CharField(max_length=120, blank=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    objects: ClassVar[UserManager] = UserManager()  # type: ignore[assignment]  # the stubs expect auth's username-based UserManager; ours creates users by email

    def __str__(self) -> str:
        return self.display_name or self.email


class Performer(models.Model):
    """A person whose voice is modelled. A deceased performer's voice is run by an estate;
    a minor's by a guardian; either way through an Authority."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="performer",
        help_text="Empty when the performer has no account (late performers, young minors).",
    )
    slug = models.SlugField(max_length=80, unique=True)
    legal_name = models.CharField(max_length=200)
    stage_name = models.CharField(max_length=200)
    bio = models.TextField(blank=True)
    is_living = models.BooleanField(default=True)
    is_minor = models.BooleanField(
        default=False, help_text="Licenses on a minor's voices are capped at 5 years."
    )
    identity_verified_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When an operator verified the performer's identity (registry.identity).",
    )
    # Set at sign-up when the names match a performer already verified: the operator's
    # queue shows it, so nobody passes for someone the registry already knows.
    namesake_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["stage_name"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(is_living=False, is_minor=True), name="performer_minor_is_living"
            )
        ]

    def __str__(self) -> str:
        return self.stage_name

    def identity_standing(self) -> str | None:
        """What stands behind this performer, if anything: their identity, verified by an
        operator, or, for a late performer or a minor (who do not act themselves), the
        operator-verified authority of the estate's executor or the guardian.

        The one rule a voice's activation and every "identity verified" badge read."""
        if self.identity_verified_at is not None:
            return IdentityStanding.IDENTITY
        if self.is_living and not self.is_minor:
            return None
        kind = Authority.Kind.ESTATE_EXECUTOR if not self.is_living else Authority.Kind.GUARDIAN
        if self.authorities.filter(kind=kind, status=Authority.Status.ACTIVE).exists():
            return IdentityStanding.AUTHORITY
        return None


class IdentityStanding(models.TextChoices):
    IDENTITY = "identity", "Identity verified"
    AUTHORITY = "authority", "Authority verified"


def name_key(name: str) -> str:
    """A name as compared for namesakes: case and spacing do not tell people apart."""
    return " ".join(name.split()).casefold()


class Representative(models.Model):
    """Someone who acts for performers: an agent, an estate's executor, a guardian."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="representative"
    )
    organisation = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.user} ({self.organisation})" if self.organisation else str(self.user)


class Authority(models.Model):
    """A representative's recorded authority to act for one performer, with its evidence.

    It lets the representative act only once an operator has verified the evidence."""

    class Kind(models.TextChoices):
        AGENT = "agent", "Agent"
        ESTATE_EXECUTOR = "estate_executor", "Estate executor"
        GUARDIAN = "guardian", "Guardian of a minor"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending verification"
        ACTIVE = "active", "Active"
        REVOKED = "revoked", "Revoked"

    representative = models.ForeignKey(
        Representative, on_delete=models.PROTECT, related_name="authorities"
    )
    performer = models.ForeignKey(Performer, on_delete=models.PROTECT, related_name="authorities")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    evidence = models.FileField(upload_to="evidence/%Y/%m/")
    evidence_sha256 = models.CharField(max_length=64)
    evidence_description = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    verified_at = models.DateTimeField(null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "authorities"
        constraints = [
            models.UniqueConstraint(
                fields=["representative", "performer", "kind"],
                condition=~Q(status="revoked"),
                name="authority_one_live_per_kind",
            )
        ]

    def __str__(self) -> str:
        return f"{self.representative} as {self.get_kind_display()} for {self.performer}"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class Brand(models.Model):
    """An organisation that licenses voices; its members act for it."""

    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=200)
    country = CountryField()
    billing_email = models.EmailField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class BrandMembership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        MEMBER = "member", "Member"

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="brand_memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["brand", "user"], name="membership_unique")]

    def __str__(self) -> str:
        return f"{self.user} in {self.brand} ({self.role})"


class Auditor(models.Model):
    """Read-only access to everything public, plus bulk exports."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="auditor"
    )
    organisation = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Auditor {self.user}"


class AuditGrant(models.Model):
    """A performer's side lets an auditor (a union, an accountant) read what is theirs:
    the usage of licenses on the performer's voices, those licenses' signed terms, and
    the statements of the performer's payees. Revoked, it ends at once."""

    performer = models.ForeignKey(Performer, on_delete=models.PROTECT, related_name="audit_grants")
    auditor = models.ForeignKey(Auditor, on_delete=models.PROTECT, related_name="grants")
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    granted_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-granted_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["performer", "auditor"],
                condition=models.Q(revoked_at__isnull=True),
                name="one_open_audit_grant",
            )
        ]

    def __str__(self) -> str:
        return f"{self.auditor} audits {self.performer}"


def hash_api_key(raw_key: str) -> str:
    """Keys carry 256 random bits, so a fast hash is enough: nothing to brute-force."""
    return hashlib.sha256(raw_key.encode("utf-8")).hexdigest()


class ApiKey(models.Model):
    """A bearer key for a brand or an auditor. Only its hash is stored."""

    class OwnerKind(models.TextChoices):
        BRAND = "brand", "Brand"
        AUDITOR = "auditor", "Auditor"

    name = models.CharField(max_length=100)
    owner_kind = models.CharField(max_length=10, choices=OwnerKind.choices)
    brand = models.ForeignKey(
        Brand, null=True, blank=True, on_delete=models.CASCADE, related_name="api_keys"
    )
    auditor = models.ForeignKey(
        Auditor, null=True, blank=True, on_delete=models.CASCADE, related_name="api_keys"
    )
    prefix = models.CharField(max_length=16, help_text="The first characters, to recognise it.")
    key_hash = models.CharField(max_length=64, unique=True)
    # The creating form's one-time token: a re-submitted form (a reload) makes no second key.
    creation_nonce = models.CharField(max_length=43, null=True, blank=True, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = "API key"
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(owner_kind="brand", brand__isnull=False, auditor__isnull=True)
                    | Q(owner_kind="auditor", auditor__isnull=False, brand__isnull=True)
                ),
                name="apikey_one_owner",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def owner(self) -> Brand | Auditor:
        owner = self.brand if self.owner_kind == self.OwnerKind.BRAND else self.auditor
        assert owner is not None
        return owner


class VoiceModel(models.Model):
    """A synthetic voice made from a performer's voice."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"
        RETIRED = "retired", "Retired"

    # Which changes the lifecycle allows; consent is checked separately on activation.
    TRANSITIONS: ClassVar[dict[str, set[str]]] = {
        Status.DRAFT: {Status.ACTIVE, Status.RETIRED},
        Status.ACTIVE: {Status.SUSPENDED, Status.RETIRED},
        Status.SUSPENDED: {Status.ACTIVE, Status.RETIRED},
        Status.RETIRED: set(),
    }

    performer = models.ForeignKey(Performer, on_delete=models.PROTECT, related_name="voices")
    slug = models.SlugField(max_length=100, unique=True)
    display_name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    languages = models.JSONField(default=list, help_text="BCP 47 tags, canonical case.")
    styles = models.JSONField(default=list, blank=True)
    uses = models.JSONField(default=list, blank=True, help_text="Uses the performer is open to.")
    provider = models.CharField(max_length=100)
    provider_ref = models.CharField(max_length=200, blank=True)
    model_sha256 = models.CharField(max_length=64, unique=True)
    sample_audio = models.FileField(upload_to="samples/%Y/%m/", blank=True)
    sample_content_type = models.CharField(max_length=50, blank=True)
    sample_sha256 = models.CharField(max_length=64, blank=True)
    sample_duration_ms = models.PositiveIntegerField(null=True, blank=True)
    sample_inspected_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    registered_log_index = models.BigIntegerField(
        null=True, blank=True, help_text="The voice.registered entry in the transparency log."
    )
    # Space-delimited tokens ("lang:en", "style:warm", "use:podcast") so that the catalog
    # filters with one portable LIKE on SQLite and PostgreSQL alike.
    search_tokens = models.TextField(blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "-created_at"])]

    def __str__(self) -> str:
        return self.display_name

    @property
    def is_minor_voice(self) -> bool:
        return self.performer.is_minor

    @property
    def max_license_years(self) -> int:
        return 5 if self.performer.is_minor else 10

    def refresh_search_tokens(self) -> None:
        tokens: list[str] = []
        for tag in self.languages:
            tokens.append(f"lang:{tag.lower()}")
            primary = tag.split("-")[0].lower()
            if f"lang:{primary}" not in tokens:
                tokens.append(f"lang:{primary}")
        tokens += [f"style:{s.lower()}" for s in self.styles]
        tokens += [f"use:{u}" for u in self.uses]
        self.search_tokens = " " + " ".join(tokens) + " "

    def current_consent(self) -> ConsentRecord | None:
        return self.consents.filter(withdrawn_at__isnull=True).order_by("-given_at").first()


class VoiceStatusChange(models.Model):
    """Who moved a voice through its lifecycle, and when."""

    voice = models.ForeignKey(VoiceModel, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=10, blank=True)
    to_status = models.CharField(max_length=10)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    changed_at = models.DateTimeField(default=timezone.now)
    reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["changed_at", "id"]

    def __str__(self) -> str:
        return f"{self.voice}: {self.from_status or '-'} -> {self.to_status}"


class ConsentRecord(models.Model):
    """Proof that the voice's owner consented to it being registered and licensed."""

    class GivenAs(models.TextChoices):
        PERFORMER = "performer", "The performer"
        ESTATE_EXECUTOR = "estate_executor", "Estate executor"
        GUARDIAN = "guardian", "Guardian of a minor"

    voice = models.ForeignKey(VoiceModel, on_delete=models.PROTECT, related_name="consents")
    statement_version = models.CharField(max_length=40)
    statement_text = models.TextField()
    statement_sha256 = models.CharField(max_length=64)
    given_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    given_as = models.CharField(max_length=20, choices=GivenAs.choices)
    authority = models.ForeignKey(
        Authority, null=True, blank=True, on_delete=models.PROTECT, related_name="consents"
    )
    given_at = models.DateTimeField(default=timezone.now)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)
    consent_audio = models.FileField(upload_to="consent/%Y/%m/", blank=True)
    consent_audio_sha256 = models.CharField(max_length=64, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    withdrawal_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-given_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(given_as="performer", authority__isnull=True)
                | (~Q(given_as="performer") & Q(authority__isnull=False)),
                name="consent_representative_has_authority",
            )
        ]

    def __str__(self) -> str:
        return f"Consent {self.statement_version} for {self.voice}"


class PrivateStorage(FileSystemStorage):
    """Files with no URL of their own (identity documents, challenge recordings): they
    are served only by views that check who asks, never from MEDIA_URL."""

    def __init__(self) -> None:
        super().__init__(base_url=None)

    @property  # read at use, so tests can point it elsewhere
    def base_location(self) -> str:
        return str(settings.TIMBRE_PRIVATE_ROOT)

    @property
    def location(self) -> str:
        import os

        return os.path.abspath(self.base_location)

    def url(self, name: str | None) -> str:
        raise ValueError("Private files have no public URL.")


def private_storage() -> PrivateStorage:
    return PrivateStorage()


class IdentityChallenge(models.Model):
    """A random sentence the performer reads aloud. Generated here, used at most once."""

    performer = models.ForeignKey(
        Performer, on_delete=models.CASCADE, related_name="identity_challenges"
    )
    text = models.CharField(max_length=300)
    issued_at = models.DateTimeField(default=timezone.now)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-issued_at"]

    def __str__(self) -> str:
        return self.text


class IdentityVerification(models.Model):
    """A performer's evidence of who they are, and the operator's decision on it."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for an operator"
        VERIFIED = "verified", "Verified"
        REFUSED = "refused", "Refused"
        REPLACED = "replaced", "Replaced by a later submission"

    performer = models.ForeignKey(
        Performer, on_delete=models.PROTECT, related_name="identity_verifications"
    )
    challenge = models.OneToOneField(
        IdentityChallenge, on_delete=models.PROTECT, related_name="submission"
    )
    challenge_text = models.CharField(max_length=300)
    recording = models.FileField(
        storage=private_storage, upload_to="identity/recordings/%Y/%m/", blank=True
    )
    recording_content_type = models.CharField(max_length=50)
    recording_sha256 = models.CharField(max_length=64)
    document = models.FileField(
        storage=private_storage, upload_to="identity/documents/%Y/%m/", blank=True
    )
    document_content_type = models.CharField(max_length=50)
    document_sha256 = models.CharField(max_length=64)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(
        max_length=500, blank=True, help_text="Why it was refused; shown to the performer."
    )

    class Meta:
        ordering = ["submitted_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["performer"],
                condition=Q(status="pending"),
                name="identity_one_pending_per_performer",
            )
        ]

    def __str__(self) -> str:
        return f"Identity of {self.performer} ({self.status})"
