from __future__ import annotations

from decimal import Decimal

from rest_framework import serializers

from core.money import MAX_AMOUNT
from licensing.models import EXCLUDED_CONTENT_CHOICES, MEDIA_CHOICES
from registry.models import USE_CHOICES


class OfferTermsIn(serializers.Serializer):
    uses = serializers.ListField(child=serializers.ChoiceField(choices=USE_CHOICES), min_length=1)
    excluded_content = serializers.ListField(
        child=serializers.ChoiceField(choices=EXCLUDED_CONTENT_CHOICES),
        required=False,
        default=list,
    )
    excluded_brands = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, default=list, max_length=50
    )
    territories = serializers.ListField(
        child=serializers.CharField(max_length=5), min_length=1, max_length=250
    )
    languages = serializers.ListField(
        child=serializers.CharField(max_length=35), min_length=1, max_length=50
    )
    media = serializers.ListField(
        child=serializers.ChoiceField(choices=MEDIA_CHOICES), min_length=1
    )
    max_term_days = serializers.IntegerField(min_value=1, max_value=100000)
    max_works = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)
    max_seconds = serializers.IntegerField(
        min_value=1, required=False, allow_null=True, default=None
    )
    currency = serializers.CharField(min_length=3, max_length=3)
    upfront_fee = serializers.IntegerField(min_value=0, max_value=MAX_AMOUNT)
    per_work = serializers.IntegerField(
        min_value=0, max_value=MAX_AMOUNT, required=False, default=0
    )
    per_second = serializers.DecimalField(
        max_digits=18,
        decimal_places=6,
        min_value=0,
        required=False,
        default=Decimal("0"),
        help_text="Minor units per second of audio, up to 6 decimal places",
    )
    revenue_share_bps = serializers.IntegerField(
        min_value=0, max_value=10000, required=False, default=0
    )
    minimum_guarantee = serializers.IntegerField(
        min_value=0, max_value=MAX_AMOUNT, required=False, default=0
    )
    requires_approval = serializers.BooleanField(required=False, default=True)
    exclusive = serializers.BooleanField(required=False, default=False)
    measured_only = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Only works recorded with their audio (which the registry measures)",
    )
    verified_brands_only = serializers.BooleanField(
        required=False,
        default=True,
        help_text=(
            "Only brands that verified their legal name and domain may request (default on)"
        ),
    )
    union_agreement = serializers.CharField(
        max_length=40,
        required=False,
        allow_blank=True,
        default="",
        help_text="The code of a union agreement the terms follow (its minimum fee per work "
        "applies; its pension and health is charged to the brand on top of each work's price)",
    )


