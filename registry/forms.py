from __future__ import annotations

import secrets
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django_countries.fields import CountryField

from registry.brand_domains import EMAIL_MAILBOXES
from registry.models import (
    USE_CHOICES,
    Authority,
    Delegation,
    Performer,
    Representative,
    User,
)
from registry.services import CONSENT_STATEMENT_VERSION, ROLES


class SignUpForm(forms.Form):
    ROLE_CHOICES = [
        ("performer", "I am a performer: I register my own voice"),
        ("representative", "I represent performers: agent, estate executor or guardian"),
        ("brand", "I license voices for a brand"),
        ("auditor", "I audit: I verify licenses and the log"),
    ]
    role = forms.ChoiceField(choices=ROLE_CHOICES, widget=forms.RadioSelect)
    display_name = forms.CharField(max_length=120, label="Your name")
    email = forms.EmailField()
    password = forms.CharField(widget=forms.PasswordInput, min_length=8)
    legal_name = forms.CharField(max_length=200, required=False, help_text="Performers")
    stage_name = forms.CharField(max_length=200, required=False, help_text="Performers")
    bio = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    adult = forms.BooleanField(
        required=False,
        label="I am 18 or older",
        help_text="Performers under 18 are registered by a guardian, whose consent counts "
        "until they turn 18.",
    )
    organisation = forms.CharField(
        max_length=200, required=False, help_text="Agency, estate or audit firm (optional)"
    )
    brand_name = forms.CharField(max_length=200, required=False)
    brand_country = CountryField(blank=True).formfield(required=False)
    billing_email = forms.EmailField(required=False)

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].lower()
        if User.objects.filter(email__iexact=email).exists():
            raise ValidationError("An account with this email already exists. Log in instead?")
        return email

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        role = data.get("role")
        assert role is None or role in ROLES
        if role == "performer":
            for name in ("legal_name", "stage_name"):
                if not data.get(name):
                    self.add_error(name, "Performers give their legal and stage names.")
            if not data.get("adult"):
                self.add_error(
                    "adult",
                    "Performers under 18 are registered by a guardian: ask them to add you "
                    "from their studio (Add a performer you represent).",
                )
        if role == "brand":
            for name in ("brand_name", "brand_country"):
                if not data.get(name):
                    self.add_error(name, "A brand needs a name and a country.")
        password = data.get("password")
        if password:
            try:
                password_validation.validate_password(password)
            except ValidationError as exc:
                self.add_error("password", exc)
        return data


class VoiceForm(forms.Form):
    performer = forms.ModelChoiceField(queryset=Performer.objects.none(), empty_label=None)
    display_name = forms.CharField(max_length=120, label="Voice name")
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False)
    languages = forms.CharField(
        max_length=300, help_text="BCP 47 tags separated by commas, e.g. en-US, es-419"
    )
    styles = forms.CharField(
        max_length=300, required=False, help_text="Words separated by commas, e.g. warm, gravelly"
    )
    uses = forms.MultipleChoiceField(
        choices=USE_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Uses you are open to licensing",
    )
    provider = forms.CharField(max_length=100, help_text="Who hosts the model, e.g. ElevenLabs")
    provider_ref = forms.CharField(max_length=200, required=False, label="Provider's voice id")
    model_sha256 = forms.CharField(
        max_length=64,
        required=False,
        label="Model SHA-256",
        help_text="The model artefact's SHA-256, or upload the artefact below",
    )
    model_file = forms.FileField(required=False, label="Model artefact (hashed, not kept)")
    sample_audio = forms.FileField(required=False, help_text="WAV, MP3 or Ogg, up to 20 MB")

    def __init__(self, *args: Any, performers: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["performer"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = performers


class VoiceEditForm(forms.Form):
    display_name = forms.CharField(max_length=120, label="Voice name")
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False)
    languages = forms.CharField(max_length=300, help_text="BCP 47 tags separated by commas")
    styles = forms.CharField(max_length=300, required=False)
    uses = forms.MultipleChoiceField(
        choices=USE_CHOICES, widget=forms.CheckboxSelectMultiple, required=False
    )
    provider_ref = forms.CharField(max_length=200, required=False, label="Provider's voice id")
    sample_audio = forms.FileField(required=False, help_text="Replace the sample (optional)")


class ConsentForm(forms.Form):
    statement_version = forms.CharField(widget=forms.HiddenInput, initial=CONSENT_STATEMENT_VERSION)
    accept = forms.BooleanField(label="I have read this statement and I consent", required=True)
    term_years = forms.TypedChoiceField(
        label="For how long",
        coerce=int,
        choices=[
            (n, f"{n} year{'s' if n != 1 else ''}")
            for n in range(1, settings.TIMBRE_CONSENT_MAX_YEARS + 1)
        ],
        initial=settings.TIMBRE_CONSENT_DEFAULT_YEARS,
        help_text="You will be reminded before it ends, and can renew it. A guardian's "
        "consent ends on the performer's 18th birthday in any case.",
    )
    consent_audio = forms.FileField(
        required=False, label="Recorded consent (optional: you reading the statement aloud)"
    )


class WithdrawConsentForm(forms.Form):
    reason = forms.CharField(max_length=300)


class StatusForm(forms.Form):
    status = forms.ChoiceField(
        choices=[("active", "active"), ("suspended", "suspended"), ("retired", "retired")]
    )
    reason = forms.CharField(max_length=300, required=False)


class RepresentedPerformerForm(forms.Form):
    legal_name = forms.CharField(max_length=200)
    stage_name = forms.CharField(max_length=200)
    bio = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    is_living = forms.BooleanField(required=False, initial=True, label="Living")
    is_minor = forms.BooleanField(required=False, label="Under 18")
    date_of_birth = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Required for a minor: your consent as guardian ends on their 18th birthday.",
    )
    kind = forms.ChoiceField(choices=Authority.Kind.choices, label="Your authority")
    evidence = forms.FileField(
        help_text="PDF, PNG or JPEG: mandate, letters testamentary, court order"
    )
    evidence_description = forms.CharField(max_length=300, required=False)


