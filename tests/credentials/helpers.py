"""Record real audio as a work, and damage a stamped WAV's audio without touching its
manifest."""

from __future__ import annotations

import hashlib
import struct
from typing import Any

from django.db import transaction

from registry.audio import duration_ms as measured_ms
from royalties.services import WorkInput, works_record


def record(lic: Any, data: bytes, ref: str = "spot-1", *, duration_ms: int | None = None) -> Any:
    """Record `data` as a work under `lic`, declaring `duration_ms` (by default, how long
    the audio really plays, so that it can be stamped); return the Work."""
    from royalties.models import Work

    item = WorkInput(
        license_id=lic.license_id,
        client_ref=ref,
        content_sha256=hashlib.sha256(data).hexdigest(),
        duration_ms=duration_ms or measured_ms(data) or 1000,
        language="en-US",
        territory="US",
        use="advertising",
        medium="tv",
        title=f"Spot {ref}",
    )
    with transaction.atomic():
        [outcome] = works_record(brand=lic.brand, items=[item])
    assert outcome.status == "recorded", outcome
    return Work.objects.get(work_id=outcome.work_id)


def flip_audio_byte(stamped: bytes) -> bytes:
    """Flip one bit inside the WAV's `data` chunk (not the manifest's chunk)."""
    b = bytearray(stamped)
    pos = 12
    while pos < len(b):
        chunk, size = bytes(b[pos : pos + 4]), struct.unpack("<I", b[pos + 4 : pos + 8])[0]
        if chunk == b"data":
            b[pos + 8 + size // 2] ^= 0x01
            return bytes(b)
        pos += 8 + size + (size & 1)
    raise AssertionError("no data chunk")
