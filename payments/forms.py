from __future__ import annotations

from django import forms


class ReferenceForm(forms.Form):
    reference = forms.CharField(max_length=100, label="Payment reference", strip=True)


class MonthForm(forms.Form):
    month = forms.RegexField(
        regex=r"^[0-9]{4}-[0-9]{2}$",
        label="Month (YYYY-MM)",
        error_messages={"invalid": "Write the month as YYYY-MM."},
    )
