"""Offers, requests, issuance and revocation: every write of the licensing floor.

Locks are taken in one order everywhere: the license request row, then the voice row,
then the log head (inside transparency). Issuance holds the voice row so that two
exclusive licenses on it can never both be granted.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django_countries import countries

from core.money import CURRENCIES, MAX_AMOUNT
from core.problems import RuleRefused
from licensing import terms
from licensing.ids import new_id
from licensing.keys import active_signer
from licensing.models import (
    EXCLUDED_CONTENT_CODES,
    MAX_TERM_DAYS,
    MAX_TERM_DAYS_MINOR,
    MEDIA_CODES,
    License,
    LicenseHold,
    LicenseRequest,
    Offer,
    OfferVersion,
    RequestTransition,
    UnionAgreement,
)
from registry import hooks, validation
from registry.deaths import post_mortem_until
from registry.models import USE_CODES, Brand, Delegation, User, VoiceModel
from registry.policies import (
    can_manage_voice,
    is_brand_member,
    require_power,
    voice_side_emails,
)
from transparency.services import event, log_append_one
from verifier.documents import license_document
from verifier.jws import TYP_LICENSE, sign_jws
from verifier.royalty import pension_health as rules_pension_health

REQUEST_LIFETIME = timedelta(days=14)
PER_SECOND_PLACES = 6


# --- checks ------------------------------------------------------------------------


def _codes(
    values: Any, allowed: frozenset[str], field_name: str, *, required: bool = True
) -> list[str]:
    if not isinstance(values, list | tuple):
        raise ValidationError({field_name: ["Give a list."]})
    bad = [str(v) for v in values if v not in allowed]
    if bad:
        raise ValidationError(
            {field_name: [f"Unknown: {', '.join(bad)}. Choose from {', '.join(sorted(allowed))}."]}
        )
    result = list(dict.fromkeys(values))
    if required and not result:
        raise ValidationError({field_name: ["Choose at least one."]})
    return result


def territory_codes(values: Any, field_name: str = "territories") -> list[str]:
    if not isinstance(values, list | tuple) or not values:
        raise ValidationError({field_name: ["Give ISO 3166-1 alpha-2 codes, or WORLD."]})
    result = []
    for value in values:
        code = str(value).strip().upper()
        if code != terms.WORLD and (len(code) != 2 or code not in dict(countries)):
            raise ValidationError(
                {field_name: [f"{value!r} is not an ISO 3166-1 alpha-2 country code or WORLD."]}
            )
        if code not in result:
            result.append(code)
    if terms.WORLD in result and len(result) > 1:
        result = [terms.WORLD]
    return result


def _money(value: Any, field_name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError({field_name: ["Give a non-negative whole number of minor units."]})
    if value > MAX_AMOUNT:
        raise ValidationError({field_name: [f"At most {MAX_AMOUNT} minor units."]})
    return value


def _rate(value: Any, field_name: str) -> Decimal:
    try:
        rate = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValidationError({field_name: ["Give a decimal number of minor units."]}) from exc
    exponent = rate.as_tuple().exponent  # an int for a finite number, a letter otherwise
    if (
        not rate.is_finite()
        or not isinstance(exponent, int)
        or rate < 0
        or exponent < -PER_SECOND_PLACES
    ):
        raise ValidationError(
            {field_name: [f"Give a non-negative decimal with at most {PER_SECOND_PLACES} places."]}
        )
    if rate >= Decimal(10) ** 12:
        raise ValidationError({field_name: ["Too large."]})
    return rate


def max_term_for(voice: VoiceModel) -> int:
    return MAX_TERM_DAYS_MINOR if voice.performer.is_minor else MAX_TERM_DAYS


# --- offers --------------------------------------------------------------------------


@dataclass(frozen=True)
class OfferTerms:
    uses: list[str]
    territories: list[str]
    languages: list[str]
    media: list[str]
    max_term_days: int
    currency: str
    upfront_fee: int
    per_work: int = 0
    per_second: Any = "0"
    revenue_share_bps: int = 0
    minimum_guarantee: int = 0
    excluded_content: list[str] = field(default_factory=list)
    excluded_brands: list[str] = field(default_factory=list)
    max_works: int | None = None
    max_seconds: int | None = None
    requires_approval: bool = True
    exclusive: bool = False
    measured_only: bool = False
    # On unless the performer opens the offer to brands that have not verified a domain.
    verified_brands_only: bool = True
    # The code of the union agreement the terms follow ("" for none).
    union_agreement: str = ""


def _union_agreement(t: OfferTerms, currency: str) -> UnionAgreement | None:
    """The agreement the terms follow, checked: it exists and is open to new offers, sets
    a minimum in the offer's currency, and the price per work is at least that minimum."""
    code = str(t.union_agreement or "").strip()
    if not code:
        return None
    agreement = UnionAgreement.objects.filter(code=code, active=True).first()
    if agreement is None:
        raise ValidationError(
            {"union_agreement": [f"No union agreement open to new offers has the code {code!r}."]}
        )
    minimum = agreement.minimum_for(currency)
    if minimum is None:
        covered = ", ".join(agreement.minimums.values_list("currency", flat=True))
        raise ValidationError(
            {
                "union_agreement": [
                    f"{agreement.name} sets no minimum fee in {currency}: choose a currency "
                    f"it covers ({covered})."
                ]
            }
        )
    if isinstance(t.per_work, int) and not isinstance(t.per_work, bool) and t.per_work < minimum:
        raise ValidationError(
            {
                "per_work": [
                    f"{agreement.name} sets a minimum fee of {minimum} {currency} minor units per "
                    f"work; this offer pays {t.per_work}."
                ]
            }
        )
    return agreement


