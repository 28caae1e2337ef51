"""How long an audio file plays, measured by an audio library; and when a declared
duration agrees with a measured one.

The one home for both rules: voice samples, a work's audio when it is recorded or
stamped, and any clip uploaded to /verify/ are measured here, and every comparison of a
brand's word with the registry's measurement uses :func:`disagreement`.

Pure: bytes or a binary file in, whole milliseconds (or None) out; no Django.

- libsndfile (through ``soundfile``) decodes WAV, FLAC, Ogg (Vorbis, Opus) and MP3, and
  the frames it decodes are counted.
- MP3 keeps its length in an optional tag (Xing, Info or VBRI), which libsndfile's
  decoder believes and stops at; players play the whole stream whatever it says. So the
  MPEG frames are also counted one by one from their headers (mutagen parses each), and
  when they play clearly longer than the tag says, the frames are the measurement.
- Where a container's own length field is the one players stop at (a WAV ``data``
  chunk's size, a FLAC STREAMINFO total), libsndfile stops there too: that is what plays.
- M4A (AAC in MP4), which libsndfile does not read, is measured by ``mutagen`` from the
  audio track's media header; mutagen is also the fallback for a file libsndfile cannot
  open.

A file nobody can read, or one that holds no sound, has no duration (None): a guess
shown as a measurement would be worse than nothing, so callers refuse it or say it was
not measured.
"""

from __future__ import annotations

import io
from typing import IO

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


def kind(head: bytes) -> str | None:
    """The MIME type of audio whose first bytes (give 64 KB: a leading ID3 tag is looked
    past) are ``head``, among :data:`MEASURED_TYPES`, or None."""
    # The stamping formats first: a FLAC file with a leading ID3 tag (as stamped FLAC
    # files have) is FLAC, not MP3.
    found = sniff_stamped(head) or sniff_audio(head)
    return found if found in MEASURED_TYPES else None


def duration_ms(source: bytes | IO[bytes]) -> int | None:
    """How many milliseconds the audio plays (rounded to the nearest), or None when no
    library can read it. A binary file is read from its start and left at its start."""
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
    else:
        source.seek(0)
        data = source.read()
        source.seek(0)
    if not data:
        return None
    measured = _by_libsndfile(data)
    if kind(data[:65536]) == "audio/mpeg":
        measured = _mp3_by_frames(data, measured)
    if measured is None:
        measured = _by_mutagen(data)
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


def _mp3_frames(data: bytes) -> tuple[int, int, int] | None:
    """An MP3's MPEG frames counted one by one from their headers (mutagen parses each),
    ignoring any length tag: (samples, samples per frame, sample rate), or None if the
    file does not start with at least two MPEG frames (after its ID3 tags)."""
    from mutagen.mp3 import HeaderNotFoundError, MPEGFrame, skip_id3

    stream = io.BytesIO(data)
    skip_id3(stream)
    frames, per_frame, rate = 0, 0, 0
    while True:
        try:
            frame = MPEGFrame(stream)
        except (HeaderNotFoundError, EOFError, OSError):
            break  # the end of the stream (an ID3v1 or APE tag, junk, or the file's end)
        frames += 1
        rate = frame.sample_rate
        if frame.layer == 1:
            per_frame = 384
        elif frame.version >= 2 and frame.layer == 3:
            per_frame = 576
        else:
            per_frame = 1152
    return (frames * per_frame, per_frame, rate) if frames >= 2 and rate else None


def _mp3_by_frames(data: bytes, measured: int | None) -> int | None:
    """The MP3's measurement: libsndfile's, unless its frames play longer than that by
    more than the tolerance (the length tag understates the stream)."""
    counted = _mp3_frames(data)
    if counted is None:
        return measured
    samples, per_frame, rate = counted
    stream = _ms(samples, rate)
    # Counting frames also counts the length tag's own silent frame and the encoder's
    # delay and padding, which decoders trim: together less than three frames.
    slack = _ms(3 * per_frame, rate) + tolerance_ms(stream)
    if measured is None or stream - measured > slack:
        return stream
    return measured


def _ms(frames: int, rate: int) -> int:
    return (frames * 1000 + rate // 2) // rate


def _by_libsndfile(data: bytes) -> int | None:
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
    return _ms(frames, rate) if frames else None


def _by_mutagen(data: bytes) -> int | None:
    import mutagen

    try:
        found = mutagen.File(io.BytesIO(data))
        length = float(found.info.length) if found is not None else 0.0
    # mutagen raises its own errors, and struct/Value/IndexErrors on truncated headers.
    except Exception:
        return None
    if not length > 0 or length != length:  # zero, negative or NaN
        return None
    return round(length * 1000)
