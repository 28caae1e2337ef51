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
- Ogg (Vorbis, Opus): libsndfile decodes it, and decodes it again from a copy whose
  granule positions and end-of-stream flags cannot stop it early. An Ogg file holding
  more than one logical stream (chained or multiplexed) is not measured.
- M4A (AAC or any codec in MP4), which libsndfile does not read, is measured from the
  audio track's sample table (the samples players play, through its edit list), never
  from a header's duration: only samples whose bytes are in the file count. Fragmented
  MP4 is not measured.

A file that holds no sound (nothing decodes, or under half a millisecond does), one
nobody can read, or one whose structure would take more work to follow than an honest
file of its size needs has no duration (None): a guess shown as a measurement would be
worse than nothing, so callers refuse it or say it was not measured. The work of
following a file is linear in its size, and bounded.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Callable, Iterator
from functools import cache
from typing import IO, NamedTuple

from registry.validation import sniff_audio
from verifier.audio import sniff as sniff_stamped

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
    not one of :data:`MEASURED_TYPES`, cannot be measured, or holds no sound. A binary
    file is read from its start and left at its start."""
    if isinstance(source, bytes | bytearray | memoryview):
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
    return measured or None


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


def _longer(measured: int | None, counted: int | None, slack_ms: int = 0) -> int | None:
    """libsndfile's ``measured`` duration, unless ``counted`` (the stream counted without
    its length field) plays longer by more than the tolerance and ``slack_ms`` (what
    decoders trim by right): a length field that understates the audio never shortens it."""
    if counted is None:
        return measured
    if measured is None or counted - measured > tolerance_ms(counted) + slack_ms:
        return counted
    return measured


def _decoded(data: bytes) -> tuple[int, int] | None:
    """(frames, sample rate) that libsndfile decodes from ``data``, or None when it cannot
    open or decode it."""
    import io

    # Imported here: it loads libsndfile and numpy, which only measuring needs.
    import numpy
    import soundfile  # type: ignore[import-untyped]  # soundfile ships no type hints

    try:
        with soundfile.SoundFile(io.BytesIO(data)) as audio:
            rate, channels = int(audio.samplerate), int(audio.channels)
            if rate <= 0 or channels <= 0:
                return None
            buffer = numpy.empty((_BLOCK_FRAMES, channels), dtype="int16")
            frames = 0
            # Until a read gives nothing: a decoder may give less than asked before the end.
            while got := len(audio.read(_BLOCK_FRAMES, dtype="int16", out=buffer)):
                frames += got
    # A damaged or hostile file fails in many ways inside the C library and its binding
    # (LibsndfileError, RuntimeError, ValueError, TypeError...): each means "not measured".
    except Exception:
        return None
    return frames, rate


def _by_libsndfile(data: bytes) -> int | None:
    decoded = _decoded(data)
    return _ms(*decoded) if decoded and decoded[0] else None


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


# -- WAV --------------------------------------------------------------------------------

# More chunks than any honest WAV holds: a file with more is refused, not walked.
_MAX_RIFF_CHUNKS = 4096


def _wav(data: bytes) -> int | None:
    measured = _by_libsndfile(data)
    as_played = _wav_as_played(data)
    if as_played is None:
        return measured
    # The data chunks players may play, decoded as one: never less than libsndfile's.
    played = _by_libsndfile(as_played)
    return max((m for m in (measured, played) if m is not None), default=None)


def _wav_as_played(data: bytes) -> bytes | None:
    """The WAV rebuilt with every ``data`` chunk's bytes in one ``data`` chunk, or None when
    libsndfile already reads it so (one ``data`` chunk after the ``fmt `` chunk, holding
    the bytes its size says) or it has no ``fmt `` or ``data`` chunk.

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
    audio = b"".join(data[start:stop] for start, stop in spans)
    chunks = (
        b"WAVEfmt "
        + struct.pack("<I", len(fmt))
        + fmt
        + b"\0" * (len(fmt) & 1)
        + b"data"
        + struct.pack("<I", len(audio))
    )
    return b"RIFF" + struct.pack("<I", len(chunks) + len(audio)) + chunks + audio


# -- FLAC -------------------------------------------------------------------------------

# More metadata blocks than any honest FLAC holds: a file with more is refused.
_MAX_FLAC_BLOCKS = 4096
# How many bytes the FLAC counter may checksum (CRC-16, to place a frame header that does
# not follow on from the frame before it), beyond 1 MB, for each byte of the file before the
# file is refused: an honest file needs a frame or two for a chance sync code.
_FLAC_CHECKSUM_PER_BYTE = 1 / 8
_FLAC_RATES = (0, 88200, 176400, 192000, 8000, 16000, 22050, 24000, 32000, 44100, 48000, 96000)


