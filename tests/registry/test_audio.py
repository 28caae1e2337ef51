"""Durations are measured (by libsndfile, and by counting what the file holds), or not at
all; a length field that understates the audio never shortens it; and a declared duration
agrees with a measured one within the larger of 100 ms and 1%."""

from __future__ import annotations

import io
import itertools
import random
import struct
from collections.abc import Callable
from pathlib import Path

import pytest

from registry import audio
from tests.helpers import (
    crc,
    flac_claiming,
    flac_frame_starts,
    flac_of_one_sample_frames,
    mp3_claiming_two_frames,
    ogg_head,
    ogg_rewritten,
    ogg_with_pages,
    opus,
    riff_wave,
    silent_mp3,
    tone,
    wav_bytes,
    wav_chunk,
    wav_parts,
)

M4A = Path(__file__).parent.parent / "fixtures" / "tone-1s.m4a"


def test_it_measures_a_wav() -> None:
    assert audio.duration_ms(io.BytesIO(wav_bytes(seconds=1.25, rate=16000))) == 1250


@pytest.mark.parametrize("fmt", ["WAV", "FLAC", "OGG", "MP3"])
def test_it_measures_each_format_libsndfile_writes(fmt: str) -> None:
    data = tone(3.0, fmt, rate=16000 if fmt == "MP3" else 8000)
    measured = audio.duration_ms(data)
    assert measured is not None and abs(measured - 3000) <= 100, (fmt, measured)
    assert audio.kind(data[:65536]) is not None


def test_it_measures_an_m4a_by_its_sample_table() -> None:
    data = M4A.read_bytes()
    assert audio.kind(data[:65536]) == "audio/mp4"
    measured = audio.duration_ms(data)
    assert measured is not None and abs(measured - 1000) <= 100, measured


def test_an_mp3_whose_length_tag_understates_it_is_measured_by_its_frames(mode: str) -> None:
    data = bytearray(tone(20.0, "MP3", rate=16000))
    at = max(data.find(b"Xing"), data.find(b"Info"))
    assert at > 0, "libsndfile's MP3 writer puts a length tag in the first frame"
    struct.pack_into(">I", data, at + 8, 2)  # "two frames"
    measured = audio.duration_ms(bytes(data))
    assert measured is not None and abs(measured - 20000) <= 200, measured


def test_a_file_leaves_at_its_start() -> None:
    file = io.BytesIO(wav_bytes(seconds=0.5))
    file.read(10)
    assert audio.duration_ms(file) == 500 and file.tell() == 0


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00" * 4096,
        b"not audio at all, just words" * 10,
        b"RIFF\x00\x00\x00\x00WAVEjunk",
        bytes([0xFF, 0xFB, 0x90, 0x64]) + b"\x00" * 4000,
    ],
    ids=["empty", "nul-bytes", "text", "damaged-wav", "mp3-header-then-nothing"],
)
def test_what_cannot_be_read_has_no_duration(data: bytes) -> None:
    assert audio.duration_ms(data) is None


def test_the_tolerance_is_the_larger_of_100_ms_and_1_percent() -> None:
    assert audio.tolerance_ms(500) == 100
    assert audio.tolerance_ms(60_000) == 600
    assert audio.disagreement(measured_ms=60_000, declared_ms=60_600, declared_as="x") is None
    assert audio.disagreement(measured_ms=60_000, declared_ms=59_400, declared_as="x") is None
    assert audio.disagreement(measured_ms=60_000, declared_ms=60_601, declared_as="x")
    assert audio.disagreement(measured_ms=1_000, declared_ms=1_100, declared_as="x") is None
    assert audio.disagreement(measured_ms=1_000, declared_ms=1_101, declared_as="x")


def test_a_disagreement_names_both_durations_in_seconds() -> None:
    words = audio.disagreement(
        measured_ms=60_000, declared_ms=1, declared_as="the work was recorded as"
    )
    assert words is not None
    assert "measured at 60.000 s" in words and "recorded as 0.001 s" in words


# -- Measure rather than trust: what a file's length fields say does not shorten it -------

MINUTE = 60_000


def about(measured: int | None, expected: int) -> bool:
    """Within the tolerance a declared duration is held to."""
    return measured is not None and abs(measured - expected) <= audio.tolerance_ms(expected)


