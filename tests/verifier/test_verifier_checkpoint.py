"""C2SP tlog-checkpoint bodies, plain and signed."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from verifier.checkpoint import Checkpoint, format_checkpoint, open_checkpoint, parse_checkpoint
from verifier.errors import CheckpointError, NoteError
from verifier.merkle import EMPTY_ROOT, leaf_hash, root_from_leaf_hashes
from verifier.note import make_verifier_key, parse_verifier_key, sign_note

ORIGIN = "timbre.example/log"
ROOT = root_from_leaf_hashes([leaf_hash(b"a"), leaf_hash(b"b"), leaf_hash(b"c")])
ROOT_B64 = base64.b64encode(ROOT).decode()
log_key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
log_verifier = parse_verifier_key(make_verifier_key(ORIGIN, log_key.public_key()))


def test_it_formats_the_three_mandatory_lines() -> None:
    assert format_checkpoint(ORIGIN, 3, ROOT) == f"{ORIGIN}\n3\n{ROOT_B64}\n"


def test_it_round_trips_with_extension_lines() -> None:
    text = format_checkpoint(ORIGIN, 3, ROOT, ["ext one", "ext two"])
    assert parse_checkpoint(text, ORIGIN) == Checkpoint(ORIGIN, 3, ROOT, ("ext one", "ext two"))


def test_it_parses_the_empty_tree() -> None:
    checkpoint = parse_checkpoint(format_checkpoint(ORIGIN, 0, EMPTY_ROOT), ORIGIN)
    assert (checkpoint.size, checkpoint.root_hash) == (0, EMPTY_ROOT)


def test_it_parses_the_spec_example() -> None:
    text = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    checkpoint = parse_checkpoint(text, "example.com/behind-the-sofa")
    assert checkpoint.size == 20852163
    assert len(checkpoint.root_hash) == 32


def test_it_rejects_a_checkpoint_for_another_log() -> None:
    with pytest.raises(CheckpointError) as exc:
        parse_checkpoint(format_checkpoint("other.example/log", 3, ROOT), ORIGIN)
    assert exc.value.code == "checkpoint.wrong_origin"


@pytest.mark.parametrize("size", ["03", "+3", "-3", " 3", "3 ", "0x3", "3.0", "", "٣", "1" * 21])
def test_it_rejects_a_non_canonical_tree_size(size: str) -> None:
    with pytest.raises(CheckpointError) as exc:
        parse_checkpoint(f"{ORIGIN}\n{size}\n{ROOT_B64}\n", ORIGIN)
    assert exc.value.code in {"checkpoint.bad_size", "checkpoint.malformed"}


def test_it_accepts_the_largest_64_bit_size_and_nothing_above() -> None:
    assert parse_checkpoint(f"{ORIGIN}\n{2**64 - 1}\n{ROOT_B64}\n", ORIGIN).size == 2**64 - 1
    with pytest.raises(CheckpointError) as exc:
        parse_checkpoint(f"{ORIGIN}\n{2**64}\n{ROOT_B64}\n", ORIGIN)
    assert exc.value.code == "checkpoint.bad_size"


@pytest.mark.parametrize(
    "root",
    [
        base64.b64encode(ROOT[:31]).decode(),
        base64.b64encode(ROOT + b"\x00").decode(),
        "",
        ROOT_B64.rstrip("="),
        ROOT_B64.replace("=", "") + "==",
        base64.urlsafe_b64encode(bytes([0xFB] * 32)).decode(),
        ROOT_B64[:-2] + "J=",  # non-zero padding bits: a second spelling of a root
    ],
)
def test_it_rejects_a_root_that_is_not_32_canonical_bytes(root: str) -> None:
    with pytest.raises(CheckpointError) as exc:
        parse_checkpoint(f"{ORIGIN}\n3\n{root}\n", ORIGIN)
    assert exc.value.code in {"checkpoint.bad_root", "checkpoint.malformed"}


@pytest.mark.parametrize(
    "text",
    [
        f"{ORIGIN}\n3\n{ROOT_B64}",  # no final newline
        f"{ORIGIN}\n3\n",  # no root
        f"{ORIGIN}\n3\n{ROOT_B64}\n\n",  # empty extension line
        f"{ORIGIN}\n\n3\n{ROOT_B64}\n",  # empty line inside
        f"{ORIGIN}\r\n3\n{ROOT_B64}\n",  # CRLF
    ],
)
def test_it_rejects_malformed_lines(text: str) -> None:
    with pytest.raises(CheckpointError):
        parse_checkpoint(text, ORIGIN)


def test_it_refuses_to_format_nonsense() -> None:
    with pytest.raises(CheckpointError):
        format_checkpoint(ORIGIN, -1, ROOT)
    with pytest.raises(CheckpointError):
        format_checkpoint(ORIGIN, 3, ROOT[:31])
    with pytest.raises(CheckpointError):
        format_checkpoint("two\nlines", 3, ROOT)
    with pytest.raises(CheckpointError):
        format_checkpoint(ORIGIN, 3, ROOT, [""])


def test_it_opens_a_signed_checkpoint() -> None:
    note = sign_note(format_checkpoint(ORIGIN, 3, ROOT), ORIGIN, log_key)
    assert open_checkpoint(note, [log_verifier], ORIGIN) == Checkpoint(ORIGIN, 3, ROOT)


def test_it_rejects_a_signed_checkpoint_whose_size_was_changed() -> None:
    note = sign_note(format_checkpoint(ORIGIN, 3, ROOT), ORIGIN, log_key)
    with pytest.raises(NoteError) as exc:
        open_checkpoint(note.replace(f"{ORIGIN}\n3\n", f"{ORIGIN}\n4\n"), [log_verifier], ORIGIN)
    assert exc.value.code == "note.bad_signature"


def test_a_trusted_key_cannot_vouch_for_another_logs_checkpoint() -> None:
    note = sign_note(format_checkpoint("other.example/log", 3, ROOT), ORIGIN, log_key)
    with pytest.raises(CheckpointError) as exc:
        open_checkpoint(note, [log_verifier], ORIGIN)
    assert exc.value.code == "checkpoint.wrong_origin"
