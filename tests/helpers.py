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