@pytest.fixture(params=["decoded", "counted"])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Measured as a file within the decode budget is (libsndfile decodes it, and its
    stream is counted too), or as a longer file is (counted only: libsndfile opens it, and
    decodes nothing of it but, for Ogg, its first pages). The same either way."""
    if request.param == "counted":
        for measured in audio._DECODE_BUDGET:
            monkeypatch.setitem(audio._DECODE_BUDGET, measured, 0)
    return str(request.param)


@pytest.mark.parametrize(
    ("fmt", "rate", "plays"),
    [
        ("WAV", 44100, 2.5),
        ("FLAC", 48000, 2.5),
        ("FLAC", 8000, 61.0),
        ("MP3", 44100, 2.5),
        ("MP3", 8000, 7.0),
        ("OGG", 44100, 2.5),
    ],
)
def test_honest_files_measure_what_they_play(fmt: str, rate: int, plays: float, mode: str) -> None:
    measured = audio.duration_ms(tone(plays, fmt, rate=rate))
    assert about(measured, round(plays * 1000)), (fmt, rate, measured)


def test_an_honest_opus_file_measures_what_it_plays(mode: str) -> None:
    assert audio.duration_ms(opus(3.0)) == 3000


@pytest.mark.parametrize("total", [44, 0], ids=["44-samples", "unknown"])
def test_a_flac_whose_streaminfo_total_understates_it_is_measured_by_its_frames(
    total: int, mode: str
) -> None:
    honest = tone(60.0, "FLAC")
    assert audio.duration_ms(honest) == MINUTE
    # libsndfile stops at STREAMINFO's total (44 samples: 6 ms), or does not read a total
    # of 0 ("unknown"); players play every frame.
    assert audio.duration_ms(flac_claiming(honest, total)) == MINUTE


def test_a_flac_whose_streaminfo_misstates_its_bit_depth_is_measured_by_its_frames(
    mode: str,
) -> None:
    # Chromium plays 16-bit frames under a STREAMINFO that says 24 bits.
    hostile = flac_claiming(tone(60.0, "FLAC"), 44, bits=24)
    assert audio.duration_ms(hostile) == MINUTE


def test_a_flac_with_junk_between_its_frames_is_measured_by_its_frames(mode: str) -> None:
    honest = tone(60.0, "FLAC")
    middle = flac_frame_starts(honest)[50]
    # libsndfile's decoder loses sync at the junk and stops; players find the next frame.
    hostile = flac_claiming(honest[:middle] + b"JUNK" * 6 + honest[middle:], 44)
    assert audio.duration_ms(hostile) == MINUTE


def test_a_flac_is_measured_by_its_frames_whatever_they_are_numbered(mode: str) -> None:
    honest = tone(10.0, "FLAC")
    starts = [*flac_frame_starts(honest), len(honest)]
    rebuilt = bytearray(honest[: starts[0]])
    for start, end in itertools.pairwise(starts):
        frame = bytearray(honest[start:end])
        frame[4] = 0  # every frame says it is frame 0
        # A tone() frame header is the sync, two code bytes, the number and (for the last
        # frame) an explicit block size; then its CRC-8.
        size = 5 + {6: 1, 7: 2}.get(frame[2] >> 4, 0)
        frame[size] = crc(bytes(frame[:size]), 0x07, 8)
        frame[-2:] = crc(bytes(frame[:-2]), 0x8005, 16).to_bytes(2, "big")
        rebuilt += frame
    assert audio.duration_ms(flac_claiming(bytes(rebuilt), 44)) == 10_000


def test_a_chance_sync_code_inside_a_flac_frame_is_not_counted(mode: str) -> None:
    honest = tone(60.0, "FLAC")
    starts = flac_frame_starts(honest)
    # Another frame's header (whose CRC-8 holds) inside frame 30's audio, as audio bytes
    # may form one by chance; frame 30's own CRC-16 still holds.
    start, end = starts[30], starts[31]
    forged = bytearray(honest)
    middle = (start + end) // 2
    forged[middle : middle + 6] = honest[starts[90] : starts[90] + 6]
    forged[end - 2 : end] = crc(bytes(forged[start : end - 2]), 0x8005, 16).to_bytes(2, "big")
    assert audio.duration_ms(flac_claiming(bytes(forged), 44)) == MINUTE


@pytest.mark.parametrize(
    "junk",
    [b"JUNK!", b"\xff" * 999, random.Random(1).randbytes(4096)],
    ids=["five-bytes", "sync-bytes", "random-bytes"],
)
def test_an_mp3_whose_length_tag_understates_it_is_measured_past_junk(
    junk: bytes, mode: str
) -> None:
    hostile = mp3_claiming_two_frames(tone(60.0, "MP3", rate=16000), junk=junk)
    # Counting stopped at the junk after the third frame (108 ms); decoders resync.
    assert about(audio.duration_ms(hostile), MINUTE)


def test_an_mp3_with_junk_after_every_tenth_frame_is_measured_by_its_frames(mode: str) -> None:
    hostile = mp3_claiming_two_frames(tone(60.0, "MP3", rate=16000), junk=b"\0" * 999, every=10)
    assert about(audio.duration_ms(hostile), MINUTE)


def test_an_mp3_full_of_header_like_junk_is_refused_rather_than_walked() -> None:
    # A candidate MPEG header every four bytes, none followed by a frame: more looking than
    # an honest file of this size needs (the work is bounded: linear, then refused).
    junk = b"\0" + b"\xff\xfb\x90\x00" * 300_000
    assert audio.duration_ms(tone(2.0, "MP3", rate=16000) + junk) is None


@pytest.mark.parametrize("claims", [2.0, 3600.0], ids=["two-seconds", "an-hour"])
def test_a_wav_header_with_no_samples_behind_it_has_no_duration(claims: float) -> None:
    fmt, _ = wav_parts(0.1)
    header_only = riff_wave(fmt, b"data" + struct.pack("<I", int(claims * 8000) * 2))
    assert len(header_only) == 44
    assert audio.duration_ms(header_only) is None


def test_a_wav_whose_data_size_says_one_sample_holds_no_sound() -> None:
    fmt, samples = wav_parts(60.0)
    # Chromium and libsndfile stop where the data size says (a sample: 0.125 ms).
    assert audio.duration_ms(riff_wave(fmt, wav_chunk(b"data", samples, size=2))) is None


@pytest.mark.parametrize("rate", [0xFFFFFFFF, 0])
def test_a_wav_with_an_impossible_sample_rate_has_no_duration(rate: int) -> None:
    wav = bytearray(wav_bytes(seconds=2.0))
    struct.pack_into("<I", wav, 24, rate)
    assert audio.duration_ms(bytes(wav)) is None


def test_a_wav_data_size_smaller_than_the_bytes_after_it_is_honoured() -> None:
    fmt, samples = wav_parts(60.0)
    # Players (Chromium, ffmpeg, libsndfile) stop where the data size says: bytes after it
    # that do not form another data chunk are not played.
    shorter = riff_wave(fmt, wav_chunk(b"data", samples, size=16000))
    assert audio.duration_ms(shorter) == 1000


@pytest.mark.parametrize("size", [0, 0xFFFFFFFF], ids=["zero", "unknown"])
def test_a_wav_data_size_of_zero_or_unknown_plays_to_the_end(size: int) -> None:
    fmt, samples = wav_parts(60.0)
    # ffmpeg (so Chromium) plays such a chunk to the end of the file.
    assert audio.duration_ms(riff_wave(fmt, wav_chunk(b"data", samples, size=size))) == MINUTE


@pytest.mark.parametrize(
    "between",
    [b"", wav_chunk(b"\x00\x01\x02\x03", b"x" * 10)],
    ids=["adjacent", "after-a-binary-tag"],
)
def test_a_wav_with_a_second_data_chunk_is_measured_with_it(between: bytes) -> None:
    fmt, samples = wav_parts(60.0)
    # libsndfile reads the first data chunk (2 ms), or stops at a chunk whose tag is not
    # text; Chromium plays the last: both are counted.
    hostile = riff_wave(fmt, wav_chunk(b"data", samples[:32]), between, wav_chunk(b"data", samples))
    assert audio.duration_ms(hostile) == MINUTE + 2


def test_a_wav_whose_format_follows_its_data_is_measured() -> None:
    fmt, samples = wav_parts(3.0)
    assert audio.duration_ms(riff_wave(wav_chunk(b"data", samples), fmt)) == 3000


@pytest.mark.parametrize(
    "rewrite",
    [{"granule": 44}, {"divide": 100}, {"ends_at": 4}],
    ids=["positions-44", "positions-a-hundredth", "ends-early"],
)
def test_an_ogg_vorbis_stream_is_measured_to_its_last_page(
    rewrite: dict[str, int], mode: str
) -> None:
    honest = tone(60.0, "OGG")
    # libsndfile stops at the last granule position (or the first end-of-stream flag);
    # Chromium plays every page.
    assert audio.duration_ms(ogg_rewritten(honest, **rewrite)) == MINUTE


def test_an_opus_stream_flagged_as_ending_early_is_measured_to_its_last_page(mode: str) -> None:
    hostile = ogg_rewritten(opus(60.0), ends_at=10)
    assert about(audio.duration_ms(hostile), MINUTE)


def test_an_ogg_file_of_two_streams_is_not_measured(mode: str) -> None:
    # Chained: libsndfile plays the first stream, players play on into the second.
    assert audio.duration_ms(tone(1.0, "OGG") + tone(59.0, "OGG")) is None


def m4a_with(*, duration: int | None = None, cut_at_media: bool = False) -> bytes:
    """The M4A fixture with its audio track's media header claiming ``duration`` (in its
    16 kHz time scale), or cut where its media data starts."""
    data = bytearray(M4A.read_bytes())
    mdhd = data.find(b"mdhd") + 4
    assert struct.unpack_from(">I", data, mdhd + 12)[0] == 16000, "a version 0 mdhd"
    if duration is not None:
        struct.pack_into(">I", data, mdhd + 16, duration)
    if cut_at_media:
        data = data[: data.find(b"mdat") - 4]
    return bytes(data)


@pytest.mark.parametrize("claims", [16000 * 60, 16], ids=["a-minute", "a-millisecond"])
def test_an_m4a_is_measured_by_its_samples_not_its_media_header(claims: int) -> None:
    measured = audio.duration_ms(m4a_with(duration=claims))
    assert measured is not None and abs(measured - 1000) <= 100, measured


@pytest.mark.parametrize("claims", [None, 16000 * 60], ids=["as-it-was", "a-minute"])
def test_an_m4a_whose_media_data_is_missing_has_no_duration(claims: int | None) -> None:
    assert audio.duration_ms(m4a_with(duration=claims, cut_at_media=True)) is None


def test_an_m4a_edit_list_that_plays_its_media_three_times_measures_three_times() -> None:
    data = M4A.read_bytes()
    elst = data.find(b"elst") - 4
    (size,) = struct.unpack_from(">I", data, elst)
    assert size == 28, "one edit"
    edit = data[elst + 16 : elst + 28]
    three = struct.pack(">I4sII", 16 + 3 * 12, b"elst", 0, 3) + edit * 3
    grown = bytearray(data[:elst] + three + data[elst + size :])
    for name in (b"moov", b"trak", b"edts"):
        at = data.find(name) - 4  # all three come before the edit list
        struct.pack_into(">I", grown, at, struct.unpack_from(">I", grown, at)[0] + 24)
    stco = grown.find(b"stco") + 4
    struct.pack_into(">I", grown, stco + 8, struct.unpack_from(">I", grown, stco + 8)[0] + 24)
    # Chromium plays the edit three times (3 s).
    assert audio.duration_ms(bytes(grown)) == 3000


def test_audio_of_another_kind_is_not_measured() -> None:
    import soundfile  # type: ignore[import-untyped]  # soundfile ships no type hints

    out = io.BytesIO()
    soundfile.write(out, [0.0] * 8000, 8000, format="AIFF")
    assert audio.kind(out.getvalue()[:64]) is None
    assert audio.duration_ms(out.getvalue()) is None


# -- Bounded work: files built to cost work are refused, or measured within bounds --------
#
# The review's files (100 MB of one-sample FLAC frames, of tiny Ogg pages, of 48-byte MP3
# frames) scaled down: each bound is asserted as what the measurement gives (refused,
# measured, or decoded by libsndfile at most so much), never as a time.


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The frames each libsndfile decode gives (0: it failed) while a test measures."""
    seen: list[int] = []
    real = audio._decoded

    def spy(source: bytes | io.IOBase, limit: int | None = None) -> tuple[int, int] | None:
        got = real(source, limit)
        seen.append(got[0] if got else 0)
        return got

    monkeypatch.setattr(audio, "_decoded", spy)
    return seen


