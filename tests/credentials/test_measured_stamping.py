"""The registry measures the audio it stamps and verifies: a stamp is refused when the
work was recorded with another duration, and a verdict says how long the file plays and
whether its receipt agrees."""

from __future__ import annotations

import re
import struct
from typing import Any

import pytest
from django.test import Client

from credentials import stamping
from royalties.models import WorkStamp
from tests.credentials.helpers import record
from tests.helpers import (
    flac_claiming,
    mp3_claiming_two_frames,
    riff_wave,
    tone,
    wav_bytes,
    wav_chunk,
    wav_parts,
)
from verifier.audio import MIME_TYPES

pytestmark = pytest.mark.django_db

# The formats a brand stamps, written by libsndfile in the test: (soundfile format, MIME).
FORMATS = {
    "wav": ("WAV", MIME_TYPES["wav"]),
    "mp3": ("MP3", MIME_TYPES["mp3"]),
    "flac": ("FLAC", MIME_TYPES["flac"]),
}


def stamp(client: Client, key: str, work_id: str, data: bytes, mime: str) -> Any:
    return client.post(
        f"/api/v1/works/{work_id}/stamp",
        data=data,
        content_type=mime,
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )


@pytest.mark.parametrize("kind", sorted(FORMATS))
def test_it_refuses_to_stamp_a_minute_of_audio_recorded_as_one_millisecond(
    client: Client, license_: Any, bob_key: str, kind: str
) -> None:
    fmt, mime = FORMATS[kind]
    data = tone(60.0, fmt, rate=8000 if fmt != "MP3" else 16000)
    work = record(license_, data, duration_ms=1)

    response = stamp(client, bob_key, work.work_id, data, mime)

    assert response.status_code == 400, response.content[:300]
    assert response["Content-Type"] == "application/problem+json"
    detail = response.json()["detail"]
    assert "measured at 60.0" in detail and "recorded as 0.001 s" in detail, detail
    assert work.work_id in detail
    assert not WorkStamp.objects.exists()


@pytest.mark.parametrize("kind", sorted(FORMATS))
def test_it_stamps_audio_that_plays_as_long_as_it_was_recorded(
    client: Client, license_: Any, bob_key: str, kind: str
) -> None:
    fmt, mime = FORMATS[kind]
    data = tone(5.0, fmt, rate=8000 if fmt != "MP3" else 16000)
    # Within the tolerance: the larger of 100 ms and 1% of what it measures.
    work = record(license_, data, duration_ms=5_090)
    response = stamp(client, bob_key, work.work_id, data, mime)
    assert response.status_code == 200, response.content[:300]
    assert WorkStamp.objects.filter(work=work).count() == 1
    # The stamped copy (its manifest embedded) still measures as what it plays.
    verdict = client.post("/api/v1/verify/audio", data=response.content, content_type=mime)
    duration = verdict.json()["duration"]
    assert abs(duration["measured_ms"] - 5000) <= 100 and duration["receipt_agrees"] is True


def test_it_refuses_to_stamp_audio_it_cannot_measure(
    client: Client, license_: Any, bob_key: str
) -> None:
    silent = wav_bytes(seconds=0.0)  # a well-formed WAV that holds no sound at all
    work = record(license_, silent, duration_ms=1000)
    response = stamp(client, bob_key, work.work_id, silent, "audio/wav")
    assert response.status_code == 400
    assert "could not measure how long this audio plays" in response.json()["detail"]
    assert not WorkStamp.objects.exists()


def _wav_with_a_second_data_chunk() -> bytes:
    fmt, samples = wav_parts(60.0)
    return riff_wave(fmt, wav_chunk(b"data", samples[:2]), wav_chunk(b"data", samples))


def _wav_whose_data_size_is_0() -> bytes:
    fmt, samples = wav_parts(60.0)
    return riff_wave(fmt, wav_chunk(b"data", samples, size=0))


# Files whose length fields say they play for next to nothing while they play a minute:
# (format, audio), built in the test from libsndfile's honest files.
UNDERSTATED = {
    "flac-streaminfo-44-samples": ("flac", lambda: flac_claiming(tone(60.0, "FLAC"), 44)),
    "flac-streaminfo-unknown": ("flac", lambda: flac_claiming(tone(60.0, "FLAC"), 0)),
    "mp3-xing-2-frames-and-junk": (
        "mp3",
        lambda: mp3_claiming_two_frames(tone(60.0, "MP3", rate=16000), junk=b"JUNK!"),
    ),
    "wav-data-size-0": ("wav", _wav_whose_data_size_is_0),
    "wav-two-data-chunks": ("wav", _wav_with_a_second_data_chunk),
}


