"""Watch a Timbre log over HTTP: every checkpoint must extend the last one seen.

A signed checkpoint only says "this is my tree". What makes the log
*append-only* in practice is someone who keeps the checkpoint they saw and asks,
next time, for a consistency proof to the new one. A log that rewrote an entry
(even with every stored hash rebuilt to match) cannot produce that proof; a
log that shows different trees to different people is caught the same way. This
module is that someone; ``python -m verifier monitor`` runs it from cron.

The state file pins what the monitor trusts and what it has seen::

    {"verifier_key": "<name>+<hex id>+<base64>", "origin": "...",
     "tree_size": N, "root_hash": "<base64>", "checkpoint": "<signed note>",
     "checked_at": "<UTC time>"}

The key is never learnt from the server (that would let the server choose whom
the auditor trusts): the first run must be given it, obtained out of band.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from verifier.checkpoint import Checkpoint, open_checkpoint
from verifier.errors import JSONError, VerificationError
from verifier.events import EVENTS, event_problem
from verifier.http import HttpClient
from verifier.jcs import parse_json_strict
from verifier.merkle import EMPTY_ROOT, frontier_append, frontier_root, leaf_hash
from verifier.note import NoteVerifier, parse_verifier_key
from verifier.proofs import ConsistencyProof, InclusionProof, decode_hash, encode_hash

__all__ = [
    "CHECKPOINT_PATH",
    "CONSISTENCY_PATH",
    "ENTRIES_PATH",
    "EVENTS_PATH",
    "INCLUSION_PATH",
    "InclusionResult",
    "LogClient",
    "LogMisbehaviour",
    "MonitorError",
    "MonitorResult",
    "MonitorState",
    "SignedCheckpoint",
    "TrustedLog",
    "check_extends",
    "check_inclusion",
    "load_state",
    "run_monitor",
    "save_state",
    "trusted_log",
]

CHECKPOINT_PATH = "api/v1/log/checkpoint"
CONSISTENCY_PATH = "api/v1/log/proof/consistency"
INCLUSION_PATH = "api/v1/log/proof/inclusion"
ENTRIES_PATH = "api/v1/log/entries"
EVENTS_PATH = "api/v1/log/events"

# The state holds one checkpoint and a few short fields; anything larger is not ours.
_MAX_STATE_BYTES = 1 << 20
_STATE_FIELDS = ("verifier_key", "origin", "tree_size", "root_hash", "checkpoint", "checked_at")


class MonitorError(Exception):
    """The check could not be run: no pinned key, a conflicting key, a bad state file."""


class LogMisbehaviour(VerificationError):
    """The log contradicted a checkpoint it signed earlier (fork or rollback).

    ``evidence`` holds ``(label, signed note)`` pairs: two checkpoints signed by
    the log's own key that cannot both be true are proof anyone can check, so
    the CLI prints them for the user to keep and publish.
    """

    def __init__(self, code: str, message: str, evidence: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__(code, message)
        self.evidence = tuple(evidence)


# --- trust and state ----------------------------------------------------------------


@dataclass(frozen=True)
class TrustedLog:
    """The one key and origin that checkpoints must carry."""

    verifier: NoteVerifier
    origin: str

    @property
    def verifier_key(self) -> str:
        return str(self.verifier)

    @property
    def key_label(self) -> str:
        return f"{self.verifier.name}+{self.verifier.key_id:08x}"


@dataclass(frozen=True)
class SignedCheckpoint:
    """A checkpoint whose signature and origin have been verified, with its note."""

    checkpoint: Checkpoint
    note: str

    @property
    def size(self) -> int:
        return self.checkpoint.size

    @property
    def root_hash(self) -> bytes:
        return self.checkpoint.root_hash


@dataclass(frozen=True)
class MonitorState:
    trusted: TrustedLog
    latest: SignedCheckpoint
    checked_at: str
    # The compact range of the tree at ``latest``: the hashes of its complete subtrees,
    # left to right. With it the next run reads only the new entries and proves them
    # against the new root. None in a state file written before monitors read entries.
    frontier: tuple[bytes, ...] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "verifier_key": self.trusted.verifier_key,
            "origin": self.trusted.origin,
            "tree_size": self.latest.size,
            "root_hash": encode_hash(self.latest.root_hash),
            "checkpoint": self.latest.note,
            "checked_at": self.checked_at,
        }
        if self.frontier is not None:
            out["frontier"] = [encode_hash(h) for h in self.frontier]
        return out


def _parse_key(text: str, what: str) -> NoteVerifier:
    try:
        # Keys are usually pasted from a web page or `curl` output, newline included.
        return parse_verifier_key(text.strip())
    except VerificationError as exc:
        raise MonitorError(f"{what} is not a note verifier key: {exc.message}") from exc


def trusted_log(verifier_key: str, origin: str | None) -> TrustedLog:
    """The log identity given on the command line; the origin defaults to the key name."""
    verifier = _parse_key(verifier_key, "--verifier-key")
    return TrustedLog(verifier, verifier.name if origin is None else origin)


def load_state(path: Path) -> MonitorState | None:
    """The state saved by the last successful run, or ``None`` if there is none yet.

    The stored checkpoint is verified again and must match the stored size and
    root: the state is the monitor's trust anchor, and a hand-edited or
    half-restored file must stop the monitor rather than move that anchor.
    """
    try:
        with path.open("rb") as handle:
            raw = handle.read(_MAX_STATE_BYTES + 1)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise MonitorError(f"cannot read state file {path}: {exc.strerror or exc}") from exc
    try:
        obj = parse_json_strict(raw, max_bytes=_MAX_STATE_BYTES)
    except JSONError as exc:
        raise MonitorError(f"state file {path} is not valid JSON: {exc.message}") from exc
    if not isinstance(obj, dict) or any(field not in obj for field in _STATE_FIELDS):
        raise MonitorError(f"state file {path} must be an object with {', '.join(_STATE_FIELDS)}")
    fields = {name: obj[name] for name in _STATE_FIELDS}
    for name in ("verifier_key", "origin", "root_hash", "checkpoint", "checked_at"):
        if not isinstance(fields[name], str):
            raise MonitorError(f"state file {path}: {name} must be a string")
    size = fields["tree_size"]
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise MonitorError(f"state file {path}: tree_size must be a non-negative integer")

    verifier = _parse_key(fields["verifier_key"], f"{path}: verifier_key")
    trusted = TrustedLog(verifier, fields["origin"])
    try:
        root = decode_hash(fields["root_hash"], "root_hash")
        checkpoint = open_checkpoint(fields["checkpoint"], [trusted.verifier], trusted.origin)
    except VerificationError as exc:
        raise MonitorError(f"state file {path} is corrupt: {exc.code}: {exc.message}") from exc
    if checkpoint.size != size or not hmac.compare_digest(checkpoint.root_hash, root):
        raise MonitorError(
            f"state file {path} is corrupt: tree_size/root_hash do not match its checkpoint"
        )
    latest = SignedCheckpoint(checkpoint, fields["checkpoint"])
    frontier = None
    if "frontier" in obj:
        raw_frontier = obj["frontier"]
        try:
            if not isinstance(raw_frontier, list):
                raise VerificationError("merkle.bad_frontier", "frontier must be a list")
            frontier = tuple(decode_hash(h, "frontier hash") for h in raw_frontier)
            if len(frontier) != size.bit_count() or not hmac.compare_digest(
                frontier_root(frontier), root
            ):
                raise VerificationError(
                    "merkle.bad_frontier", "the frontier does not lead to the stored root"
                )
        except VerificationError as exc:
            raise MonitorError(f"state file {path} is corrupt: {exc.code}: {exc.message}") from exc
    return MonitorState(trusted, latest, fields["checked_at"], frontier)


def save_state(path: Path, state: MonitorState) -> None:
    """Replace the state file atomically: a crash leaves the old state or the new one."""
    data = (json.dumps(state.to_json(), indent=2, sort_keys=True) + "\n").encode("utf-8")
    # The temporary file must be in the same directory: os.replace is only atomic
    # within one file system.
    directory = path.parent if str(path.parent) else Path()
    try:
        fd, temporary = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise MonitorError(f"cannot write state file {path}: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            # Without fsync a power cut after the rename can leave an empty file,
            # which the next run would refuse (or, worse, treat as a first run).
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise MonitorError(f"cannot write state file {path}: {exc.strerror or exc}") from exc


def _resolve_trust(
    state: MonitorState | None, state_path: Path, verifier_key: str | None, origin: str | None
) -> TrustedLog:
    if state is None:
        if verifier_key is None:
            raise MonitorError(
                f"no state file at {state_path} yet, so no log key is pinned: pass "
                "--verifier-key with the log's key as you obtained it out of band (the "
                "operator's published documentation or a trusted colleague), not from the "
                "server being checked; it is pinned in the state file from then on"
            )
        return trusted_log(verifier_key, origin)
    if verifier_key is not None:
        given = _parse_key(verifier_key, "--verifier-key")
        if str(given) != state.trusted.verifier_key:
            raise MonitorError(
                f"pinned key differs: --verifier-key {given.name}+{given.key_id:08x} is not the "
                f"key {state.trusted.key_label} pinned in {state_path}; if the log really "
                "rotated its key, verify that out of band and start a new state file"
            )
    if origin is not None and origin != state.trusted.origin:
        raise MonitorError(
            f"--origin {origin!r} differs from the origin {state.trusted.origin!r} "
            f"pinned in {state_path}"
        )
    return state.trusted


# --- talking to the log ---------------------------------------------------------------


def _malformed(what: str) -> VerificationError:
    return VerificationError("log.malformed_response", what)


def _strict_b64(value: object, what: str) -> bytes:
    if not isinstance(value, str):
        raise _malformed(f"{what} must be a base64 string")
    try:
        raw = base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise _malformed(f"{what} is not valid base64") from exc
    # One spelling per value: non-zero padding bits would give the same bytes two forms.
    if base64.b64encode(raw).decode("ascii") != value:
        raise _malformed(f"{what} is not canonical base64")
    return raw


@dataclass(frozen=True)
class LogClient:
    """The log API's resources, each checked for shape and echoed parameters."""

    http: HttpClient

    def checkpoint(self, trusted: TrustedLog) -> SignedCheckpoint:
        """The latest checkpoint, verified with the pinned key and origin."""
        url = self.http.url(CHECKPOINT_PATH)
        body = self.http.get_text(CHECKPOINT_PATH)
        try:
            checkpoint = open_checkpoint(body, [trusted.verifier], trusted.origin)
        except VerificationError as exc:
            if exc.code.startswith("note."):
                message = (
                    f"bad signature: the checkpoint from {url} is not validly signed by the "
                    f"pinned key {trusted.key_label}: {exc.message}"
                )
            else:
                message = f"the checkpoint from {url} is not a checkpoint of {trusted.origin!r}: "
                message += exc.message
            raise VerificationError(exc.code, message) from exc
        if checkpoint.size == 0 and checkpoint.root_hash != EMPTY_ROOT:
            raise VerificationError(
                "checkpoint.bad_root",
                f"the checkpoint from {url} has size 0 but not the empty tree's root",
            )
        # open_checkpoint has already refused anything but UTF-8.
        return SignedCheckpoint(checkpoint, body.decode("utf-8"))

    def consistency_proof(self, first: int, second: int) -> ConsistencyProof:
        obj = self.http.get_json(CONSISTENCY_PATH, {"first": first, "second": second})
        proof = ConsistencyProof.from_json(obj)
        # A proof between other sizes could verify and still say nothing about ours.
        if (proof.first, proof.second) != (first, second):
            raise VerificationError(
                "merkle.proof_mismatch",
                f"asked for a consistency proof from {first} to {second}, "
                f"got one from {proof.first} to {proof.second}",
            )
        return proof

    def inclusion_proof(self, index: int, tree_size: int) -> InclusionProof:
        obj = self.http.get_json(INCLUSION_PATH, {"index": index, "tree_size": tree_size})
        proof = InclusionProof.from_json(obj)
        if (proof.index, proof.tree_size) != (index, tree_size):
            raise VerificationError(
                "merkle.proof_mismatch",
                f"asked for an inclusion proof of entry {index} in {tree_size}, "
                f"got one of entry {proof.index} in {proof.tree_size}",
            )
        return proof

    def entries(self, start: int, end: int) -> list[bytes]:
        """The leaf bytes of entries [start, end), in pages, each checked against the
        hash served with it (the caller proves them against a root)."""
        out: list[bytes] = []
        while start + len(out) < end:
            first = start + len(out)
            obj = self.http.get_json(ENTRIES_PATH, {"start": first, "end": end})
            if not isinstance(obj, list) or not obj:
                raise _malformed(f"asked for entries from {first}, got none")
            out.extend(
                _served_entry(item, first + offset)
                for offset, item in enumerate(obj[: end - first])
            )
        return out

    def entry(self, index: int) -> bytes:
        """The leaf bytes of entry ``index``, checked against the hash served with them."""
        obj = self.http.get_json(ENTRIES_PATH, {"start": index, "end": index + 1})
        if not isinstance(obj, list) or len(obj) != 1:
            raise _malformed(f"asked for entry {index}, did not get a list of one entry")
        return _served_entry(obj[0], index)


