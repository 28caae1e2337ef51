"""Input and output shapes of the registry API. Plain serializers: no logic, no writes."""

from __future__ import annotations

from django.conf import settings
from rest_framework import serializers

from registry.models import (
    USE_CHOICES,
    BrandVerification,
    ConsentRecord,
    Delegation,
    IdentityVerification,
    Performer,
    VoiceModel,
)


class PerformerOut(serializers.Serializer):
    id = serializers.CharField(source="pk")
    slug = serializers.CharField()
    stage_name = serializers.CharField()
    is_living = serializers.BooleanField()
    is_minor = serializers.BooleanField()
    identity = serializers.SerializerMethodField(
        help_text="identity_verified, authority_verified (a representative's, for a late "
        "performer or a minor), or null"
    )

    def get_identity(self, performer: Performer) -> str | None:
        standing = performer.identity_standing()
        return f"{standing}_verified" if standing else None


class VoiceOut(serializers.Serializer):
    id = serializers.CharField(source="pk")
    slug = serializers.CharField()
    display_name = serializers.CharField()
    description = serializers.CharField()
    languages = serializers.ListField(child=serializers.CharField())
    styles = serializers.ListField(child=serializers.CharField())
    uses = serializers.ListField(child=serializers.CharField())
    provider = serializers.CharField()
    provider_ref = serializers.CharField()
    model_sha256 = serializers.CharField()
    status = serializers.ChoiceField(choices=VoiceModel.Status.choices)
    minor_voice = serializers.BooleanField(source="is_minor_voice")
    max_license_years = serializers.IntegerField()
    performer = PerformerOut()
    sample_url = serializers.SerializerMethodField()
    sample_duration_ms = serializers.IntegerField(allow_null=True)
    sample_sha256 = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_sample_url(self, voice: VoiceModel) -> str | None:
        if not voice.sample_audio:
            return None
        request = self.context.get("request")
        path = f"/voices/{voice.slug}/sample"
        return request.build_absolute_uri(path) if request else path


class _Strings(serializers.ListField):
    child = serializers.CharField(max_length=60)


class VoiceCreateIn(serializers.Serializer):
    performer = serializers.IntegerField(
        required=False, help_text="The performer's id; defaults to you when you are one."
    )
    display_name = serializers.CharField(max_length=120)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    languages = _Strings(min_length=1, max_length=20, help_text="BCP 47 tags, e.g. en-US.")
    styles = _Strings(required=False, max_length=12, default=list)
    uses = serializers.ListField(
        child=serializers.ChoiceField(choices=USE_CHOICES), required=False, default=list
    )
    provider = serializers.CharField(max_length=100)
    provider_ref = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default=""
    )
    model_sha256 = serializers.CharField(
        max_length=64, required=False, help_text="SHA-256 of the model artefact, hex."
    )
    model_file = serializers.FileField(required=False, help_text="Or the artefact, to be hashed.")
    sample_audio = serializers.FileField(required=False, help_text="WAV, MP3 or Ogg.")


class VoiceUpdateIn(serializers.Serializer):
    display_name = serializers.CharField(max_length=120, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    languages = _Strings(min_length=1, max_length=20, required=False)
    styles = _Strings(required=False, max_length=12)
    uses = serializers.ListField(child=serializers.ChoiceField(choices=USE_CHOICES), required=False)
    provider_ref = serializers.CharField(max_length=200, required=False, allow_blank=True)
    sample_audio = serializers.FileField(required=False)


class ConsentIn(serializers.Serializer):
    statement_version = serializers.CharField(max_length=40)
    accept = serializers.BooleanField(help_text="Must be true: you have read the statement.")
    consent_audio = serializers.FileField(required=False)
    term_years = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=settings.TIMBRE_CONSENT_MAX_YEARS,
        help_text="How many years the consent lasts (default TIMBRE_CONSENT_DEFAULT_YEARS). "
        "A guardian's consent also ends on the performer's 18th birthday.",
    )

    def validate_accept(self, value: bool) -> bool:
        if not value:
            raise serializers.ValidationError("Consent must be accepted explicitly.")
        return value


class ConsentWithdrawIn(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class ConsentOut(serializers.Serializer):
    id = serializers.CharField(source="pk")
    statement_version = serializers.CharField()
    statement_sha256 = serializers.CharField()
    given_as = serializers.ChoiceField(choices=ConsentRecord.GivenAs.choices)
    given_at = serializers.DateTimeField()
    term_years = serializers.IntegerField()
    expires_at = serializers.DateTimeField()
    renews = serializers.CharField(source="renews_id", allow_null=True)
    withdrawn_at = serializers.DateTimeField(allow_null=True)


class ConsentStatementOut(serializers.Serializer):
    statement_version = serializers.CharField()
    statement_text = serializers.CharField()
    current = ConsentOut(allow_null=True)


class StatusIn(serializers.Serializer):
    status = serializers.ChoiceField(choices=VoiceModel.Status.choices)
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class BrandOut(serializers.Serializer):
    id = serializers.CharField(source="pk")
    slug = serializers.CharField()
    name = serializers.CharField()
    country = serializers.CharField(source="country.code")


class ApiKeyOut(serializers.Serializer):
    name = serializers.CharField()
    prefix = serializers.CharField()
    owner_kind = serializers.CharField()
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)


