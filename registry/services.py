"""Use cases that write: each one transaction, keyword-only arguments, checks first."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import File
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from core.months import add_years, birthday
from core.problems import RuleForbidden, RuleRefused
from registry import hooks, validation
from registry.identity import verified_namesakes
from registry.models import (
    ADULT_AGE,
    USE_CODES,
    ApiKey,
    AuditGrant,
    Auditor,
    Authority,
    Brand,
    BrandMembership,
    ConsentRecord,
    Delegation,
    Performer,
    Representative,
    User,
    VoiceModel,
    VoiceStatusChange,
    hash_api_key,
)
from registry.policies import (
    can_manage_performer,
    comes_of_age,
    consent_capacity,
    is_brand_member,
    is_minor_now,
    require_power,
    voice_side_emails,
)
from transparency.services import event, log_append_one, rfc3339

CONSENT_STATEMENT_VERSION = "timbre-consent/2"

_CONSENT_TEMPLATE = """\
Consent to register and license a synthetic voice (Timbre consent statement, version 2)

I, {giver}, acting as {capacity}, consent to the registration of the synthetic voice
model "{voice}" (model SHA-256 {sha}) made from the voice of {performer}, and to
Timbre licensing it to brands on the terms published in offers I approve, from
{given} until {ends} ({term}).

I understand that:
- every license and every work made with this voice is recorded in a public log;
- I may withdraw this consent at any time; withdrawal suspends the voice at once and
  stops future use under its licenses;
- when this consent ends, no new license is issued and no new work is recorded with the
  voice until consent is given again;