def _checked_terms(voice: VoiceModel, t: OfferTerms) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}

    def check(name: str, fn: Any) -> Any:
        try:
            return fn()
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                errors.setdefault(key, []).extend(messages)
            return None

    limit = max_term_for(voice)
    if not isinstance(t.max_term_days, int) or t.max_term_days < 1:
        errors["max_term_days"] = ["Give the longest term, in days."]
    elif t.max_term_days > limit:
        who = "a minor's voice" if voice.performer.is_minor else "any voice"
        errors["max_term_days"] = [
            f"{t.max_term_days} days is above the {limit}-day ({limit // 365} year) "
            f"limit for {who}."
        ]
    currency = str(t.currency).upper()
    if currency not in CURRENCIES:
        errors["currency"] = [f"{t.currency!r} is not a supported ISO 4217 currency."]
    if not 0 <= t.revenue_share_bps <= 10000:
        errors["revenue_share_bps"] = ["Basis points between 0 and 10000."]
    for name in ("max_works", "max_seconds"):
        value = getattr(t, name)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 1
        ):
            errors[name] = ["Give a positive whole number, or leave it empty for no cap."]
    brands = [str(b).strip()[:100] for b in t.excluded_brands if str(b).strip()]
    out = {
        "uses": check("uses", lambda: _codes(t.uses, USE_CODES, "uses")),
        "territories": check("territories", lambda: territory_codes(t.territories)),
        "languages": check("languages", lambda: validation.language_tags(t.languages)),
        "media": check("media", lambda: _codes(t.media, MEDIA_CODES, "media")),
        "excluded_content": check(
            "excluded_content",
            lambda: _codes(
                t.excluded_content, EXCLUDED_CONTENT_CODES, "excluded_content", required=False
            ),
        ),
        "upfront_fee": check("upfront_fee", lambda: _money(t.upfront_fee, "upfront_fee")),
        "per_work": check("per_work", lambda: _money(t.per_work, "per_work")),
        "per_second": check("per_second", lambda: _rate(t.per_second, "per_second")),
        "minimum_guarantee": check(
            "minimum_guarantee", lambda: _money(t.minimum_guarantee, "minimum_guarantee")
        ),
    }
    if not errors:
        agreement = check("union_agreement", lambda: _union_agreement(t, currency))
        out["union_agreement"] = agreement
        if agreement is not None:
            # Frozen with the version: the admin may change the agreement later.
            out["union_code"] = agreement.code
            out["union_name"] = agreement.name
            out["union_pension_health_bps"] = agreement.pension_health_bps
    if errors:
        raise ValidationError(errors)
    return {
        **out,
        "excluded_brands": brands,
        "max_term_days": t.max_term_days,
        "currency": currency,
        "revenue_share_bps": t.revenue_share_bps,
        "max_works": t.max_works,
        "max_seconds": t.max_seconds,
        "requires_approval": t.requires_approval,
        "exclusive": t.exclusive,
        "measured_only": bool(t.measured_only),
        "verified_brands_only": bool(t.verified_brands_only),
    }