def _served_entry(entry: object, index: int) -> bytes:
    """One served entry's leaf bytes, shown to be entry ``index`` and to hash to the
    leaf hash served with them."""
    if not isinstance(entry, dict):
        raise _malformed(f"asked for entry {index}, did not get an entry")
    served_index = entry.get("index")
    if served_index != index or isinstance(served_index, bool):
        raise _malformed(f"asked for entry {index}, got index {served_index!r}")
    data = _strict_b64(entry.get("data"), "entry data")
    try:
        served_hash = decode_hash(entry.get("leaf_hash"), "entry leaf_hash")
    except VerificationError as exc:
        raise _malformed(exc.message) from exc
    if not hmac.compare_digest(leaf_hash(data), served_hash):
        raise VerificationError(
            "merkle.proof_mismatch",
            f"entry {index}'s data does not hash to the leaf_hash served with it",
        )
    return data


# --- the checks -------------------------------------------------------------------------


def check_extends(
    client: LogClient,
    old: SignedCheckpoint,
    new: SignedCheckpoint,
    evidence_labels: tuple[str, str] = ("seen before", "served now"),
) -> None:
    """Raise :class:`LogMisbehaviour` unless ``new`` is ``old`` or an extension of it."""
    evidence = [(evidence_labels[0], old.note), (evidence_labels[1], new.note)]
    if new.size < old.size:
        raise LogMisbehaviour("log.rollback", f"log shrank from {old.size} to {new.size}", evidence)
    if new.size == old.size:
        if not hmac.compare_digest(new.root_hash, old.root_hash):
            raise LogMisbehaviour(
                "log.fork",
                f"two checkpoints of size {new.size} with different roots: "
                f"{encode_hash(old.root_hash)} ({evidence_labels[0]}) and "
                f"{encode_hash(new.root_hash)} ({evidence_labels[1]})",
                evidence,
            )
        return
    if old.size == 0:
        # Every tree extends the empty one (whose root was checked on receipt).
        return
    try:
        proof = client.consistency_proof(old.size, new.size)
        proof.verify(old.root_hash, new.root_hash)
    except VerificationError as exc:
        raise LogMisbehaviour(
            "log.fork",
            "the new checkpoint is not an extension of the one seen before "
            f"({exc.code}: {exc.message})",
            evidence,
        ) from exc