- this statement, its version and its SHA-256 are kept as evidence of my consent.
"""

API_KEY_PREFIX = "tmb_"


def unique_slug(model: type[Any], text: str, *, max_length: int = 80) -> str:
    base = slugify(text)[: max_length - 7] or "item"
    slug = base
    while model.objects.filter(slug=slug).exists():
        slug = f"{base}-{secrets.token_hex(3)}"
    return slug


# --- accounts ------------------------------------------------------------------------


@dataclass(frozen=True)
class SignUp:
    email: str
    password: str
    display_name: str
    role: str  # performer | representative | brand | auditor
    legal_name: str = ""
    stage_name: str = ""
    bio: str = ""
    organisation: str = ""
    brand_name: str = ""
    brand_country: str = ""
    billing_email: str = ""


ROLES = ("performer", "representative", "brand", "auditor")


@transaction.atomic
def user_sign_up(*, data: SignUp) -> User:
    if data.role not in ROLES:
        raise ValidationError({"role": [f"Choose one of: {', '.join(ROLES)}."]})
    if User.objects.filter(email__iexact=data.email).exists():
        raise ValidationError({"email": ["An account with this email already exists."]})
    user = User.objects.create_user(data.email, data.password, display_name=data.display_name)
    if data.role == "performer":
        if not data.legal_name or not data.stage_name:
            raise ValidationError({"stage_name": ["Performers give a legal and a stage name."]})
        namesakes = verified_namesakes(legal_name=data.legal_name, stage_name=data.stage_name)
        Performer.objects.create(
            user=user,
            slug=unique_slug(Performer, data.stage_name),
            legal_name=data.legal_name,
            stage_name=data.stage_name,
            bio=data.bio,
            # Flagged to the operators' identity queue; the sign-up itself goes ahead.
            namesake_of=namesakes[0] if namesakes else None,
        )
    elif data.role == "representative":
        Representative.objects.create(user=user, organisation=data.organisation)
    elif data.role == "brand":
        if not data.brand_name or not data.brand_country:
            raise ValidationError({"brand_name": ["A brand needs a name and a country."]})
        brand_create(
            owner=user,
            name=data.brand_name,
            country=data.brand_country,
            billing_email=data.billing_email or data.email,
        )
    else:
        Auditor.objects.create(user=user, organisation=data.organisation)
    return user


@transaction.atomic
def brand_create(*, owner: User, name: str, country: str, billing_email: str) -> Brand:
    brand = Brand(
        slug=unique_slug(Brand, name), name=name, country=country, billing_email=billing_email
    )
    brand.full_clean()
    brand.save()
    BrandMembership.objects.create(brand=brand, user=owner, role=BrandMembership.Role.OWNER)
    return brand


@transaction.atomic
def represented_performer_add(
    *,
    representative: Representative,
    legal_name: str,
    stage_name: str,
    bio: str,
    is_living: bool,
    is_minor: bool,
    kind: str,
    evidence: IO[bytes],
    evidence_name: str,
    evidence_description: str = "",
    date_of_birth: date | None = None,
) -> Authority:
    """A representative records a performer they act for, with evidence of authority.

    The authority starts pending: it lets them act only once an operator verifies it. A
    minor's date of birth is required: the guardian's consent ends on the 18th birthday.
    """
    today = timezone.now().date()
    if date_of_birth is not None:
        if date_of_birth > today or date_of_birth.year < today.year - 130:
            raise ValidationError({"date_of_birth": ["Give the performer's real date of birth."]})
        # Only the living are minors: a performer who died young is an estate's to run.
        under_age = is_living and today < birthday(date_of_birth, ADULT_AGE).date()
        if under_age and not is_minor:
            raise RuleRefused(
                "guardian-required",
                {
                    "date_of_birth": [
                        "This performer is under 18: tick 'Under 18'; only a guardian "
                        "represents a minor."
                    ]
                },
            )
        if is_minor and not under_age:
            raise ValidationError(
                {"is_minor": ["By this date of birth the performer is 18 or over."]}
            )
    elif is_minor:
        raise ValidationError(
            {"date_of_birth": ["A minor's date of birth is required: consent ends at 18."]}
        )
    if is_minor and kind != Authority.Kind.GUARDIAN:
        raise RuleRefused(
            "guardian-required",
            {"kind": ["A minor is represented by a guardian, not an agent or an executor."]},
        )
    if kind not in Authority.Kind.values:
        raise ValidationError({"kind": ["Choose agent, estate_executor or guardian."]})
    if not is_living and is_minor:
        raise ValidationError({"is_minor": ["A late performer is not recorded as a minor."]})
    if not is_living and kind == Authority.Kind.GUARDIAN:
        raise ValidationError({"kind": ["A late performer's voice is managed by the estate."]})
    if is_minor and kind == Authority.Kind.ESTATE_EXECUTOR:
        raise ValidationError({"kind": ["A minor's voice is managed by a guardian."]})
    if is_living and not is_minor and kind != Authority.Kind.AGENT:
        raise ValidationError({"kind": ["For a living adult, a representative is an agent."]})
    _, digest = validation.upload(
        evidence,
        field="evidence",
        max_bytes=settings.TIMBRE_MAX_EVIDENCE_BYTES,
        kinds=validation.EVIDENCE_TYPES,
        sniff=validation.sniff_evidence,
    )
    performer = Performer.objects.create(
        slug=unique_slug(Performer, stage_name),
        legal_name=legal_name,
        stage_name=stage_name,
        bio=bio,
        is_living=is_living,
        is_minor=is_minor,
        date_of_birth=date_of_birth,
    )
    authority = Authority(
        representative=representative,
        performer=performer,
        kind=kind,
        evidence_sha256=digest,
        evidence_description=evidence_description,
    )
    authority.evidence.save(evidence_name, File(evidence), save=False)
    authority.save()
    return authority


@transaction.atomic
def authority_verify(*, authority: Authority, operator: User) -> Authority:
    """An operator has checked the evidence: the representative may now act."""
    locked = Authority.objects.select_for_update().get(pk=authority.pk)
    if locked.status != Authority.Status.PENDING:
        raise ValidationError(
            {"status": [f"Only a pending authority can be verified ({locked.status})."]}
        )
    locked.status = Authority.Status.ACTIVE
    locked.verified_at = timezone.now()
    locked.verified_by = operator
    locked.save(update_fields=["status", "verified_at", "verified_by"])
    return locked


@transaction.atomic
def authority_revoke(*, authority: Authority) -> Authority:
    locked = Authority.objects.select_for_update().get(pk=authority.pk)
    locked.status = Authority.Status.REVOKED
    locked.revoked_at = timezone.now()
    locked.save(update_fields=["status", "revoked_at"])
    return locked


# --- API keys --------------------------------------------------------------------------


def _may_manage_keys(actor: User, owner: Brand | Auditor) -> bool:
    if isinstance(owner, Brand):
        return is_brand_member(actor, owner)
    return owner.user_id == actor.pk


class ApiKeyAlreadyCreated(ValidationError):
    """The form that asked for this key was already used: the key was shown then, only."""


@transaction.atomic
def api_key_create(
    *, actor: User, owner: Brand | Auditor, name: str, nonce: str | None = None
) -> tuple[ApiKey, str]:
    """Make a key and return it with its one clear copy; only the hash is kept.

    ``nonce`` identifies the request that asks for it, so a replayed form creates nothing.
    """
    if nonce is not None and ApiKey.objects.filter(creation_nonce=nonce).exists():
        raise ApiKeyAlreadyCreated(
            "This form was already used and its key was shown then, once. If you did not "
            "copy it, revoke it and create another."
        )
    if not _may_manage_keys(actor, owner):
        raise PermissionDenied("You cannot create keys for this account.")
    name = name.strip()
    if not name:
        raise ValidationError({"name": ["Name the key, e.g. after the system that will use it."]})
    raw = API_KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        name=name[:100],
        prefix=raw[:12],
        key_hash=hash_api_key(raw),
        creation_nonce=nonce,
        created_by=actor,
    )
    if isinstance(owner, Brand):
        key.owner_kind, key.brand = ApiKey.OwnerKind.BRAND, owner
    else:
        key.owner_kind, key.auditor = ApiKey.OwnerKind.AUDITOR, owner
    try:
        with transaction.atomic():
            key.save()
    except IntegrityError as exc:  # the same form submitted twice at once
        raise ApiKeyAlreadyCreated("This form was already used.") from exc
    return key, raw


@transaction.atomic
def api_key_revoke(*, actor: User, key: ApiKey) -> ApiKey:
    locked = ApiKey.objects.select_for_update().get(pk=key.pk)
    if not _may_manage_keys(actor, locked.owner):
        raise PermissionDenied("You cannot revoke this key.")
    if locked.revoked_at is None:
        locked.revoked_at = timezone.now()
        locked.revoked_by = actor
        locked.save(update_fields=["revoked_at", "revoked_by"])
    return locked


# --- auditors ------------------------------------------------------------------------


@transaction.atomic
def audit_grant_give(*, actor: User, performer: Performer, auditor_email: str) -> AuditGrant:
    """Let the auditor with this email read the performer's usage, licenses' terms and
    payees' statements. Giving it twice is a no-op."""
    require_power(actor, performer, Delegation.Power.CHANGE_SPLITS)
    auditor = Auditor.objects.filter(user__email__iexact=auditor_email.strip()).first()
    if auditor is None:
        raise ValidationError(
            {"auditor_email": ["No auditor has an account with this email; ask them to sign up."]}
        )
    Performer.objects.select_for_update().get(pk=performer.pk)  # one grant at a time
    grant = AuditGrant.objects.filter(
        performer=performer, auditor=auditor, revoked_at__isnull=True
    ).first()
    if grant is None:
        grant = AuditGrant.objects.create(performer=performer, auditor=auditor, granted_by=actor)
    return grant


