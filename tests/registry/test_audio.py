"""Durations are measured by an audio library (libsndfile, mutagen), or not at all; and
a declared duration agrees with a measured one within the larger of 100 ms and 1%."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest

from registry import audio
from tests.helpers import tone, wav_bytes

M4A = Path(__file__).parent.parent / "fixtures" / "tone-1s.m4a"


def test_it_measures_a_wav() -> None:
    assert audio.duration_ms(io.BytesIO(wav_bytes(seconds=1.25, rate=16000))) == 1250


@pytest.mark.parametrize("fmt", ["WAV", "FLAC", "OGG", "MP3"])
def test_it_measures_each_format_libsndfile_writes(fmt: str) -> None:
    data = tone(3.0, fmt, rate=16000 if fmt == "MP3" else 8000)
    measured = audio.duration_ms(data)
    assert measured is not None and abs(measured - 3000) <= 100, (fmt, measured)
    assert audio.kind(data[:65536]) is not None


def test_it_measures_an_m4a_with_mutagen() -> None:
    data = M4A.read_bytes()
    assert audio.kind(data[:65536]) == "audio/mp4"
    measured = audio.duration_ms(data)
    assert measured is not None and abs(measured - 1000) <= 100, measured


def test_an_mp3_whose_length_tag_understates_it_is_measured_by_its_frames() -> None:
    data = bytearray(tone(20.0, "MP3", rate=16000))
    at = max(data.find(b"Xing"), data.find(b"Info"))
    assert at > 0, "libsndfile's MP3 writer puts a length tag in the first frame"
    struct.pack_into(">I", data, at + 8, 2)  # "two frames"
    measured = audio.duration_ms(bytes(data))
    assert measured is not None and abs(measured - 20000) <= 200, measured


def test_a_file_leaves_at_its_start() -> None:
    file = io.BytesIO(wav_bytes(seconds=0.5))
    file.read(10)
    assert audio.duration_ms(file) == 500 and file.tell() == 0


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00" * 4096,
        b"not audio at all, just words" * 10,
        b"RIFF\x00\x00\x00\x00WAVEjunk",
        bytes([0xFF, 0xFB, 0x90, 0x64]) + b"\x00" * 4000,
    ],
    ids=["empty", "nul-bytes", "text", "damaged-wav", "mp3-header-then-nothing"],
)
def test_what_cannot_be_read_has_no_duration(data: bytes) -> None:
    assert audio.duration_ms(data) is None


def test_the_tolerance_is_the_larger_of_100_ms_and_1_percent() -> None:
    assert audio.tolerance_ms(500) == 100
    assert audio.tolerance_ms(60_000) == 600
    assert audio.disagreement(measured_ms=60_000, declared_ms=60_600, declared_as="x") is None
    assert audio.disagreement(measured_ms=60_000, declared_ms=59_400, declared_as="x") is None
    assert audio.disagreement(measured_ms=60_000, declared_ms=60_601, declared_as="x")
    assert audio.disagreement(measured_ms=1_000, declared_ms=1_100, declared_as="x") is None
    assert audio.disagreement(measured_ms=1_000, declared_ms=1_101, declared_as="x")


def test_a_disagreement_names_both_durations_in_seconds() -> None:
    words = audio.disagreement(
        measured_ms=60_000, declared_ms=1, declared_as="the work was recorded as"
    )
    assert words is not None
    assert "measured at 60.000 s" in words and "recorded as 0.001 s" in words