@dataclass(frozen=True)
class MonitorResult:
    state: MonitorState
    grew_by: int
    first_run: bool
    # The entries read this run, each a well-formed event; types this monitor does not
    # know (a newer registry's) are counted apart, not judged.
    events_checked: int = 0
    unknown_types: dict[str, int] = field(default_factory=dict)


_PAGE = 1000


def read_entries(
    client: LogClient,
    start: int,
    frontier: Sequence[bytes],
    latest: SignedCheckpoint,
    earlier: SignedCheckpoint | None = None,
) -> tuple[list[bytes], int, dict[str, int]]:
    """Read entries [start, latest.size) onto ``frontier`` (the tree at ``start``), check
    that each is a well-formed event, and that the tree they make has ``latest``'s root
    (and ``earlier``'s at its size, when reading from 0 with an older anchor)."""
    tree = list(frontier)
    size = start
    checked = 0
    unknown: dict[str, int] = {}
    while size < latest.size:
        for data in client.entries(size, min(size + _PAGE, latest.size)):
            tree, _ = frontier_append(tree, size, leaf_hash(data))
            size += 1
            _judge_event(size - 1, data, unknown)
            checked += 1
            if earlier is not None and size == earlier.size:
                if not hmac.compare_digest(frontier_root(tree), earlier.root_hash):
                    raise LogMisbehaviour(
                        "log.fork",
                        f"the entries served now do not make the tree of size {earlier.size} "
                        "seen before",
                        [("seen before", earlier.note), ("served now", latest.note)],
                    )
    if not hmac.compare_digest(frontier_root(tree), latest.root_hash):
        raise VerificationError(
            "log.entries_mismatch",
            f"the entries served do not make the signed tree of size {latest.size}: the "
            "server's entries and its checkpoint disagree",
        )
    return tree, checked, unknown