class _FlacFrame(NamedTuple):
    at: int
    variable: bool  # numbered by sample (variable block size) rather than by frame
    number: int
    blocksize: int
    rate: int

    def followed_by(self, other: _FlacFrame) -> bool:
        """Whether ``other``'s number follows on from this frame's."""
        step = self.blocksize if self.variable else 1
        return other.variable == self.variable and other.number == self.number + step


def _flac(data: bytes) -> int | None:
    return _longer(_by_libsndfile(data), _flac_frames(data))


def _flac_frames(data: bytes) -> int | None:
    """How long the FLAC frames after the metadata play, counted from their headers (their
    block sizes, at their sample rates), whatever STREAMINFO's total says; or None when the
    file has no STREAMINFO or no frames.

    A header counts when its CRC-8 holds and it has the stream's channels (ffmpeg, so
    Chromium, cannot decode a frame that changes them). Audio bytes form such a header by
    chance (about once in 2^27 places), inside a frame: as ffmpeg's parser does, a header
    whose number does not follow on from the last frame's is checked with that frame's
    CRC-16, and left out only when the last frame runs on past it (its CRC-16 holds to
    the next header, or that header's number follows on instead). Frame numbers are never
    trusted to say how many frames there are: every frame counts once."""
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
    headers = (
        _flac_frame(data, found.start(), rate) for found in _flac_sync(channels).finditer(data, at)
    )
    found = [frame for frame in headers if frame is not None]
    budget = [(1 << 20) + int(len(data) * _FLAC_CHECKSUM_PER_BYTE)]
    samples: dict[int, int] = {}
    last: _FlacFrame | None = None
    for index, frame in enumerate(found):
        if last is not None and not last.followed_by(frame):
            after = found[index + 1] if index + 1 < len(found) else None
            if _crc16(data, last.at, frame.at, budget) != 0 and (
                (after is not None and last.followed_by(after))
                or _crc16(data, last.at, after.at if after else len(data), budget) == 0
            ):
                continue  # a chance sync code inside the last frame, which runs on past it
        samples[frame.rate] = samples.get(frame.rate, 0) + frame.blocksize
        last = frame
    return _ms_of(samples) if samples else None


@cache
def _flac_sync(channels: int) -> re.Pattern[bytes]:
    """Where a FLAC frame header may start in a stream of ``channels``: the sync code (fixed
    or variable block size), a block size, sample rate and bit depth that are not reserved,
    the stream's channels, and the reserved bit clear."""
    assignments = [channels - 1] + ([8, 9, 10] if channels == 2 else [])
    sizes_rates = bytes(b for b in range(256) if b >> 4 and b & 15 != 15)
    layouts = bytes(a << 4 | depth << 1 for a in assignments for depth in (0, 1, 2, 4, 5, 6, 7))
    return re.compile(
        b"(?=\xff[\xf8\xf9][" + re.escape(sizes_rates) + b"][" + re.escape(layouts) + b"])",
        re.DOTALL,
    )


def _flac_frame(data: bytes, at: int, stream_rate: int) -> _FlacFrame | None:
    """The FLAC frame header at ``at``, or None when it is not one (a malformed frame
    number, no sample rate, or its CRC-8 does not hold)."""
    end = len(data)
    size_code, rate_code = data[at + 2] >> 4, data[at + 2] & 15
    pos = at + 4
    if pos >= end:
        return None
    # The frame (or sample) number, UTF-8 coded: a lead byte and its continuation bytes.
    lead = data[pos]
    if lead < 0x80:
        more, number = 0, lead
    elif 0xC0 <= lead <= 0xFE:
        more = 7 - (lead ^ 0xFF).bit_length()  # as many as the lead's high 1s, less one
        number = lead & (0x3F >> more)
    else:
        return None
    if pos + 1 + more > end:
        return None
    for byte in data[pos + 1 : pos + 1 + more]:
        if byte & 0xC0 != 0x80:
            return None
        number = number << 6 | byte & 0x3F
    pos += 1 + more
    if size_code == 1:
        blocksize = 192
    elif size_code <= 5:
        blocksize = 576 << (size_code - 2)
    elif size_code == 6:
        if pos + 1 > end:
            return None
        blocksize, pos = data[pos] + 1, pos + 1
    elif size_code == 7:
        if pos + 2 > end:
            return None
        blocksize, pos = int.from_bytes(data[pos : pos + 2], "big") + 1, pos + 2
    else:
        blocksize = 256 << (size_code - 8)
    if rate_code == 0:
        rate = stream_rate
    elif rate_code <= 11:
        rate = _FLAC_RATES[rate_code]
    elif rate_code == 12:
        if pos + 1 > end:
            return None
        rate, pos = data[pos] * 1000, pos + 1
    else:
        if pos + 2 > end:
            return None
        rate = int.from_bytes(data[pos : pos + 2], "big") * (1 if rate_code == 13 else 10)
        pos += 2
    if pos >= end or not rate or _crc8(data, at, pos) != data[pos]:
        return None
    return _FlacFrame(at, bool(data[at + 1] & 1), number, blocksize, rate)


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


