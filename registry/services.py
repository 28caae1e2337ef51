"""Use cases that write: each one transaction, keyword-only arguments, checks first."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import File
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from core.problems import RuleRefused
from registry import hooks, validation
from registry.identity import verified_namesakes
from registry.models import (
    USE_CODES,
    ApiKey,
    AuditGrant,
    Auditor,
    Authority,
    Brand,
    BrandMembership,
    ConsentRecord,
    Performer,
    Representative,
    User,
    VoiceModel,
    VoiceStatusChange,
    hash_api_key,
)
from registry.policies import (
    can_manage_performer,
    can_manage_voice,
    consent_capacity,
    is_brand_member,
)
from transparency.services import event, log_append_one, rfc3339

CONSENT_STATEMENT_VERSION = "timbre-consent/1"

_CONSENT_TEMPLATE = """\
Consent to register and license a synthetic voice (Timbre consent statement, version 1)

I, {giver}, acting as {capacity}, consent to the registration of the synthetic voice
model "{voice}" (model SHA-256 {sha}) made from the voice of {performer}, and to
Timbre licensing it to brands on the terms published in offers I approve.

I understand that:
- every license and every work made with this voice is recorded in a public log;
- I may withdraw this consent at any time; withdrawal suspends the voice at once and
  stops future use under its licenses;
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
) -> Authority:
    """A representative records a performer they act for, with evidence of authority.

    The authority starts pending: it lets them act only once an operator verifies it.
    """
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
    if not can_manage_performer(actor, performer):
        raise PermissionDenied("You do not act for this performer.")
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
    if not can_manage_voice(actor, voice):
        raise PermissionDenied("You do not act for this voice's performer.")
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


def consent_statement(*, voice: VoiceModel, giver: User, capacity: str) -> str:
    return _CONSENT_TEMPLATE.format(
        giver=giver.display_name or giver.email,
        capacity=dict(ConsentRecord.GivenAs.choices)[capacity].lower(),
        voice=voice.display_name,
        sha=voice.model_sha256,
        performer=f"{voice.performer.stage_name} ({voice.performer.legal_name})",
    )


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
    VoiceStatusChange.objects.create(
        voice=voice, from_status=voice.status, to_status=to_status, changed_by=actor, reason=reason
    )
    voice.status = to_status
    voice.save(update_fields=["status", "updated_at"])
    if voice.registered_log_index is not None:
        if not cause:
            cause = "operator" if actor is not None and actor.is_staff else "performer"
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
) -> ConsentRecord:
    capacity = consent_capacity(actor, voice.performer)
    if capacity is None:
        raise PermissionDenied(
            "Only the performer, or the estate's executor or a minor's guardian with verified "
            "authority, may consent for this voice."
        )
    if statement_version != CONSENT_STATEMENT_VERSION:
        raise ValidationError(
            {"statement_version": [f"The current statement is {CONSENT_STATEMENT_VERSION}."]}
        )
    # Lock the voice so a consent and a withdrawal cannot interleave.
    voice = VoiceModel.objects.select_for_update().get(pk=voice.pk)
    if voice.status == VoiceModel.Status.RETIRED:
        raise ValidationError({"status": ["A retired voice takes no new consent."]})
    given_as, authority = capacity
    text = consent_statement(voice=voice, giver=actor, capacity=given_as)
    record = ConsentRecord(
        voice=voice,
        statement_version=statement_version,
        statement_text=text,
        statement_sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        given_by=actor,
        given_as=given_as,
        authority=authority,
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
    return record


@transaction.atomic
def consent_withdraw(*, actor: User, voice: VoiceModel, reason: str) -> VoiceModel:
    """Withdraw every standing consent on the voice; an active voice is suspended at once."""
    if consent_capacity(actor, voice.performer) is None:
        raise PermissionDenied("Only whoever may give consent for this voice may withdraw it.")
    voice = VoiceModel.objects.select_for_update().get(pk=voice.pk)
    now = timezone.now()
    withdrawn = voice.consents.filter(withdrawn_at__isnull=True).update(
        withdrawn_at=now, withdrawn_by=actor, withdrawal_reason=reason[:300]
    )
    if not withdrawn:
        raise ValidationError({"consent": ["There is no standing consent to withdraw."]})
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
    if not can_manage_voice(actor, voice):
        raise PermissionDenied("You do not act for this voice's performer.")
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
