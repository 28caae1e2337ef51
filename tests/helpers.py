"""Sample files every suite uploads: a short WAV tone, a minimal PDF, and their digests."""

from __future__ import annotations

import hashlib
import io
import math
import struct
import wave


def wav_bytes(seconds: float = 0.5, rate: int = 8000, freq: float = 440.0) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(
            b"".join(
                struct.pack("<h", int(4000 * math.sin(2 * math.pi * freq * i / rate)))
                for i in range(int(seconds * rate))
            )
        )
    return buf.getvalue()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


PDF_BYTES = b"%PDF-1.4\n1 0 obj <<>> endobj\n%%EOF\n"


def work_logged(work_id: str, **extra: str) -> dict[str, str]:
    """A well-formed work.recorded event for tests of the log itself (the log refuses
    malformed events)."""
    from transparency.services import event

    return event(
        "work.recorded",
        work_id=work_id,
        license_id="lic_test",
        content_sha256="ab" * 32,
        duration_ms="1000",
        **extra,
    )


def tone(seconds: float, fmt: str = "WAV", rate: int = 8000) -> bytes:
    """A mono 440 Hz tone of ``seconds`` as a WAV, FLAC, OGG (Vorbis) or MP3 file, written
    by libsndfile (through soundfile), so that tests measure files a real encoder made."""
    import numpy
    import soundfile  # type: ignore[import-untyped]  # soundfile ships no type hints

    subtype = {"WAV": "PCM_16", "FLAC": "PCM_16", "OGG": "VORBIS", "MP3": "MPEG_LAYER_III"}[fmt]
    frames = round(seconds * rate)
    samples = 0.3 * numpy.sin(2 * numpy.pi * 440.0 * numpy.arange(frames) / rate)
    out = io.BytesIO()
    with soundfile.SoundFile(out, "w", rate, 1, format=fmt, subtype=subtype) as file:
        # In blocks: libsndfile's Vorbis encoder has crashed on one very large write.
        for start in range(0, frames, rate):
            file.write(samples[start : start + rate].astype("float32"))
    return out.getvalue()
