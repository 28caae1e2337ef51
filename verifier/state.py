"""What the log says holds for a license or a work at a tree head.

The registry's database can say anything; what a verifier believes is the log. Every
event that changes a verdict is an entry (see :mod:`verifier.events`): a license is
revoked, held for an unpaid invoice and released, its voice suspended, retired or
reinstated, consent withdrawn, a work voided. :func:`license_standing` and
:func:`work_standing` fold such events, in log order, into the standing they leave, and
name the event that decides it.

The events come from an :class:`EventSource`: a registry (:class:`RegistrySource`, each
event fetched with its inclusion proof against a signed checkpoint: the registry chooses
which indices it names, but cannot forge one, nor slip in one about someone else; an
index it leaves out is caught by a monitor that reads every entry), or a downloaded log
(:class:`verifier.logfile.LogFile`, every entry read, so nothing can be left out).
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from verifier.checkpoint import Checkpoint
from verifier.errors import JSONError, VerificationError
from verifier.events import event_problem, subjects
from verifier.jcs import parse_json_strict
from verifier.merkle import leaf_hash
from verifier.monitor import EVENTS_PATH, LogClient, SignedCheckpoint
from verifier.proofs import InclusionProof

__all__ = [
    "EventSource",
    "LoggedEvent",
    "RegistrySource",
    "Standing",
    "license_standing",
    "proven_events",
    "work_in_log",
    "work_standing",
]


@dataclass(frozen=True)
class LoggedEvent:
    """One entry of the log, parsed, with the proof that put it in a checkpoint."""

    index: int
    event: dict[str, Any]
    proof: InclusionProof | None = None

    @property
    def type(self) -> str:
        return str(self.event.get("type"))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"index": self.index, "event": self.event}
        if self.proof is not None:
            out["proof"] = self.proof.to_json()
        return out


@dataclass(frozen=True)
class Standing:
    """``active``, ``revoked``, ``suspended`` or ``voided``, and the event that says so."""

    status: str
    detail: str
    because: LoggedEvent | None = None
    events: Sequence[LoggedEvent] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return self.status == "active"


_VOICE_DOWN = {"voice.suspended": "suspended", "voice.retired": "retired"}


def license_standing(
    license_id: str,
    voice_id: str,
    events: Iterable[LoggedEvent],
    now: datetime | None = None,
) -> Standing:
    """Fold the events about a license and its voice into the license's standing.

    Revoked outranks suspended: a revocation is for good. A license is suspended while a
    hold on it is open (held, not yet released), or while its voice is suspended or
    retired (a retirement is for good; a reinstatement lifts a suspension only), or once
    the term of its voice's logged consent has passed (at ``now``, default: the clock)
    with no renewal logged: a verifier need not wait for the registry to say so.
    """
    ordered = sorted(events, key=lambda e: e.index)
    revoked: LoggedEvent | None = None
    holds: dict[str, LoggedEvent] = {}
    voice_down: LoggedEvent | None = None
    consent: LoggedEvent | None = None
    consent_term: LoggedEvent | None = None  # the latest logged consent with a term
    for item in ordered:
        e = item.event
        if e.get("license_id") not in (None, license_id):
            continue
        if e.get("voice_id") not in (None, voice_id):
            continue
        kind = item.type
        if kind == "license.revoked" and revoked is None:
            revoked = item
        elif kind == "license.held":
            holds.setdefault(str(e["hold_id"]), item)
        elif kind == "license.released":
            holds.pop(str(e["hold_id"]), None)
        elif kind in _VOICE_DOWN:
            if voice_down is None or voice_down.type != "voice.retired":
                voice_down = item
        elif kind == "voice.reinstated":
            if voice_down is not None and voice_down.type != "voice.retired":
                voice_down = None
        elif kind == "consent.withdrawn":
            consent = item
            consent_term = None
        elif kind == "voice.registered":
            given = e.get("consent")
            if isinstance(given, dict) and isinstance(given.get("expires_at"), str):
                consent_term = item
        elif kind == "consent.renewed":
            consent_term = item
    if revoked is not None:
        why = revoked.event.get("reason", "")
        return Standing(
            "revoked",
            f"revoked ({why}) at {revoked.event.get('at')}, log index {revoked.index}",
            revoked,
            ordered,
        )
    if holds:
        hold = min(holds.values(), key=lambda e: e.index)
        return Standing(
            "suspended",
            f"held ({hold.event.get('reason')}) since {hold.event.get('at')}, "
            f"log index {hold.index}, not released",
            hold,
            ordered,
        )
    if voice_down is not None:
        word = _VOICE_DOWN[voice_down.type]
        cause = voice_down.event.get("cause", "")
        if consent is not None and consent.index < voice_down.index:
            cause = "consent withdrawn"
        return Standing(
            "suspended",
            f"its voice was {word} ({cause}) at {voice_down.event.get('at')}, "
            f"log index {voice_down.index}",
            voice_down,
            ordered,
        )
    ended = _consent_end(consent_term)
    if ended is not None and consent_term is not None and ended <= (now or datetime.now(UTC)):
        return Standing(
            "suspended",
            f"its voice's consent ended at {_rfc3339(ended)} by the term logged at index "
            f"{consent_term.index}, and the log shows no renewal",
            consent_term,
            ordered,
        )
    return Standing("active", "no logged event revokes or suspends it", None, ordered)


def _consent_end(item: LoggedEvent | None) -> datetime | None:
    """When the consent an event states ends (None when it states no term)."""
    if item is None:
        return None
    e = item.event
    given = e.get("consent") if item.type == "voice.registered" else e
    value = given.get("expires_at") if isinstance(given, dict) else None
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _index(item: LoggedEvent) -> int:
    return item.index


def work_standing(work_id: str, events: Iterable[LoggedEvent]) -> Standing | None:
    """``voided`` with the void's event, or None when no event about the work voids it."""
    for item in sorted(events, key=lambda e: e.index):
        if item.type == "work.voided" and item.event.get("work_id") == work_id:
            return Standing(
                "voided",
                f"voided at {item.event.get('at')}, log index {item.index} (the receipt with "
                f"SHA-256 {item.event.get('receipt_sha256')} no longer stands)",
                item,
                (item,),
            )
    return None


