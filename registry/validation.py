"""Checks on what people send us: language tags, digests, uploads.

Each raises django.core.exceptions.ValidationError with a message that says what is wrong,
so pages show it beside the field and the API returns it as problem+json.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from typing import IO

import langcodes
from django.core.exceptions import ValidationError

SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
_STYLE = re.compile(r"^[a-z0-9][a-z0-9 -]{0,39}$")

# What a sample or consent recording may be, recognised by its first bytes, never by
# the name or the Content-Type the client claims.
AUDIO_TYPES = {"audio/wav": "WAV", "audio/mpeg": "MP3", "audio/ogg": "Ogg"}
EVIDENCE_TYPES = {"application/pdf": "PDF", "image/png": "PNG", "image/jpeg": "JPEG"}
# A recording made in the browser (MediaRecorder: WebM in Chromium, Ogg in Firefox), or
# any audio file a sample may be.
RECORDING_TYPES = {**AUDIO_TYPES, "audio/webm": "WebM"}


def language_tags(values: Iterable[object], *, field: str = "languages") -> list[str]:
    """Validate BCP 47 tags and return them in canonical form, without duplicates."""
    tags: list[str] = []
    errors: list[str] = []
    for value in values:
        if not isinstance(value, str) or not value.strip():
            errors.append(f"{value!r} is not a language tag")
            continue
        raw = value.strip()
        # langcodes would quietly accept "en_US"; BCP 47 separates subtags with "-".
        if "_" in raw or not langcodes.tag_is_valid(raw):
            errors.append(f"{raw!r} is not a valid BCP 47 language tag (e.g. en-US, es-419)")
            continue
        canonical = langcodes.standardize_tag(raw)
        if canonical not in tags:
            tags.append(canonical)
    if errors:
        raise ValidationError({field: errors})
    if not tags:
        raise ValidationError({field: ["Give at least one language (BCP 47, e.g. en-US)."]})
    return tags


def styles(values: Iterable[object]) -> list[str]:
    result: list[str] = []
    for value in values:
        if not isinstance(value, str) or not _STYLE.match(value.strip().lower()):
            raise ValidationError(
                {"styles": [f"{value!r}: styles are short lowercase words (letters, digits, -)"]}
            )
        style = value.strip().lower()
        if style not in result:
            result.append(style)
    if len(result) > 12:
        raise ValidationError({"styles": ["At most 12 styles."]})
    return result


def uses(values: Iterable[object], allowed: frozenset[str]) -> list[str]:
    result: list[str] = []
    for value in values:
        if value not in allowed:
            raise ValidationError(
                {
                    "uses": [
                        f"{value!r} is not a known use; choose from {', '.join(sorted(allowed))}"
                    ]
                }
            )
        if value not in result:
            result.append(str(value))
    return result


def sha256_hex(value: object, *, field: str) -> str:
    if not isinstance(value, str) or not SHA256_HEX.match(value.strip().lower()):
        raise ValidationError({field: ["Must be a SHA-256 digest: 64 hexadecimal characters."]})
    return value.strip().lower()


def sniff_audio(head: bytes) -> str | None:
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head[:4] == b"OggS":
        return "audio/ogg"
    if head[:3] == b"ID3" or (len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "audio/mpeg"
    return None


_EBML_MAGIC = b"\x1a\x45\xdf\xa3"


def sniff_recording(head: bytes) -> str | None:
    """Audio, or an EBML (Matroska/WebM) container whose tracks ``webm_audio_only``
    then checks."""
    if head[:4] == _EBML_MAGIC:
        return "audio/webm"
    return sniff_audio(head)


# EBML element ids (Matroska specification) on the way to each track's type.
_SEGMENT, _TRACKS, _TRACK_ENTRY, _TRACK_TYPE, _DOC_TYPE = (
    0x18538067,
    0x1654AE6B,
    0xAE,
    0x83,
    0x4282,
)
_CLUSTER = 0x1F43B675
_AUDIO_TRACK = 2
_WEBM_HEAD_BYTES = 256 * 1024


def _vint(buf: bytes, pos: int, *, keep_marker: bool) -> tuple[int, int]:
    """An EBML variable-length integer at ``pos``: (value, next position); -1 for the
    reserved "unknown size"."""
    if pos >= len(buf) or buf[pos] == 0:
        raise ValueError("bad variable-length integer")
    length = 9 - buf[pos].bit_length()
    if pos + length > len(buf):
        raise ValueError("truncated")
    value = int.from_bytes(buf[pos : pos + length], "big")
    if not keep_marker:
        value &= (1 << (7 * length)) - 1
        if value == (1 << (7 * length)) - 1:
            return -1, pos + length
    return value, pos + length


def _webm_track_types(buf: bytes) -> tuple[str, list[int]]:
    """The document type and the track types of a WebM file's head."""
    doc_type, types = "", []
    pos = 0
    stack: list[int] = [len(buf)]  # ends of the elements we are inside
    while pos < len(buf):
        while stack and pos >= stack[-1]:
            stack.pop()
        element, pos = _vint(buf, pos, keep_marker=True)
        size, pos = _vint(buf, pos, keep_marker=False)
        end = len(buf) if size < 0 else min(pos + size, len(buf))
        if element in (_SEGMENT, _TRACKS, _TRACK_ENTRY, 0x1A45DFA3):
            stack.append(end)  # a master element: read its children
            continue
        if element == _DOC_TYPE:
            doc_type = buf[pos:end].decode("ascii", "replace")
        elif element == _TRACK_TYPE:
            types.append(int.from_bytes(buf[pos:end], "big"))
        elif element == _CLUSTER:
            break  # media data: the tracks come before it
        pos = end
    return doc_type, types


def webm_audio_only(file: IO[bytes], *, field: str) -> None:
    """Refuse a WebM file unless it declares tracks and every one of them is audio."""
    file.seek(0)
    head = file.read(_WEBM_HEAD_BYTES)
    file.seek(0)
    try:
        doc_type, types = _webm_track_types(head)
    except ValueError:
        types, doc_type = [], ""
    if doc_type != "webm" or not types or any(t != _AUDIO_TRACK for t in types):
        raise ValidationError({field: ["This WebM file is not an audio-only recording."]})


def sniff_evidence(head: bytes) -> str | None:
    if head[:5] == b"%PDF-":
        return "application/pdf"
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if head[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    return None


def upload(
    file: IO[bytes],
    *,
    field: str,
    max_bytes: int,
    kinds: dict[str, str],
    sniff: Callable[[bytes], str | None],
) -> tuple[str, str]:
    """Check an upload's size and real type; return (content type, SHA-256 hex)."""
    size = getattr(file, "size", None)
    if size is not None and size > max_bytes:
        raise ValidationError(
            {field: [f"The file is {size:,} bytes; the limit is {max_bytes:,} bytes."]}
        )
    if size == 0:
        raise ValidationError({field: ["The file is empty."]})
    file.seek(0)
    head = file.read(16)
    file.seek(0)
    content_type = sniff(head)
    if content_type not in kinds:
        accepted = ", ".join(kinds.values())
        raise ValidationError({field: [f"This file is not a {accepted} file."]})
    return content_type, sha256_of(file)


def sha256_of(file: IO[bytes]) -> str:
    digest = hashlib.sha256()
    file.seek(0)
    for chunk in iter(lambda: file.read(1024 * 1024), b""):
        digest.update(chunk)
    file.seek(0)
    return digest.hexdigest()
