"""The public /verify/ page: a license, or an audio file (its content credentials first,
then the hash of its bytes, and how long it plays)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from core.forms import apply_service_errors
from credentials.api import HEADROOM
from credentials.forms import VerifyForm
from credentials.verdicts import audio_verdict, measured_duration
from licensing.verification import license_verdict
from registry import audio as measuring
from registry import validation
from royalties import selectors
from verifier.audio import sniff

# What content credentials can be read from; other audio (Ogg) is looked up by hash.
_CREDENTIAL_FORMATS = {"audio/wav", "audio/mpeg", "audio/flac", "audio/mp4"}


def verify_page(request: HttpRequest) -> HttpResponse:
    """Paste or upload a license, or upload an audio clip: the answer in plain words."""
    posted = request.method == "POST"
    form = VerifyForm(request.POST if posted else None, request.FILES if posted else None)
    result: dict[str, Any] | None = None
    clip: dict[str, Any] | None = None
    credentials: dict[str, Any] | None = None
    duration: dict[str, Any] | None = None
    if posted and form.is_valid():
        audio = form.cleaned_data.get("audio")
        try:
            if audio:
                _, digest = validation.upload(
                    audio,
                    field="audio",
                    max_bytes=settings.TIMBRE_MAX_VERIFY_AUDIO_BYTES,
                    kinds=measuring.MEASURED_TYPES,
                    sniff=measuring.kind,
                )
                if sniff(audio.read(65536)) in _CREDENTIAL_FORMATS and (
                    audio.size <= settings.TIMBRE_MAX_STAMP_BYTES + HEADROOM
                ):
                    audio.seek(0)
                    credentials = audio_verdict(audio.read(), digest)
                    clip = credentials.get("lookup")
                    duration = credentials["duration"]
                else:
                    clip = selectors.lookup_by_hash(digest)
                    duration = measured_duration(audio)
            else:
                token = form.token()
                if not token:
                    form.add_error(
                        "jws", "Paste a license, upload its .jws file, or upload a clip."
                    )
                else:
                    result = license_verdict(token)
        except ValidationError as exc:
            apply_service_errors(form, exc)
    return render(
        request,
        "licensing/verify.html",
        {
            "form": form,
            "result": result,
            "clip": clip,
            "credentials": credentials,
            "duration": duration,
        },
    )
