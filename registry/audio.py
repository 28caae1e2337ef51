"""Reads the duration of a voice sample from its container, without decoding audio.

Pure: takes bytes-like file objects, knows no Django. Returns None when the duration
cannot be read reliably (a variable-bitrate MP3 without a Xing header, a damaged file);
a guess shown as fact would be worse than nothing.
"""

from __future__ import annotations

import struct
import wave
from typing import IO

_MP3_BITRATES_V1_L3 = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0]
_MP3_RATES_V1 = [44100, 48000, 32000, 0]


def duration_ms(file: IO[bytes], content_type: str) -> int | None:
    file.seek(0)
    try:
        if content_type == "audio/wav":
            return _wav_ms(file)
        if content_type == "audio/ogg":
            return _ogg_ms(file)
        if content_type == "audio/mpeg":
            return _mp3_cbr_ms(file)
    except (wave.Error, EOFError, struct.error, ValueError):
        return None
    finally:
        file.seek(0)
    return None


def _wav_ms(file: IO[bytes]) -> int | None:
    with wave.open(file, "rb") as wav:
        rate = wav.getframerate()
        return (wav.getnframes() * 1000) // rate if rate else None


def _ogg_ms(file: IO[bytes]) -> int | None:
    data = file.read()
    # The identification header names the codec and its sample rate.
    if b"\x01vorbis" in data[:512]:
        at = data.index(b"\x01vorbis") + 7
        rate = struct.unpack_from("<I", data, at + 5)[0]
    elif b"OpusHead" in data[:512]:
        rate = 48000  # Opus granule positions always count 48 kHz samples.
    else:
        return None
    # The last page's granule position is the total number of samples.
    last = data.rfind(b"OggS")
    if last < 0 or not rate:
        return None
    granule = struct.unpack_from("<q", data, last + 6)[0]
    return (granule * 1000) // rate if granule > 0 else None


def _mp3_cbr_ms(file: IO[bytes]) -> int | None:
    data = file.read()
    start = 0
    if data[:3] == b"ID3":
        size = data[6:10]
        start = 10 + ((size[0] << 21) | (size[1] << 14) | (size[2] << 7) | size[3])
    if len(data) < start + 4 or data[start] != 0xFF or data[start + 1] & 0xE0 != 0xE0:
        return None
    if b"Xing" in data[start : start + 200] or b"VBRI" in data[start : start + 200]:
        return None  # variable bitrate: size / bitrate would be wrong
    header = data[start + 1 : start + 4]
    version_layer = header[0] & 0x1E
    if version_layer != 0x1A:  # MPEG-1 Layer III, the only kind we estimate
        return None
    bitrate = _MP3_BITRATES_V1_L3[header[1] >> 4] * 1000
    rate = _MP3_RATES_V1[(header[1] >> 2) & 0x03]
    if not bitrate or not rate:
        return None
    return ((len(data) - start) * 8 * 1000) // bitrate
