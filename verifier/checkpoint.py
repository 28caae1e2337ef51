"""C2SP transparency-log checkpoints (https://c2sp.org/tlog-checkpoint).

A checkpoint is the text of a signed note::

    <origin>\\n
    <tree size, decimal>\\n
    <root hash, standard base64>\\n
    [<extension line>\\n ...]

It commits the log (its origin) to one tree head. Parsing is strict, because
two spellings of one checkpoint (``"07"`` vs ``"7"``) would let a log show
different bytes to different people while claiming the same tree.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from verifier.errors import CheckpointError
from verifier.merkle import HASH_SIZE
from verifier.note import NoteVerifier, open_note

__all__ = ["Checkpoint", "format_checkpoint", "open_checkpoint", "parse_checkpoint"]

# Decimal without sign, spaces or leading zeros ("0" alone for the empty tree).
_CANONICAL_SIZE = re.compile(r"0|[1-9][0-9]*")
# Tree sizes are uint64 in every other implementation; refuse what they cannot read.
_MAX_TREE_SIZE = 2**64 - 1


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()


def format_checkpoint(origin: str, size: int, root: bytes, extensions: Sequence[str] = ()) -> str:
    """The checkpoint body (note text) for a tree head, ending in a newline."""
    _check_line(origin, "origin")
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= _MAX_TREE_SIZE:
        raise CheckpointError(
            "checkpoint.bad_size", f"tree size {size!r} is not an unsigned 64-bit integer"
        )
    if not isinstance(root, bytes) or len(root) != HASH_SIZE:
        raise CheckpointError("checkpoint.bad_root", f"root hash must be {HASH_SIZE} bytes")
    for extension in extensions:
        _check_line(extension, "extension line")
    lines = [origin, str(size), base64.b64encode(root).decode("ascii"), *extensions]
    return "".join(line + "\n" for line in lines)


def parse_checkpoint(text: str, expected_origin: str) -> Checkpoint:
    """Parse a checkpoint body, refusing one for any log but ``expected_origin``.

    The origin check is what stops a valid checkpoint of *another* log, signed by
    a key that happens to be trusted for both, from standing in for this one.
    """
    if not text.endswith("\n"):
        raise CheckpointError("checkpoint.malformed", "checkpoint must end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise CheckpointError(
            "checkpoint.malformed", "checkpoint needs an origin, a tree size and a root hash line"
        )
    for number, line in enumerate(lines, start=1):
        if not line:
            raise CheckpointError("checkpoint.malformed", f"checkpoint line {number} is empty")
        if any(ord(ch) < 0x20 for ch in line):
            raise CheckpointError(
                "checkpoint.malformed", f"checkpoint line {number} has a control character"
            )
    origin, size_line, root_line, *extensions = lines

    if origin != expected_origin:
        raise CheckpointError(
            "checkpoint.wrong_origin",
            f"checkpoint is for log {origin!r}, expected {expected_origin!r}",
        )
    if not _CANONICAL_SIZE.fullmatch(size_line):
        raise CheckpointError(
            "checkpoint.bad_size",
            f"tree size {size_line!r} is not a decimal number without leading zeros",
        )
    size = int(size_line) if len(size_line) <= 20 else _MAX_TREE_SIZE + 1
    if size > _MAX_TREE_SIZE:
        raise CheckpointError("checkpoint.bad_size", "tree size does not fit in 64 bits")
    try:
        root = base64.b64decode(root_line.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise CheckpointError("checkpoint.bad_root", "root hash is not valid base64") from exc
    if base64.b64encode(root).decode("ascii") != root_line:
        raise CheckpointError("checkpoint.bad_root", "root hash is not canonical base64")
    if len(root) != HASH_SIZE:
        raise CheckpointError(
            "checkpoint.bad_root", f"root hash is {len(root)} bytes; SHA-256 hashes are {HASH_SIZE}"
        )
    return Checkpoint(origin, size, root, tuple(extensions))


def open_checkpoint(
    note: str | bytes, verifiers: Iterable[NoteVerifier], expected_origin: str
) -> Checkpoint:
    """Verify a signed checkpoint note, then parse its text.

    Signature first: nothing in the text is believed before a trusted key vouches
    for it.
    """
    text, _signers = open_note(note, verifiers)
    return parse_checkpoint(text, expected_origin)


def _check_line(value: str, what: str) -> None:
    if not isinstance(value, str) or not value:
        raise CheckpointError("checkpoint.malformed", f"{what} must be a non-empty string")
    if any(ord(ch) < 0x20 for ch in value):
        raise CheckpointError(
            "checkpoint.malformed", f"{what} must be one line without control characters"
        )