@pytest.mark.parametrize("case", sorted(UNDERSTATED))
def test_it_refuses_to_stamp_a_minute_whose_header_understates_it_recorded_as_a_millisecond(
    client: Client, license_: Any, bob_key: str, case: str
) -> None:
    kind, build = UNDERSTATED[case]
    data = build()
    work = record(license_, data, duration_ms=1)

    response = stamp(client, bob_key, work.work_id, data, FORMATS[kind][1])

    assert response.status_code == 400, response.content[:300]
    detail = response.json()["detail"]
    # Counted frames include the MP3's length tag and encoder padding: 60.1 s, within 1%.
    assert re.search(r"measured at 60\.[01]\d\d s", detail), detail
    assert "recorded as 0.001 s" in detail, detail
    assert not WorkStamp.objects.exists()


@pytest.mark.parametrize("claims_ms", [2000, 3_600_000], ids=["two-seconds", "an-hour"])
def test_it_refuses_to_stamp_a_wav_header_recorded_as_what_it_claims(
    client: Client, license_: Any, bob_key: str, claims_ms: int
) -> None:
    # 44 bytes: a header whose data size claims the duration, and no samples at all.
    header_only = riff_wave(wav_parts(0.1)[0], b"data" + struct.pack("<I", claims_ms * 16))
    work = record(license_, header_only, duration_ms=claims_ms)
    response = stamp(client, bob_key, work.work_id, header_only, "audio/wav")
    assert response.status_code == 400, response.content[:300]
    assert "could not measure how long this audio plays" in response.json()["detail"]
    assert not WorkStamp.objects.exists()


def test_a_verdict_measures_the_file_and_holds_its_receipt_to_it(
    client: Client, license_: Any, bob_key: str
) -> None:
    data = tone(3.0, "WAV")
    work = record(license_, data, duration_ms=3_050)
    stamped = stamp(client, bob_key, work.work_id, data, "audio/wav").content

    verdict = client.post("/api/v1/verify/audio", data=stamped, content_type="audio/wav").json()

    assert verdict["verdict"] == "licensed"
    duration = verdict["duration"]
    assert duration["measured_ms"] == 3000 and duration["receipt_ms"] == 3050
    assert duration["receipt_agrees"] is True
    assert duration["receipt_duration_measured"] is False  # declared by the brand
    assert "as its receipt says (3.050 s, declared by the brand)" in duration["words"]

    page = client.post("/verify/", {"audio": _upload(stamped, "stamped.wav")})
    assert page.status_code == 200
    text = page.content.decode()
    assert 'id="duration"' in text and "Plays for 3.000 s, as its receipt says" in text


def test_a_file_stamped_before_durations_were_checked_reads_as_disagreeing(
    client: Client, license_: Any, bob_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tone(60.0, "WAV")
    work = record(license_, data, duration_ms=1)
    # As stamps were made before the registry measured what it stamped.
    monkeypatch.setattr(stamping, "_check_duration", lambda work, data: None)
    stamped = stamp(client, bob_key, work.work_id, data, "audio/wav").content
    monkeypatch.undo()

    verdict = client.post("/api/v1/verify/audio", data=stamped, content_type="audio/wav").json()

    duration = verdict["duration"]
    assert duration["measured_ms"] == 60000 and duration["receipt_ms"] == 1
    assert duration["receipt_agrees"] is False
    assert "measured at 60.000 s, but its receipt says 0.001 s" in duration["words"]
    page = client.post("/verify/", {"audio": _upload(stamped, "stamped.wav")}).content.decode()
    assert "Its duration is not the one it was recorded with" in page


def test_a_clip_without_credentials_is_measured_too(client: Client, db: None) -> None:
    clip = tone(2.0, "OGG")
    verdict = client.post("/api/v1/verify/audio", data=wav_bytes(1.5), content_type="audio/wav")
    assert verdict.json()["duration"] == {
        "measured_ms": 1500,
        "words": "Plays for 1.500 s (measured by the registry).",
    }
    page = client.post("/verify/", {"audio": _upload(clip, "clip.ogg")}).content.decode()
    assert "Plays for 2.000 s (measured by the registry)." in page


def _upload(data: bytes, name: str) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data)
