"""People, brands, API keys, voice models and consent.

State changes that touch one row live here as methods; use cases that write several
rows live in services.py.
"""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from datetime import date, datetime
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django_countries.fields import CountryField

from core.months import add_years, birthday
from registry.domains import display_domain, txt_record_name, txt_record_value

# The age of majority: a guardian's consent ends on the performer's 18th birthday.
ADULT_AGE = 18

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
    date_of_birth = models.DateField(
        null=True,
        blank=True,
        help_text="Required for a minor: a guardian's consent ends on the 18th birthday.",
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
            ),
        ]

    def __str__(self) -> str:
        return self.stage_name

    def comes_of_age(self) -> datetime | None:
        """When a minor turns 18 (None when not recorded as a minor)."""
        if not self.is_minor or self.date_of_birth is None:
            return None
        return birthday(self.date_of_birth, ADULT_AGE)

    def is_minor_on(self, now: datetime | None = None) -> bool:
        """A minor until the 18th birthday to the second, whether or not the periodic
        task has recorded it yet: the one rule every check of minority reads."""
        if not self.is_minor:
            return False
        adult_at = self.comes_of_age()
        return adult_at is None or (now or timezone.now()) < adult_at

    def identity_standing(self) -> str | None:
        """What stands behind this performer, if anything: their identity, verified by an
        operator, or, for a late performer or a minor (who do not act themselves), the
        operator-verified authority of the estate's executor or the guardian.

        The one rule a voice's activation and every "identity verified" badge read."""
        if self.identity_verified_at is not None:
            return IdentityStanding.IDENTITY
        if self.is_living and not self.is_minor_on():
            return None
        kind = Authority.Kind.ESTATE_EXECUTOR if not self.is_living else Authority.Kind.GUARDIAN
        if self.authorities.filter(kind=kind, status=Authority.Status.ACTIVE).exists():
            return IdentityStanding.AUTHORITY
        return None


class IdentityStanding(models.TextChoices):
    IDENTITY = "identity", "Identity verified"
    AUTHORITY = "authority", "Authority verified"


# Letters of other scripts that look like Latin ones (Cyrillic and Greek), as people
# would read them in a name: "June" spelt with a Cyrillic e is June's namesake.
_LOOKALIKES = str.maketrans(
    {
        "\u0430": "a",  # cyrillic small letter a
        "\u03b1": "a",  # greek small letter alpha
        "\u0432": "b",  # cyrillic small letter ve
        "\u03b2": "b",  # greek small letter beta
        "\u0441": "c",  # cyrillic small letter es
        "\u03f2": "c",  # greek lunate sigma symbol
        "\u0501": "d",  # cyrillic small letter komi de
        "\u0435": "e",  # cyrillic small letter ie
        "\u03b5": "e",  # greek small letter epsilon
        "\u0451": "e",  # cyrillic small letter io
        "\u04bb": "h",  # cyrillic small letter shha
        "\u0456": "i",  # cyrillic small letter byelorussian-ukrainian i
        "\u03b9": "i",  # greek small letter iota
        "\u0457": "i",  # cyrillic small letter yi
        "\u0458": "j",  # cyrillic small letter je
        "\u043a": "k",  # cyrillic small letter ka
        "\u03ba": "k",  # greek small letter kappa
        "\u043c": "m",  # cyrillic small letter em
        "\u043d": "n",  # cyrillic small letter en
        "\u03b7": "n",  # greek small letter eta
        "\u043e": "o",  # cyrillic small letter o
        "\u03bf": "o",  # greek small letter omicron
        "\u03c3": "o",  # greek small letter sigma
        "\u0440": "p",  # cyrillic small letter er
        "\u03c1": "p",  # greek small letter rho
        "\u051b": "q",  # cyrillic small letter qa
        "\u0455": "s",  # cyrillic small letter dze
        "\u0442": "t",  # cyrillic small letter te
        "\u03c4": "t",  # greek small letter tau
        "\u0443": "y",  # cyrillic small letter u
        "\u03c5": "y",  # greek small letter upsilon
        "\u0445": "x",  # cyrillic small letter ha
        "\u03c7": "x",  # greek small letter chi
        "\u051d": "w",  # cyrillic small letter we
        "\u03bd": "v",  # greek small letter nu
    }
)


