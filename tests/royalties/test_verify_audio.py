"""/verify/ answers "is this clip licensed?" from an uploaded audio file."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client

from royalties import services
from tests.helpers import wav_bytes

pytestmark = pytest.mark.django_db


def test_an_uploaded_clip_is_found_by_its_hash(
    license_: Any, client: Client, settings: Any
) -> None:
    audio = wav_bytes(seconds=0.25)
    with transaction.atomic():
        services.works_record(
            brand=license_.brand,
            items=[
                services.WorkInput(
                    license_id=license_.license_id,
                    client_ref="spot-1",
                    content_sha256=hashlib.sha256(audio).hexdigest(),
                    duration_ms=250,
                    language="en-US",
                    territory="US",
                    use="advertising",
                    medium="tv",
                )
            ],
        )
    page = client.post(
        "/verify/", {"audio": SimpleUploadedFile("spot.wav", audio)}
    ).content.decode()
    assert "This clip is licensed" in page and license_.license_id in page

    other = client.post(
        "/verify/", {"audio": SimpleUploadedFile("x.wav", wav_bytes(seconds=0.3))}
    ).content.decode()
    assert "No licensed work has exactly this audio" in other

    not_audio = client.post(
        "/verify/", {"audio": SimpleUploadedFile("x.wav", b"%PDF-1.4 nope")}
    ).content.decode()
    assert "is not a WAV, MP3, Ogg, FLAC, M4A file" in not_audio

    settings.TIMBRE_MAX_VERIFY_AUDIO_BYTES = 100
    too_big = client.post(
        "/verify/", {"audio": SimpleUploadedFile("spot.wav", audio)}
    ).content.decode()
    assert "the limit is 100 bytes" in too_big