@transaction.atomic
def offer_publish(*, actor: User, voice: VoiceModel, title: str, offer_terms: OfferTerms) -> Offer:
    require_power(actor, voice.performer, Delegation.Power.PUBLISH_OFFERS)
    if voice.status != VoiceModel.Status.ACTIVE:
        raise ValidationError({"voice": ["Offers are published on active voices only."]})
    if not title.strip():
        raise ValidationError({"title": ["Give the offer a title."]})
    checked = _checked_terms(voice, offer_terms)
    offer = Offer.objects.create(voice=voice, title=title.strip()[:120], created_by=actor)
    OfferVersion.objects.create(offer=offer, number=1, created_by=actor, **checked)
    return offer


@transaction.atomic
def offer_revise(*, actor: User, offer: Offer, offer_terms: OfferTerms) -> OfferVersion:
    """New terms for new requests; licenses already granted keep their version."""
    offer = Offer.objects.select_for_update().get(pk=offer.pk)
    require_power(actor, offer.voice.performer, Delegation.Power.PUBLISH_OFFERS)
    if offer.status != Offer.Status.PUBLISHED:
        raise ValidationError({"offer": ["A withdrawn offer cannot be revised."]})
    checked = _checked_terms(offer.voice, offer_terms)
    number = offer.versions.count() + 1
    return OfferVersion.objects.create(offer=offer, number=number, created_by=actor, **checked)


@transaction.atomic
def offer_withdraw(*, actor: User, offer: Offer) -> Offer:
    offer = Offer.objects.select_for_update().get(pk=offer.pk)
    require_power(actor, offer.voice.performer, Delegation.Power.PUBLISH_OFFERS)
    offer.status = Offer.Status.WITHDRAWN
    offer.save(update_fields=["status"])
    return offer


# --- requests ------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestInput:
    campaign: str
    product: str
    script_summary: str
    uses: list[str]
    territories: list[str]
    languages: list[str]
    media: list[str]
    valid_from: date
    valid_until: date
    channels: str = ""
    exclusive: bool = False


def _require_consent(voice: VoiceModel) -> None:
    """Nothing new is licensed on a voice whose consent has ended (even in the minutes
    before the periodic task records the end)."""
    if voice.current_consent() is None:
        raise RuleRefused(
            "consent-expired",
            {
                "voice": [
                    f"The consent for {voice.display_name} has ended or was withdrawn; no new "
                    "license is issued on it until consent is given again."
                ]
            },
        )


def _transition(req: LicenseRequest, to: str, actor: User | None, note: str = "") -> None:
    RequestTransition.objects.create(
        request=req, from_status=req.status, to_status=to, actor=actor, note=note[:500]
    )
    req.status = to


def _exclusivity_conflicts(
    *,
    voice: VoiceModel,
    brand: Brand,
    uses: list[str],
    territories: list[str],
    valid_from: date,
    valid_until: date,
    exclusive: bool,
) -> list[License]:
    """Licenses of other brands on this voice that overlap in use, territory and time, where
    either side is exclusive."""
    candidates = License.objects.filter(voice=voice, revoked=False).exclude(brand=brand)
    if not exclusive:
        candidates = candidates.filter(exclusive=True)
    return [
        lic
        for lic in candidates.filter(valid_until__gte=valid_from, valid_from__lte=valid_until)
        if set(lic.uses) & set(uses) and terms.territories_overlap(lic.territories, territories)
    ]


def _check_post_mortem_term(voice: VoiceModel, valid_until: date) -> None:
    """No license runs past the end of a late performer's post-mortem term: after it the
    estate has no right in the voice to license."""
    until = post_mortem_until(voice.performer)
    if until is not None and valid_until > until:
        raise RuleRefused(
            "post-mortem-term",
            {
                "valid_until": [
                    f"The estate's post-mortem right in this voice ends on {until}; a license "
                    f"may run until then at the latest."
                ]
            },
        )