class MeOut(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["user", "api_key"])
    email = serializers.EmailField(required=False)
    display_name = serializers.CharField(required=False)
    performer = PerformerOut(required=False, allow_null=True)
    represents = PerformerOut(many=True, required=False)
    brands = BrandOut(many=True, required=False)
    auditor = serializers.BooleanField()
    api_key = ApiKeyOut(required=False)
    brand = BrandOut(required=False, allow_null=True)


class DelegationIn(serializers.Serializer):
    performer = serializers.IntegerField(help_text="The performer's id (you consent for them).")
    representative = serializers.IntegerField(help_text="The representative's id.")
    powers = serializers.ListField(
        child=serializers.ChoiceField(choices=Delegation.Power.choices),
        min_length=1,
        max_length=len(Delegation.Power.values),
    )
    ends_on = serializers.DateField(help_text="The last day the delegation holds.")


class DelegationOut(serializers.Serializer):
    id = serializers.CharField(source="pk")
    performer = serializers.CharField(source="performer_id")
    representative = serializers.CharField(source="representative_id")
    powers = serializers.ListField(child=serializers.CharField())
    starts_at = serializers.DateTimeField()
    ends_on = serializers.DateField()
    revoked_at = serializers.DateTimeField(allow_null=True)
    log_index = serializers.IntegerField(allow_null=True)
    revoked_log_index = serializers.IntegerField(allow_null=True)


class BrandVerificationIn(serializers.Serializer):
    # Blank and untrimmed here: the service checks both fields and names every problem.
    legal_name = serializers.CharField(
        max_length=300,
        allow_blank=True,
        trim_whitespace=False,
        help_text="The brand's registered legal name, e.g. Northwind Coffee LLC.",
    )
    domain = serializers.CharField(
        max_length=1100,
        allow_blank=True,
        trim_whitespace=False,
        help_text="A domain the brand controls, e.g. northwind.example (IDNA allowed).",
    )


class VerifiedClaimOut(serializers.Serializer):
    legal_name = serializers.CharField()
    domain = serializers.CharField(help_text="ASCII (IDNA A-label) form, as in licenses.")
    domain_display = serializers.CharField(help_text="As people read it (Unicode).")
    method = serializers.ChoiceField(choices=BrandVerification.Method.choices)
    verified_at = serializers.DateTimeField()
    log_index = serializers.IntegerField(allow_null=True, help_text="The brand.verified entry.")


class PendingClaimOut(serializers.Serializer):
    legal_name = serializers.CharField()
    domain = serializers.CharField()
    domain_display = serializers.CharField()
    txt_name = serializers.CharField(help_text="Publish a TXT record at this name ...")
    txt_value = serializers.CharField(help_text="... with exactly this value.")
    created_at = serializers.DateTimeField()
    last_checked_at = serializers.DateTimeField(allow_null=True)
    last_outcome = serializers.CharField(
        help_text="found, nxdomain, no_txt, wrong_token, timeout, failed, or empty"
    )
    email_sent_to = serializers.CharField(help_text="Where the last e-mailed link went, if any")
    email_sent_at = serializers.DateTimeField(allow_null=True)


class BrandVerificationOut(serializers.Serializer):
    brand_id = serializers.CharField()
    verified = serializers.BooleanField()
    verification = VerifiedClaimOut(allow_null=True)
    pending = PendingClaimOut(allow_null=True)


class BrandEmailIn(serializers.Serializer):
    mailbox = serializers.CharField(
        max_length=40, help_text="admin, administrator, webmaster, hostmaster or postmaster"
    )


class IdentityChallengeOut(serializers.Serializer):
    id = serializers.CharField(source="pk")
    text = serializers.CharField(help_text="Record yourself reading this sentence aloud.")
    issued_at = serializers.DateTimeField()


class IdentitySubmissionOut(serializers.Serializer):
    id = serializers.CharField(source="pk")
    status = serializers.ChoiceField(choices=IdentityVerification.Status.choices)
    challenge_text = serializers.CharField()
    recording_sha256 = serializers.CharField()
    document_sha256 = serializers.CharField()
    submitted_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)
    reason = serializers.CharField(help_text="Why an operator refused it.")


class IdentityOut(serializers.Serializer):
    state = serializers.ChoiceField(choices=["unverified", "pending", "verified", "refused"])
    verified_at = serializers.DateTimeField(allow_null=True)
    challenge = IdentityChallengeOut(
        allow_null=True, help_text="The sentence to record now (none once verified)."
    )
    submission = IdentitySubmissionOut(allow_null=True, help_text="The latest submission.")


class IdentityIn(serializers.Serializer):
    challenge = serializers.IntegerField(help_text="The id of the challenge you recorded.")
    recording = serializers.FileField(help_text="WebM, Ogg, WAV or MP3 audio.")
    document = serializers.FileField(help_text="PDF, PNG or JPEG identity document.")