def _crc8(data: bytes, start: int, stop: int) -> int:
    """FLAC's frame header CRC-8 (polynomial x^8 + x^2 + x + 1) of ``data[start:stop]``."""
    table, crc = _crc_table(0x07, 8), 0
    for byte in data[start:stop]:
        crc = table[crc ^ byte]
    return crc


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
_MP3_RESYNC_PER_BYTE = 64

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
    measured = _by_libsndfile(data)
    counted = _mp3_frames(data)
    if counted is None:
        return measured
    played, frame_ms = counted
    # Counting frames also counts the length tag's own silent frame and the encoder's
    # delay and padding, which decoders trim: together less than three frames.
    return _longer(measured, played, slack_ms=3 * frame_ms)


def _mp3_frames(data: bytes) -> tuple[int, int] | None:
    """How long an MP3's MPEG frames play, counted one by one from their headers whatever
    any length tag says, and how long its last frame plays (both in ms); or None when it
    holds fewer than two frames.

    From one frame to the next by each frame's length; where that is not a frame header
    (junk, a tag, a damaged frame), on to the next header as decoders resynchronise: one of
    the stream being followed (same version, layer and sample rate: ffmpeg plays a lone
    frame between junk too), or, for the first frame or a new stream, one whose next frame
    follows it (so that a stray 0xFF in other bytes is not taken for a stream). Each
    candidate header costs a fixed amount of work, found by a regular expression; a file
    with more candidates than :data:`_MP3_RESYNC_PER_BYTE` allows is refused."""
    table, sync = _mpeg_frames()
    end = len(data)
    at = _after_id3(data)
    budget = end // _MP3_RESYNC_PER_BYTE + 4096
    samples: dict[int, int] = {}
    frames, following, last = 0, -1, (0, 0, 0, 0)
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
        samples[rate] = samples.get(rate, 0) + count
        frames, last = frames + 1, frame
        at += length
    if frames < 2:
        return None
    return _ms_of(samples), _ms(last[1], last[2])


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
_GRANULE_UNBOUNDED = 1 << 62
# How many bytes the Ogg page reader may checksum for each byte of the file (page
# candidates that fail their checksum cost their length) before the file is refused.
_OGG_CHECKSUM_PER_BYTE = 2


def _ogg(data: bytes) -> int | None:
    measured = _by_libsndfile(data)
    unbounded = _ogg_unbounded(data)
    if unbounded is None:
        return measured
    copy, slack_ms = unbounded
    return _longer(measured, _by_libsndfile(copy), slack_ms)


def _ogg_unbounded(data: bytes) -> tuple[bytes, int] | None:
    """A copy of a Vorbis or Opus stream that libsndfile decodes to its last page, and how
    much its end may rightly trim (ms): or None for another codec.

    libsndfile takes the stream's length from its last granule position (the samples
    decoded so far, which each page states) and stops at an end-of-stream flag; Chromium
    plays every page. In the copy only the last page ends the stream, its granule position
    is out of reach, and (Vorbis) the pages in between state none (-1): libsndfile checks
    Opus pages' positions against their packets and refuses a file whose positions lie, so
    those are kept. The end of a stream may rightly trim up to a packet (its padding): a
    Vorbis long block, or 120 ms of Opus."""
    pages = list(_ogg_pages(data))
    if not pages:
        return None
    if len({data[at + 14 : at + 18] for at, _ in pages}) > 1:
        # Chained or multiplexed streams: libsndfile reads the first, players play on.
        raise _Unmeasurable
    first = _ogg_body(data, pages[0][0])
    if first.startswith(b"\x01vorbis") and len(first) >= 29:
        headers, vorbis = 3, True
        rate = int.from_bytes(first[12:16], "little")
        slack_ms = _ms(1 << (first[28] >> 4), rate) if rate else 0
    elif first.startswith(b"OpusHead"):
        headers, vorbis, slack_ms = 2, False, 120
    else:
        return None
    copy = bytearray(data)
    packets = 0
    for index, (at, size) in enumerate(pages):
        if packets < headers:  # a header page: left as it is
            segments = data[at + 27 : at + 27 + data[at + 26]]
            packets += sum(1 for lacing in segments if lacing < 255)
            continue
        last = index == len(pages) - 1
        copy[at + 5] = (copy[at + 5] | 4) if last else (copy[at + 5] & ~4 & 0xFF)
        if last:
            struct.pack_into("<q", copy, at + 6, _GRANULE_UNBOUNDED)
        elif vorbis:
            struct.pack_into("<q", copy, at + 6, -1)
        struct.pack_into("<I", copy, at + 22, 0)
        struct.pack_into("<I", copy, at + 22, _ogg_crc(bytes(copy[at : at + size])))
    return bytes(copy), slack_ms