def _judge_event(index: int, data: bytes, unknown: dict[str, int]) -> None:
    try:
        event = parse_json_strict(data)
    except JSONError as exc:
        raise VerificationError(
            "log.bad_event", f"entry {index} is not strict JSON: {exc.message}"
        ) from exc
    kind = event.get("type") if isinstance(event, dict) else None
    if isinstance(kind, str) and kind not in EVENTS:
        unknown[kind] = unknown.get(kind, 0) + 1
        return
    problem = event_problem(event)
    if problem is not None:
        raise VerificationError("log.bad_event", f"entry {index}: {problem}")


def run_monitor(
    client: LogClient,
    state_path: Path,
    verifier_key: str | None = None,
    origin: str | None = None,
    now: datetime | None = None,
) -> MonitorResult:
    """Check the log's latest checkpoint against the state and save the new state.

    The state file is written only after every check has passed, so that a
    failed run can be re-run (or investigated) against the same anchor.
    """
    state = load_state(state_path)
    trusted = _resolve_trust(state, state_path, verifier_key, origin)
    latest = client.checkpoint(trusted)
    if state is not None:
        check_extends(client, state.latest, latest)
    # Every new entry is read, proven against the new root and judged as an event; a
    # state without a frontier (or none) has the whole log read once.
    if state is not None and state.frontier is not None:
        start, frontier, earlier = state.latest.size, state.frontier, None
    else:
        start, frontier, earlier = 0, (), state.latest if state is not None else None
    tree, checked, unknown = read_entries(client, start, frontier, latest, earlier)
    moment = now or datetime.now(UTC)
    new_state = MonitorState(trusted, latest, moment.strftime("%Y-%m-%dT%H:%M:%SZ"), tuple(tree))
    save_state(state_path, new_state)
    grew_by = latest.size - (state.latest.size if state is not None else 0)
    return MonitorResult(new_state, grew_by, state is None, checked, unknown)


