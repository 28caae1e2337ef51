"""Sample files every suite uploads: a short WAV tone, a minimal PDF, and their digests."""

from __future__ import annotations

import hashlib
import io
import math
import struct
import wave
from typing import Any


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


# Hostile audio: files whose own length fields understate (or overstate) what they hold,
# built from honest ones, for the tests of what the registry measures. Each is written
# here, independently of registry/audio.py, so that a test does not check the code with
# itself.


def flac_claiming(data: bytes, total_samples: int, *, bits: int | None = None) -> bytes:
    """A FLAC file written by :func:`tone` whose STREAMINFO claims ``total_samples`` (0 is
    "unknown") and, given ``bits``, that bit depth; its frames untouched."""
    assert data[:4] == b"fLaC" and data[4] & 0x7F == 0, "STREAMINFO comes first"
    out = bytearray(data)
    fields = int.from_bytes(out[18:26], "big")  # rate, channels, depth, total samples
    fields = (fields & ~((1 << 36) - 1)) | total_samples
    if bits is not None:
        fields = (fields & ~(31 << 36)) | ((bits - 1) << 36)
    out[18:26] = fields.to_bytes(8, "big")
    return bytes(out)


def crc(data: bytes, poly: int, width: int) -> int:
    """An unreflected CRC with no initial or final XOR (FLAC's CRC-8 and CRC-16, Ogg's
    CRC-32), bit by bit."""
    top, mask, value = 1 << (width - 1), (1 << width) - 1, 0
    for byte in data:
        value ^= byte << (width - 8)
        for _ in range(8):
            value = ((value << 1) ^ poly) & mask if value & top else (value << 1) & mask
    return value


def flac_frame_starts(data: bytes) -> list[int]:
    """Where each frame of a FLAC file written by :func:`tone` starts: frames are numbered
    0, 1, 2... (fewer than 128, so one byte each), and each header's CRC-8 holds."""
    starts: list[int] = []
    at = data.find(b"\xff\xf8")
    while at >= 0:
        size_code, rate_code = data[at + 2] >> 4, data[at + 2] & 15
        extra = {6: 1, 7: 2}.get(size_code, 0) + {12: 1, 13: 2, 14: 2}.get(rate_code, 0)
        header_end = at + 5 + extra
        number_ok = data[at + 4] == len(starts)
        if number_ok and crc(data[at:header_end], 0x07, 8) == data[header_end]:
            starts.append(at)
        at = data.find(b"\xff\xf8", at + 1)
    assert len(starts) < 128, "frame numbers of one byte"
    return starts


def mpeg_frames(data: bytes) -> tuple[int, list[int]]:
    """Where an MP3 written by :func:`tone` (MPEG Layer III) starts after its ID3 tag, and
    each of its frames' lengths, read from their headers."""
    kbps = {
        3: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
        2: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    }
    rates = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}
    start = 0
    if data[:3] == b"ID3":
        start = 10 + sum((b & 0x7F) << (7 * (3 - i)) for i, b in enumerate(data[6:10]))
    at, lengths = start, []
    while at + 4 <= len(data) and data[at] == 0xFF and data[at + 1] & 0xE6 == 0xE2:
        version = (data[at + 1] >> 3) & 3
        bitrate = kbps[3 if version == 3 else 2][data[at + 2] >> 4] * 1000
        rate = rates[version][(data[at + 2] >> 2) & 3]
        padding = (data[at + 2] >> 1) & 1
        length = (144 if version == 3 else 72) * bitrate // rate + padding
        lengths.append(length)
        at += length
    return start, lengths


def mp3_claiming_two_frames(data: bytes, *, junk: bytes = b"", every: int = 0) -> bytes:
    """An MP3 written by :func:`tone` whose Xing/Info tag says it holds two frames, with
    ``junk`` after its third frame (and, given ``every``, after every ``every``-th one)."""
    out = bytearray(data)
    at = max(out.find(b"Xing"), out.find(b"Info"))
    assert at > 0, "libsndfile's MP3 writer puts a length tag in the first frame"
    struct.pack_into(">I", out, at + 8, 2)  # "two frames"
    start, lengths = mpeg_frames(bytes(out))
    pieces, at = [bytes(out[:start])], start
    for index, length in enumerate(lengths, 1):
        pieces.append(bytes(out[at : at + length]))
        if index == 3 or (every and index % every == 0):
            pieces.append(junk)
        at += length
    pieces.append(bytes(out[at:]))
    return b"".join(pieces)


def wav_chunk(tag: bytes, payload: bytes, size: int | None = None) -> bytes:
    """A RIFF chunk: its tag, its size (``size`` when given, whatever the payload), its
    payload and a pad byte when that is odd."""
    declared = len(payload) if size is None else size
    return tag + struct.pack("<I", declared) + payload + b"\0" * (len(payload) & 1)


def riff_wave(*chunks: bytes) -> bytes:
    body = b"WAVE" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def wav_parts(seconds: float, rate: int = 8000) -> tuple[bytes, bytes]:
    """The ``fmt `` chunk (whole) and the samples of :func:`wav_bytes`' mono 16-bit WAV."""
    data = wav_bytes(seconds=seconds, rate=rate)
    assert data[12:16] == b"fmt " and data[36:40] == b"data"
    return data[12:36], data[44:]


