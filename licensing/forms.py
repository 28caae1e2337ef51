from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.db.models import QuerySet

from core.forms import split_list
from licensing.models import EXCLUDED_CONTENT_CHOICES, MEDIA_CHOICES, UnionAgreement
from registry.models import USE_CHOICES, Brand


class OfferForm(forms.Form):
    title = forms.CharField(max_length=120)
    uses = forms.MultipleChoiceField(choices=USE_CHOICES, widget=forms.CheckboxSelectMultiple)
    media = forms.MultipleChoiceField(choices=MEDIA_CHOICES, widget=forms.CheckboxSelectMultiple)  # type: ignore[assignment]  # the form metaclass moves fields to base_fields: form.media stays the Media
    excluded_content = forms.MultipleChoiceField(
        choices=EXCLUDED_CONTENT_CHOICES, widget=forms.CheckboxSelectMultiple, required=False
    )
    excluded_brands = forms.CharField(
        required=False, help_text="Competitor brands, comma-separated"
    )
    territories = forms.CharField(help_text="ISO country codes, comma-separated, or WORLD")
    languages = forms.CharField(help_text="BCP 47 tags, comma-separated, e.g. en, es-419")
    max_term_days = forms.IntegerField(min_value=1, label="Longest term (days)", initial=365)
    max_works = forms.IntegerField(min_value=1, required=False, label="Cap on works")
    max_seconds = forms.IntegerField(min_value=1, required=False, label="Cap on seconds of audio")
    currency = forms.CharField(max_length=3, initial="USD")
    upfront_fee = forms.IntegerField(min_value=0, help_text="In minor units (cents)")
    per_work = forms.IntegerField(min_value=0, initial=0, help_text="Minor units per work")
    per_second = forms.DecimalField(min_value=0, max_digits=18, decimal_places=6, initial=0)
    revenue_share_bps = forms.IntegerField(
        min_value=0, max_value=10000, initial=0, label="Revenue share (bps)"
    )
    minimum_guarantee = forms.IntegerField(min_value=0, initial=0, help_text="Minor units")
    requires_approval = forms.BooleanField(required=False, initial=True)
    exclusive = forms.BooleanField(required=False)
    measured_only = forms.BooleanField(
        required=False,
        label="Only measured works",
        help_text=(
            "Brands must record each work with its audio, so the registry measures how long "
            "it plays instead of taking their word; works with only a declared duration "
            "are refused"
        ),
    )

    verified_brands_only = forms.BooleanField(
        required=False,
        initial=True,
        label="Verified brands only",
        help_text=(
            "Only brands that proved control of their domain (and so their legal name) may "
            "request a license; their licenses name that legal name and domain"
        ),
    )
    union_agreement = forms.ModelChoiceField(
        queryset=UnionAgreement.objects.filter(active=True),
        required=False,
        to_field_name="code",
        label="Union agreement",
        help_text=(
            "Its minimum fee per work applies, and its pension & health is charged to the "
            "brand on top of each work's price (not taken from your share)"
        ),
    )

    def terms(self) -> dict[str, Any]:
        d = dict(self.cleaned_data)
        agreement = d.get("union_agreement")
        d["union_agreement"] = agreement.code if agreement is not None else ""
        d.pop("title")
        d["territories"] = split_list(d["territories"])
        d["languages"] = split_list(d["languages"])
        d["excluded_brands"] = split_list(d["excluded_brands"])
        return d


class RequestForm(forms.Form):
    brand: forms.ModelChoiceField[Brand] = forms.ModelChoiceField(queryset=None, empty_label=None)
    campaign = forms.CharField(max_length=200)
    product = forms.CharField(max_length=200)
    script_summary = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}))
    channels = forms.CharField(max_length=300, required=False)
    uses = forms.MultipleChoiceField(choices=USE_CHOICES, widget=forms.CheckboxSelectMultiple)
    media = forms.MultipleChoiceField(choices=MEDIA_CHOICES, widget=forms.CheckboxSelectMultiple)  # type: ignore[assignment]  # the form metaclass moves fields to base_fields: form.media stays the Media
    territories = forms.CharField(help_text="ISO country codes, comma-separated, or WORLD")
    languages = forms.CharField(help_text="BCP 47 tags, comma-separated")
    valid_from = forms.DateField(
        initial=dt.date.today, widget=forms.DateInput(attrs={"type": "date"})
    )
    valid_until = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    exclusive = forms.BooleanField(required=False)

    def __init__(self, *args: Any, brands: QuerySet[Brand], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["brand"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = brands


class DecisionForm(forms.Form):
    note = forms.CharField(max_length=500, required=False)


class RevokeForm(forms.Form):
    reason = forms.ChoiceField(
        choices=[
            ("breach", "Breach of terms"),
            ("surrender", "Surrender"),
            ("operator", "Operator"),
        ]
    )
    note = forms.CharField(max_length=500, required=False)