@dataclass(frozen=True)
class InclusionResult:
    checkpoint: SignedCheckpoint
    data: bytes
    checked_against_state: int | None


def check_inclusion(
    client: LogClient,
    trusted: TrustedLog,
    index: int,
    data: bytes | None = None,
    state: MonitorState | None = None,
) -> InclusionResult:
    """Prove that entry ``index`` (the server's copy, or ``data``) is in the latest checkpoint.

    With a monitor ``state``, the checkpoint must also extend the one the monitor
    last saw: an inclusion proof in a forked tree proves nothing to anyone else.
    The state is not updated; that stays the monitor's job.
    """
    latest = client.checkpoint(trusted)
    if state is not None:
        check_extends(client, state.latest, latest, ("seen by the monitor", "served now"))
    if not 0 <= index < latest.size:
        raise VerificationError(
            "merkle.index_out_of_range",
            f"entry {index} is not in the latest checkpoint, of size {latest.size}",
        )
    proof = client.inclusion_proof(index, latest.size)
    if data is None:
        data = client.entry(index)
    if not hmac.compare_digest(leaf_hash(data), proof.leaf_hash):
        raise VerificationError(
            "merkle.proof_mismatch",
            f"the entry data does not hash to the leaf_hash of entry {index}'s inclusion proof",
        )
    proof.verify(latest.root_hash)
    return InclusionResult(latest, data, state.latest.size if state is not None else None)