def _ogg_pages(data: bytes) -> Iterator[tuple[int, int]]:
    """(offset, size) of each Ogg page whose checksum holds, in order; bytes that are not
    a page are skipped, as libogg and ffmpeg skip them."""
    end = len(data)
    budget = end * _OGG_CHECKSUM_PER_BYTE + 65536
    at = data.find(b"OggS")
    while 0 <= at and at + 27 <= end:
        segments = data[at + 26]
        size = 27 + segments + sum(data[at + 27 : at + 27 + segments])
        budget -= size
        if budget < 0:
            raise _Unmeasurable
        if data[at + 4] == 0 and at + size <= end:
            page = bytearray(data[at : at + size])
            stored = bytes(page[22:26])
            page[22:26] = b"\0\0\0\0"
            if _ogg_crc(bytes(page)) == int.from_bytes(stored, "little"):
                yield at, size
                at = data.find(b"OggS", at + size)
                continue
        at = data.find(b"OggS", at + 1)


def _ogg_body(data: bytes, at: int) -> bytes:
    segments = data[at + 26]
    start = at + 27 + segments
    return data[start : start + sum(data[at + 27 : start])]


def _ogg_crc(page: bytes) -> int:
    """Ogg's page checksum (CRC-32, polynomial 0x04C11DB7, not reflected, no initial or
    final XOR), computed by zlib's reflected CRC-32 on the bit-reversed bytes."""
    reflected = zlib.crc32(page.translate(_BIT_REVERSED), 0xFFFFFFFF) ^ 0xFFFFFFFF
    return int(f"{reflected:032b}"[::-1], 2)


# -- M4A --------------------------------------------------------------------------------

# More boxes, samples or edits than any honest M4A of a day's audio holds: refused.
_MAX_MP4_BOXES = 65536
_MAX_MP4_SAMPLES = 1 << 22
_MAX_MP4_EDITS = 4096

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
        if not count:
            return numpy.zeros((0, fields), dtype)
        found = numpy.frombuffer(data, dtype, count=count * fields, offset=box[0] + 8 + skip)
        return found.reshape(count, fields)

    # Sample sizes: stsz holds one size for all (then a count), or a count and one each.
    size_one = int.from_bytes(data[stsz[0] + 4 : stsz[0] + 8], "big")
    if int.from_bytes(data[stsz[0] + 8 : stsz[0] + 12], "big") > _MAX_MP4_SAMPLES:
        raise _Unmeasurable
    if size_one:
        count = int.from_bytes(data[stsz[0] + 8 : stsz[0] + 12], "big")
        sizes = numpy.full(count, size_one, dtype=numpy.int64)
    else:
        sizes = entries(stsz, ">u4", skip=4)[:, 0].astype(numpy.int64)
    # Where each chunk of samples starts, and how many samples each holds: stsc runs of
    # (first chunk, samples per chunk, description), in order of their first chunks.
    if co64 is not None:
        offsets = entries(co64, ">u8")[:, 0].astype(numpy.int64)
    elif stco is not None:
        offsets = entries(stco, ">u4")[:, 0].astype(numpy.int64)
    else:
        return None
    chunks = len(offsets)
    runs = entries(stsc, ">u4", 3).astype(numpy.int64)
    if not len(runs):
        return None
    firsts = numpy.maximum.accumulate(numpy.clip(runs[:, 0], 1, chunks + 1))
    per_chunk = numpy.zeros(chunks, dtype=numpy.int64)
    per_chunk[firsts[0] - 1 :] = numpy.repeat(runs[:, 1], numpy.diff(firsts, append=chunks + 1))
    # Never more samples than the sizes list (hostile runs may claim billions).
    per_chunk = numpy.diff(numpy.minimum(numpy.cumsum(per_chunk), len(sizes)), prepend=0)
    mapped = int(per_chunk.sum())
    if not mapped:
        return None
    chunk_of = numpy.repeat(numpy.arange(chunks), per_chunk)
    sizes = sizes[:mapped]
    before = numpy.concatenate(([0], numpy.cumsum(sizes)[:-1]))  # bytes before each sample
    first_of_chunk = numpy.cumsum(per_chunk) - per_chunk
    starts = offsets[chunk_of] + before - before[first_of_chunk[chunk_of]]
    present = (sizes > 0) & (starts + sizes <= len(data))
    # Each sample's duration: stts runs of (count, delta).
    durations = entries(stts, ">u4", 2).astype(numpy.int64)
    counts = numpy.diff(numpy.minimum(numpy.cumsum(durations[:, 0]), mapped), prepend=0)
    deltas = numpy.repeat(durations[:, 1], counts)
    held = int(deltas[present[: len(deltas)]].sum())
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
