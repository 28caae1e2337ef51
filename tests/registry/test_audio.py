"""Sample durations are read from the container, or not at all."""

from __future__ import annotations

import io
import struct

from registry.audio import duration_ms
from registry.validation import sniff_audio
from tests.helpers import wav_bytes


def test_it_reads_a_wav_duration() -> None:
    assert duration_ms(io.BytesIO(wav_bytes(seconds=1.25, rate=16000)), "audio/wav") == 1250


def mp3_cbr(seconds: int, kbps: int = 128) -> bytes:
    # MPEG-1 Layer III, 128 kbit/s, 44.1 kHz frame header; the payload's size gives the time.
    header = bytes([0xFF, 0xFB, 0x90, 0x64])
    size = kbps * 1000 // 8 * seconds
    return header + b"\x00" * (size - 4)


def test_it_estimates_a_constant_bitrate_mp3() -> None:
    data = mp3_cbr(3)
    assert sniff_audio(data[:16]) == "audio/mpeg"
    assert duration_ms(io.BytesIO(data), "audio/mpeg") == 3000


def test_it_does_not_guess_a_variable_bitrate_mp3() -> None:
    data = bytes([0xFF, 0xFB, 0x90, 0x64]) + b"\x00" * 32 + b"Xing" + b"\x00" * 5000
    assert duration_ms(io.BytesIO(data), "audio/mpeg") is None


def ogg_page(granule: int, payload: bytes) -> bytes:
    return b"OggS" + b"\x00\x00" + struct.pack("<q", granule) + b"\x00" * 12 + payload


def test_it_reads_an_ogg_vorbis_duration_from_the_last_granule() -> None:
    ident = b"\x01vorbis" + struct.pack("<IBI", 0, 1, 48000) + b"\x00" * 20
    data = ogg_page(0, ident) + ogg_page(96000, b"audio")
    assert duration_ms(io.BytesIO(data), "audio/ogg") == 2000


def test_a_damaged_file_has_no_duration() -> None:
    assert duration_ms(io.BytesIO(b"RIFF\x00\x00\x00\x00WAVEjunk"), "audio/wav") is None
