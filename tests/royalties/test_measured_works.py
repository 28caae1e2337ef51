"""Recording a work with its audio: the registry hashes and measures the file, the work
is "measured" and priced on the measured duration, and the log event and the receipt
say so. Bad uploads are refused with a clear 4xx, and nothing is written."""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from core.models import IdempotencyRecord
from licensing.models import License
from royalties.models import Work, WorkAttempt
from tests.helpers import (
    flac_claiming,
    mp3_claiming_two_frames,
    ogg_rewritten,
    riff_wave,
    tone,
    wav_chunk,
    wav_parts,
)
from tests.royalties.helpers import post_with_audio, work
from transparency.models import LogEntry
from verifier.jws import keys_from_jwks, verify_jws

pytestmark = pytest.mark.django_db

M4A = Path(__file__).parent.parent / "fixtures" / "tone-1s.m4a"


def logged(index: int) -> dict[str, Any]:
    return json.loads(bytes(LogEntry.objects.get(index=index).data))


def receipt_of(token: str) -> dict[str, Any]:
    jwks = APIClient().get("/.well-known/jwks.json").json()
    return verify_jws(token, keys_from_jwks(jwks), expected_typ="timbre-receipt+jws").payload


def nothing_written() -> bool:
    return (
        not Work.objects.exists()
        and not WorkAttempt.objects.exists()
        and not IdempotencyRecord.objects.exists()
        and not LogEntry.objects.filter(event_type="work.recorded").exists()
    )


@pytest.mark.parametrize("fmt", ["WAV", "FLAC", "MP3", "OGG"])
def test_a_work_recorded_with_its_audio_is_measured_and_priced_on_what_it_plays(
    license_: License, bob_key: str, fmt: str
) -> None:
    audio = tone(60.0, fmt, rate=16000)
    response = post_with_audio(bob_key, license_.license_id, audio, idem="one", n=1)

    assert response.status_code == 201, response.content
    result = response.json()["results"][0]
    recorded = Work.objects.get(work_id=result["work_id"])
    assert recorded.measured is True
    assert abs(recorded.duration_ms - 60_000) <= 100
    assert recorded.content_sha256 == hashlib.sha256(audio).hexdigest()
    # 200 per work + 0.125 per second: 60 s -> 207.5 -> 208 (half up).
    assert result["price"] == recorded.price == 208
    event = logged(result["log_index"])
    assert event["measured"] is True and event["duration_ms"] == str(recorded.duration_ms)
    receipt = receipt_of(result["receipt"])
    assert receipt["duration_measured"] is True
    assert receipt["duration_ms"] == str(recorded.duration_ms)
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Bearer {bob_key}")
    [listed] = c.get("/api/v1/works").json()["results"]
    assert listed["measured"] is True and listed["duration_ms"] == recorded.duration_ms


@pytest.mark.parametrize(
    ("case", "name"),
    [
        ("flac-streaminfo-44-samples", "spot.flac"),
        ("mp3-xing-2-frames-and-junk", "spot.mp3"),
        ("ogg-granules-44", "spot.ogg"),
        ("wav-two-data-chunks", "spot.wav"),
    ],
)
def test_a_work_whose_header_understates_its_audio_is_priced_on_what_it_plays(
    license_: License, bob_key: str, case: str, name: str
) -> None:
    fmt, samples = wav_parts(60.0, rate=16000)
    audio = {
        "flac-streaminfo-44-samples": lambda: flac_claiming(tone(60.0, "FLAC", rate=16000), 44),
        "mp3-xing-2-frames-and-junk": lambda: mp3_claiming_two_frames(
            tone(60.0, "MP3", rate=16000), junk=b"JUNK!"
        ),
        "ogg-granules-44": lambda: ogg_rewritten(tone(60.0, "OGG", rate=16000), granule=44),
        "wav-two-data-chunks": lambda: riff_wave(
            fmt, wav_chunk(b"data", samples[:2]), wav_chunk(b"data", samples)
        ),
    }[case]()
    response = post_with_audio(bob_key, license_.license_id, audio, idem=case, name=name, n=9)

    assert response.status_code == 201, response.content
    result = response.json()["results"][0]
    recorded = Work.objects.get(work_id=result["work_id"])
    assert recorded.measured is True
    assert abs(recorded.duration_ms - 60_000) <= 600, recorded.duration_ms
    assert result["price"] == 208  # 200 per work + 0.125 per second, as for an honest minute