@transaction.atomic
def audit_grant_revoke(*, actor: User, grant: AuditGrant) -> AuditGrant:
    grant = AuditGrant.objects.select_for_update().get(pk=grant.pk)
    if not can_manage_performer(actor, grant.performer):
        raise PermissionDenied("You do not act for this performer.")
    if grant.revoked_at is None:
        grant.revoked_at = timezone.now()
        grant.save(update_fields=["revoked_at"])
    return grant


# --- voices ----------------------------------------------------------------------------


@dataclass(frozen=True)
class VoiceInput:
    display_name: str
    languages: list[Any]
    provider: str
    description: str = ""
    styles: list[Any] | None = None
    uses: list[Any] | None = None
    provider_ref: str = ""
    model_sha256: str | None = None
    model_file: IO[bytes] | None = None
    sample_audio: IO[bytes] | None = None
    sample_name: str = "sample"


def _check_sample(sample: IO[bytes]) -> tuple[str, str]:
    return validation.upload(
        sample,
        field="sample_audio",
        max_bytes=settings.TIMBRE_MAX_SAMPLE_BYTES,
        kinds=validation.AUDIO_TYPES,
        sniff=validation.sniff_audio,
    )


def _model_digest(data: VoiceInput) -> str:
    if data.model_file is not None and data.model_sha256:
        raise ValidationError({"model_sha256": ["Give the model file or its digest, not both."]})
    if data.model_file is not None:
        size = getattr(data.model_file, "size", None)
        if size is not None and size > settings.TIMBRE_MAX_ARTEFACT_BYTES:
            raise ValidationError(
                {"model_file": ["Too large to upload; send its SHA-256 as model_sha256 instead."]}
            )
        return validation.sha256_of(data.model_file)
    if data.model_sha256 is None:
        raise ValidationError({"model_sha256": ["Give the model artefact's SHA-256 or upload it."]})
    return validation.sha256_hex(data.model_sha256, field="model_sha256")


def _enqueue_sample_inspection(voice: VoiceModel) -> None:
    from registry.tasks import voice_sample_inspect

    voice_sample_inspect.delay_on_commit(voice.pk)


