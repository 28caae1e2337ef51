"""How long an audio file plays, measured (by an audio library, and by counting what the
file holds); and when a declared duration agrees with a measured one.

The one home for both rules: voice samples, a work's audio when it is recorded or
stamped, and any clip uploaded to /verify/ are measured here, and every comparison of a
brand's word with the registry's measurement uses :func:`disagreement`.

Pure: bytes or a binary file in, whole milliseconds (or None) out; no Django. Only the
kinds in :data:`MEASURED_TYPES`, recognised by their first bytes, are measured.

Measure rather than trust. A container's own length field (an MP3's Xing, Info or VBRI
tag, a FLAC's STREAMINFO total, an Ogg page's granule position or end-of-stream flag, a
WAV's ``data`` size, an MP4 media header's duration) is a claim the file makes about
itself. libsndfile believes it: it stops decoding where the field says the audio ends,
while players (Chromium, through ffmpeg) play the stream that is there. So each format is
also measured without its length field, and when that plays clearly longer than
libsndfile's decode (by more than the tolerance), it is the measurement. A length field
may shorten the measurement only by what players trim too (an encoder's delay and
padding: a few frames at most), and is never the measurement of a file with no sound
behind it.

- WAV: libsndfile decodes it. Its chunks are also walked as ffmpeg walks them, and every
  ``data`` chunk players may play (ffmpeg plays the last it finds, or, streaming, each in
  turn; a ``data`` size of 0 or 0xFFFFFFFF plays to the end of the file) is decoded. A
  ``data`` size smaller than the bytes after it is honoured, as Chromium, ffmpeg and
  libsndfile all honour it: those bytes are not played, unless they form another
  ``data`` chunk.
- FLAC: libsndfile decodes it, and the frames after the metadata are also counted from
  their headers (each header's CRC-8 must hold), whatever STREAMINFO's total (0,
  "unknown", included), bit depth or the frames' own numbers say.
- MP3: libsndfile decodes it, and the MPEG frames are also counted from their headers,
  resynchronising past bytes that are not a frame as decoders do. Free-format frames
  (no bitrate in the header), which ffmpeg does not decode, are not counted.
- Ogg (Vorbis, Opus): libsndfile decodes it, and the stream's packets are also counted
  as a decoder that never stops early plays them (libogg's paging, each Vorbis packet's
  block size from its mode, each Opus packet's frames from its table of contents),
  whatever the granule positions and end-of-stream flags say. An Ogg file holding more
  than one logical stream (chained or multiplexed) is not measured.
- M4A (AAC or any codec in MP4), which libsndfile does not read, is measured from the
  audio track's sample table (the samples players play, through its edit list), never
  from a header's duration: only samples whose bytes are in the file count. Fragmented
  MP4 is not measured.

A file that holds no sound (nothing decodes, or under half a millisecond does), one
nobody can read, or one whose structure would take more work to follow than an honest
file of its size needs has no duration (None): a guess shown as a measurement would be
worse than nothing, so callers refuse it or say it was not measured.

The work is bounded, for any file (this runs inside web requests, unauthenticated ones
included): counting is a linear pass that keeps running totals (no object per frame or
page), and refuses a file with more frames, pages, candidate headers or checksummed bytes
than honest files of its size hold, or one it counts as playing longer than a day (works
are at most a day long) before counting on. libsndfile decodes a file only when the count
says that is cheap (:data:`_DECODE_BUDGET`), and a decode that runs far past the count is
stopped and the file refused. A longer file is measured by its count, with libsndfile's
reading of its length fields (at open: nothing decoded) standing in for the decode, never
longer than the count: a length field shortens it no more than it could shorten a decode,
and an honest file measures the same either way.
"""

from __future__ import annotations

import bisect
import io
import itertools
import re
import struct
import zlib
from collections.abc import Buffer, Callable, Iterator
from functools import cache
from typing import IO, TYPE_CHECKING, NamedTuple

from registry.validation import sniff_audio
from verifier.audio import sniff as sniff_stamped

if TYPE_CHECKING:
    import numpy

# What the registry measures, by MIME type (recognised by the first bytes, never by a
# name or a Content-Type the client claims).
MEASURED_TYPES = {
    "audio/wav": "WAV",
    "audio/mpeg": "MP3",
    "audio/ogg": "Ogg",
    "audio/flac": "FLAC",
    "audio/mp4": "M4A",
}
KINDS_IN_WORDS = "WAV, MP3, Ogg, FLAC or M4A"

# A declared duration agrees with a measured one when they differ by at most the larger
# of this and 1% of the measured duration (rounding, encoder delay, a codec's frame).
TOLERANCE_FLOOR_MS = 100

_BLOCK_FRAMES = 65536

# Works are at most a day long (royalties' MAX_DURATION_MS); a measurement may exceed a
# declared day by the tolerance. A file counted as playing longer than this is refused,
# and its counting stops there: nothing longer is decoded.
_DAY_MS = 24 * 3600 * 1000
_LONGEST_MS = _DAY_MS + _DAY_MS // 100

# How many samples (all channels together) libsndfile may be asked to decode, by kind: a
# file whose count says decoding it costs more is measured by its count instead (see
# :func:`_measured`). At most about half a second of a small server's work for each codec,
# at its slowest (white noise at the highest bitrate: libsndfile decodes about 90 million
# samples a second of FLAC, 75 of MP3, 35 of Vorbis, 14 of Opus, 20 of WAV's GSM 6.10); a
# decode is stopped, and the file refused, at twice the budget.
_DECODE_BUDGET = {
    "audio/wav": 1 << 23,
    "audio/flac": 1 << 26,
    "audio/mpeg": 1 << 25,
    "audio/ogg": 1 << 23,
}


class _Unmeasurable(Exception):
    """Raised while following a file's structure: it would take more work than any honest
    file of its size needs (or it is laid out so players disagree), so it is refused."""


def kind(head: bytes) -> str | None:
    """The MIME type of audio whose first bytes (give 64 KB: a leading ID3 tag is looked
    past) are ``head``, among :data:`MEASURED_TYPES`, or None."""
    # The stamping formats first: a FLAC file with a leading ID3 tag (as stamped FLAC
    # files have) is FLAC, not MP3.
    found = sniff_stamped(head) or sniff_audio(head)
    return found if found in MEASURED_TYPES else None


def duration_ms(source: bytes | IO[bytes]) -> int | None:
    """How many milliseconds the audio plays (rounded to the nearest), or None when it is
    not one of :data:`MEASURED_TYPES`, cannot be measured, holds no sound, or plays longer
    than a day (and the tolerance). A binary file is read from its start and left at its
    start."""
    if isinstance(source, bytes):
        data = source
    elif isinstance(source, bytearray | memoryview):
        data = bytes(source)
    else:
        source.seek(0)
        data = source.read()
        source.seek(0)
    if not data:
        return None
    found = kind(data[:65536])
    if found is None:
        return None
    try:
        measured = _MEASURES[found](data)
    # _Unmeasurable, or a hostile file that trips a walker of its structure: either way it
    # is refused, never measured by half (libsndfile's errors are caught where it runs).
    except Exception:
        return None
    # 0 ms is a file with (next to) no sound, not a measurement of one.
    if not measured or measured > _LONGEST_MS:
        return None
    return measured