def test_a_declared_work_says_so_in_its_log_event_and_receipt(
    license_: License, bob_key: str
) -> None:
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Bearer {bob_key}")
    response = c.post(
        f"/api/v1/licenses/{license_.license_id}/works",
        work(n=2, duration_ms=60_000),
        format="json",
        HTTP_IDEMPOTENCY_KEY="declared",
    )
    assert response.status_code == 201, response.content
    result = response.json()["results"][0]
    assert Work.objects.get(work_id=result["work_id"]).measured is False
    assert logged(result["log_index"])["measured"] is False
    assert receipt_of(result["receipt"])["duration_measured"] is False


def test_a_declared_hash_and_duration_that_agree_with_the_audio_are_accepted(
    license_: License, bob_key: str
) -> None:
    audio = tone(10.0, "WAV")
    response = post_with_audio(
        bob_key,
        license_.license_id,
        audio,
        idem="agree",
        content_sha256=hashlib.sha256(audio).hexdigest(),
        duration_ms=10_080,  # within 100 ms
    )
    assert response.status_code == 201, response.content
    # Priced on the measured duration, not the declared one.
    assert Work.objects.get().duration_ms == 10_000


def test_a_declared_duration_or_hash_that_disagrees_with_the_audio_is_refused(
    license_: License, bob_key: str
) -> None:
    audio = tone(60.0, "WAV")
    response = post_with_audio(
        bob_key, license_.license_id, audio, idem="short", duration_ms=1, n=3
    )
    assert response.status_code == 400
    message = response.json()["errors"]["duration_ms"]
    assert "measured at 60.000 s" in message and "you declared 0.001 s" in message
    other = post_with_audio(
        bob_key, license_.license_id, audio, idem="hash", content_sha256="ab" * 32, n=4
    )
    assert other.status_code == 400
    message = other.json()["errors"]["content_sha256"]
    assert hashlib.sha256(audio).hexdigest() in message and "ab" * 32 in message
    assert nothing_written()


def test_a_retry_with_the_same_audio_returns_the_first_answer_and_another_file_is_refused(
    license_: License, bob_key: str
) -> None:
    audio = tone(4.0, "WAV")
    first = post_with_audio(bob_key, license_.license_id, audio, idem="again", n=5)
    again = post_with_audio(bob_key, license_.license_id, audio, idem="again", n=5)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and Work.objects.count() == 1
    other = post_with_audio(bob_key, license_.license_id, tone(5.0, "WAV"), idem="again", n=5)
    assert other.status_code == 400 and "different request" in other.json()["detail"]
    assert Work.objects.count() == 1