def _check_request(version: OfferVersion, data: RequestInput) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    voice = version.offer.voice
    for name in ("campaign", "product", "script_summary"):
        if not str(getattr(data, name)).strip():
            errors[name] = ["Describe the intended use specifically."]

    def within(field: str, parse: Any, outside: Any, message: str) -> list[str]:
        """Parse a field, then name what lies outside the offer; record either error."""
        try:
            values: list[str] = parse()
        except ValidationError as exc:
            errors.update(exc.message_dict)
            return []
        beyond = outside(values)
        if beyond:
            errors[field] = [f"{message}: {', '.join(beyond)}."]
        return values

    uses = within(
        "uses",
        lambda: _codes(data.uses, USE_CODES, "uses"),
        lambda vs: [u for u in vs if u not in version.uses],
        "Not allowed by this offer",
    )
    territories = within(
        "territories",
        lambda: territory_codes(data.territories),
        lambda vs: terms.territories_cover(version.territories, vs),
        "Outside this offer's territories",
    )
    languages = within(
        "languages",
        lambda: validation.language_tags(data.languages),
        lambda vs: [t for t in vs if not terms.language_covered(version.languages, t)],
        "Not offered in",
    )
    media = within(
        "media",
        lambda: _codes(data.media, MEDIA_CODES, "media"),
        lambda vs: [m for m in vs if m not in version.media],
        "Not allowed by this offer",
    )
    if data.valid_until < data.valid_from:
        errors["valid_until"] = ["The term ends before it starts."]
    else:
        days = terms.term_days(data.valid_from, data.valid_until)
        limit = min(version.max_term_days, max_term_for(voice))
        if days > limit:
            errors["valid_until"] = [
                f"The term is {days} days; this offer allows at most {limit} days"
                + (" (5 years for a minor's voice)." if voice.performer.is_minor else ".")
            ]
    if data.valid_until < timezone.now().date():
        errors.setdefault("valid_until", []).append("The term has already ended.")
    if data.exclusive and not version.exclusive:
        errors["exclusive"] = ["This offer does not grant exclusivity."]
    if errors:
        raise ValidationError(errors)
    _check_post_mortem_term(voice, data.valid_until)
    return {"uses": uses, "territories": territories, "languages": languages, "media": media}


@transaction.atomic
def request_submit(
    *, actor: User, brand: Brand, offer: Offer, data: RequestInput
) -> LicenseRequest:
    if not is_brand_member(actor, brand):
        raise PermissionDenied("You are not a member of this brand.")
    if offer.status != Offer.Status.PUBLISHED or offer.voice.status != VoiceModel.Status.ACTIVE:
        raise ValidationError({"offer": ["This offer is not open."]})
    _require_consent(offer.voice)
    version = offer.current
    if version.verified_brands_only and brand.verification() is None:
        raise RuleRefused(
            "brand-unverified",
            {
                "brand": [
                    f"This offer accepts requests from verified brands only, and {brand.name} "
                    "has not verified its legal name and domain yet. An owner of the brand "
                    "verifies it from the brand's page (or POST "
                    f"/api/v1/brands/{brand.pk}/verification), then asks again."
                ]
            },
        )
    checked = _check_request(version, data)
    exclusive = data.exclusive or version.exclusive
    conflicts = _exclusivity_conflicts(
        voice=offer.voice,
        brand=brand,
        uses=checked["uses"],
        territories=checked["territories"],
        valid_from=data.valid_from,
        valid_until=data.valid_until,
        exclusive=exclusive,
    )
    if conflicts:
        raise ValidationError(
            {
                "exclusive": [
                    "An exclusive license overlaps this use, territory and term: "
                    + ", ".join(c.license_id for c in conflicts)
                ]
            }
        )
    req = LicenseRequest.objects.create(
        brand=brand,
        offer_version=version,
        requested_by=actor,
        campaign=data.campaign.strip()[:200],
        product=data.product.strip()[:200],
        script_summary=data.script_summary.strip(),
        channels=data.channels.strip()[:300],
        valid_from=data.valid_from,
        valid_until=data.valid_until,
        exclusive=exclusive,
        expires_at=timezone.now() + REQUEST_LIFETIME,
        **checked,
    )
    RequestTransition.objects.create(request=req, to_status=req.status, actor=actor)
    if not version.requires_approval:
        _after_approval(req, actor=None, note="approved automatically by the offer")
    else:
        _notify_performer(req, f"New license request from {brand.name}", _request_summary(req))
    return req