# --- where the events come from ----------------------------------------------------------


class EventSource(Protocol):
    """A log as of one signed tree head, that can show an entry with its proof and every
    event about some subjects."""

    @property
    def size(self) -> int: ...

    def proven_entry(self, index: int) -> tuple[bytes, InclusionProof]: ...

    def events_about(self, wanted: Sequence[str]) -> list[LoggedEvent]: ...


def _malformed(message: str) -> VerificationError:
    return VerificationError("log.malformed_response", message)


def checked_event(index: int, data: bytes) -> dict[str, Any]:
    """The event at ``index``, parsed and checked against the one schema of events."""
    try:
        event = parse_json_strict(data)
    except JSONError as exc:
        raise VerificationError(
            "log.bad_event", f"entry {index} is not strict JSON: {exc.message}"
        ) from exc
    problem = event_problem(event)
    if problem is not None:
        raise VerificationError("log.bad_event", f"entry {index}: {problem}")
    return dict(event)


def event_indices(client: LogClient, subject: str, tree_size: int) -> list[int]:
    """The indices the registry names for ``subject`` within ``tree_size`` entries."""
    obj = client.http.get_json(EVENTS_PATH, {"subject": subject, "tree_size": tree_size})
    if not isinstance(obj, dict) or obj.get("subject") != subject:
        raise _malformed(f"asked for the events about {subject}, got another answer")
    indices = obj.get("indices")
    if not isinstance(indices, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) and 0 <= i < tree_size for i in indices
    ):
        raise _malformed(f"the events about {subject} are not indices below {tree_size}")
    return sorted(set(indices))