def _nonce() -> str:
    return secrets.token_urlsafe(32)


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What will use it, e.g. 'render pipeline'")
    nonce = forms.CharField(widget=forms.HiddenInput, initial=_nonce, max_length=43, min_length=16)


class AuditGrantForm(forms.Form):
    performer = forms.ModelChoiceField(queryset=Performer.objects.none(), empty_label=None)
    auditor_email = forms.EmailField(
        label="Auditor's email",
        help_text="The email of their Timbre auditor account (a union, an accountant).",
    )

    def __init__(self, *args: Any, performers: QuerySet[Performer], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["performer"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = performers


class DelegationForm(forms.Form):
    performer = forms.ModelChoiceField(queryset=Performer.objects.none(), empty_label=None)
    representative = forms.ModelChoiceField(
        queryset=Representative.objects.none(),
        empty_label=None,
        help_text="Only representatives whose authority for you an operator verified.",
    )
    powers = forms.MultipleChoiceField(
        choices=Delegation.Power.choices, widget=forms.CheckboxSelectMultiple
    )
    ends_on = forms.DateField(
        label="Until (last day)",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="The delegation ends after this day; you can end it sooner at any time.",
    )

    def __init__(
        self,
        *args: Any,
        performers: QuerySet[Performer],
        representatives: QuerySet[Representative],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        for name, queryset in (("performer", performers), ("representative", representatives)):
            field = self.fields[name]
            assert isinstance(field, forms.ModelChoiceField)
            field.queryset = queryset


class BrandVerificationForm(forms.Form):
    legal_name = forms.CharField(
        max_length=300,
        help_text="Your company's registered legal name, as it should appear in licenses",
    )
    domain = forms.CharField(
        max_length=1100, help_text="A domain your company controls, e.g. northwind.example"
    )


class BrandEmailForm(forms.Form):
    mailbox = forms.ChoiceField(choices=[(m, m) for m in EMAIL_MAILBOXES], label="Send a link to")


class IdentityForm(forms.Form):
    challenge = forms.IntegerField(widget=forms.HiddenInput)
    recording = forms.FileField(
        label="Your recording of the sentence",
        help_text="Record it with the button above, or upload a WebM, Ogg, WAV or MP3 file.",
    )
    document = forms.FileField(
        label="Identity document",
        help_text="A passport, ID card or driving licence: PDF, PNG or JPEG, up to 10 MB. "
        "Only you and our operators can see it.",
    )


class IdentityDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Verify"), ("refuse", "Refuse")])
    reason = forms.CharField(
        max_length=500, required=False, help_text="Shown to the performer; needed to refuse."
    )