def _after_approval(req: LicenseRequest, *, actor: User | None, note: str) -> None:
    _transition(req, LicenseRequest.Status.APPROVED, actor, note)
    _transition(req, LicenseRequest.Status.AWAITING_PAYMENT, None)
    req.save(update_fields=["status"])
    if amount_due(req) == 0:
        license_issue(request=req, payment_ref="no-fee")


def amount_due(req: LicenseRequest) -> int:
    """What the brand pays before the license is issued: the upfront fee, and the minimum
    guarantee, which is prepaid and held as an advance that works draw down."""
    version = req.offer_version
    return version.upfront_fee + version.minimum_guarantee


def _locked_request(req: LicenseRequest) -> LicenseRequest:
    return (
        LicenseRequest.objects.select_for_update()
        .select_related("offer_version__offer__voice__performer", "brand")
        .get(pk=req.pk)
    )


@transaction.atomic
def request_decide(
    *, actor: User, request: LicenseRequest, approve: bool, note: str = ""
) -> LicenseRequest:
    req = _locked_request(request)
    require_power(actor, req.voice.performer, Delegation.Power.APPROVE_REQUESTS)
    if req.status != LicenseRequest.Status.SUBMITTED:
        raise ValidationError(
            {"status": [f"This request is {req.status}; only a submitted one is decided."]}
        )
    if approve:
        _after_approval(req, actor=actor, note=note)
    else:
        _transition(req, LicenseRequest.Status.DECLINED, actor, note)
        req.decision_note = note[:500]
        req.save(update_fields=["status", "decision_note"])
    _notify_brand(
        req.brand, f"Your license request was {'approved' if approve else 'declined'}", note
    )
    return req


@transaction.atomic
def request_withdraw(*, actor: User, request: LicenseRequest) -> LicenseRequest:
    req = _locked_request(request)
    if not is_brand_member(actor, req.brand):
        raise PermissionDenied("Only the brand withdraws its request.")
    if req.status not in LicenseRequest.OPEN:
        raise ValidationError(
            {"status": [f"This request is {req.status}; it can no longer be withdrawn."]}
        )
    _transition(req, LicenseRequest.Status.WITHDRAWN, actor)
    req.save(update_fields=["status"])
    return req


def requests_expire(*, now: datetime | None = None) -> int:
    """Lapse open requests nobody acted on. Safe to run twice: each row is claimed once."""
    now = now or timezone.now()
    expired = 0
    for pk in LicenseRequest.objects.filter(
        status__in=LicenseRequest.OPEN, expires_at__lt=now
    ).values_list("pk", flat=True):
        with transaction.atomic():
            req = LicenseRequest.objects.select_for_update().get(pk=pk)
            if req.status in LicenseRequest.OPEN and req.expires_at < now:
                _transition(req, LicenseRequest.Status.EXPIRED, None, "no action in time")
                req.save(update_fields=["status"])
                expired += 1
    return expired


# --- issuance ------------------------------------------------------------------------


def build_document(*, license_id: str, req: LicenseRequest, issued_at: datetime) -> dict[str, Any]:
    version = req.offer_version
    voice = req.voice
    performer = voice.performer
    verified = req.brand.verification()
    union = union_breakdown_of_version(version)
    return license_document(
        license_id=license_id,
        issuer=settings.TIMBRE_ORIGIN,
        issued_at=issued_at,
        voice=(str(voice.pk), voice.display_name, voice.model_sha256),
        performer=(str(performer.pk), performer.stage_name),
        licensee=(str(req.brand.pk), req.brand.name),
        uses=req.uses,
        excluded_content=version.excluded_content,
        excluded_brands=version.excluded_brands,
        territories=req.territories,
        languages=req.languages,
        media=req.media,
        valid_from=req.valid_from,
        valid_until=req.valid_until,
        max_works=version.max_works,
        max_seconds=version.max_seconds,
        exclusive=req.exclusive,
        measured_only=version.measured_only,
        currency=version.currency,
        upfront_fee=version.upfront_fee,
        per_work=version.per_work,
        per_second=version.per_second,
        revenue_share_bps=version.revenue_share_bps,
        minimum_guarantee=version.minimum_guarantee,
        licensee_verified=(
            (verified.legal_name, verified.domain, verified.method) if verified else None
        ),
        union=None if union is None else (union.code, union.name, union.pension_health_bps),
    )