def test_works_are_measured_up_to_a_day_and_the_tolerance() -> None:
    day = 24 * 3600 * 1000
    assert audio._LONGEST_MS == day + audio.tolerance_ms(day)


def test_a_flac_of_more_frames_than_honest_files_hold_is_refused_undecoded(
    decodes: list[int],
) -> None:
    # The review's 6.7 million one-sample frames (100 MB), scaled to just past the cap.
    hostile = flac_of_one_sample_frames(audio._MAX_FLAC_FRAMES + 1)
    assert audio.duration_ms(hostile) is None
    assert decodes == [], "refused while counting, before libsndfile"


def test_a_flac_of_many_tiny_frames_within_the_cap_is_measured_by_all_of_them(
    mode: str,
) -> None:
    # 500,000 frames of one sample at 8 kHz: 62.5 s, every frame counted.
    assert audio.duration_ms(flac_of_one_sample_frames(500_000)) == 62_500


def test_a_flac_whose_frames_never_follow_on_is_refused_rather_than_each_checked() -> None:
    # Each frame says it is frame 0: each is checked against the frame before (a CRC-16),
    # which a short file affords and a long one is refused for.
    assert audio.duration_ms(flac_of_one_sample_frames(1000, numbered=False)) == 125
    assert audio.duration_ms(flac_of_one_sample_frames(200_000, numbered=False)) is None