@transaction.atomic
def voice_register(*, actor: User, performer: Performer, data: VoiceInput) -> VoiceModel:
    """Register a voice model as a draft. It goes live only with consent (voice_activate)."""
    if not can_manage_performer(actor, performer):
        raise PermissionDenied("You do not act for this performer.")
    if not data.display_name.strip():
        raise ValidationError({"display_name": ["A voice needs a name."]})
    if not data.provider.strip():
        raise ValidationError({"provider": ["Name the provider that hosts the model."]})
    voice = VoiceModel(
        performer=performer,
        slug=unique_slug(VoiceModel, data.display_name, max_length=100),
        display_name=data.display_name.strip()[:120],
        description=data.description.strip(),
        languages=validation.language_tags(data.languages),
        styles=validation.styles(data.styles or []),
        uses=validation.uses(data.uses or [], USE_CODES),
        provider=data.provider.strip()[:100],
        provider_ref=data.provider_ref.strip()[:200],
        model_sha256=_model_digest(data),
        created_by=actor,
    )
    if VoiceModel.objects.filter(model_sha256=voice.model_sha256).exists():
        raise ValidationError({"model_sha256": ["This model artefact is already registered."]})
    if data.sample_audio is not None:
        voice.sample_content_type, voice.sample_sha256 = _check_sample(data.sample_audio)
        voice.sample_audio.save(data.sample_name, File(data.sample_audio), save=False)
    voice.refresh_search_tokens()
    try:
        with transaction.atomic():
            voice.save()
    except IntegrityError as exc:  # a concurrent registration of the same artefact
        raise ValidationError(
            {"model_sha256": ["This model artefact is already registered."]}
        ) from exc
    VoiceStatusChange.objects.create(voice=voice, to_status=voice.status, changed_by=actor)
    if voice.sample_audio:
        _enqueue_sample_inspection(voice)
    return voice


_EDITABLE = ("display_name", "description", "languages", "styles", "uses", "provider_ref")


@transaction.atomic
def voice_update(
    *,
    actor: User,
    voice: VoiceModel,
    changes: dict[str, Any],
    sample_audio: IO[bytes] | None = None,
    sample_name: str = "sample",
) -> VoiceModel:
    """Change a voice's description. Its model digest never changes: that is a new voice."""
    require_power(actor, voice.performer, Delegation.Power.MANAGE_VOICES)
    voice = VoiceModel.objects.select_for_update().get(pk=voice.pk)
    if voice.status == VoiceModel.Status.RETIRED:
        raise ValidationError({"status": ["A retired voice cannot be changed."]})
    unknown = set(changes) - set(_EDITABLE)
    if unknown:
        raise ValidationError(
            {field: ["This field cannot be changed."] for field in sorted(unknown)}
        )
    if "display_name" in changes:
        name = str(changes["display_name"]).strip()
        if not name:
            raise ValidationError({"display_name": ["A voice needs a name."]})
        voice.display_name = name[:120]
    if "description" in changes:
        voice.description = str(changes["description"]).strip()
    if "languages" in changes:
        voice.languages = validation.language_tags(changes["languages"])
    if "styles" in changes:
        voice.styles = validation.styles(changes["styles"])
    if "uses" in changes:
        voice.uses = validation.uses(changes["uses"], USE_CODES)
    if "provider_ref" in changes:
        voice.provider_ref = str(changes["provider_ref"]).strip()[:200]
    if sample_audio is not None:
        voice.sample_content_type, voice.sample_sha256 = _check_sample(sample_audio)
        voice.sample_audio.save(sample_name, File(sample_audio), save=False)
        voice.sample_duration_ms = None
        voice.sample_inspected_at = None
    voice.refresh_search_tokens()
    voice.save()
    if sample_audio is not None:
        _enqueue_sample_inspection(voice)
    return voice


def consent_statement(
    *,
    voice: VoiceModel,
    giver: User,
    capacity: str,
    term_years: int | None = None,
    given_at: datetime | None = None,
) -> str:
    """The statement whoever consents accepts, for a term (default: the default term)
    from ``given_at`` (default: now)."""
    given_at = given_at or timezone.now()
    years = _term_years(term_years)
    expires_at = consent_term_end(
        performer=voice.performer, given_as=capacity, given_at=given_at, years=years
    )
    if expires_at < add_years(given_at, years):
        term = "until the performer turns 18, when their own consent is needed"
    else:
        term = f"{years} year{'s' if years != 1 else ''}"
    return _CONSENT_TEMPLATE.format(
        giver=giver.display_name or giver.email,
        capacity=dict(ConsentRecord.GivenAs.choices)[capacity].lower(),
        voice=voice.display_name,
        sha=voice.model_sha256,
        performer=f"{voice.performer.stage_name} ({voice.performer.legal_name})",
        given=given_at.date().isoformat(),
        ends=expires_at.date().isoformat(),
        term=term,
    )


def consent_term_end(
    *, performer: Performer, given_as: str, given_at: datetime, years: int
) -> datetime:
    """When consent given now for ``years`` ends: a guardian's ends at the latest on the
    minor's 18th birthday, when the performer's own consent is needed instead."""
    ends = add_years(given_at, years)
    if given_as == ConsentRecord.GivenAs.GUARDIAN:
        adult_at = comes_of_age(performer)
        if adult_at is not None:
            ends = min(ends, adult_at)
    return ends