@pytest.mark.parametrize(
    ("audio", "name", "words"),
    [
        (b"just some words, not audio" * 40, "notes.txt", "is not a WAV, MP3, Ogg, FLAC or M4A"),
        (b"", "empty.wav", "The file is empty."),
        (b"\x00" * 8192, "nul.wav", "is not a WAV, MP3, Ogg, FLAC or M4A"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 64, "broken.wav", "could not measure"),
        (
            riff_wave(wav_parts(0.1)[0], b"data" + struct.pack("<I", 32_000)),
            "header-only.wav",
            "could not measure",
        ),
        (
            riff_wave(wav_parts(60.0)[0], wav_chunk(b"data", wav_parts(60.0)[1], size=2)),
            "one-sample.wav",
            "could not measure",
        ),
        (
            M4A.read_bytes()[: M4A.read_bytes().find(b"mdat") - 4],
            "no-media.m4a",
            "could not measure",
        ),
    ],
    ids=[
        "not-audio",
        "empty",
        "nul-bytes",
        "damaged-wav",
        "wav-header-only",
        "wav-one-sample",
        "m4a-without-media",
    ],
)
def test_an_upload_that_is_not_measurable_audio_is_refused_and_nothing_is_written(
    license_: License, bob_key: str, audio: bytes, name: str, words: str
) -> None:
    response = post_with_audio(bob_key, license_.license_id, audio, idem="bad", name=name)
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert words in response.json()["detail"]
    assert nothing_written()


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"duration_ms": 10**15}, "duration_ms"),
        ({"duration_ms": "a long time"}, "duration_ms"),
        ({"client_ref": "ad\x00one"}, "client_ref"),
        ({"title": "Spot\x00"}, "title"),
    ],
    ids=["huge-duration", "words-for-duration", "nul-in-ref", "nul-in-title"],
)
def test_bad_fields_beside_the_audio_are_refused_and_nothing_is_written(
    license_: License, bob_key: str, fields: dict[str, Any], field: str
) -> None:
    response = post_with_audio(
        bob_key, license_.license_id, tone(1.0, "WAV"), idem="bad-field", **fields
    )
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert nothing_written()


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"duration_ms": 10**30}, "works[0].duration_ms"),
        ({"client_ref": "ad\x00one"}, "works[0].client_ref"),
    ],
    ids=["huge-duration", "nul-in-ref"],
)
def test_a_declared_work_with_a_huge_duration_or_nul_bytes_is_refused(
    license_: License, bob_key: str, over: dict[str, Any], field: str
) -> None:
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Bearer {bob_key}")
    response = c.post(
        f"/api/v1/licenses/{license_.license_id}/works",
        work(**over),
        format="json",
        HTTP_IDEMPOTENCY_KEY="bad-json",
    )
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert nothing_written()


def test_a_form_without_its_audio_or_too_large_is_refused(
    license_: License, bob_key: str, settings: Any
) -> None:
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Bearer {bob_key}")
    no_audio = c.post(
        f"/api/v1/licenses/{license_.license_id}/works",
        work(n=6),
        format="multipart",
        HTTP_IDEMPOTENCY_KEY="no-audio",
    )
    assert no_audio.status_code == 400 and "audio" in no_audio.json()["errors"]
    settings.TIMBRE_MAX_STAMP_BYTES = 4096
    large = post_with_audio(bob_key, license_.license_id, tone(30.0, "WAV"), idem="large")
    assert large.status_code == 413, large.content
    assert "at most 4,096 bytes" in large.json()["detail"]
    assert nothing_written()


def test_the_performer_sees_which_works_were_measured_declared_or_voided(
    license_: License, bob_key: str, client: Client
) -> None:
    post_with_audio(bob_key, license_.license_id, tone(2.0, "WAV"), idem="m", n=7)
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Bearer {bob_key}")
    declared = c.post(
        f"/api/v1/licenses/{license_.license_id}/works",
        work(n=8),
        format="json",
        HTTP_IDEMPOTENCY_KEY="d",
    ).json()["results"][0]["work_id"]
    voided = c.post(f"/api/v1/works/{declared}/void")
    assert voided.status_code == 200, voided.content

    client.force_login(license_.voice.performer.user)
    page = client.get("/studio/works/").content.decode()

    assert page.count(">measured</span>") == 1 and page.count(">declared</span>") == 1
    assert "the brand sent the audio, and Timbre measured how long it plays" in page
    voided_at = Work.objects.get(work_id=declared).voided_at
    assert voided_at is not None
    assert f"<strong>voided</strong> {voided_at:%-d %b %Y %H:%M} UTC" in page