@dataclass(frozen=True)
class RegistrySource:
    """The registry's log, as of ``checkpoint`` (already verified with the log's key)."""

    client: LogClient
    checkpoint: Checkpoint | SignedCheckpoint

    @property
    def size(self) -> int:
        return self.checkpoint.size

    def proven_entry(self, index: int) -> tuple[bytes, InclusionProof]:
        data = self.client.entry(index)
        proof = self.client.inclusion_proof(index, self.checkpoint.size)
        if not hmac.compare_digest(leaf_hash(data), proof.leaf_hash):
            raise VerificationError(
                "merkle.proof_mismatch",
                f"entry {index}'s data does not hash to its inclusion proof's leaf_hash",
            )
        proof.verify(self.checkpoint.root_hash)
        return data, proof

    def events_about(self, wanted: Sequence[str]) -> list[LoggedEvent]:
        found: dict[int, LoggedEvent] = {}
        for subject in wanted:
            for index in event_indices(self.client, subject, self.checkpoint.size):
                if index in found:
                    continue
                data, proof = self.proven_entry(index)
                event = checked_event(index, data)
                if subject not in subjects(event):
                    raise VerificationError(
                        "log.bad_event",
                        f"the registry named entry {index} as about {subject}, but it is a "
                        f"{event.get('type')} event about "
                        f"{', '.join(subjects(event)) or 'nothing'}",
                    )
                found[index] = LoggedEvent(index, event, proof)
        return [found[i] for i in sorted(found)]


def proven_events(
    client: LogClient, checkpoint: Checkpoint | SignedCheckpoint, wanted: Sequence[str]
) -> list[LoggedEvent]:
    """Every event the registry names about the ``wanted`` subjects, each proven included
    in ``checkpoint`` and shown to be about one of them; in log order."""
    return RegistrySource(client, checkpoint).events_about(wanted)


def work_in_log(
    source: EventSource,
    *,
    work_id: str,
    license_id: str,
    voice_id: str,
    log_index: int,
    content_sha256: str,
    duration_ms: str | None = None,
    measured: bool | None = None,
) -> Standing:
    """A recorded work's standing in ``source``: its ``work.recorded`` entry proven to be
    this work's, then voided, or else its license's standing (revoked, suspended,
    active), each from proven events. Without ``voice_id`` (a receipt names none) the
    voice is the one the license's logged issuance names."""
    if not 0 <= log_index < source.size:
        raise VerificationError(
            "merkle.index_out_of_range",
            f"the work is logged at index {log_index}, beyond the tree of size {source.size}",
        )
    data, proof = source.proven_entry(log_index)
    try:
        recorded = parse_json_strict(data)
    except JSONError as exc:
        raise VerificationError("log.bad_event", f"entry {log_index}: {exc.message}") from exc
    if not (
        isinstance(recorded, dict)
        and recorded.get("type") == "work.recorded"
        and recorded.get("work_id") == work_id
        and recorded.get("license_id") == license_id
        and recorded.get("content_sha256") == content_sha256
    ):
        raise VerificationError(
            "log.entry_mismatch",
            f"entry {log_index} is not the recording of work {work_id} under {license_id} "
            f"with audio {content_sha256}",
        )
    # A receipt also states the duration, and whether it was measured: they must be the
    # logged ones (entries logged before the flag existed say nothing, i.e. declared).
    if duration_ms is not None and recorded.get("duration_ms") != duration_ms:
        raise VerificationError(
            "log.entry_mismatch",
            f"the receipt says {duration_ms} ms, but entry {log_index} logged "
            f"{recorded.get('duration_ms')} ms",
        )
    if measured is not None and (recorded.get("measured") is True) != measured:
        raise VerificationError(
            "log.entry_mismatch",
            f"the receipt says the duration was {'measured' if measured else 'declared'}, "
            f"but entry {log_index} logged otherwise",
        )
    events = source.events_about([f"work:{work_id}", f"license:{license_id}"])
    if not voice_id:
        # A receipt does not name the voice: the license's logged issuance does.
        issued = [e for e in events if e.type == "license.issued"]
        voice_id = str(issued[0].event.get("voice_id", "")) if issued else ""
    if voice_id:
        known = {e.index for e in events}
        extra = source.events_about([f"voice:{voice_id}"])
        events = sorted([*events, *(e for e in extra if e.index not in known)], key=_index)
    recording = LoggedEvent(log_index, recorded, proof)
    voided = work_standing(work_id, events)
    if voided is not None:
        return Standing(voided.status, voided.detail, voided.because, (recording, *events))
    standing = license_standing(license_id, voice_id, events)
    return Standing(standing.status, standing.detail, standing.because, (recording, *events))