def _term_years(value: int | None) -> int:
    years = settings.TIMBRE_CONSENT_DEFAULT_YEARS if value is None else value
    most = settings.TIMBRE_CONSENT_MAX_YEARS
    if isinstance(years, bool) or not isinstance(years, int) or not 1 <= years <= most:
        raise ValidationError(
            {"term_years": [f"Choose a term of 1 to {most} whole years (the most the law allows)."]}
        )
    return years


# The log's word for a voice leaving or coming back to life; activation before the voice
# was ever logged is its registration (voice.registered), not a reinstatement.
_STATUS_EVENTS: dict[str, str] = {
    VoiceModel.Status.SUSPENDED: "voice.suspended",
    VoiceModel.Status.RETIRED: "voice.retired",
    VoiceModel.Status.ACTIVE: "voice.reinstated",
}


def _set_status(
    voice: VoiceModel, to_status: str, actor: User | None, reason: str, cause: str = ""
) -> None:
    """Move a locked voice to a new status, record who did it, and log the change once the
    voice is in the log. ``cause`` is the reason's class for the log (never the words
    someone typed): consent_withdrawn, performer or operator. Caller holds the row lock."""
    if to_status not in VoiceModel.TRANSITIONS[voice.status]:
        raise ValidationError({"status": [f"A {voice.status} voice cannot become {to_status}."]})
    if not cause:
        cause = "operator" if actor is not None and actor.is_staff else "performer"
    VoiceStatusChange.objects.create(
        voice=voice,
        from_status=voice.status,
        to_status=to_status,
        changed_by=actor,
        reason=reason,
        cause=cause,
    )
    voice.status = to_status
    voice.save(update_fields=["status", "updated_at"])
    if voice.registered_log_index is not None:
        log_append_one(item=event(_STATUS_EVENTS[to_status], voice_id=str(voice.pk), cause=cause))


@transaction.atomic
def consent_give(
    *,
    actor: User,
    voice: VoiceModel,
    statement_version: str,
    ip_address: str | None,
    user_agent: str,
    consent_audio: IO[bytes] | None = None,
    consent_audio_name: str = "consent",
    term_years: int | None = None,
) -> ConsentRecord:
    """Record consent for a term; given while an earlier one stands (or after it ended),
    it is a renewal: a new signed record, logged once the voice is in the log, which
    brings back a voice that the end of consent paused."""
    capacity = consent_capacity(actor, voice.performer)
    if capacity is None:
        if is_minor_now(voice.performer):
            raise RuleForbidden(
                "guardian-required",
                f"{voice.performer.stage_name} is under {ADULT_AGE}: only a guardian whose "
                "authority an operator verified may consent for this voice.",
            )
        raise PermissionDenied(
            "Only the performer, or the estate's executor or a minor's guardian with verified "
            "authority, may consent for this voice."
        )
    if statement_version != CONSENT_STATEMENT_VERSION:
        raise ValidationError(
            {"statement_version": [f"The current statement is {CONSENT_STATEMENT_VERSION}."]}
        )
    years = _term_years(term_years)
    # Lock the voice so a consent and a withdrawal cannot interleave.
    voice = VoiceModel.objects.select_for_update().get(pk=voice.pk)
    if voice.status == VoiceModel.Status.RETIRED:
        raise ValidationError({"status": ["A retired voice takes no new consent."]})
    given_as, authority = capacity
    now = timezone.now()
    ends = consent_term_end(performer=voice.performer, given_as=given_as, given_at=now, years=years)
    if ends <= now:
        raise RuleRefused(
            "guardian-required",
            {"consent": ["The performer has come of age: a guardian's consent no longer counts."]},
        )
    text = consent_statement(
        voice=voice, giver=actor, capacity=given_as, term_years=years, given_at=now
    )
    record = ConsentRecord(
        voice=voice,
        statement_version=statement_version,
        statement_text=text,
        statement_sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        given_by=actor,
        given_as=given_as,
        authority=authority,
        given_at=now,
        term_years=years,
        expires_at=ends,
        renews=voice.consents.order_by("-given_at", "-pk").first(),
        ip_address=ip_address,
        user_agent=user_agent[:400],
    )
    if consent_audio is not None:
        _, record.consent_audio_sha256 = validation.upload(
            consent_audio,
            field="consent_audio",
            max_bytes=settings.TIMBRE_MAX_SAMPLE_BYTES,
            kinds=validation.AUDIO_TYPES,
            sniff=validation.sniff_audio,
        )
        record.consent_audio.save(consent_audio_name, File(consent_audio), save=False)
    record.save()
    voice.consent_expires_at = ends
    voice.save(update_fields=["consent_expires_at", "updated_at"])
    if voice.registered_log_index is not None:
        entry = log_append_one(item=event("consent.renewed", **_consent_fields(voice, record)))
        record.log_index = entry.index
        record.save(update_fields=["log_index"])
        # Back live, as the end of consent paused it, if who stands behind the voice is
        # still established (a minor come of age needs their own identity verified).
        if _paused_by_expiry(voice) and voice.performer.identity_standing() is not None:
            _set_status(
                voice, VoiceModel.Status.ACTIVE, actor, "consent renewed", "consent_renewed"
            )
    return record