def name_key(name: str) -> str:
    """How the registry compares people's and companies' names (a sign-up's against a
    verified performer's, a brand's legal name against the verified ones): case, width,
    spacing, punctuation, word order and look-alike letters of other scripts do not tell
    names apart ("Calloway, June." and "June Calloway" with a Cyrillic e are June
    Calloway)."""
    text = unicodedata.normalize("NFKC", name).casefold().translate(_LOOKALIKES)
    words = "".join(
        ch if not unicodedata.category(ch).startswith(("P", "S")) else " " for ch in text
    ).split()
    # Initials spelt out with dots are one word: "L.L.C." is "LLC".
    joined: list[str] = []
    initials = ""
    for word in [*words, ""]:
        if len(word) == 1:
            initials += word
            continue
        if initials:
            joined.append(initials)
            initials = ""
        if word:
            joined.append(word)
    return " ".join(sorted(joined))


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

    def verification(self) -> BrandVerification | None:
        """The brand's verified legal name and domain, if it has proved them."""
        return self.verifications.filter(status=BrandVerification.Status.VERIFIED).first()


def legal_name_key(name: str) -> str:
    """A legal name's key as stored (the column is 200 characters): see name_key."""
    return name_key(name)[:200]


class BrandVerification(models.Model):
    """A brand's claim to a legal name and a domain, and its proof.

    The owner asks (pending, with a random token), publishes the token in DNS, and the
    registry checks it (verified). A brand has at most one pending and one verified
    claim; a newly verified one supersedes the last. Among verified claims a legal name
    (whatever its case) and a domain belong to one brand only.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending: publish the TXT record, then check"
        VERIFIED = "verified", "Verified"
        SUPERSEDED = "superseded", "Superseded"

    class Method(models.TextChoices):
        DNS = "dns", "DNS TXT record"
        EMAIL = "email", "E-mail to an address at the domain"
        OPERATOR = "operator", "Confirmed by an operator"

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="verifications")
    legal_name = models.CharField(max_length=200)
    # The legal name compared: NFKC, case-folded, single spaces (see legal_name_key), so
    # that "ACME  Ltd" and "Acme Ltd" are one name on every database.
    legal_name_key = models.CharField(max_length=200, editable=False)
    domain = models.CharField(max_length=253, help_text="ASCII (IDNA A-label) form.")
    token = models.CharField(max_length=64)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    method = models.CharField(max_length=10, choices=Method.choices, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # The e-mail round-trip: a link with a secret (kept as its hash) sent to an address
    # at the domain (admin@, webmaster@...); following it within a day verifies the claim.
    email_sent_to = models.EmailField(blank=True)
    email_secret_sha256 = models.CharField(max_length=64, blank=True)
    email_sent_at = models.DateTimeField(null=True, blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_outcome = models.CharField(max_length=20, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    log_index = models.BigIntegerField(
        null=True, blank=True, help_text="The brand.verified entry in the transparency log."
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["brand"], condition=Q(status="pending"), name="brand_one_pending_claim"
            ),
            models.UniqueConstraint(
                fields=["brand"], condition=Q(status="verified"), name="brand_one_verified_claim"
            ),
            models.UniqueConstraint(
                fields=["legal_name_key"],
                condition=Q(status="verified"),
                name="verified_legal_name_unique",
            ),
            models.UniqueConstraint(
                fields=["domain"], condition=Q(status="verified"), name="verified_domain_unique"
            ),
            models.CheckConstraint(
                condition=~Q(status="verified") | ~Q(method=""), name="verified_claim_has_method"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.brand}: {self.legal_name} ({self.domain}, {self.status})"

    @property
    def is_verified(self) -> bool:
        return self.status == self.Status.VERIFIED

    @property
    def domain_display(self) -> str:
        return display_domain(self.domain)

    @property
    def txt_name(self) -> str:
        return txt_record_name(self.domain)

    @property
    def txt_value(self) -> str:
        return txt_record_value(self.token)


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


class Delegation(models.Model):
    """A living adult performer's grant of some of their powers to one representative,
    for a time. Without one, approving requests, publishing offers and changing splits
    is the performer's own act. Logged when granted and when revoked."""

    class Power(models.TextChoices):
        APPROVE_REQUESTS = "approve_requests", "Approve or decline license requests"
        PUBLISH_OFFERS = "publish_offers", "Publish, revise and withdraw offers"
        CHANGE_SPLITS = "change_splits", "Change royalty splits and who may audit them"
        MANAGE_VOICES = (
            "manage_voices",
            "Activate, suspend, retire and edit voices, and revoke licenses for breach",
        )

    performer = models.ForeignKey(Performer, on_delete=models.PROTECT, related_name="delegations")
    representative = models.ForeignKey(
        Representative, on_delete=models.PROTECT, related_name="delegations"
    )
    powers = models.JSONField(help_text="Which powers (Power values).")
    starts_at = models.DateTimeField(default=timezone.now)
    ends_on = models.DateField(help_text="The last day the delegation holds.")
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    log_index = models.BigIntegerField(null=True, blank=True)
    revoked_log_index = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-starts_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.performer} delegates {', '.join(self.powers)} to {self.representative}"

    def holds_on(self, day: date) -> bool:
        return self.revoked_at is None and self.starts_at.date() <= day <= self.ends_on


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
    # When the standing consent ends (kept by the registry's consent services beside the
    # records, so that checking a work reads one column); empty while none stands.
    consent_expires_at = models.DateTimeField(null=True, blank=True)
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

    def current_consent(self, now: datetime | None = None) -> ConsentRecord | None:
        """The consent that stands now: the latest given and not withdrawn, unless its term
        has ended. A renewal replaces the records before it, with its own term, shorter or
        longer (as the log, which states each renewal's term, reads it)."""
        latest = (
            self.consents.filter(withdrawn_at__isnull=True).order_by("-given_at", "-pk").first()
        )
        if latest is None or latest.expires_at <= (now or timezone.now()):
            return None
        return latest


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
    # The change's class, as the log states it (consent_withdrawn, consent_expired,
    # consent_renewed, performer, operator): a renewal reinstates only what expiry paused.
    cause = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["changed_at", "id"]

    def __str__(self) -> str:
        return f"{self.voice}: {self.from_status or '-'} -> {self.to_status}"