@dataclass(frozen=True)
class UnionBreakdown:
    """What a work costs the brand under a union agreement: the price per work, and the
    pension and health charged on top of it (what request forms and license pages show;
    per-second and revenue-share parts of a price carry it at the same rate)."""

    code: str
    name: str
    pension_health_bps: int
    currency: str
    per_work: int

    @property
    def pension_health(self) -> int:
        return rules_pension_health(self.per_work, self.pension_health_bps)

    @property
    def total(self) -> int:
        return self.per_work + self.pension_health

    @property
    def percent(self) -> str:
        return f"{Decimal(self.pension_health_bps) / 100:f}".rstrip("0").rstrip(".")


def union_breakdown_of_version(version: OfferVersion) -> UnionBreakdown | None:
    """As the version was published (the agreement's terms then, not today's)."""
    if version.union_agreement_id is None or version.union_pension_health_bps is None:
        return None
    return UnionBreakdown(
        version.union_code,
        version.union_name,
        version.union_pension_health_bps,
        version.currency,
        version.per_work,
    )


def union_breakdown_of_license(lic: License) -> UnionBreakdown | None:
    """As the license's signed terms state it (the rate it was signed with)."""
    royalty = lic.document["royalty"]
    union = royalty.get("union")
    if union is None:
        return None
    return UnionBreakdown(
        union["agreement"],
        union["name"],
        int(union["pension_health_bps"]),
        royalty["currency"],
        int(royalty["per_work"]),
    )


@transaction.atomic
def license_issue(*, request: LicenseRequest, payment_ref: str) -> License:
    """The only way a license comes to exist: after a confirmed payment (or no fee)."""
    req = _locked_request(request)
    existing = License.objects.filter(request=req).first()
    if existing is not None:
        return existing  # a second confirmation of the same payment changes nothing
    if req.status != LicenseRequest.Status.AWAITING_PAYMENT:
        raise ValidationError({"status": [f"This request is {req.status}, not awaiting payment."]})
    if not payment_ref.strip():
        raise ValidationError({"payment_ref": ["Record the payment's reference."]})
    voice = VoiceModel.objects.select_for_update().get(pk=req.voice.pk)
    if voice.status != VoiceModel.Status.ACTIVE:
        raise ValidationError({"voice": ["The voice is not active; no license can be issued."]})
    _require_consent(voice)
    # A death recorded after the request was approved: its term binds the issue too.
    _check_post_mortem_term(voice, req.valid_until)
    conflicts = _exclusivity_conflicts(
        voice=voice,
        brand=req.brand,
        uses=req.uses,
        territories=req.territories,
        valid_from=req.valid_from,
        valid_until=req.valid_until,
        exclusive=req.exclusive,
    )
    if conflicts:
        raise ValidationError(
            {
                "exclusive": [
                    "An exclusive license was granted meanwhile: "
                    + ", ".join(c.license_id for c in conflicts)
                ]
            }
        )
    signing_key, private_key = active_signer()
    license_id = new_id("lic")
    issued_at = timezone.now()
    document = build_document(license_id=license_id, req=req, issued_at=issued_at)
    token = sign_jws(document, private_key, signing_key.kid, TYP_LICENSE)
    digest = hashlib.sha256(token.encode("ascii")).hexdigest()
    entry = log_append_one(
        item=event(
            "license.issued",
            license_id=license_id,
            jws_sha256=digest,
            kid=signing_key.kid,
            voice_id=str(voice.pk),
            licensee_id=str(req.brand.pk),
        )
    )
    lic = License.objects.create(
        license_id=license_id,
        request=req,
        brand=req.brand,
        voice=voice,
        offer_version=req.offer_version,
        document=document,
        jws=token,
        jws_sha256=digest,
        signing_key=signing_key,
        log_index=entry.index,
        valid_from=req.valid_from,
        valid_until=req.valid_until,
        uses=req.uses,
        territories=req.territories,
        exclusive=req.exclusive,
        payment_ref=payment_ref.strip()[:200],
        issued_at=issued_at,
    )
    _transition(req, LicenseRequest.Status.ISSUED, None, f"payment {payment_ref.strip()[:100]}")
    req.save(update_fields=["status"])
    _notify_brand(
        req.brand, f"License {license_id} issued", "Download it from your brand dashboard."
    )
    _notify_performer(
        req, f"License {license_id} issued to {req.brand.name}", _request_summary(req)
    )
    return lic