def ogg_pages(data: bytes) -> list[tuple[int, int]]:
    """(offset, size) of each page of an Ogg file written by libsndfile."""
    pages, at = [], 0
    while (at := data.find(b"OggS", at)) >= 0:
        count = data[at + 26]
        size = 27 + count + sum(data[at + 27 : at + 27 + count])
        pages.append((at, size))
        at += size
    return pages


def ogg_rewritten(
    data: bytes, *, granule: int | None = None, divide: int = 1, ends_at: int | None = None
) -> bytes:
    """An Ogg file whose audio pages all state ``granule`` as their granule position (or
    theirs divided by ``divide``) and, given ``ends_at``, with that page flagged as the end
    of the stream; each page's checksum recomputed."""
    out = bytearray(data)
    for index, (at, size) in enumerate(ogg_pages(data)):
        if index < 2:
            continue  # the header pages
        (position,) = struct.unpack_from("<q", out, at + 6)
        struct.pack_into("<q", out, at + 6, position // divide if granule is None else granule)
        if index == ends_at:
            out[at + 5] |= 4
        struct.pack_into("<I", out, at + 22, 0)
        struct.pack_into("<I", out, at + 22, crc(bytes(out[at : at + size]), 0x04C11DB7, 32))
    return bytes(out)


def opus(seconds: float, rate: int = 48000) -> bytes:
    """A mono 440 Hz tone of ``seconds`` as Ogg Opus, written by libsndfile."""
    import numpy
    import soundfile  # type: ignore[import-untyped]  # soundfile ships no type hints

    frames = round(seconds * rate)
    samples = 0.3 * numpy.sin(2 * numpy.pi * 440.0 * numpy.arange(frames) / rate)
    out = io.BytesIO()
    with soundfile.SoundFile(out, "w", rate, 1, format="OGG", subtype="OPUS") as file:
        for start in range(0, frames, rate):
            file.write(samples[start : start + rate].astype("float32"))
    return out.getvalue()


# Hostile audio built to cost work: many frames or pages, each as small as its format
# allows. Built quickly (numpy, table-driven CRCs), so that tests can build files of
# millions of frames.


def crc_table(poly: int, width: int) -> list[int]:
    """The byte table of :func:`crc`: each byte's CRC (with no bytes before it)."""
    return [crc(bytes([byte]), poly, width) for byte in range(256)]


def silent_mp3(frames: int) -> bytes:
    """``frames`` silent MPEG-2.5 Layer III frames (8 kbit/s, 12 kHz, mono): 48 bytes each,
    playing 48 ms each; the smallest audio MPEG frames a decoder plays for the longest."""
    # The header (no CRC), then side information and main data all zero: silence.
    return (b"\xff\xe3\x14\xc4" + b"\0" * 44) * frames


def flac_of_one_sample_frames(count: int, *, rate: int = 8000, numbered: bool = True) -> bytes:
    """A mono 16-bit FLAC of ``count`` frames (fewer than 2^26) of one (silent) sample
    each, about 14 bytes apiece, under a STREAMINFO that says nothing of the total.
    ``numbered``: each frame numbered by its first sample (so that each follows on from
    the one before); else each says it is frame 0 of a stream of fixed block size (so
    that none follows on)."""
    import numpy

    crc8 = numpy.array(crc_table(0x07, 8), dtype=numpy.uint32)
    crc16 = numpy.array(crc_table(0x8005, 16), dtype=numpy.uint32)
    info = (
        struct.pack(">HH", 16, 16)
        + b"\0" * 6
        + ((rate << 44) | (15 << 36)).to_bytes(8, "big")  # mono, 16 bits, total unknown
        + b"\0" * 16
    )
    out = [b"fLaC" + b"\x80" + len(info).to_bytes(3, "big") + info]
    numbers = numpy.arange(count, dtype=numpy.int64) if numbered else numpy.zeros(count, int)
    # Frame numbers in UTF-8's form: 1 to 5 bytes here; frames grouped by that length.
    limits = [(0x80, 1), (0x800, 2), (0x10000, 3), (0x200000, 4), (0x4000000, 5)]
    low = 0
    for high, width in limits:
        group = numbers[(numbers >= low) & (numbers < high)]
        low = high
        if not len(group):
            continue
        if width == 1:
            utf8 = [group]
        else:
            lead = {2: 0xC0, 3: 0xE0, 4: 0xF0, 5: 0xF8}[width]
            utf8 = [lead | (group >> (6 * (width - 1)))]
            utf8 += [0x80 | ((group >> (6 * k)) & 0x3F) for k in range(width - 2, -1, -1)]
        sync = 0xF9 if numbered else 0xF8
        # Sync, block size "8 bits follow" with the stream's rate, mono 16-bit, number,
        # block size less one (0), then the CRC-8.
        columns = [numpy.full(len(group), b) for b in (0xFF, sync, 0x60, 0x08)]
        columns += [*utf8, numpy.zeros(len(group), int)]
        value = numpy.zeros(len(group), dtype=numpy.uint32)
        for column in columns:
            value = crc8[value ^ column.astype(numpy.uint32)]
        columns.append(value)
        # A constant subframe of sample 0, then the frame's CRC-16.
        columns += [numpy.zeros(len(group), int)] * 3
        value = numpy.zeros(len(group), dtype=numpy.uint32)
        for column in columns:
            value = ((value << 8) & 0xFFFF) ^ crc16[(value >> 8) ^ column.astype(numpy.uint32)]
        columns += [value >> 8, value & 0xFF]
        out.append(numpy.stack([c.astype(numpy.uint8) for c in columns], axis=1).tobytes())
    return b"".join(out)


def ogg_head(data: bytes) -> bytes:
    """The pages of an Ogg file written by libsndfile that hold its header packets (its
    first two pages: identification, then the rest)."""
    pages = ogg_pages(data)
    assert len(pages) > 2
    return data[: pages[2][0]]


def ogg_with_pages(head: bytes, count: int, *, packets: bytes = b"") -> bytes:
    """``head`` (header pages) followed by ``count`` pages of its stream, each holding
    ``packets``: one-byte packets, one for each byte (none: an empty page of 27 bytes)."""
    table = crc_table(0x04C11DB7, 32)
    serial, sequence = head[14:18], len(ogg_pages(head))
    lacing = bytes([len(packets)]) + b"\x01" * len(packets)
    out = [head]
    for index in range(count):
        page = bytearray(b"OggS\0\0" + struct.pack("<q", -1) + serial)
        page += struct.pack("<I", sequence + index) + b"\0\0\0\0" + lacing + packets
        value = 0
        for byte in page:
            value = ((value << 8) & 0xFFFFFFFF) ^ table[(value >> 24) ^ byte]
        struct.pack_into("<I", page, 22, value)
        out.append(bytes(page))
    return b"".join(out)


def consent_runs_until(voice: Any, when: Any) -> None:
    """Set up a voice whose standing consent runs until ``when``: for tests that travel
    years ahead of the day the factory's consent was given (whose default term would have
    ended by then)."""
    from registry.models import ConsentRecord, VoiceModel

    ConsentRecord.objects.filter(voice=voice, withdrawn_at__isnull=True).update(expires_at=when)
    VoiceModel.objects.filter(pk=voice.pk).update(consent_expires_at=when)
    voice.refresh_from_db()


def logged_events(*kinds: str) -> list[dict[str, Any]]:
    """The log's events of these types, oldest first, as the log holds them."""
    import json

    from transparency.models import LogEntry

    return [
        json.loads(bytes(data))
        for data in LogEntry.objects.filter(event_type__in=kinds)
        .order_by("index")
        .values_list("data", flat=True)
    ]


def _ebml(element_id: bytes, payload: bytes) -> bytes:
    """One EBML element with an 8-byte size, as Matroska muxers write them."""
    return element_id + (0x01 << 56 | len(payload)).to_bytes(8, "big") + payload


def webm_bytes(*track_types: int, doc_type: bytes = b"webm") -> bytes:
    """A small WebM file with one track per type (2 audio, 1 video), laid out as the
    Matroska specification and browsers' MediaRecorder write it: the EBML header, then a
    Segment of unknown size holding Info, Tracks and a Cluster."""
    header = _ebml(b"\x1a\x45\xdf\xa3", b"\x42\x86\x81\x01" + _ebml(b"\x42\x82", doc_type))
    tracks = b"".join(
        _ebml(
            b"\xae",
            b"\xd7\x81"
            + bytes([n + 1])
            + b"\x83\x81"
            + bytes([kind])
            + _ebml(b"\x86", b"A_OPUS" if kind == 2 else b"V_VP8"),
        )
        for n, kind in enumerate(track_types)
    )
    segment = (
        _ebml(b"\x15\x49\xa9\x66", b"\x2a\xd7\xb1\x83\x0f\x42\x40")
        + _ebml(b"\x16\x54\xae\x6b", tracks)
        + _ebml(b"\x1f\x43\xb6\x75", b"\xe7\x81\x00" + b"\xa3\x85\x81\x00\x00\x80\x00")
    )
    return header + b"\x18\x53\x80\x67\x01\xff\xff\xff\xff\xff\xff\xff" + segment


def identity_verified(performer: Any, operator: Any, *, approve: bool = True) -> Any:
    """The performer sends identity evidence and an operator decides on it, through the
    services, as on the pages."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from registry import identity

    challenge = identity.identity_challenge_issue(actor=performer.user, performer=performer)
    submission = identity.identity_submit(
        actor=performer.user,
        performer=performer,
        challenge_id=challenge.pk,
        recording=SimpleUploadedFile("challenge.webm", webm_bytes(2), "audio/webm"),
        document=SimpleUploadedFile("passport.pdf", PDF_BYTES, "application/pdf"),
    )
    decided = identity.identity_decide(
        operator=operator, submission=submission, approve=approve, reason="" if approve else "no"
    )
    performer.refresh_from_db()
    return decided
