"""A downloaded copy of the log, to judge licenses, receipts and stamped files with no
server at all: ``python -m verifier log-download``, then ``--log FILE``.

The file is JSON: ``{"format": "timbre-log/1", "origin", "checkpoint": "<signed note>",
"entries": ["<base64 leaf data>", ...]}`` holding every entry from index 0 to the
checkpoint's size. Loading it checks the checkpoint's signature with the log's key (given
by the user, never taken from the file) and recomputes the root from the entries: a copy
that lost, reordered or altered one entry does not load. Since every entry is read,
nothing about a subject can be left out, as it could by a registry naming indices.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from verifier.checkpoint import open_checkpoint
from verifier.errors import JSONError, VerificationError
from verifier.events import EVENTS, subjects
from verifier.jcs import parse_json_strict
from verifier.merkle import inclusion_proof, leaf_hash, root_from_leaf_hashes
from verifier.monitor import LogClient, SignedCheckpoint, TrustedLog
from verifier.proofs import InclusionProof
from verifier.state import LoggedEvent, checked_event

__all__ = ["FORMAT", "LogFile", "LogFileError", "download", "load"]

FORMAT = "timbre-log/1"
# A log of a few million entries is a few GB of JSON: refuse more than a sane copy holds.
MAX_BYTES = 8 << 30


class LogFileError(Exception):
    """The file cannot be read as a log copy at all (as opposed to: it does not verify)."""


@dataclass
class LogFile:
    """Every entry of the log up to a signed checkpoint, verified against its root."""

    checkpoint: SignedCheckpoint
    entries: list[bytes]
    hashes: list[bytes] = field(default_factory=list)
    _events: dict[int, dict[str, object] | None] = field(default_factory=dict)
    # Entries of types this verifier does not know (a newer registry's), by type.
    unknown_types: dict[str, int] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return self.checkpoint.size

    def proven_entry(self, index: int) -> tuple[bytes, InclusionProof]:
        if not 0 <= index < self.size:
            raise VerificationError(
                "merkle.index_out_of_range", f"entry {index} is beyond the copy's {self.size}"
            )
        path = inclusion_proof(self.hashes, index)
        proof = InclusionProof(index, self.size, self.hashes[index], tuple(path))
        proof.verify(self.checkpoint.root_hash)
        return self.entries[index], proof

    def events_about(self, wanted: Sequence[str]) -> list[LoggedEvent]:
        wanted_set = set(wanted)
        found = []
        for index, data in enumerate(self.entries):
            if index not in self._events:
                self._events[index] = self._parse(index, data)
            event = self._events[index]
            if event is not None and wanted_set.intersection(subjects(event)):
                _, proof = self.proven_entry(index)
                found.append(LoggedEvent(index, dict(event), proof))
        return found

    def _parse(self, index: int, data: bytes) -> dict[str, object] | None:
        try:
            kind = parse_json_strict(data).get("type")
        except (JSONError, AttributeError):
            kind = None
        if isinstance(kind, str) and kind not in EVENTS:
            self.unknown_types[kind] = self.unknown_types.get(kind, 0) + 1
            return None
        return checked_event(index, data)

    def find_issuance(self, license_id: str) -> int | None:
        """Where the license's ``license.issued`` entry is, or None."""
        for item in self.events_about([f"license:{license_id}"]):
            if item.type == "license.issued":
                return item.index
        return None


def download(client: LogClient, trusted: TrustedLog, out: Path) -> LogFile:
    """Read every entry up to the latest checkpoint, prove them against its root, check
    each is a well-formed event, and write the copy atomically."""
    latest = client.checkpoint(trusted)
    entries = client.entries(0, latest.size)
    copy = _verified(latest, entries)  # the entries make the signed root, or nothing is kept
    body = {
        "format": FORMAT,
        "origin": trusted.origin,
        "checkpoint": latest.note,
        "entries": [base64.b64encode(e).decode("ascii") for e in entries],
    }
    directory = out.parent if str(out.parent) else Path()
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=f".{out.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(body, handle)
        os.replace(temporary, out)
    except OSError:
        Path(temporary).unlink(missing_ok=True)
        raise
    return copy


def load(path: Path, trusted: TrustedLog) -> LogFile:
    """The copy at ``path``, its checkpoint verified with ``trusted`` and its entries
    shown to make the checkpoint's root."""
    try:
        raw = path.read_bytes() if path.stat().st_size <= MAX_BYTES else None
    except OSError as exc:
        raise LogFileError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if raw is None:
        raise LogFileError(f"{path} is larger than {MAX_BYTES} bytes")
    try:
        obj = parse_json_strict(raw, max_bytes=MAX_BYTES)
    except JSONError as exc:
        raise LogFileError(f"{path} is not a log copy: {exc.message}") from exc
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise LogFileError(f"{path} is not a log copy ({FORMAT}, from `verifier log-download`)")
    note, items = obj.get("checkpoint"), obj.get("entries")
    if not isinstance(note, str) or not isinstance(items, list):
        raise LogFileError(f"{path} must hold a checkpoint and a list of entries")
    checkpoint = open_checkpoint(note.encode("utf-8"), [trusted.verifier], trusted.origin)
    try:
        entries = [base64.b64decode(item, validate=True) for item in items]
    except (binascii.Error, TypeError, ValueError) as exc:
        raise LogFileError(f"{path}: an entry is not base64") from exc
    return _verified(SignedCheckpoint(checkpoint, note), entries)


def _verified(checkpoint: SignedCheckpoint, entries: list[bytes]) -> LogFile:
    if len(entries) != checkpoint.size:
        raise VerificationError(
            "log.entries_mismatch",
            f"the copy holds {len(entries)} entries, but its checkpoint is of size "
            f"{checkpoint.size}",
        )
    hashes = [leaf_hash(e) for e in entries]
    if root_from_leaf_hashes(hashes) != checkpoint.root_hash:
        raise VerificationError(
            "log.entries_mismatch",
            "the copy's entries do not make its checkpoint's root: an entry was lost, "
            "added, reordered or altered",
        )
    return LogFile(checkpoint, entries, hashes)