@transaction.atomic
def license_settle_manually(
    *, operator: User, request: LicenseRequest, invoice_ref: str
) -> License:
    """An operator records that the brand paid the upfront fee's invoice.

    This issues the license only; ``payments.fees.fee_settle_manually`` is what
    operators use, and it also books the money in the ledger."""
    if not operator.is_staff:
        raise PermissionDenied("Only an operator settles invoices.")
    return license_issue(request=request, payment_ref=f"invoice:{invoice_ref.strip()}")


# --- revocation ----------------------------------------------------------------------

REVOCATION_REASONS = {
    "breach": "performer",
    "consent_withdrawn": "performer",
    "surrender": "brand",
    "operator": "operator",
}


@transaction.atomic
def license_revoke(*, actor: User | None, license: License, reason: str, note: str = "") -> License:
    # FOR NO KEY UPDATE, of the license's row only: rows that point at the license
    # (works, usage, postings) take KEY SHARE locks on it as they are written, and must
    # not wait on a revocation, nor make it wait.
    lic = (
        License.objects.select_for_update(no_key=True, of=("self",))
        .select_related("voice__performer", "brand")
        .get(pk=license.pk)
    )
    role = REVOCATION_REASONS.get(reason)
    if role is None:
        raise ValidationError({"reason": [f"Choose one of: {', '.join(REVOCATION_REASONS)}."]})
    if actor is not None and role == "performer" and not actor.is_staff:
        # Revoking for breach is the performer's act, or a delegate's with that power.
        require_power(actor, lic.voice.performer, Delegation.Power.MANAGE_VOICES)
    allowed = actor is None or (
        (role == "performer" and can_manage_voice(actor, lic.voice))
        or (role == "brand" and is_brand_member(actor, lic.brand))
        or (role == "operator" and actor.is_staff)
        or (actor.is_staff and reason != "surrender")
    )
    if not allowed:
        raise PermissionDenied(
            "Performers and their representatives revoke for breach or withdrawn consent, the "
            "brand surrenders, an operator revokes for any reason."
        )
    if lic.revoked:
        raise ValidationError({"status": ["This license is already revoked."]})
    entry = log_append_one(
        item=event(
            "license.revoked", license_id=lic.license_id, reason=reason, jws_sha256=lic.jws_sha256
        )
    )
    lic.revoked = True
    lic.revoked_at = timezone.now()
    lic.revoked_by = actor
    lic.revocation_reason = reason
    lic.revocation_note = note[:500]
    lic.revocation_log_index = entry.index
    lic.save(
        update_fields=[
            "revoked",
            "revoked_at",
            "revoked_by",
            "revocation_reason",
            "revocation_note",
            "revocation_log_index",
        ]
    )
    return lic


def licenses_revoke_for_withdrawn_consent(*, voice: VoiceModel, actor: User, reason: str) -> None:
    """Registered with the registry: consent withdrawn ends every live license on the voice,
    and each licensee is told."""
    for lic in License.objects.filter(voice=voice, revoked=False).select_related("brand"):
        license_revoke(actor=None, license=lic, reason="consent_withdrawn", note=reason)
        _notify_brand(
            lic.brand,
            f"License {lic.license_id} revoked: consent withdrawn",
            f"The performer's side withdrew consent for the voice {voice.display_name}. "
            f"License {lic.license_id} is revoked: record no new work with it, and stop "
            "using works made under it wherever the law or your contract requires.",
        )