def _consent_fields(voice: VoiceModel, record: ConsentRecord) -> dict[str, str]:
    """What the log says of a consent: whose capacity, the statement's hash, its term."""
    return {
        "voice_id": str(voice.pk),
        "statement_sha256": record.statement_sha256,
        "given_as": record.given_as,
        "expires_at": rfc3339(record.expires_at),
    }


def _paused_by_expiry(voice: VoiceModel) -> bool:
    """Whether the voice is suspended because its consent ended (and nothing since)."""
    if voice.status != VoiceModel.Status.SUSPENDED:
        return False
    last = voice.status_changes.order_by("-changed_at", "-pk").first()
    return last is not None and last.cause == "consent_expired"


@transaction.atomic
def consent_withdraw(*, actor: User, voice: VoiceModel, reason: str) -> VoiceModel:
    """Withdraw every standing consent on the voice; an active voice is suspended at once."""
    if consent_capacity(actor, voice.performer) is None:
        raise PermissionDenied("Only whoever may give consent for this voice may withdraw it.")
    voice = VoiceModel.objects.select_for_update().get(pk=voice.pk)
    now = timezone.now()
    if voice.current_consent(now) is None:
        raise ValidationError({"consent": ["There is no standing consent to withdraw."]})
    voice.consents.filter(withdrawn_at__isnull=True, expires_at__gt=now).update(
        withdrawn_at=now, withdrawn_by=actor, withdrawal_reason=reason[:300]
    )
    voice.consent_expires_at = None
    voice.save(update_fields=["consent_expires_at", "updated_at"])
    if voice.registered_log_index is not None:
        log_append_one(item=event("consent.withdrawn", voice_id=str(voice.pk)))
    if voice.status == VoiceModel.Status.ACTIVE:
        _set_status(
            voice, VoiceModel.Status.SUSPENDED, actor, "consent withdrawn", "consent_withdrawn"
        )
    hooks.consent_withdrawn(voice=voice, actor=actor, reason=reason)
    return voice


@transaction.atomic
def voice_set_status(
    *, actor: User, voice: VoiceModel, status: str, reason: str = ""
) -> VoiceModel:
    """Activate, suspend or retire a voice. Activation needs standing consent, and the
    performer's identity (or their representative's authority) verified by an operator."""
    require_power(actor, voice.performer, Delegation.Power.MANAGE_VOICES)
    if status not in VoiceModel.Status.values:
        raise ValidationError({"status": [f"Unknown status {status!r}."]})
    voice = VoiceModel.objects.select_for_update().get(pk=voice.pk)
    consent = voice.current_consent()
    if status == VoiceModel.Status.ACTIVE and consent is None:
        raise ValidationError(
            {"consent": ["A voice cannot become active without the performer's consent."]}
        )
    if status == VoiceModel.Status.ACTIVE and voice.performer.identity_standing() is None:
        raise RuleRefused(
            "performer-unverified",
            {
                "performer": [
                    "A voice goes live only once an operator has verified the performer's "
                    "identity. Submit your evidence on the identity page, then activate."
                ]
            },
        )
    _set_status(voice, status, actor, reason[:300])
    if status == VoiceModel.Status.ACTIVE and voice.registered_log_index is None:
        assert consent is not None
        _log_registration(voice, consent)
    return voice


def _log_registration(voice: VoiceModel, consent: ConsentRecord) -> None:
    """A voice enters the public log when it first goes live, with the consent behind it
    and what the operator verified: the performer's identity or a representative's
    authority."""
    standing = voice.performer.identity_standing()
    assert standing is not None  # voice_set_status refuses an unverified performer
    entry = log_append_one(
        item=event(
            "voice.registered",
            voice={
                "id": str(voice.pk),
                "name": voice.display_name,
                "model_sha256": voice.model_sha256,
            },
            performer={"id": str(voice.performer_id), "name": voice.performer.stage_name},
            consent={
                "statement_version": consent.statement_version,
                "statement_sha256": consent.statement_sha256,
                "given_as": consent.given_as,
                "given_at": rfc3339(consent.given_at),
                "expires_at": rfc3339(consent.expires_at),
            },
            identity=f"{standing}_verified",
        )
    )
    voice.registered_log_index = entry.index
    voice.save(update_fields=["registered_log_index"])