def test_an_mp3_counted_past_a_day_is_refused_undecoded(
    decodes: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The review's 29 hours of 48-byte silent frames (100 MB), scaled: a day is an hour
    # here, and the file plays 64 minutes.
    monkeypatch.setattr(audio, "_LONGEST_MS", 3_600_000)
    assert audio.duration_ms(silent_mp3(80_000)) is None
    assert decodes == [], "libsndfile never decodes it"
    assert audio.duration_ms(silent_mp3(70_000)) == 3_360_000  # 56 minutes: measured


def test_an_mp3_whose_decode_would_cost_more_than_the_budget_is_measured_undecoded(
    decodes: list[int],
) -> None:
    # An hour of 12 kHz audio (43 million samples) is beyond the MP3 budget.
    assert 43_200_000 > audio._DECODE_BUDGET["audio/mpeg"]
    assert about(audio.duration_ms(silent_mp3(75_000)), 3_600_000)
    assert decodes == []


def test_a_decode_that_runs_far_past_the_count_is_stopped_and_refused(
    decodes: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Free-format frames (no bitrate in the header), which ffmpeg does not play, are not
    # counted; libsndfile decodes them (48 s here).
    free = (b"\xff\xe3\x04\xc4" + b"\0" * 44) * 1000
    assert audio.duration_ms(free) == 48_000
    monkeypatch.setitem(audio._DECODE_BUDGET, "audio/mpeg", 10_000)
    decodes.clear()
    assert audio.duration_ms(free) is None
    assert decodes == [], "stopped at twice the budget: no decode completed"


def test_an_ogg_of_tens_of_thousands_of_empty_pages_is_refused_undecoded(
    decodes: list[int],
) -> None:
    # The review's 3.7 million pages after a real Vorbis header (100 MB), scaled: 80,000
    # empty pages (2 MB) are more than a file of this size may have.
    hostile = ogg_with_pages(ogg_head(tone(1.0, "OGG")), 80_000)
    assert len(hostile) < 2_200_000
    assert audio.duration_ms(hostile) is None
    assert decodes == []


def test_an_ogg_of_pages_crammed_with_one_byte_packets_is_refused_undecoded(
    decodes: list[int],
) -> None:
    # 255 one-byte Opus packets (2.5 ms each) to a page: more lacing values than a file
    # of this size may have.
    hostile = ogg_with_pages(ogg_head(opus(1.0)), 600, packets=bytes([16 << 3]) * 255)
    assert audio.duration_ms(hostile) is None
    assert decodes == []


@pytest.mark.parametrize(
    ("data", "rate", "plays_ms"),
    [(lambda: tone(240.0, "OGG", rate=16000), 16000, 240_000), (lambda: opus(60.0), 48000, MINUTE)],
    ids=["vorbis", "opus"],
)
def test_an_ogg_stream_beyond_the_budget_is_measured_by_its_packets(
    data: Callable[[], bytes],
    rate: int,
    plays_ms: int,
    decodes: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(audio._DECODE_BUDGET, "audio/ogg", 0)
    assert audio.duration_ms(data()) == plays_ms
    # libsndfile decoded its first pages (to see that it plays), not the whole stream.
    assert decodes and max(decodes) < rate * plays_ms // 1000 // 2


def test_a_wav_in_a_block_codec_beyond_the_budget_is_measured_from_its_blocks(
    decodes: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    import soundfile  # type: ignore[import-untyped]  # soundfile ships no type hints

    out = io.BytesIO()
    soundfile.write(out, [0.1, -0.1] * 40_000, 8000, format="WAV", subtype="GSM610")
    monkeypatch.setitem(audio._DECODE_BUDGET, "audio/wav", 0)
    assert audio.duration_ms(out.getvalue()) == 10_000  # 250 blocks of 320 samples
    assert decodes == []


def test_a_wav_played_to_the_end_of_the_file_is_measured_without_a_copy_of_it() -> None:
    fmt, samples = wav_parts(60.0)
    hostile = riff_wave(fmt, wav_chunk(b"data", samples, size=0))
    played = audio._wav_as_played(hostile)
    assert played is not None and not isinstance(played, bytes | bytearray)
    assert audio.duration_ms(hostile) == MINUTE