def licensees_tell_consent_expired(*, voice: VoiceModel) -> None:
    """Registered with the registry: consent ended; every licensee with a live license on
    the voice is told that no new work may be recorded until it is renewed."""
    for lic in License.objects.filter(voice=voice, revoked=False).select_related("brand"):
        _notify_brand(
            lic.brand,
            f"License {lic.license_id} paused: the voice's consent ended",
            f"The consent for the voice {voice.display_name} reached the end of its term. "
            f"No new work may be recorded under license {lic.license_id} until the "
            "performer's side renews it; you will be able to record again then.",
        )


# --- notifications -----------------------------------------------------------------


def _request_summary(req: LicenseRequest) -> str:
    return (
        f"Brand: {req.brand.name}\nVoice: {req.voice.display_name}\nCampaign: {req.campaign}\n"
        f"Product: {req.product}\nUses: {', '.join(req.uses)}\n"
        f"Territories: {', '.join(req.territories)}\nTerm: {req.valid_from} to {req.valid_until}\n"
    )


def _send(recipients: list[str], subject: str, body: str) -> None:
    hooks.send_after_commit(recipients, subject, body)


def _notify_performer(req: LicenseRequest, subject: str, body: str) -> None:
    _send(voice_side_emails(req.voice.performer), subject, body)


def _notify_brand(brand: Brand, subject: str, body: str) -> None:
    """Every member of the brand."""
    _send(list(brand.memberships.values_list("user__email", flat=True)), subject, body)


# --- holds (suspension for money reasons) ---------------------------------------------


@transaction.atomic
def license_hold(*, license: License, reason: str, ref: str) -> License:
    """Suspend a license until the cause is cured. Holding twice for one cause is a no-op."""
    lic = License.objects.select_for_update(no_key=True).get(pk=license.pk)
    if not lic.holds.filter(reason=reason, ref=ref, released_at__isnull=True).exists():
        hold = LicenseHold.objects.create(license=lic, reason=reason, ref=ref)
        # The log names the hold by its number and its reason's class; the cause's own
        # reference (a dispute, an invoice) is the brand's business, not the public's.
        entry = log_append_one(
            item=event(
                "license.held", license_id=lic.license_id, hold_id=str(hold.pk), reason=reason
            )
        )
        hold.log_index = entry.index
        hold.save(update_fields=["log_index"])
    if not lic.on_hold:
        lic.on_hold = True
        lic.save(update_fields=["on_hold"])
    return lic


@transaction.atomic
def license_release(*, license: License, reason: str, ref: str) -> License:
    """Lift the hold of one cause; the license is live again once no hold is left."""
    lic = License.objects.select_for_update(no_key=True).get(pk=license.pk)
    for hold in lic.holds.filter(reason=reason, ref=ref, released_at__isnull=True):
        entry = log_append_one(
            item=event(
                "license.released", license_id=lic.license_id, hold_id=str(hold.pk), reason=reason
            )
        )
        hold.released_at = timezone.now()
        hold.released_log_index = entry.index
        hold.save(update_fields=["released_at", "released_log_index"])
    still_held = lic.holds.filter(released_at__isnull=True).exists()
    if lic.on_hold != still_held:
        lic.on_hold = still_held
        lic.save(update_fields=["on_hold"])
    return lic


def brand_licenses_hold(*, brand_id: int, reason: str, ref: str) -> int:
    """Suspend every license of a brand not revoked (its usage invoice is overdue or its
    payment disputed); returns how many were not already held for this cause."""
    held = 0
    for lic in License.objects.filter(brand_id=brand_id, revoked=False):
        if not lic.holds.filter(reason=reason, ref=ref, released_at__isnull=True).exists():
            license_hold(license=lic, reason=reason, ref=ref)
            held += 1
    return held


def holds_release(*, reason: str, ref: str) -> None:
    """Lift every open hold of this cause (one license's, or all of a brand's)."""
    for hold in LicenseHold.objects.filter(
        reason=reason, ref=ref, released_at__isnull=True
    ).select_related("license"):
        license_release(license=hold.license, reason=reason, ref=ref)