def voice_sample_record_inspection(*, voice_id: int, duration_ms: int | None, sha256: str) -> bool:
    """Store what inspecting the sample found, unless the sample changed meanwhile."""
    updated = VoiceModel.objects.filter(pk=voice_id, sample_sha256=sha256).update(
        sample_duration_ms=duration_ms, sample_inspected_at=timezone.now()
    )
    return bool(updated)


# --- the end of consent -------------------------------------------------------------


def consents_expire(*, now: datetime | None = None) -> int:
    """End the consent of every voice whose term ran out and was not renewed: the log
    says so (consent.expired), a live voice is suspended (cause consent_expired), and
    the voice's side and its licensees are told. Minors who came of age are recorded as
    adults. Safe to run twice: each voice is claimed under its row lock."""
    now = now or timezone.now()
    ended = 0
    for pk in VoiceModel.objects.filter(consent_expires_at__lte=now).values_list("pk", flat=True):
        with transaction.atomic():
            if _consent_expire_one(pk, now):
                ended += 1
    for performer in Performer.objects.filter(is_minor=True, date_of_birth__isnull=False):
        adult_at = comes_of_age(performer)
        if adult_at is not None and adult_at <= now:
            Performer.objects.filter(pk=performer.pk, is_minor=True).update(is_minor=False)
    return ended


def _consent_expire_one(pk: int, now: datetime) -> bool:
    voice = VoiceModel.objects.select_for_update().select_related("performer").get(pk=pk)
    if voice.consent_expires_at is None or voice.consent_expires_at > now:
        return False
    standing = voice.current_consent(now)
    if standing is not None:  # renewed meanwhile by an overlapping record
        voice.consent_expires_at = standing.expires_at
        voice.save(update_fields=["consent_expires_at", "updated_at"])
        return False
    record = voice.consents.filter(withdrawn_at__isnull=True).order_by("-given_at", "-pk").first()
    voice.consent_expires_at = None
    voice.save(update_fields=["consent_expires_at", "updated_at"])
    if voice.registered_log_index is not None and record is not None:
        entry = log_append_one(
            item=event(
                "consent.expired",
                voice_id=str(voice.pk),
                statement_sha256=record.statement_sha256,
            )
        )
        record.expired_log_index = entry.index
        record.save(update_fields=["expired_log_index"])
    if voice.status == VoiceModel.Status.ACTIVE:
        _set_status(voice, VoiceModel.Status.SUSPENDED, None, "consent expired", "consent_expired")
    hooks.consent_expired(voice=voice)
    _tell_voice_side(
        voice,
        f"Consent for {voice.display_name} has ended",
        f"The consent for the voice {voice.display_name} reached the end of its term. No new "
        "license is issued and no new work is recorded with it until consent is given again "
        "on the voice's page.",
    )
    return True


def consents_remind(*, now: datetime | None = None) -> int:
    """Email whoever may renew a consent before it ends, once per reminder day."""
    now = now or timezone.now()
    days = sorted(settings.TIMBRE_CONSENT_REMINDER_DAYS, reverse=True)
    sent = 0
    horizon = now + timedelta(days=days[0])
    for pk in ConsentRecord.objects.filter(
        withdrawn_at__isnull=True, expires_at__gt=now, expires_at__lte=horizon
    ).values_list("pk", flat=True):
        with transaction.atomic():
            record = (
                ConsentRecord.objects.select_for_update()
                .select_related("voice__performer")
                .get(pk=pk)
            )
            voice = record.voice
            if voice.current_consent(now) != record or voice.status == VoiceModel.Status.RETIRED:
                continue  # superseded, withdrawn or the voice retired: nothing to renew
            left = record.expires_at - now
            due = [d for d in days if left <= timedelta(days=d) and d not in record.reminders_sent]
            if not due:
                continue
            record.reminders_sent = sorted({*record.reminders_sent, *due}, reverse=True)
            record.save(update_fields=["reminders_sent"])
            _tell_voice_side(
                voice,
                f"Consent for {voice.display_name} ends on {record.expires_at.date()}",
                f"The consent for the voice {voice.display_name} ends on "
                f"{record.expires_at.date()} ({left.days} days from now). Renew it on the "
                "voice's page to keep its licenses working; after that date no new license "
                "is issued and no new work is recorded until it is renewed.",
            )
            sent += 1
    return sent


