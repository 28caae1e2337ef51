"""The /verify/ page's form."""

from __future__ import annotations

from django import forms


class VerifyForm(forms.Form):
    jws = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}), required=False, label="License (JWS)"
    )
    file = forms.FileField(required=False, label="…or upload a .jws file")
    audio = forms.FileField(
        required=False,
        label="…or upload an audio clip to ask: is this licensed?",
        help_text=(
            "WAV, MP3, Ogg, FLAC or M4A: we read its content credentials, and look up its hash"
        ),
    )

    def token(self) -> str:
        upload = self.cleaned_data.get("file")
        if upload:
            if upload.size > 256 * 1024:
                raise forms.ValidationError("The file is too large to be a license.")
            return upload.read().decode("ascii", errors="replace").strip()
        return (self.cleaned_data.get("jws") or "").strip()