class UnionAgreementOut(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    pension_health_bps = serializers.IntegerField()


class OfferIn(OfferTermsIn):
    title = serializers.CharField(max_length=120)


class OfferVersionOut(serializers.Serializer):
    number = serializers.IntegerField()
    uses = serializers.ListField(child=serializers.CharField())
    excluded_content = serializers.ListField(child=serializers.CharField())
    excluded_brands = serializers.ListField(child=serializers.CharField())
    territories = serializers.ListField(child=serializers.CharField())
    languages = serializers.ListField(child=serializers.CharField())
    media = serializers.ListField(child=serializers.CharField())
    max_term_days = serializers.IntegerField()
    max_works = serializers.IntegerField(allow_null=True)
    max_seconds = serializers.IntegerField(allow_null=True)
    currency = serializers.CharField()
    upfront_fee = serializers.IntegerField()
    per_work = serializers.IntegerField()
    per_second = serializers.DecimalField(max_digits=18, decimal_places=6)
    revenue_share_bps = serializers.IntegerField()
    minimum_guarantee = serializers.IntegerField()
    requires_approval = serializers.BooleanField()
    exclusive = serializers.BooleanField()
    measured_only = serializers.BooleanField()
    verified_brands_only = serializers.BooleanField()
    union_agreement = UnionAgreementOut(source="union_terms", allow_null=True)


class OfferOut(serializers.Serializer):
    id = serializers.CharField(source="pk")
    title = serializers.CharField()
    status = serializers.CharField()
    voice_id = serializers.CharField()
    voice_name = serializers.CharField(source="voice.display_name")
    terms = OfferVersionOut(source="current")


class RequestIn(serializers.Serializer):
    brand = serializers.IntegerField(
        required=False, help_text="Your brand's id (implied by an API key)"
    )
    campaign = serializers.CharField(max_length=200)
    product = serializers.CharField(max_length=200)
    script_summary = serializers.CharField(max_length=5000)
    channels = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    uses = serializers.ListField(
        child=serializers.CharField(max_length=30), min_length=1, max_length=20
    )
    territories = serializers.ListField(
        child=serializers.CharField(max_length=5), min_length=1, max_length=250
    )
    languages = serializers.ListField(
        child=serializers.CharField(max_length=35), min_length=1, max_length=50
    )
    media = serializers.ListField(
        child=serializers.CharField(max_length=30), min_length=1, max_length=20
    )
    valid_from = serializers.DateField()
    valid_until = serializers.DateField()
    exclusive = serializers.BooleanField(required=False, default=False)


class RequestOut(serializers.Serializer):
    id = serializers.CharField(source="pk")
    status = serializers.CharField()
    brand = serializers.CharField(source="brand.name")
    offer_id = serializers.CharField(source="offer_version.offer_id")
    offer_version = serializers.IntegerField(source="offer_version.number")
    voice_id = serializers.CharField(source="offer_version.offer.voice_id")
    campaign = serializers.CharField()
    product = serializers.CharField()
    script_summary = serializers.CharField()
    uses = serializers.ListField(child=serializers.CharField())
    territories = serializers.ListField(child=serializers.CharField())
    languages = serializers.ListField(child=serializers.CharField())
    media = serializers.ListField(child=serializers.CharField())
    valid_from = serializers.DateField()
    valid_until = serializers.DateField()
    exclusive = serializers.BooleanField()
    decision_note = serializers.CharField()
    expires_at = serializers.DateTimeField()
    license_id = serializers.SerializerMethodField()

    def get_license_id(self, req: object) -> str | None:
        lic = getattr(req, "license", None)
        return lic.license_id if lic is not None else None


class DecisionIn(serializers.Serializer):
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class RevokeIn(serializers.Serializer):
    reason = serializers.ChoiceField(
        choices=["breach", "consent_withdrawn", "surrender", "operator"]
    )
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class LicenseOut(serializers.Serializer):
    license_id = serializers.CharField()
    status = serializers.CharField(source="status_at")
    voice_id = serializers.CharField()
    brand = serializers.CharField(source="brand.name")
    valid_from = serializers.DateField()
    valid_until = serializers.DateField()
    log_index = serializers.IntegerField()
    issued_at = serializers.DateTimeField()
    kid = serializers.CharField(source="signing_key.kid")
    jws = serializers.CharField()
    document = serializers.JSONField()
    disclosure = serializers.CharField(source="document.terms.disclosure")


class LicenseStatusOut(serializers.Serializer):
    license_id = serializers.CharField()
    status = serializers.CharField(source="status_at")
    valid_from = serializers.DateField()
    valid_until = serializers.DateField()
    log_index = serializers.IntegerField()
    revoked_at = serializers.DateTimeField(allow_null=True)
    revocation_reason = serializers.CharField()
    revocation_log_index = serializers.IntegerField(allow_null=True)


class VerifyIn(serializers.Serializer):
    jws = serializers.JSONField(help_text="A compact JWS, or a list of up to 1000")


class VerifyInclusionOut(serializers.Serializer):
    tree_size = serializers.IntegerField()
    root_hash = serializers.CharField()
    proof = serializers.ListField(child=serializers.CharField())


class LicenseeVerifiedOut(serializers.Serializer):
    legal_name = serializers.CharField()
    domain = serializers.CharField(help_text="ASCII (IDNA A-label) form")
    method = serializers.CharField(help_text="dns, email or operator")


class VerdictOut(serializers.Serializer):
    valid = serializers.BooleanField()
    reason = serializers.CharField(allow_null=True)
    detail = serializers.CharField()
    kid = serializers.CharField(allow_null=True)
    key_status = serializers.CharField(allow_null=True)
    license_id = serializers.CharField(allow_null=True)
    license_status = serializers.CharField(allow_null=True)
    document = serializers.JSONField(allow_null=True)
    licensee_verified = LicenseeVerifiedOut(
        allow_null=True,
        help_text=(
            "The licensee's verified legal name and domain, as the signed license names them; "
            "null when the brand had not verified them when the license was issued"
        ),
    )
    log_index = serializers.IntegerField(allow_null=True)
    inclusion = VerifyInclusionOut(allow_null=True)


class VerifyOut(serializers.Serializer):
    results = VerdictOut(many=True)