def default_consent_end() -> datetime:
    """The default term's end for consent given now (services state the term they use)."""
    return add_years(timezone.now(), settings.TIMBRE_CONSENT_DEFAULT_YEARS)


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
    # The term: chosen by whoever consents, in whole years, at most the setting
    # TIMBRE_CONSENT_MAX_YEARS; a guardian's consent also ends at the 18th birthday.
    term_years = models.PositiveSmallIntegerField(default=3)
    expires_at = models.DateTimeField(default=default_consent_end)
    renews = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="renewals"
    )
    # Days-before-expiry reminders already sent (so a reminder goes out once).
    reminders_sent = models.JSONField(default=list, blank=True)
    # consent.renewed (a renewal of a logged voice) and consent.expired entries.
    log_index = models.BigIntegerField(null=True, blank=True)
    expired_log_index = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-given_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(given_as="performer", authority__isnull=True)
                | (~Q(given_as="performer") & Q(authority__isnull=False)),
                name="consent_representative_has_authority",
            ),
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("given_at")), name="consent_term_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"Consent {self.statement_version} for {self.voice}"

    @property
    def ended(self) -> bool:
        return self.expires_at <= timezone.now()


def _death_evidence_path(instance: PerformerDeath, filename: str) -> str:
    """A random name: a death certificate is never public, and its name must not be guessable
    even where media is served (development)."""
    return f"deaths/{secrets.token_urlsafe(24)}"


class PerformerDeath(models.Model):
    """An operator's record of a performer's death, with its evidence (a death certificate
    or a grant of probate). From it the estate acts and is paid, and the post-mortem term
    of the jurisdiction named runs (``registry.deaths``)."""

    performer = models.OneToOneField(Performer, on_delete=models.PROTECT, related_name="death")
    date_of_death = models.DateField()
    jurisdiction = models.CharField(
        max_length=6, help_text="Whose post-mortem right applies: ISO 3166 (US-CA, GB)."
    )
    # The term as the settings table gave it when the death was recorded: a later change
    # of the table does not move the end of a term already running.
    post_mortem_years = models.PositiveSmallIntegerField()
    post_mortem_until = models.DateField(help_text="The last day the estate's right runs.")
    # Where the law continues the right by use (Tennessee): how many years without use
    # end it once the term has run. The term's end then moves on as the voice is used.
    continued_by_use_years = models.PositiveSmallIntegerField(null=True, blank=True)
    evidence = models.FileField(upload_to=_death_evidence_path)
    evidence_content_type = models.CharField(max_length=50)
    evidence_sha256 = models.CharField(max_length=64)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)
    log_index = models.BigIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Death of {self.performer} ({self.date_of_death}, {self.jurisdiction})"


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
