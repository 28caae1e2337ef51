"""Forms of the royalties pages: what people type, parsed into what services take."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from core.parsing import parse_percent_bps
from registry.models import Performer
from royalties.estates import Heir


def _heirs(text: str) -> list[Heir]:
    """``name, percent`` or ``name, percent, email`` per line."""
    heirs = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split(",")]
        if len(parts) not in (2, 3):
            raise ValidationError(
                f"Line {number}: write `name, percent` or `name, percent, email`."
            )
        try:
            bps = parse_percent_bps(parts[1])
        except ValueError as exc:
            raise ValidationError(
                f"Line {number}: {parts[1]!r} is not a percentage with at most two decimals."
            ) from exc
        if len(parts[0]) > 200 or not parts[0].isprintable():
            raise ValidationError(
                f"Line {number}: a name is at most 200 characters, with no control characters."
            )
        heirs.append(Heir(name=parts[0], bps=bps, email=parts[2] if len(parts) == 3 else ""))
    if not heirs:
        raise ValidationError("Name the estate, or each heir with a share.")
    return heirs


class _PerformerChoice(forms.ModelChoiceField):
    """Performers as an operator must tell them apart (several may share a stage name):
    the stage name, the legal name, and the account's email or the performer's id."""

    def label_from_instance(self, obj: Any) -> str:
        who = obj.user.email if obj.user_id else f"no account, #{obj.pk}"
        return f"{obj.stage_name} ({obj.legal_name}; {who})"


class DeathForm(forms.Form):
    performer = _PerformerChoice(
        queryset=Performer.objects.filter(death__isnull=True)
        .select_related("user")
        .order_by("stage_name", "legal_name", "pk"),
        help_text="A death is recorded once; the list shows whose death is not recorded yet.",
        error_messages={
            "invalid_choice": "This performer's death is already recorded (or there is no "
            "such performer)."
        },
    )
    date_of_death = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}), help_text="Not in the future."
    )
    jurisdiction = forms.CharField(
        max_length=6,
        help_text="Whose post-mortem right applies: a country (GB, FR) or a state the table "
        "names ("
        + ", ".join(sorted(c for c in settings.TIMBRE_POST_MORTEM_YEARS if "-" in c))
        + ").",
    )
    evidence = forms.FileField(
        help_text="The death certificate or grant of probate: PDF, PNG or JPEG. Never public."
    )
    heirs = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        label="Estate payees",
        help_text="One per line: name, percent[, email of their account]. Percentages add "
        "up to 100.",
    )

    def clean_heirs(self) -> list[Heir]:
        return _heirs(self.cleaned_data["heirs"])