def tolerance_ms(measured_ms: int) -> int:
    """How far a declared duration may be from the measured one: the larger of 100 ms and
    1% of the measured duration. (Durations are whole milliseconds, so flooring the 1%
    decides exactly as the fraction would.)"""
    return max(TOLERANCE_FLOOR_MS, measured_ms // 100)


def disagreement(*, measured_ms: int, declared_ms: int, declared_as: str) -> str | None:
    """Why ``declared_ms`` is not the audio's duration, as a sentence a person reads (no
    full stop), or None when the two agree within the tolerance. ``declared_as`` says who
    said what, e.g. "the work was recorded as"."""
    if abs(declared_ms - measured_ms) <= tolerance_ms(measured_ms):
        return None
    return (
        f"The audio was measured at {seconds(measured_ms)}, but {declared_as} "
        f"{seconds(declared_ms)}: a declared duration may differ from the measured one by "
        f"at most {seconds(tolerance_ms(measured_ms))} (the larger of 100 ms and 1%)"
    )


def seconds(ms: int) -> str:
    """``60.000 s``: milliseconds as a person reads a duration."""
    sign = "-" if ms < 0 else ""
    whole, part = divmod(abs(ms), 1000)
    return f"{sign}{whole:,}.{part:03d} s"


# -- Common ground ----------------------------------------------------------------------


def _ms(frames: int, rate: int) -> int:
    return (frames * 1000 + rate // 2) // rate


def _ms_of(samples: dict[int, int]) -> int:
    """Milliseconds of ``samples`` counted per sample rate ({rate: samples})."""
    return round(sum(count * 1000 / rate for rate, count in samples.items()))


class _Count(NamedTuple):
    """What counting a stream (without its length fields) found."""

    ms: int  # how long it plays
    work: int  # what decoding it would cost, in samples of all channels together
    slack_ms: int = 0  # how much of its end (or start) decoders rightly trim


def _longer(measured: int | None, counted: int | None, slack_ms: int = 0) -> int | None:
    """libsndfile's ``measured`` duration, unless ``counted`` (the stream counted without
    its length field) plays longer by more than the tolerance and ``slack_ms`` (what
    decoders trim by right): a length field that understates the audio never shortens it."""
    if counted is None:
        return measured
    if measured is None or counted - measured > tolerance_ms(counted) + slack_ms:
        return counted
    return measured


def _measured(
    data: bytes,
    counted: _Count | None,
    budget: int,
    *,
    plays: Callable[[], bool] | None = None,
) -> int | None:
    """The measurement of a file whose stream counted as ``counted`` (None: not counted):
    libsndfile's, unless the count plays clearly longer (:func:`_longer`).

    libsndfile decodes the file when it was not counted or its count says that costs at
    most ``budget`` samples; past twice that the decode is stopped and the file refused
    (a decoder playing far more than the stream counts is not followed further). A file
    counted as costing more is not decoded: libsndfile's reading of its length fields
    when it opens the file (nothing decoded) stands in for the decode, never longer than
    the count, since a decoder plays no more than the stream holds. ``plays``, when given,
    says whether a decoder plays the counted stream at all: when libsndfile decodes none
    of the file and it says no, the file is refused, however many packets it counts."""
    slack_ms = counted.slack_ms if counted is not None else 0
    if counted is None or counted.work <= budget:
        measured = _by_libsndfile(data, limit=2 * budget)
        if measured is None and plays is not None and not plays():
            return None
        return _longer(measured, counted.ms if counted else None, slack_ms)
    if plays is not None and not plays():
        return None
    said = _said(data)
    return _longer(None if said is None else min(said, counted.ms), counted.ms, slack_ms)


def _decoded(source: bytes | io.IOBase, limit: int | None = None) -> tuple[int, int] | None:
    """(frames, sample rate) that libsndfile decodes from ``source``, or None when it
    cannot open or decode it; past ``limit`` samples (all channels together) the decode is
    stopped and the file refused."""
    # Imported here: they load libsndfile and numpy, which only measuring needs.
    import numpy
    import soundfile  # type: ignore[import-untyped]  # soundfile ships no type hints

    file = io.BytesIO(source) if isinstance(source, bytes) else source
    over = False
    try:
        with soundfile.SoundFile(file) as audio:
            rate, channels = int(audio.samplerate), int(audio.channels)
            if rate <= 0 or channels <= 0:
                return None
            buffer = numpy.empty((_BLOCK_FRAMES, channels), dtype="int16")
            frames = 0
            # Until a read gives nothing: a decoder may give less than asked before the end.
            while got := len(audio.read(_BLOCK_FRAMES, dtype="int16", out=buffer)):
                frames += got
                if limit is not None and frames * channels > limit:
                    over = True
                    break
    # A damaged or hostile file fails in many ways inside the C library and its binding
    # (LibsndfileError, RuntimeError, ValueError, TypeError...): each means "not measured".
    except Exception:
        return None
    if over:
        raise _Unmeasurable
    return frames, rate


def _by_libsndfile(source: bytes | io.IOBase, limit: int | None = None) -> int | None:
    decoded = _decoded(source, limit)
    return _ms(*decoded) if decoded and decoded[0] else None


def _said(data: bytes) -> int | None:
    """How long libsndfile says ``data`` plays when it opens it: its reading of the file's
    length fields, in ms, nothing decoded; None when it cannot open it or does not say."""
    import soundfile

    try:
        with soundfile.SoundFile(io.BytesIO(data)) as audio:
            frames, rate = int(audio.frames), int(audio.samplerate)
    except Exception:
        return None
    # libsndfile says "unknown" with the largest count there is.
    if rate <= 0 or not 0 < frames < 1 << 62:
        return None
    return _ms(frames, rate)


def _after_id3(data: bytes) -> int:
    """Where the audio starts after any ID3v2 tags at the start of ``data``."""
    at = 0
    for _ in range(64):
        if data[at : at + 3] != b"ID3" or at + 10 > len(data):
            break
        size = 0
        for byte in data[at + 6 : at + 10]:  # syncsafe: 7 bits per byte
            size = (size << 7) | (byte & 0x7F)
        at += 10 + size + (10 if data[at + 5] & 0x10 else 0)  # a footer, when flagged
    return at


@cache
def _crc_table(poly: int, width: int) -> tuple[int, ...]:
    """The byte table of an unreflected CRC of ``width`` bits with polynomial ``poly``."""
    top, mask, table = 1 << (width - 1), (1 << width) - 1, []
    for byte in range(256):
        crc = byte << (width - 8)
        for _ in range(8):
            crc = ((crc << 1) ^ poly) & mask if crc & top else (crc << 1) & mask
        table.append(crc)
    return tuple(table)


# -- WAV --------------------------------------------------------------------------------

# More chunks than any honest WAV holds: a file with more is refused, not walked.
_MAX_RIFF_CHUNKS = 4096
# Sample formats libsndfile reads from a WAV at about the cost of a copy, at most a sample
# for each byte: decoded whatever their length, which the file's size bounds.
_WAV_PLAIN = frozenset(
    {"PCM_S8", "PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE", "ULAW", "ALAW"}
)
# Block codecs, whose frames libsndfile counts at open from the bytes the data chunk holds
# (so that decoding them gives exactly that many), and whose decode costs more.
_WAV_BLOCKS = frozenset(
    {"IMA_ADPCM", "MS_ADPCM", "GSM610", "G721_32", "NMS_ADPCM_16", "NMS_ADPCM_24", "NMS_ADPCM_32"}
)


def _wav(data: bytes) -> int | None:
    as_played = _wav_as_played(data)  # first: it refuses a file of too many chunks
    measured = _wav_by_libsndfile(io.BytesIO(data))
    if as_played is None:
        return measured
    # The data chunks players may play, decoded as one: never less than libsndfile's.
    played = _wav_by_libsndfile(as_played)
    return max((m for m in (measured, played) if m is not None), default=None)


def _wav_by_libsndfile(file: io.IOBase) -> int | None:
    """How long libsndfile plays a WAV (ms): decoded when that is cheap (plain samples, or
    a block codec within the budget); a block codec beyond it, from the frames libsndfile
    counts at open, which are the data chunk's bytes (and decode to exactly as many);
    another codec beyond it (MPEG in WAV) is not measured."""
    import soundfile

    try:
        with soundfile.SoundFile(file) as audio:
            subtype, frames = audio.subtype, int(audio.frames)
            rate, work = int(audio.samplerate), int(audio.frames) * int(audio.channels)
    except Exception:
        return None
    file.seek(0)
    if subtype in _WAV_PLAIN:
        return _by_libsndfile(file)
    if work <= _DECODE_BUDGET["audio/wav"]:
        return _by_libsndfile(file, limit=2 * _DECODE_BUDGET["audio/wav"])
    if subtype in _WAV_BLOCKS and rate > 0 and 0 < frames < 1 << 62:
        return _ms(frames, rate)
    raise _Unmeasurable


def _wav_as_played(data: bytes) -> _Spliced | None:
    """The WAV as players play it, every ``data`` chunk's bytes in one ``data`` chunk (a
    file that reads them where they lie: nothing is copied), or None when libsndfile
    already reads it so (one ``data`` chunk after the ``fmt `` chunk, holding the bytes its
    size says) or it has no ``fmt `` or ``data`` chunk.

    Chunks are walked as ffmpeg (Chromium) walks them: each chunk's size leads to the next
    (padded to an even offset) until one runs past the end of the file. ffmpeg plays the
    last ``data`` chunk it finds (and, streaming, each in turn), libsndfile the first (or
    refuses a file with two): the sum of them all is never less than either. A ``data``
    size of 0 or 0xFFFFFFFF plays to the end of the file (ffmpeg's reading; libsndfile
    finds no samples in the first)."""
    fmt: bytes | None = None
    spans: list[tuple[int, int]] = []
    plain = True
    at, end = 12, len(data)
    for _ in range(_MAX_RIFF_CHUNKS):
        if at + 8 > end:
            break
        tag = data[at : at + 4]
        (size,) = struct.unpack_from("<I", data, at + 4)
        body = at + 8
        if tag == b"fmt " and fmt is None:
            fmt = data[body : body + size]
        elif tag == b"data":
            plain = plain and fmt is not None and not spans
            if size in (0, 0xFFFFFFFF):
                spans.append((body, end))
                plain = False
                break
            spans.append((body, min(body + size, end)))
            plain = plain and body + size <= end
        at = body + size + (size & 1)
    else:
        if at + 8 <= end:
            raise _Unmeasurable
    if fmt is None or not spans or plain:
        return None
    length = sum(stop - start for start, stop in spans)
    chunks = (
        b"WAVEfmt "
        + struct.pack("<I", len(fmt))
        + fmt
        + b"\0" * (len(fmt) & 1)
        + b"data"
        + struct.pack("<I", length & 0xFFFFFFFF)
    )
    head = b"RIFF" + struct.pack("<I", (len(chunks) + length) & 0xFFFFFFFF) + chunks
    view = memoryview(data)
    return _Spliced([head, *(view[start:stop] for start, stop in spans)])


class _Spliced(io.RawIOBase):
    """A read-only file made of ``pieces`` one after another, read from where they lie:
    nothing is copied but what is read."""

    def __init__(self, pieces: list[bytes | memoryview]) -> None:
        super().__init__()
        self._pieces = [memoryview(piece) for piece in pieces if len(piece)]
        self._starts = list(itertools.accumulate((len(p) for p in self._pieces), initial=0))
        self._at = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._at

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._at, io.SEEK_END: self._starts[-1]}[whence]
        self._at = max(0, base + offset)
        return self._at

    def readinto(self, buffer: Buffer) -> int:
        out = memoryview(buffer).cast("B")
        done = 0
        index = bisect.bisect_right(self._starts, self._at) - 1
        while done < len(out) and index < len(self._pieces):
            piece = self._pieces[index]
            start = self._at - self._starts[index]
            take = min(len(piece) - start, len(out) - done)
            out[done : done + take] = piece[start : start + take]
            done += take
            self._at += take
            index += 1
        return done


# -- FLAC -------------------------------------------------------------------------------

# More metadata blocks than any honest FLAC holds: a file with more is refused.
_MAX_FLAC_BLOCKS = 4096
# More frames than an honest FLAC of up to a day holds (a day of 96 kHz audio in libFLAC's
# blocks of 4096 samples is about 2 million frames, and files this registry takes are far
# shorter): a file with more is refused, its counting stopped there.
_MAX_FLAC_FRAMES = 1 << 21
# Candidate frame headers that are not frames (their CRC-8 fails, or they are malformed)
# the counter looks at, beyond 65536, for each byte of the file: audio bytes form one in a
# million places or so, so an honest file needs hardly any.
_FLAC_FALSE_HEADERS_PER_BYTE = 1 / 64
# How many bytes the FLAC counter may checksum (CRC-16, to place a frame header that does
# not follow on from the frame before it), beyond 1 MB, for each byte of the file before the
# file is refused: an honest file needs a frame or two for each chance sync code. Each
# header checked so costs at least _FLAC_CHECK_COST bytes of it.
_FLAC_CHECKSUM_PER_BYTE = 1 / 256
_FLAC_CHECK_COST = 256
# How many bytes the counter looks through at once for frame headers.
_FLAC_SCAN = 1 << 20
_FLAC_RATES = (0, 88200, 176400, 192000, 8000, 16000, 22050, 24000, 32000, 44100, 48000, 96000)


def _flac(data: bytes) -> int | None:
    return _measured(data, _flac_frames(data), _DECODE_BUDGET["audio/flac"])


def _flac_frames(data: bytes) -> _Count | None:
    """How long the FLAC frames after the metadata play, counted from their headers (their
    block sizes, at their sample rates), whatever STREAMINFO's total says; or None when the
    file has no STREAMINFO or no frames.

    A header counts when its CRC-8 holds and it has the stream's channels (ffmpeg, so
    Chromium, cannot decode a frame that changes them). Audio bytes form such a header by
    chance (about once in 2^27 places), inside a frame: as ffmpeg's parser does, a header
    whose number does not follow on from the last frame's is checked with that frame's
    CRC-16, and left out only when the last frame runs on past it (its CRC-16 holds to
    the next header, or that header's number follows on instead). Frame numbers are never
    trusted to say how many frames there are: every frame counts once.

    Headers are found and read a megabyte of the file at a time, as arrays (numpy): the
    work is a few passes over the bytes, and a fixed amount for each candidate header."""
    import numpy

    at = _after_id3(data)
    if data[at : at + 4] != b"fLaC":
        return None
    at += 4
    info = None
    for _ in range(_MAX_FLAC_BLOCKS):
        if at + 4 > len(data):
            return None
        header, length = data[at], int.from_bytes(data[at + 1 : at + 4], "big")
        if header & 0x7F == 0 and info is None:  # STREAMINFO
            info = data[at + 4 : at + 4 + length]
        at += 4 + length
        if header & 0x80:  # the last metadata block
            break
    else:
        raise _Unmeasurable
    if info is None or len(info) < 18:
        return None
    bits = int.from_bytes(info[10:18], "big")
    rate, channels = bits >> 44, ((bits >> 41) & 7) + 1
    end = len(data)
    whole = numpy.frombuffer(data, dtype=numpy.uint8)
    second, third = _flac_header_bytes(channels)
    false_left = 65536 + int(end * _FLAC_FALSE_HEADERS_PER_BYTE)
    # Each header's start, numbering, number, block size and sample rate, a list of arrays
    # for each (one array for each stretch of the file looked through).
    found: list[list[numpy.ndarray]] = [[], [], [], [], []]
    frames = 0
    for start in range(at, end, _FLAC_SCAN):
        window = whole[start : min(start + _FLAC_SCAN + 1, end)]
        # A sync code (fixed or variable block size), then a block size and sample rate
        # that are not reserved, the stream's channels and a bit depth that is not.
        syncs = numpy.flatnonzero((window[:-1] == 0xFF) & ((window[1:] & 0xFE) == 0xF8))
        syncs += start
        syncs = syncs[
            second[whole[numpy.minimum(syncs + 2, end - 1)]]
            & third[whole[numpy.minimum(syncs + 3, end - 1)]]
        ]
        headers = _flac_headers(whole, syncs, rate)
        frames += len(headers[0])
        false_left -= len(syncs) - len(headers[0])
        if frames > _MAX_FLAC_FRAMES or false_left < 0:
            raise _Unmeasurable
        for field, values in zip(found, headers, strict=True):
            field.append(values)
    if not frames:
        return None
    # One field at a time, letting go of its pieces: never two copies of them all.
    starts, variable, number, blocksize, rates = (
        numpy.concatenate(field) for field in _emptied(found)
    )
    counted = _flac_follow(data, starts, variable, number, blocksize)
    played: dict[int, int] = {}
    kept_rates, inverse = numpy.unique(rates[counted], return_inverse=True)
    sums = numpy.bincount(inverse, weights=blocksize[counted], minlength=len(kept_rates))
    for each, total in zip(kept_rates.tolist(), sums.tolist(), strict=True):
        played[each] = int(total)
    ms = _ms_of(played)
    if ms > _LONGEST_MS:
        raise _Unmeasurable
    samples = sum(played.values())
    # libFLAC's work for each frame, besides its samples, is worth a few dozen samples.
    return _Count(ms, samples * channels + 64 * int(counted.sum()))


@cache
def _flac_header_bytes(channels: int) -> tuple[numpy.ndarray, numpy.ndarray]:
    """Which values a FLAC frame header's third byte (block size and sample rate: neither
    reserved) and fourth byte (the stream's channels, a bit depth that is not reserved,
    the reserved bit clear) may take, as two tables of 256 booleans."""
    import numpy

    assignments = [channels - 1] + ([8, 9, 10] if channels == 2 else [])
    second = numpy.array([b >> 4 != 0 and b & 15 != 15 for b in range(256)])
    third = numpy.zeros(256, dtype=bool)
    for assignment in assignments:
        for depth in (0, 1, 2, 4, 5, 6, 7):
            third[assignment << 4 | depth << 1] = True
    return second, third


@cache
def _flac_tables() -> tuple[numpy.ndarray, ...]:
    """Tables by byte value: how many continuation bytes a frame number's lead byte says
    follow (-1: not a lead byte), the bits of its own it gives, the block size each block
    size code says (0: read after the number), the sample rate each rate code says (0: the
    stream's or read after the number), and FLAC's CRC-8 byte table."""
    import numpy

    more = numpy.full(256, -1, dtype=numpy.int64)
    own = numpy.zeros(256, dtype=numpy.int64)
    for lead in range(256):
        if lead < 0x80:
            more[lead], own[lead] = 0, lead
        elif 0xC0 <= lead <= 0xFE:
            extra = 7 - (lead ^ 0xFF).bit_length()  # as many as the lead's high 1s, less one
            more[lead], own[lead] = extra, lead & (0x3F >> extra)
    sizes = numpy.zeros(16, dtype=numpy.int64)
    for code in range(16):
        if code == 1:
            sizes[code] = 192
        elif 2 <= code <= 5:
            sizes[code] = 576 << (code - 2)
        elif code >= 8:
            sizes[code] = 256 << (code - 8)
    rates = numpy.array([*_FLAC_RATES, 0, 0, 0, 0], dtype=numpy.int64)
    crc8 = numpy.array(_crc_table(0x07, 8), dtype=numpy.uint8)
    return more, own, sizes, rates, crc8


def _flac_headers(
    whole: numpy.ndarray, at: numpy.ndarray, stream_rate: int
) -> tuple[numpy.ndarray, ...]:
    """The FLAC frame headers among candidates starting at ``at`` (each the sync code and two
    bytes that may follow it): where each starts, whether it is numbered by sample
    (variable block size), its number, block size and sample rate; those whose frame
    number is malformed, who have no sample rate, or whose CRC-8 does not hold are left
    out. As ``_flac_frame`` once read one header, for all of them at once."""
    import numpy

    more_of, own_of, sizes, rates, crc8 = _flac_tables()
    end = len(whole)

    def byte(where: numpy.ndarray) -> numpy.ndarray:
        return whole[numpy.minimum(where, end - 1)].astype(numpy.int64)

    codes = byte(at + 2)
    size_code, rate_code = codes >> 4, codes & 15
    lead = byte(at + 4)
    more = more_of[lead]
    ok = (more >= 0) & (at + 4 < end)
    more = numpy.maximum(more, 0)
    number = own_of[lead]
    # The frame (or sample) number, UTF-8 coded: the lead byte and its continuation bytes.
    for index in range(1, 7):
        inside = more >= index
        follow = byte(at + 4 + index)
        ok &= ~inside | ((follow & 0xC0) == 0x80)
        number = numpy.where(inside, (number << 6) | (follow & 0x3F), number)
    pos = at + 5 + more
    blocksize = sizes[size_code]
    blocksize = numpy.where(size_code == 6, byte(pos) + 1, blocksize)
    blocksize = numpy.where(size_code == 7, (byte(pos) << 8 | byte(pos + 1)) + 1, blocksize)
    pos = pos + (size_code == 6) + 2 * (size_code == 7)
    rate = numpy.where(rate_code == 0, stream_rate, rates[rate_code])
    rate = numpy.where(rate_code == 12, byte(pos) * 1000, rate)
    wide = byte(pos) << 8 | byte(pos + 1)
    rate = numpy.where(rate_code == 13, wide, rate)
    rate = numpy.where(rate_code == 14, wide * 10, rate)
    pos = pos + (rate_code == 12) + 2 * ((rate_code == 13) | (rate_code == 14))
    ok &= (rate > 0) & (pos < end)
    # CRC-8 over the header's bytes (from 5 to 16 of them), one byte of all at a time.
    length = pos - at
    crc = numpy.zeros(len(at), dtype=numpy.uint8)
    for index in range(16):
        crc = numpy.where(index < length, crc8[crc ^ byte(at + index).astype(numpy.uint8)], crc)
    ok &= crc == byte(pos)
    variable = (byte(at[ok] + 1) & 1).astype(bool)
    compact = numpy.int32
    return at[ok], variable, number[ok], blocksize[ok].astype(compact), rate[ok].astype(compact)


def _emptied(lists: list[list[numpy.ndarray]]) -> Iterator[list[numpy.ndarray]]:
    """Each list of ``lists`` in turn, taken out of it (so that its items can be let go)."""
    for index in range(len(lists)):
        taken, lists[index] = lists[index], []
        yield taken


def _flac_follow(
    data: bytes,
    at: numpy.ndarray,
    variable: numpy.ndarray,
    number: numpy.ndarray,
    blocksize: numpy.ndarray,
) -> numpy.ndarray:
    """Which of the frame headers (in order) are frames: all, but a header whose number
    does not follow on from the last frame's, and that lies inside that frame (its CRC-16
    does not hold to the header, and does to the header after, or the header after
    follows on instead). Runs of headers that follow on are taken whole; each header that
    does not costs a checksum (bounded by the file's size)."""
    import numpy

    count = len(at)
    step = numpy.where(variable, blocksize, 1)
    follows = numpy.zeros(count, dtype=bool)
    follows[1:] = (variable[1:] == variable[:-1]) & (number[1:] == number[:-1] + step[:-1])
    breaks = numpy.flatnonzero(~follows)  # includes 0
    budget = [(1 << 20) + int(len(data) * _FLAC_CHECKSUM_PER_BYTE)]
    counted = numpy.ones(count, dtype=bool)

    def followed_by(last: int, then: int) -> bool:
        return bool(variable[then] == variable[last]) and int(number[then]) == int(number[last]) + (
            int(blocksize[last]) if variable[last] else 1
        )

    last, index = 0, 1
    while index < count:
        if last == index - 1 and follows[index]:
            # A run that follows on: every header up to the next break is a frame.
            upto = bisect.bisect_right(breaks, index)
            index = int(breaks[upto]) if upto < len(breaks) else count
            last = index - 1
            continue
        if not followed_by(last, index):
            after = index + 1 if index + 1 < count else None
            budget[0] -= _FLAC_CHECK_COST
            if _crc16(data, int(at[last]), int(at[index]), budget) != 0 and (
                (after is not None and followed_by(last, after))
                or _crc16(data, int(at[last]), int(at[after]) if after else len(data), budget) == 0
            ):
                counted[index] = False  # a chance sync code inside the last frame
                index += 1
                continue
        last = index
        index += 1
    return counted


def _crc16(data: bytes, start: int, stop: int, budget: list[int]) -> int:
    """FLAC's frame CRC-16 (polynomial 0x8005) of ``data[start:stop]``: 0 when a frame runs
    from ``start`` to ``stop`` with its CRC intact. ``budget`` is what is left to spend."""
    budget[0] -= stop - start
    if budget[0] < 0:
        raise _Unmeasurable
    table, crc = _crc_table(0x8005, 16), 0
    for byte in data[start:stop]:
        crc = (crc << 8) & 0xFFFF ^ table[crc >> 8 ^ byte]
    return crc


# -- MP3 --------------------------------------------------------------------------------

# Bitrates in kbit/s by (MPEG-1?, layer); index 0 is "free format", which ffmpeg (so
# Chromium) does not decode, and index 15 is reserved.
_MPEG_KBPS = {
    (True, 1): (0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (True, 2): (0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (True, 3): (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (False, 1): (0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (False, 2): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    (False, 3): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
# Sample rates by the header's version bits (0: MPEG-2.5, 2: MPEG-2, 3: MPEG-1).
_MPEG_RATES = {0: (11025, 12000, 8000), 2: (22050, 24000, 16000), 3: (44100, 48000, 32000)}

# While resynchronising, the MP3 counter checks at most one candidate header for each this
# many bytes of the file (and 4096 more) before the file is refused: random bytes hold about
# one in 5,000 places, honest files a few in their tags.
_MP3_RESYNC_PER_BYTE = 256
# How many frames the counter takes between checks that it has not counted past a day.
_MP3_FRAMES_BETWEEN_CHECKS = 1 << 16

_MpegFrame = tuple[int, int, int, int]  # length in bytes, samples, sample rate, stream


@cache
def _mpeg_frames() -> tuple[tuple[_MpegFrame | None, ...], re.Pattern[bytes]]:
    """Every MPEG audio frame header's second and third bytes (as one 16-bit index) mapped
    to the frame it starts, or None; and a pattern for where a header may start. Checked as
    ffmpeg checks a header (its version, layer, bitrate and sample rate are not reserved)."""
    table: list[_MpegFrame | None] = [None] * 65536
    for second in range(0xE0, 0x100):
        version, layer = (second >> 3) & 3, 4 - ((second >> 1) & 3)
        if version == 1 or layer == 4:
            continue
        mpeg1 = version == 3
        for third in range(256):
            kbps_index, rate_index, padding = third >> 4, (third >> 2) & 3, (third >> 1) & 1
            if kbps_index in (0, 15) or rate_index == 3:
                continue
            kbps, rate = _MPEG_KBPS[mpeg1, layer][kbps_index], _MPEG_RATES[version][rate_index]
            if layer == 1:
                length, samples = (12000 * kbps // rate + padding) * 4, 384
            elif layer == 2 or mpeg1:
                length, samples = 144000 * kbps // rate + padding, 1152
            else:
                length, samples = 72000 * kbps // rate + padding, 576
            stream = (second & 0x1E) << 2 | rate_index  # version, layer and sample rate
            table[second << 8 | third] = (length, samples, rate, stream)
    seconds = bytes(b for b in range(0xE0, 0x100) if any(table[b << 8 | t] for t in range(256)))
    thirds = bytes(t for t in range(256) if any(table[b << 8 | t] for b in seconds))
    pattern = re.compile(
        b"\xff[" + re.escape(seconds) + b"][" + re.escape(thirds) + b"]", re.DOTALL
    )
    return tuple(table), pattern


def _mp3(data: bytes) -> int | None:
    return _measured(data, _mp3_frames(data), _DECODE_BUDGET["audio/mpeg"])


def _mp3_frames(data: bytes) -> _Count | None:
    """How long an MP3's MPEG frames play, counted one by one from their headers whatever
    any length tag says (with what decoders trim: three of its last frame), or None when
    it holds fewer than two frames.

    From one frame to the next by each frame's length; where that is not a frame header
    (junk, a tag, a damaged frame), on to the next header as decoders resynchronise: one of
    the stream being followed (same version, layer and sample rate: ffmpeg plays a lone
    frame between junk too), or, for the first frame or a new stream, one whose next frame
    follows it (so that a stray 0xFF in other bytes is not taken for a stream). Each
    candidate header costs a fixed amount of work, found by a regular expression; a file
    with more candidates than :data:`_MP3_RESYNC_PER_BYTE` allows, or counted as playing
    longer than a day, is refused (its counting stopped there)."""
    table, sync = _mpeg_frames()
    end = len(data)
    at = _after_id3(data)
    budget = end // _MP3_RESYNC_PER_BYTE + 4096
    samples: dict[int, int] = {}
    frames, following, last, channels = 0, -1, (0, 0, 0, 0), 2
    check = _MP3_FRAMES_BETWEEN_CHECKS
    while True:
        frame = None
        if following >= 0 and at + 4 <= end and data[at] == 0xFF:
            frame = table[data[at + 1] << 8 | data[at + 2]]
        while frame is None:
            found = sync.search(data, at)
            if found is None:
                break
            budget -= 1
            if budget < 0:
                raise _Unmeasurable
            at = found.start()
            candidate = table[data[at + 1] << 8 | data[at + 2]]
            if candidate is not None and (
                candidate[3] == following or _mpeg_pair(data, at, candidate, table)
            ):
                frame = candidate
            else:
                at += 1
        if frame is None:
            break
        length, count, rate, following = frame
        if at + length > end:
            break  # a frame cut short by the end of the file
        if not frames and at + 3 < end:
            channels = 1 if data[at + 3] >> 6 == 3 else 2  # mono, or two channels
        samples[rate] = samples.get(rate, 0) + count
        frames, last = frames + 1, frame
        at += length
        if frames == check:
            if _ms_of(samples) > _LONGEST_MS:
                raise _Unmeasurable
            check += _MP3_FRAMES_BETWEEN_CHECKS
    if frames < 2:
        return None
    ms = _ms_of(samples)
    if ms > _LONGEST_MS:
        raise _Unmeasurable
    # Counting frames also counts the length tag's own silent frame and the encoder's
    # delay and padding, which decoders trim: together less than three frames.
    return _Count(ms, sum(samples.values()) * channels, 3 * _ms(last[1], last[2]))


def _mpeg_pair(
    data: bytes, at: int, frame: _MpegFrame, table: tuple[_MpegFrame | None, ...]
) -> bool:
    """Whether the frame at ``at`` is followed by a frame header of its stream."""
    after = at + frame[0]
    if after + 3 > len(data) or data[after] != 0xFF:
        return False
    then = table[data[after + 1] << 8 | data[after + 2]]
    return then is not None and then[3] == frame[3]


# -- Ogg --------------------------------------------------------------------------------

_BIT_REVERSED = bytes(int(f"{byte:08b}"[::-1], 2) for byte in range(256))
# How many bytes the Ogg page reader may checksum for each byte of the file (page
# candidates that fail their checksum cost their length) before the file is refused.
_OGG_CHECKSUM_PER_BYTE = 2
# Honest streams' pages hold kilobytes (libogg's about 4 KB, Opus muxers' up to a second
# of packets): a file with more pages (or would-be pages: capture patterns whose checksum
# fails) than one for each this many bytes (and 65536 more) is refused, its walk stopped
# there.
_OGG_BYTES_PER_PAGE = 512
# Nor more lacing values (one or more for each packet) than one for each this many bytes
# (and 65536 more): an honest packet of 6 kbit/s Opus, about the smallest there is, holds
# 15 bytes, its page's share and one lacing value.
_OGG_BYTES_PER_LACING = 16
# How many lacing values the packet counter reads at once (a batch of pages).
_OGG_BATCH = 1 << 18
# A header packet larger than this is not read: a Vorbis setup header holds a few KB.
_OGG_MAX_HEADER = 1 << 16
# How many of a stream's first pages are decoded to see that a decoder plays it, and how
# many samples (all channels) that may take: honest pages hold a few seconds at most.
_OGG_FIRST_PAGES = 16
_OGG_FIRST_PAGES_LIMIT = 1 << 23
# Samples (at 48 kHz) in an Opus frame, by the configuration in its packet's first byte:
# SILK, hybrid, then CELT modes.
_OPUS_FRAME = (480, 960, 1920, 2880) * 3 + (480, 960) * 2 + (120, 240, 480, 960) * 4


def _ogg(data: bytes) -> int | None:
    counted, counter = _ogg_packets(data)
    # A stream no decoder plays is refused however many packets it counts: its headers,
    # which the counter reads no further than to find its packets' sizes, may be broken.
    plays = counter.plays if counted is not None else None
    return _measured(data, counted, _DECODE_BUDGET["audio/ogg"], plays=plays)


def _ogg_packets(data: bytes) -> tuple[_Count | None, _OggCounter]:
    """How long a Vorbis or Opus stream plays, counted from its packets as a decoder that
    never stops early plays them (None for another codec, or headers it cannot read); and
    the counter, which can tell whether a decoder plays the stream at all.

    Pages are read as libogg reads them (a page whose checksum fails is skipped; a page
    missing from the sequence drops the packet it cut; a page continuing a packet that is
    not there skips that packet's rest), and packets as libvorbis and libopus decode them:
    a Vorbis packet plays a quarter of its block and of the one before it (the block
    sizes of its mode, from the setup header), an Opus packet the frames its first byte
    says. Granule positions and end-of-stream flags are not read. Its end may rightly be
    trimmed by up to a packet's padding: a Vorbis long block, or 120 ms of Opus."""
    counter = _OggCounter(data)
    for at, segments in _ogg_pages(data):
        counter.page(at, segments)
    return counter.finish(), counter


def _ogg_pages(data: bytes) -> Iterator[tuple[int, int]]:
    """(offset, lacing values) of each Ogg page whose checksum holds, in order; bytes that
    are not a page are skipped, as libogg and ffmpeg skip them. Every candidate (a capture
    pattern) counts towards the pages a file may have, a page or not."""
    end = len(data)
    budget = end * _OGG_CHECKSUM_PER_BYTE + 65536
    candidates_left = 65536 + end // _OGG_BYTES_PER_PAGE
    reverse, crc32, find = _BIT_REVERSED, zlib.crc32, data.find
    at = find(b"OggS")
    while 0 <= at and at + 27 <= end:
        candidates_left -= 1
        segments = data[at + 26]
        size = 27 + segments + sum(data[at + 27 : at + 27 + segments])
        budget -= size
        if budget < 0 or candidates_left < 0:
            raise _Unmeasurable
        if data[at + 4] == 0 and at + size <= end:
            # Ogg's checksum (CRC-32, polynomial 0x04C11DB7, not reflected, no initial or
            # final XOR) of the page with its checksum field zeroed: zlib's reflected
            # CRC-32 of the bit-reversed bytes, bit-reversed.
            crc = crc32(data[at : at + 22].translate(reverse), 0xFFFFFFFF)
            crc = crc32(data[at + 26 : at + size].translate(reverse), crc32(b"\0\0\0\0", crc))
            stored = int.from_bytes(data[at + 22 : at + 26].translate(reverse), "big")
            if crc ^ 0xFFFFFFFF == stored:
                yield at, segments
                at = find(b"OggS", at + size)
                continue
        at = find(b"OggS", at + 1)


class _OggCounter:
    """Counts an Ogg stream's packets, page by page (see :func:`_ogg_packets`): pages are
    taken in order, their lacing values read in batches, as arrays (numpy)."""

    def __init__(self, data: bytes) -> None:
        import numpy

        self.data = data
        self.whole = numpy.frombuffer(data, dtype=numpy.uint8)
        self.serial: bytes | None = None
        self.expected = -1  # the next page's sequence number
        self.pending = False  # whether the last lacing value read leaves a packet open
        self.lacing_left = 65536 + len(data) // _OGG_BYTES_PER_LACING
        # Pages to read: where their lacing values start, how many, how many of them to
        # skip (the rest of a packet that is not there), and whether the first of the
        # others starts a packet.
        self.pages: list[tuple[int, int, int, bool]] = []
        self.batched = 0
        # A packet a batch left open: its first three bytes (-1 for none) and its length.
        self.open: tuple[int, int, int, int] | None = None
        self.headers: list[bytes] = []  # header packets, until all are read
        self.needed = 1  # how many header packets there are (known from the first)
        self.unknown = False  # not Vorbis or Opus, or headers that could not be read
        self.rate = self.channels = 0
        self.blocks = (0, 0)  # Vorbis: short and long block sizes
        self.modes: list[int] = []  # Vorbis: each mode's block flag
        self.previous = 0  # Vorbis: the last audio packet's block size (0: none yet)
        self.samples = 0
        self.first: list[tuple[int, int]] = []  # the first pages: where, how many values

    def plays(self) -> bool:
        """Whether libsndfile decodes the stream's first pages (headers, and audio) once
        their granule positions and end-of-stream flags cannot stop it: whether libvorbis
        or libopus takes its headers and plays its packets. In the copy decoded, only the
        last page ends the stream, its granule position is out of reach, and (Vorbis) the
        pages in between state none (-1): libsndfile checks Opus pages' positions against
        their packets and refuses a file whose positions lie, so those are kept."""
        data, copy, packets = self.data, bytearray(), 0
        for index, (at, segments) in enumerate(self.first):
            values = data[at + 27 : at + 27 + segments]
            page = bytearray(data[at : at + 27 + segments + sum(values)])
            if packets < self.needed:  # a header page: left as it is
                packets += sum(1 for value in values if value < 255)
            else:
                last = index == len(self.first) - 1
                page[5] = (page[5] | 4) if last else (page[5] & ~4 & 0xFF)
                if last:
                    struct.pack_into("<q", page, 6, 1 << 62)
                elif self.modes:
                    struct.pack_into("<q", page, 6, -1)
                page[22:26] = b"\0\0\0\0"
                crc = zlib.crc32(bytes(page).translate(_BIT_REVERSED), 0xFFFFFFFF) ^ 0xFFFFFFFF
                page[22:26] = crc.to_bytes(4, "big").translate(_BIT_REVERSED)
            copy += page
        try:
            return bool(_by_libsndfile(bytes(copy), limit=_OGG_FIRST_PAGES_LIMIT))
        except _Unmeasurable:
            return False

    def page(self, at: int, segments: int) -> None:
        data = self.data
        serial = data[at + 14 : at + 18]
        if self.serial is None:
            self.serial = serial
        elif serial != self.serial:
            # Chained or multiplexed streams: libsndfile reads the first, players play on.
            raise _Unmeasurable
        if len(self.first) < _OGG_FIRST_PAGES:
            self.first.append((at, segments))
        sequence = int.from_bytes(data[at + 18 : at + 22], "little")
        if sequence != self.expected:
            self.pending = False  # libogg drops the packet a missing page cut
        self.expected = sequence + 1
        self.lacing_left -= segments
        if self.lacing_left < 0:
            raise _Unmeasurable
        lacing = at + 27
        skip = 0
        if data[at + 5] & 1 and not self.pending:
            # It continues a packet that is not there: libogg skips to that packet's end.
            values = data[lacing : lacing + segments]
            skip = min(segments, segments - len(values.lstrip(b"\xff")) + 1)
        if skip == segments:
            return
        self.pages.append((lacing, segments, skip, not self.pending))
        self.pending = data[lacing + segments - 1] == 255
        self.batched += segments
        if self.batched >= _OGG_BATCH:
            self._batch()

    def finish(self) -> _Count | None:
        if self.pages:
            self._batch()
        if self.unknown or len(self.headers) < self.needed or not self.rate:
            return None
        ms = _ms(self.samples, self.rate)
        if ms > _LONGEST_MS:
            raise _Unmeasurable
        slack_ms = _ms(self.blocks[1], self.rate) if self.modes else 120
        return _Count(ms, self.samples * self.channels, slack_ms)

    def _batch(self) -> None:
        """Read the packets of the pages taken so far, their lacing values as arrays."""
        import numpy

        pages, self.pages, self.batched = self.pages, [], 0
        if self.unknown:
            return
        whole = self.whole
        lacing_at = numpy.array([page[0] for page in pages], dtype=numpy.int64)
        counts = numpy.array([page[1] for page in pages], dtype=numpy.int64)
        skips = numpy.array([page[2] for page in pages], dtype=numpy.int64)
        values = numpy.concatenate([whole[at : at + n] for at, n, _, _ in pages])
        values = values.astype(numpy.int64)
        first = numpy.cumsum(counts) - counts  # each page's first lacing value
        total = numpy.cumsum(values)  # the batch's bytes up to and including each value
        before = total - values
        # Where each value's bytes start in the file, less the batch's bytes before it.
        base = numpy.repeat(lacing_at + counts - before[first], counts)
        ends = values < 255
        starts = numpy.zeros(len(values), dtype=bool)
        starts[1:] = ends[:-1]
        # A page's first value (after those it skips) starts a packet unless one is open;
        # a page that starts one while one is open (after a missing page) drops that one.
        starts[first + skips] = [page[3] for page in pages]
        for page in numpy.flatnonzero(skips).tolist():
            skipped = slice(first[page], first[page] + skips[page])
            starts[skipped], ends[skipped] = False, False
        # Each end closes the packet of the last start before it (after an end comes a
        # start, so no two ends share one); before any start, the packet left open.
        began = numpy.where(starts, numpy.arange(len(values)), -1)
        numpy.maximum.accumulate(began, out=began)
        finishes = numpy.flatnonzero(ends)
        firsts = began[finishes]
        lengths = total[finishes] - before[numpy.maximum(firsts, 0)]
        offsets = base[numpy.maximum(firsts, 0)] + before[numpy.maximum(firsts, 0)]
        carried = None
        if self.open is not None and len(firsts) and firsts[0] < 0:
            carried = self.open[:3]
            lengths[0] = self.open[3] + total[finishes[0]]
        last_start = int(began[-1])
        if last_start > (finishes[-1] if len(finishes) else -1):
            at = int(base[last_start] + before[last_start])
            end = len(self.data)
            b0, b1, b2 = (int(whole[min(at + k, end - 1)]) for k in range(3))
            self.open = (b0, b1, b2, int(total[-1] - before[last_start]))
        elif last_start < 0 and self.open is not None and not len(finishes):
            self.open = (*self.open[:3], self.open[3] + int(total[-1]))
        else:
            self.open = None
        # The header packets come first.
        taken = 0
        while len(self.headers) < self.needed and taken < len(firsts):
            if firsts[taken] < 0 or lengths[taken] > _OGG_MAX_HEADER:
                self.unknown = True  # a header carried over from a batch before, or huge
                return
            pieces = range(int(firsts[taken]), int(finishes[taken]) + 1)
            self.headers.append(
                b"".join(self.data[base[k] + before[k] : base[k] + total[k]] for k in pieces)
            )
            taken += 1
            if len(self.headers) == 1 and not self._identify(self.headers[0]):
                self.unknown = True
                return
            if self.needed == 3 and len(self.headers) == 3:
                modes = _vorbis_modes(self.headers[2], self.channels)
                if not modes:
                    self.unknown = True
                    return
                self.modes = modes
        if len(self.headers) < self.needed:
            self.unknown = True  # headers beyond the first batch of pages: not read
            return
        if taken:
            offsets, lengths, carried = offsets[taken:], lengths[taken:], None
        self.samples += self._played(offsets, lengths, carried)
        if _ms(self.samples, self.rate) > _LONGEST_MS:
            raise _Unmeasurable

    def _identify(self, header: bytes) -> bool:
        """Read the first header packet: whether it starts a Vorbis or Opus stream."""
        if header.startswith(b"\x01vorbis") and len(header) >= 30:
            short, long = header[28] & 15, header[28] >> 4
            self.channels, self.rate = header[11], int.from_bytes(header[12:16], "little")
            self.blocks, self.needed = (1 << short, 1 << long), 3
            return 6 <= short <= long <= 13 and self.channels > 0 and self.rate > 0
        if header.startswith(b"OpusHead") and len(header) >= 19:
            self.channels, self.rate, self.needed = header[9], 48000, 2
            return self.channels > 0
        return False

    def _played(
        self,
        offsets: numpy.ndarray,
        lengths: numpy.ndarray,
        carried: tuple[int, ...] | None,
    ) -> int:
        """How many samples audio packets play, given where each one's bytes start and its
        length (the first's first bytes ``carried`` from a batch before, when given)."""
        import numpy

        whole, end = self.whole, len(self.data)

        def byte(k: int, among: numpy.ndarray | None = None) -> numpy.ndarray:
            """Each packet's ``k``-th byte (-1 where it has none), or those ``among``."""
            at = offsets if among is None else offsets[among]
            length = lengths if among is None else lengths[among]
            got = whole[numpy.minimum(at + k, end - 1)].astype(numpy.int64)
            if carried is not None and len(got) and (among is None or among[0] == 0):
                got[0] = carried[k]
            return numpy.where(length > k, got, -1)

        first = byte(0)
        if self.modes:  # Vorbis
            bits = (len(self.modes) - 1).bit_length()
            mode = (first >> 1) & ((1 << bits) - 1)
            valid = (lengths >= 1) & ((first & 1) == 0) & (mode < len(self.modes))
            long = numpy.array(self.modes)[numpy.minimum(mode, len(self.modes) - 1)]
            # A long block's packet also holds its neighbours' window flags.
            valid &= 1 + bits + 2 * long <= 8 * lengths
            blocks = numpy.where(long[valid] == 1, self.blocks[1], self.blocks[0])
            if not len(blocks):
                return 0
            previous = numpy.append(self.previous, blocks[:-1])
            self.previous = int(blocks[-1])
            return int(numpy.where(previous > 0, (previous + blocks) // 4, 0).sum())
        # Opus: one frame (most packets), two, or as many as the second byte says (at most
        # 120 ms); the others are checked as decoders check them.
        size = numpy.array(_OPUS_FRAME)[first >> 3]
        code = first & 3
        played = int(size[(code == 0) & (lengths >= 1)].sum())
        more = numpy.flatnonzero(code != 0)
        if not len(more):
            return played
        size, code, length = size[more], code[more], lengths[more]
        second, third = byte(1, more), byte(2, more)
        frames = numpy.where(code < 3, 2, second & 63)
        valid = length >= 1
        valid &= (code != 1) | ((length - 1) % 2 == 0)
        two = numpy.where(second < 252, 2 + second, 3 + second + 4 * third)
        valid &= (code != 2) | ((length >= 2) & (two <= length))
        valid &= (code != 2) | (second < 252) | (length >= 3)
        valid &= (code != 3) | ((length >= 2) & (frames >= 1) & (frames * size <= 5760))
        return played + int(numpy.where(valid, frames * size, 0).sum())


class _VorbisBits:
    """A Vorbis header's fields, read in order: least significant bit first."""

    def __init__(self, data: bytes) -> None:
        self.data, self.at, self.end = data, 0, len(data) * 8

    def read(self, width: int) -> int:
        self.skip(width)
        start = self.at - width
        chunk = int.from_bytes(self.data[start >> 3 : (self.at + 7) >> 3], "little")
        return (chunk >> (start & 7)) & ((1 << width) - 1)

    def skip(self, width: int) -> None:
        if self.at + width > self.end:
            raise ValueError("the header ends first")
        self.at += width


def _vorbis_modes(setup: bytes, channels: int) -> list[int] | None:
    """The block flag (0: short, 1: long) of each mode a Vorbis setup header defines, or
    None when it cannot be read. Read as libvorbis reads it: its codebooks, floors,
    residues and mappings are walked only to find where the modes are (libvorbis refuses a
    header they do not fit, and libsndfile then decodes nothing, so the stream is refused;
    from the end, as ffmpeg guesses them, a crafted header could pass other modes off)."""
    if not setup.startswith(b"\x05vorbis") or channels < 1:
        return None
    bits = _VorbisBits(setup[7:])
    try:
        for _ in range(bits.read(8) + 1):  # codebooks
            if bits.read(24) != 0x564342:
                return None
            dimensions, entries = bits.read(16), bits.read(24)
            if dimensions.bit_length() + entries.bit_length() > 24:
                return None
            if bits.read(1):  # lengths in order: runs of entries
                length, entry = bits.read(5) + 1, 0
                while entry < entries:
                    run = bits.read((entries - entry).bit_length())
                    if length > 32 or run > entries - entry:
                        return None
                    entry, length = entry + run, length + 1
            elif bits.read(1):  # sparse: a flag for each entry, and its length when set
                for _ in range(entries):
                    if bits.read(1):
                        bits.skip(5)
            else:
                bits.skip(5 * entries)
            lookup = bits.read(4)
            if lookup in (1, 2):
                bits.skip(64)  # minimum and delta
                width = bits.read(4) + 1
                bits.skip(1)
                if lookup == 2:
                    values = entries * dimensions
                else:
                    values = _lookup1_values(entries, dimensions) if dimensions else 0
                bits.skip(values * width)
            elif lookup:
                return None
        for _ in range(bits.read(6) + 1):  # time domain transforms: placeholders
            if bits.read(16):
                return None
        for _ in range(bits.read(6) + 1):  # floors
            floor = bits.read(16)
            if floor == 0:
                bits.skip(8 + 16 + 16 + 6 + 8)
                bits.skip(8 * (bits.read(4) + 1))
            elif floor == 1:
                partitions = [bits.read(4) for _ in range(bits.read(5))]
                dims = []
                for _ in range(max(partitions, default=-1) + 1):
                    dims.append(bits.read(3) + 1)
                    subclasses = bits.read(2)
                    bits.skip((8 if subclasses else 0) + (8 << subclasses))
                bits.skip(2)
                width = bits.read(4)
                posts = sum(dims[partition] for partition in partitions)
                if posts > 63:
                    return None
                bits.skip(posts * width)
            else:
                return None
        for _ in range(bits.read(6) + 1):  # residues
            if bits.read(16) > 2:
                return None
            bits.skip(24 + 24 + 24)
            classifications = bits.read(6) + 1
            bits.skip(8)
            books = 0
            for _ in range(classifications):
                cascade = bits.read(3)
                if bits.read(1):
                    cascade |= bits.read(5) << 3
                books += bin(cascade).count("1")
            bits.skip(8 * books)
        mappings = bits.read(6) + 1
        for _ in range(mappings):
            if bits.read(16):
                return None
            submaps = bits.read(4) + 1 if bits.read(1) else 1
            if bits.read(1):  # coupling steps: a magnitude and an angle channel each
                bits.skip(2 * (channels - 1).bit_length() * (bits.read(8) + 1))
            if bits.read(2):
                return None
            if submaps > 1:
                bits.skip(4 * channels)
            bits.skip(24 * submaps)
        flags = []
        for _ in range(bits.read(6) + 1):  # modes
            flags.append(bits.read(1))
            window, transform, mapping = bits.read(16), bits.read(16), bits.read(8)
            if window or transform or mapping >= mappings:
                return None
        return flags if bits.read(1) else None  # the framing bit
    except ValueError:
        return None


def _lookup1_values(entries: int, dimensions: int) -> int:
    """The greatest whole number whose ``dimensions``-th power is at most ``entries``."""
    if dimensions >= entries.bit_length():
        return 1 if entries else 0
    value = int(entries ** (1 / dimensions))
    while (value + 1) ** dimensions <= entries:
        value += 1
    while value and value**dimensions > entries:
        value -= 1
    return value


# -- M4A --------------------------------------------------------------------------------

# More boxes, samples or edits than any honest M4A of a day's audio holds: refused.
_MAX_MP4_BOXES = 65536
_MAX_MP4_SAMPLES = 1 << 22
_MAX_MP4_EDITS = 4096
# How many samples of a sample table are placed at once.
_MP4_SAMPLES_AT_ONCE = 1 << 18

_Box = tuple[int, int]  # where a box's payload starts and ends


def _m4a(data: bytes) -> int | None:
    """How long the longest audio track plays, from its sample table; or None.

    Not from the media header's duration (mdhd, which mutagen and the track header give):
    that is a claim, made with or without samples behind it, and players do not stop at
    it (Chromium plays a second of samples under a header that says a millisecond).
    Checking the claim against the file's size at the track's bitrate would still trust it
    within a loose margin (variable bitrates, silence), so it is not used at all: the
    sample table (stts, stsz, stsc, stco/co64) lists the samples players play, and only
    those whose bytes lie within the file (and are not empty) count. A header with no
    media data behind it measures as nothing (None).

    Edit lists are not applied where they trim (encoder priming and padding, a few
    frames, which the media header's duration never left out either); where they play
    the media more than once, each edit counts the media it plays that the file holds, and
    the track is the longer of that and its samples."""
    boxes = [0]
    top = _children(data, (0, len(data)), boxes)
    if any(name == b"moof" for name, _ in top):
        raise _Unmeasurable  # fragmented: its samples are in fragments, not measured here
    moov = _child(top, b"moov")
    if moov is None:
        return None
    inside = _children(data, moov, boxes)
    mvhd = _child(inside, b"mvhd")
    movie_scale = _timescale(data, mvhd) if mvhd is not None else 0
    longest = None
    for name, trak in inside:
        if name == b"trak":
            track = _m4a_track(data, trak, movie_scale, boxes)
            if track is not None and (longest is None or track > longest):
                longest = track
    return longest


def _m4a_track(data: bytes, trak: _Box, movie_scale: int, boxes: list[int]) -> int | None:
    import numpy

    parts = _children(data, trak, boxes)
    mdia = _child(parts, b"mdia")
    if mdia is None:
        return None
    media = _children(data, mdia, boxes)
    hdlr, mdhd, minf = _child(media, b"hdlr"), _child(media, b"mdhd"), _child(media, b"minf")
    if hdlr is None or data[hdlr[0] + 8 : hdlr[0] + 12] != b"soun" or mdhd is None:
        return None
    scale = _timescale(data, mdhd)
    stbl = _child(_children(data, minf, boxes), b"stbl") if minf else None
    if not scale or stbl is None:
        return None
    table = _children(data, stbl, boxes)
    stts, stsz, stsc = _child(table, b"stts"), _child(table, b"stsz"), _child(table, b"stsc")
    stco, co64 = _child(table, b"stco"), _child(table, b"co64")
    if stts is None or stsz is None or stsc is None:
        return None

    def entries(box: _Box, dtype: str, fields: int = 1, skip: int = 0) -> numpy.ndarray:
        """A full box's table (after ``skip`` bytes): its entry count, then its entries of
        ``fields`` values each, as rows."""
        width = numpy.dtype(dtype).itemsize * fields
        count = int.from_bytes(data[box[0] + 4 + skip : box[0] + 8 + skip], "big")
        count = min(count, max(0, (box[1] - box[0] - 8 - skip) // width))
        # No table needs more entries than there are samples (each entry of a run, chunk
        # or edit covers one at least): a larger one is refused, not read.
        if count > _MAX_MP4_SAMPLES:
            raise _Unmeasurable
        if not count:
            return numpy.zeros((0, fields), dtype)
        found = numpy.frombuffer(data, dtype, count=count * fields, offset=box[0] + 8 + skip)
        return found.reshape(count, fields)

    # Sample sizes: stsz holds one size for all (then a count), or a count and one each.
    size_one = int.from_bytes(data[stsz[0] + 4 : stsz[0] + 8], "big")
    declared = int.from_bytes(data[stsz[0] + 8 : stsz[0] + 12], "big")
    if declared > _MAX_MP4_SAMPLES:
        raise _Unmeasurable
    # The tables are read where they lie (big-endian views) and samples a block at a
    # time, so that a table of millions of entries costs a few arrays of that many.
    listed = None if size_one else entries(stsz, ">u4", skip=4)[:, 0]
    sized = declared if listed is None else len(listed)
    # Where each chunk of samples starts, and how many samples each holds: stsc runs of
    # (first chunk, samples per chunk, description), in order of their first chunks.
    if co64 is not None:
        offsets = entries(co64, ">u8")[:, 0]
    elif stco is not None:
        offsets = entries(stco, ">u4")[:, 0]
    else:
        return None
    chunks = len(offsets)
    runs = entries(stsc, ">u4", 3)
    if not len(runs):
        return None
    firsts = numpy.maximum.accumulate(numpy.clip(runs[:, 0].astype(numpy.int64), 1, chunks + 1))
    # Where each chunk's samples end (the samples before it and its own), never past the
    # sizes listed (hostile runs may claim billions).
    ends = numpy.zeros(chunks, dtype=numpy.int64)
    ends[firsts[0] - 1 :] = numpy.repeat(runs[:, 1], numpy.diff(firsts, append=chunks + 1))
    del firsts
    numpy.cumsum(ends, out=ends)
    numpy.minimum(ends, sized, out=ends)
    mapped = int(ends[-1]) if chunks else 0
    if not mapped:
        return None
    if listed is not None:
        before = numpy.zeros(mapped + 1, dtype=numpy.int64)  # bytes before each sample
        numpy.cumsum(listed[:mapped], out=before[1:])
    # Each sample's duration: stts runs of (count, delta); where each run's samples end.
    durations = entries(stts, ">u4", 2)
    run_ends = numpy.cumsum(durations[:, 0], dtype=numpy.int64)
    numpy.minimum(run_ends, mapped, out=run_ends)
    timed = int(run_ends[-1]) if len(run_ends) else 0
    held = 0
    for start in range(0, timed, _MP4_SAMPLES_AT_ONCE):
        index = numpy.arange(start, min(start + _MP4_SAMPLES_AT_ONCE, timed))
        chunk = numpy.searchsorted(ends, index, side="right")
        first = numpy.where(chunk > 0, ends[chunk - 1], 0)  # the chunk's first sample
        if listed is None:
            sizes = numpy.full(len(index), size_one, dtype=numpy.int64)
            inside = (index - first) * size_one
        else:
            sizes = listed[index[0] : index[-1] + 1].astype(numpy.int64)
            inside = before[index] - before[first]
        starts = offsets[chunk].astype(numpy.int64) + inside
        present = (sizes > 0) & (starts + sizes <= len(data))
        deltas = durations[numpy.searchsorted(run_ends, index, side="right"), 1]
        held += int(deltas[present].astype(numpy.int64).sum())
    if not held:
        return None
    played = held
    edts = _child(parts, b"edts")
    elst = _child(_children(data, edts, boxes), b"elst") if edts else None
    if elst is not None and movie_scale:
        wide = data[elst[0] : elst[0] + 1] == b"\x01"
        edits = entries(elst, ">u8,>i8,>i4" if wide else ">u4,>i4,>i4")[:, 0]
        if len(edits) > _MAX_MP4_EDITS:
            raise _Unmeasurable
        through_edits = 0
        for length, start, rate in edits.tolist():
            if start < 0 or rate >> 16 == 0:  # an empty edit (silence), or a still
                continue
            span = length * scale // movie_scale if length else held
            through_edits += max(0, min(start + span, held) - start)
        played = max(played, through_edits)
    return round(played * 1000 / scale)


def _children(data: bytes, box: _Box, boxes: list[int]) -> list[tuple[bytes, _Box]]:
    """The boxes inside ``box``: (name, payload span), in order; ``boxes`` counts them all
    (a file with more than any honest one holds is refused)."""
    found = []
    at, end = box
    while at + 8 <= end:
        size, name = struct.unpack_from(">I4s", data, at)
        head = 8
        if size == 1:
            if at + 16 > end:
                break
            (size,) = struct.unpack_from(">Q", data, at + 8)
            head = 16
        elif size == 0:
            size = end - at
        if size < head:
            break
        boxes[0] += 1
        if boxes[0] > _MAX_MP4_BOXES:
            raise _Unmeasurable
        found.append((name, (at + head, min(at + size, end))))
        at += size
    return found


def _timescale(data: bytes, header: _Box) -> int:
    """The time scale (units a second) of a movie or media header (mvhd, mdhd)."""
    at = header[0] + (20 if data[header[0] : header[0] + 1] == b"\x01" else 12)
    return int.from_bytes(data[at : at + 4], "big") if at + 4 <= header[1] else 0


def _child(children: list[tuple[bytes, _Box]], name: bytes) -> _Box | None:
    return next((span for found, span in children if found == name), None)


_MEASURES: dict[str, Callable[[bytes], int | None]] = {
    "audio/wav": _wav,
    "audio/flac": _flac,
    "audio/mpeg": _mp3,
    "audio/ogg": _ogg,
    "audio/mp4": _m4a,
}