def _tell_voice_side(voice: VoiceModel, subject: str, body: str) -> None:
    """Email the voice's side (registry.policies.voice_side_emails), after commit."""
    hooks.send_after_commit(voice_side_emails(voice.performer), subject, body)


# --- delegation ---------------------------------------------------------------------


@transaction.atomic
def delegation_grant(
    *,
    actor: User,
    performer: Performer,
    representative: Representative,
    powers: list[str],
    ends_on: date,
) -> Delegation:
    """The one who consents for a performer delegates some powers to one representative
    who holds verified authority for them, until a day; logged."""
    if consent_capacity(actor, performer) is None:
        raise PermissionDenied("Only whoever consents for the performer delegates their powers.")
    errors: dict[str, list[str]] = {}
    chosen = sorted(set(powers))
    unknown = [p for p in chosen if p not in Delegation.Power.values]
    if not chosen or unknown:
        errors["powers"] = [
            f"Choose one or more of: {', '.join(Delegation.Power.values)}"
            + (f" (not {', '.join(map(repr, unknown))})." if unknown else ".")
        ]
    today = timezone.now().date()
    most = settings.TIMBRE_DELEGATION_MAX_DAYS
    if ends_on < today:
        errors["ends_on"] = ["The end date has passed."]
    elif ends_on > today + timedelta(days=most):
        errors["ends_on"] = [f"A delegation lasts at most {most} days; renew it when it ends."]
    if representative.user_id == actor.pk:
        errors["representative"] = ["Nobody delegates powers to themselves."]
    elif not Authority.objects.filter(
        performer=performer, representative=representative, status=Authority.Status.ACTIVE
    ).exists():
        errors["representative"] = [
            "Delegate only to a representative whose authority for you an operator verified."
        ]
    if errors:
        raise ValidationError(errors)
    Performer.objects.select_for_update().get(pk=performer.pk)
    delegation = Delegation.objects.create(
        performer=performer,
        representative=representative,
        powers=chosen,
        ends_on=ends_on,
        granted_by=actor,
    )
    entry = log_append_one(
        item=event(
            "delegation.granted",
            delegation_id=str(delegation.pk),
            performer_id=str(performer.pk),
            representative_id=str(representative.pk),
            powers=",".join(chosen),
            ends_on=ends_on.isoformat(),
        )
    )
    delegation.log_index = entry.index
    delegation.save(update_fields=["log_index"])
    words = ", ".join(dict(Delegation.Power.choices)[p].lower() for p in chosen)
    hooks.send_after_commit(
        [representative.user.email],
        f"{performer.stage_name} delegated powers to you",
        f"{performer.stage_name} delegated to you, until {ends_on.isoformat()}: {words}. "
        "You can see it, and give it up, on your studio's Delegations page.",
    )
    return delegation


@transaction.atomic
def delegation_revoke(*, actor: User, delegation: Delegation) -> Delegation:
    """End a delegation at once; logged. The performer's side revokes; the representative
    may also give it up."""
    locked = (
        Delegation.objects.select_for_update()
        .select_related("performer", "representative")
        .get(pk=delegation.pk)
    )
    if (
        consent_capacity(actor, locked.performer) is None
        and locked.representative.user_id != actor.pk
    ):
        raise PermissionDenied("Only the performer's side or the representative ends it.")
    if locked.revoked_at is not None:
        raise ValidationError({"delegation": ["This delegation was already revoked."]})
    entry = log_append_one(
        item=event(
            "delegation.revoked",
            delegation_id=str(locked.pk),
            performer_id=str(locked.performer_id),
        )
    )
    locked.revoked_at = timezone.now()
    locked.revoked_by = actor
    locked.revoked_log_index = entry.index
    locked.save(update_fields=["revoked_at", "revoked_by", "revoked_log_index"])
    performer = locked.performer
    told = [locked.representative.user.email]
    if performer.user is not None:
        told.append(performer.user.email)
    hooks.send_after_commit(
        [e for e in told if e != actor.email] or told,
        f"A delegation for {performer.stage_name} has ended",
        f"The delegation of powers for {performer.stage_name} to {locked.representative} "
        f"ended today, before its last day ({locked.ends_on.isoformat()}). Requests, offers "
        "and splits are the performer's own acts again.",
    )
    return locked


@transaction.atomic
def voice_retire_for_cause(*, voice_id: int, cause: str, reason: str) -> bool:
    """Retire a voice for a rule's sake (no person acts), logged with ``cause``. Returns
    whether it retired it: an already retired voice is left as it is (tasks re-run)."""
    voice = VoiceModel.objects.select_for_update().filter(pk=voice_id).first()
    if voice is None or voice.status == VoiceModel.Status.RETIRED:
        return False
    _set_status(voice, VoiceModel.Status.RETIRED, None, reason[:300], cause)
    return True
