"""Check a Timbre license without the registry's database: ``python -m verifier license``.

A license is a compact JWS (DESIGN.md "Formats"). Its signature alone is not the
whole answer, because the JWKS says more about a key than its bytes:

* a *retired* key still vouches for licenses logged before its retirement;
* a *compromised* key vouches only for licenses logged before the index the
  registry gives as the start of the compromise.

The log index of a license is not in the JWS, so for those keys it has to come
from the transparency log: an inclusion proof plus the entry itself (the
``license.issued`` event carries the SHA-256 of the exact JWS), or the
registry's status endpoint plus that same entry. An index is only ever used once
the entry at it is shown to be *this* license's: otherwise whoever holds a
compromised key could sign a new license and point at an old index.

With a signed checkpoint (and the log's key, obtained out of band) the entry is
also proven to be in the log; without one, the index is only as good as the
proof file or the registry that gave it, and the report says so.

Revocation and suspension are events in the log (``license.revoked``,
``license.held``/``released``, ``voice.suspended``/``retired``/``reinstated``): with
the registry's URL and the log's key, the verifier fetches every event the registry
names about the license and its voice, proves each in the signed checkpoint, and
judges the license's standing from them (:mod:`verifier.state`), naming the event
that decides it. Without the log's key it can only repeat the registry's word.

Every failure has a stable reason code, the same vocabulary as the registry's
own verification API where the two overlap (``bad_signature``, ``unknown_key``,
``alg_not_allowed``, ``wrong_type``, ``malformed``, ``key_compromised``,
``revoked``, ``expired``, ``suspended``).
"""

from __future__ import annotations

import functools
import hashlib
import re
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from verifier.checkpoint import Checkpoint, open_checkpoint
from verifier.documents import LICENSE_SCHEMA
from verifier.errors import JSONError, JWSError, VerificationError
from verifier.http import FetchError, HttpClient
from verifier.jcs import parse_json_strict
from verifier.jws import (
    ALGORITHM,
    TYP_LICENSE,
    keys_from_jwks,
    kid_for_public_key,
    public_key_from_jwk,
    verify_jws,
)
from verifier.keys import KEY_STATUSES, KeyStatus, judge_key_status
from verifier.logfile import LogFile
from verifier.merkle import leaf_hash
from verifier.monitor import LogClient, MonitorState, TrustedLog, check_extends
from verifier.proofs import InclusionProof, encode_hash
from verifier.reasons import reason_for_jws_error
from verifier.state import EventSource, RegistrySource, Standing, license_standing

__all__ = [
    "CHECK_ORDER",
    "LICENSE_SCHEMA",
    "STATUS_PATH",
    "CannotCheck",
    "Check",
    "KeyStatus",
    "LicenseReport",
    "LogInputs",
    "RegistryStatus",
    "failed_report",
    "format_report",
    "judge_key",
    "key_status_in",
    "parse_at",
    "parse_rfc3339",
    "verify_license",
]

LICENSE_ISSUED = "license.issued"
STATUS_PATH = "api/v1/licenses/{license_id}/status"

Outcome = Literal["ok", "failed", "not_checked"]

# Also the order of precedence for the one reason reported: a forged or
# unprovable license is worth naming before the fact that it has also expired.
CHECK_ORDER = ("signature", "document", "log", "key", "revocation", "term")


# What the registry's status endpoint may say (License.status_at).
_KEY_REFUSALS = ("key_compromised", "key_retired_before_logging")
_REGISTRY_STATUSES = (
    "active",
    "expired",
    "not_yet_valid",
    "revoked",
    "suspended",
    *_KEY_REFUSALS,
)

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})"
)
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,18}")


class CannotCheck(Exception):
    """The check could not be run: inputs that do not fit together, an unusable answer."""


# --- times ------------------------------------------------------------------------------


def parse_rfc3339(text: str) -> datetime:
    """An RFC 3339 timestamp (with ``Z`` or an offset) as an aware UTC datetime."""
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not an RFC 3339 timestamp")
    year, month, day, hour, minute, second = (int(group) for group in match.groups()[:6])
    fraction, offset = match.group(7), match.group(8)
    # datetime holds microseconds; nanoseconds cannot move a term boundary that
    # the registry writes in milliseconds.
    micros = int((fraction or "0")[:6].ljust(6, "0"))
    moment = datetime(year, month, day, hour, minute, second, micros, tzinfo=UTC)
    if offset not in ("Z", "z"):
        sign = 1 if offset[0] == "+" else -1
        moment -= sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6]))
    return moment


def parse_at(text: str) -> datetime:
    """``--at``: an RFC 3339 timestamp, or a date meaning its first instant in UTC."""
    match = _DATE.fullmatch(text)
    if match is not None:
        year, month, day = (int(group) for group in match.groups())
        return datetime(year, month, day, tzinfo=UTC)
    return parse_rfc3339(text)


def _format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- the report -------------------------------------------------------------------------


@dataclass
class Check:
    outcome: Outcome
    detail: str
    reason: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"outcome": self.outcome, "reason": self.reason, "detail": self.detail, **self.facts}


def _ok(detail: str, **facts: Any) -> Check:
    return Check("ok", detail, None, facts)


def _failed(reason: str, detail: str, **facts: Any) -> Check:
    return Check("failed", detail, reason, facts)


def _not_checked(detail: str, **facts: Any) -> Check:
    return Check("not_checked", detail, None, facts)


@dataclass
class LicenseReport:
    checks: dict[str, Check] = field(default_factory=dict)
    # The verified payload; None until the signature holds.
    document: dict[str, Any] | None = None

    @property
    def failure(self) -> Check | None:
        for name in CHECK_ORDER:
            check = self.checks.get(name)
            if check is not None and check.outcome == "failed":
                return check
        return None

    @property
    def valid(self) -> bool:
        signature = self.checks.get("signature")
        return self.failure is None and signature is not None and signature.outcome == "ok"

    def to_json(self) -> dict[str, Any]:
        failure = self.failure
        return {
            "valid": self.valid,
            "reason": failure.reason if failure is not None else None,
            "detail": failure.detail if failure is not None else None,
            "checks": {
                name: self.checks[name].to_json() for name in CHECK_ORDER if name in self.checks
            },
            "license": self.document,
        }


def failed_report(check: str, reason: str, detail: str) -> LicenseReport:
    """A report for a license that could not even get as far as its signature."""
    return LicenseReport({check: _failed(reason, detail)})


# --- keys -------------------------------------------------------------------------------


def _count(value: object) -> int | None:
    # The registry sends these as JSON integers; decimal strings are what it sends
    # for counters elsewhere, so a reader should not care which.
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and _DECIMAL.fullmatch(value):
        return int(value)
    return None


def key_status_in(jwks: Mapping[str, Any], kid: str) -> KeyStatus:
    """The status the JWKS gives the key ``kid`` (already known to be in it)."""
    matches = []
    for jwk in jwks["keys"]:
        if not isinstance(jwk, Mapping) or (jwk.get("kty"), jwk.get("crv")) != ("OKP", "Ed25519"):
            continue
        # keys_from_jwks has checked every stated kid against its thumbprint, so
        # the thumbprint is what identifies the entry, stated kid or not.
        if kid_for_public_key(public_key_from_jwk(jwk)) == kid:
            matches.append(jwk)
    if len(matches) != 1:
        # Two entries for one key could give it two statuses; which one is meant
        # is not ours to guess.
        raise JWSError("jws.bad_jwks", f"the JWKS lists key {kid} {len(matches)} times")
    jwk = matches[0]
    status = jwk.get("status")
    if status not in KEY_STATUSES:
        raise JWSError(
            "jws.bad_jwks",
            f"key {kid} has status {status!r}; a Timbre JWKS gives each key one of "
            f"{', '.join(KEY_STATUSES)}",
        )
    status_log_index = _count(jwk.get("status_log_index"))
    if status_log_index is None:
        raise JWSError("jws.bad_jwks", f"key {kid} has no valid status_log_index")
    compromised_from = jwk.get("compromised_from_index")
    compromised_from_index = None if compromised_from is None else _count(compromised_from)
    if compromised_from is not None and compromised_from_index is None:
        raise JWSError("jws.bad_jwks", f"key {kid} has an invalid compromised_from_index")
    return KeyStatus(kid, str(status), status_log_index, compromised_from_index)


_INDEX_HELP = "pass --proof FILE with --entry FILE, or --log-url URL"


def judge_key(key: KeyStatus, log_index: int | None) -> Check:
    """The key's check: what a retired or compromised key still vouches for."""
    facts = {**key.to_json(), "log_index": log_index}
    if key.status == "active" or log_index is not None:
        verdict = judge_key_status(key, log_index if log_index is not None else 0)
        if verdict.reason is None:
            return _ok(verdict.detail, **facts)
        return _failed(verdict.reason, verdict.detail, **facts)
    return _failed(
        "log_index_unknown",
        f"key {key.kid} is {key.status} since log index {key.status_log_index}; whether "
        "this license was logged before that depends on its log index, which is not in "
        f"the JWS: {_INDEX_HELP}",
        **facts,
    )


# --- the document -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Terms:
    license_id: str
    valid_from: datetime
    valid_until: datetime


def _read_document(document: object) -> _Terms:
    """The fields the checks rely on; ValueError says which one is wrong."""
    if not isinstance(document, dict):
        raise ValueError("the payload is not a JSON object")
    schema = document.get("schema")
    if schema != LICENSE_SCHEMA:
        raise ValueError(f"schema is {schema!r}, not {LICENSE_SCHEMA!r}")
    license_id = document.get("license_id")
    if not isinstance(license_id, str) or not license_id:
        raise ValueError("license_id is missing")
    terms = document.get("terms")
    if not isinstance(terms, dict):
        raise ValueError("terms is missing")
    bounds = []
    for name in ("valid_from", "valid_until"):
        value = terms.get(name)
        if not isinstance(value, str):
            raise ValueError(f"terms.{name} is missing")
        try:
            bounds.append(parse_rfc3339(value))
        except ValueError as exc:
            raise ValueError(f"terms.{name}: {exc}") from exc
    if bounds[1] < bounds[0]:
        raise ValueError("terms.valid_until is before terms.valid_from")
    return _Terms(license_id, bounds[0], bounds[1])


def _judge_term(document: Mapping[str, Any], terms: _Terms, at: datetime) -> Check:
    valid_from, valid_until = document["terms"]["valid_from"], document["terms"]["valid_until"]
    facts = {"at": _format_time(at), "valid_from": valid_from, "valid_until": valid_until}
    if at < terms.valid_from:
        return _failed(
            "not_yet_valid", f"valid from {valid_from}, checked at {_format_time(at)}", **facts
        )
    if at > terms.valid_until:
        return _failed(
            "expired", f"valid until {valid_until}, checked at {_format_time(at)}", **facts
        )
    return _ok(f"valid at {_format_time(at)} ({valid_from} to {valid_until})", **facts)


# --- the registry and the log ----------------------------------------------------------


@dataclass(frozen=True)
class LogInputs:
    """Where the license's place in the log comes from; every field is optional."""

    # The log's key and origin, for a checkpoint from a file, a URL or the registry.
    trusted: TrustedLog | None = None
    # A signed checkpoint note; with ``trusted`` but no note, the registry's latest.
    checkpoint_note: bytes | None = None
    proof: InclusionProof | None = None
    # The leaf data of the license's license.issued entry.
    entry: bytes | None = None
    # The registry (--log-url): license status, log entries, proofs, checkpoint.
    registry: HttpClient | None = None
    # A monitor's state (--state): the registry's checkpoint must extend the one it saw,
    # so that an older tree head (one from before a revocation) cannot be passed off.
    state: MonitorState | None = None
    # A downloaded copy of the log (--log), verified: everything is read from it.
    log_file: LogFile | None = None


@dataclass(frozen=True)
class RegistryStatus:
    status: str
    log_index: int
    revoked_at: str | None
    revocation_reason: str | None


def _fetch_status(http: HttpClient, license_id: str) -> RegistryStatus:
    path = STATUS_PATH.format(license_id=urllib.parse.quote(license_id, safe=""))
    where = f"GET {http.url(path)}"
    try:
        obj = http.get_json(path)
    except JSONError as exc:
        raise FetchError(f"{where}: the answer is not strict JSON: {exc.message}") from exc
    if not isinstance(obj, dict) or obj.get("license_id") != license_id:
        raise FetchError(f"{where}: the answer is not the status of license {license_id}")
    status, log_index = obj.get("status"), _count(obj.get("log_index"))
    if status not in _REGISTRY_STATUSES or log_index is None:
        raise FetchError(
            f"{where}: expected a status ({', '.join(_REGISTRY_STATUSES)}) and a log_index, "
            f"got status {status!r} and log_index {obj.get('log_index')!r}"
        )
    revoked_at, reason = obj.get("revoked_at"), obj.get("revocation_reason")
    return RegistryStatus(
        str(status),
        log_index,
        revoked_at if isinstance(revoked_at, str) else None,
        reason if isinstance(reason, str) and reason else None,
    )


def _from_registry[T](what: str, call: Callable[[], T]) -> T:
    """Run a LogClient request; an answer of the wrong shape is "could not check"."""
    try:
        return call()
    except JSONError as exc:
        raise FetchError(f"{what}: the answer is not strict JSON: {exc.message}") from exc
    except VerificationError as exc:
        if exc.code in ("log.malformed_response", "merkle.malformed_proof", "merkle.bad_hash"):
            raise FetchError(f"{what}: {exc.message}") from exc
        raise


def _entry_mismatch(data: bytes, token: str, license_id: str, kid: str) -> str | None:
    """Why the log entry ``data`` is not this license's issuance, or None if it is."""
    try:
        entry = parse_json_strict(data)
    except JSONError as exc:
        return f"the entry is not strict JSON ({exc.message})"
    if not isinstance(entry, dict) or entry.get("type") != LICENSE_ISSUED:
        kind = entry.get("type") if isinstance(entry, dict) else None
        return f"the entry is a {kind!r} event, not {LICENSE_ISSUED!r}"
    if entry.get("license_id") != license_id:
        return f"the entry is for license {entry.get('license_id')!r}, not {license_id!r}"
    # The hash of the exact JWS ties the entry to these bytes, not merely to a
    # license id that a forger could copy.
    digest = hashlib.sha256(token.encode("ascii")).hexdigest()
    if entry.get("jws_sha256") != digest:
        return (
            f"the entry records a JWS with SHA-256 {entry.get('jws_sha256')!r}, "
            f"but this one's is {digest!r}"
        )
    if entry.get("kid") != kid:
        return f"the entry records key {entry.get('kid')!r}, but the JWS names {kid!r}"
    return None


@dataclass
class _LogResult:
    check: Check
    # Set only once the entry at it is shown to be this license's.
    log_index: int | None = None
    status: RegistryStatus | None = None
    # The signed checkpoint the entry was proven in, and where to ask for more events.
    checkpoint: Checkpoint | None = None
    events: EventSource | None = None


def _check_log(inputs: LogInputs, token: str, license_id: str, kid: str) -> _LogResult:
    registry = LogClient(inputs.registry) if inputs.registry is not None else None
    status = _fetch_status(inputs.registry, license_id) if inputs.registry is not None else None

    index = inputs.proof.index if inputs.proof is not None else None
    source = "the proof file"
    if status is not None:
        if index is not None and index != status.log_index:
            return _LogResult(
                _failed(
                    "log_index_mismatch",
                    f"the proof file is for index {index}, but the registry says this license "
                    f"was logged at index {status.log_index}",
                ),
                None,
                status,
            )
        index, source = status.log_index, "the registry"
    if index is None:
        return _LogResult(
            _not_checked(f"the license's place in the log is unknown: {_INDEX_HELP}"), None, status
        )

    checkpoint: Checkpoint | None = None
    if inputs.trusted is not None:
        trusted = inputs.trusted
        try:
            if inputs.checkpoint_note is not None:
                checkpoint = open_checkpoint(
                    inputs.checkpoint_note, [trusted.verifier], trusted.origin
                )
            elif registry is not None:
                signed = _from_registry(
                    "the registry's checkpoint", functools.partial(registry.checkpoint, trusted)
                )
                if inputs.state is not None:
                    check_extends(
                        registry, inputs.state.latest, signed, ("seen by the monitor", "served now")
                    )
                checkpoint = signed.checkpoint
        except VerificationError as exc:
            return _LogResult(
                _failed("bad_checkpoint", f"{exc.code}: {exc.message}", log_index=index),
                None,
                status,
            )

    if inputs.entry is not None:
        data = inputs.entry
    elif registry is not None:
        data = _from_registry(f"entry {index}", functools.partial(registry.entry, index))
    else:
        raise CannotCheck("the proof's leaf cannot be tied to this license: pass --entry FILE")
    mismatch = _entry_mismatch(data, token, license_id, kid)
    if mismatch is not None:
        return _LogResult(
            _failed(
                "entry_mismatch",
                f"{source} puts the license at log index {index}, but that entry is not "
                f"its issuance: {mismatch}",
                log_index=index,
            ),
            None,
            status,
        )

    facts: dict[str, Any] = {"log_index": index, "index_from": source}
    if checkpoint is None:
        if inputs.proof is not None and leaf_hash(data) != inputs.proof.leaf_hash:
            return _LogResult(
                _failed(
                    "inclusion_failed",
                    "the entry does not hash to the proof's leaf_hash",
                    **facts,
                ),
                None,
                status,
            )
        return _LogResult(
            _ok(
                f"logged at index {index} (per {source}); not proven against a signed "
                "checkpoint: pass --checkpoint and --verifier-key for that",
                **facts,
                tree_size=None,
            ),
            index,
            status,
        )

    if index >= checkpoint.size:
        raise CannotCheck(
            f"the license is logged at index {index}, but the checkpoint covers only "
            f"{checkpoint.size} entries: use a newer checkpoint"
        )
    if inputs.proof is not None:
        proof = inputs.proof
    elif registry is not None:
        proof = _from_registry(
            f"inclusion proof of {index}",
            functools.partial(registry.inclusion_proof, index, checkpoint.size),
        )
    else:
        raise CannotCheck("--checkpoint needs --proof FILE, or --log-url URL to fetch the proof")
    if proof.tree_size != checkpoint.size:
        raise CannotCheck(
            f"the proof is for tree size {proof.tree_size}, but the checkpoint is of size "
            f"{checkpoint.size}: get the proof for the checkpoint's size"
        )
    facts.update(
        tree_size=checkpoint.size,
        root_hash=encode_hash(checkpoint.root_hash),
        origin=checkpoint.origin,
    )
    if leaf_hash(data) != proof.leaf_hash:
        return _LogResult(
            _failed(
                "inclusion_failed", "the entry does not hash to the proof's leaf_hash", **facts
            ),
            None,
            status,
        )
    try:
        proof.verify(checkpoint.root_hash)
    except VerificationError as exc:
        return _LogResult(
            _failed(
                "inclusion_failed",
                f"the inclusion proof of index {index} does not lead to the checkpoint's root "
                f"({exc.code}: {exc.message})",
                **facts,
            ),
            None,
            status,
        )
    return _LogResult(
        _ok(
            f"logged at index {index}, included in checkpoint of size {checkpoint.size} "
            f"({checkpoint.origin})",
            **facts,
        ),
        index,
        status,
        checkpoint,
        RegistrySource(registry, checkpoint) if registry is not None else None,
    )


def _standing(result: _LogResult, document: Mapping[str, Any]) -> Standing | None:
    """The license's standing from the events the log holds about it and its voice,
    each proven in the checkpoint; None when there is no checkpoint to prove them in."""
    source = result.events
    if result.checkpoint is None or source is None or result.log_index is None:
        return None
    voice = document.get("voice")
    voice_id = str(voice.get("id")) if isinstance(voice, dict) else ""
    license_id = str(document["license_id"])
    events = _from_registry(
        "the events about the license and its voice",
        functools.partial(source.events_about, [f"license:{license_id}", f"voice:{voice_id}"]),
    )
    return license_standing(license_id, voice_id, events)


def _check_log_file(copy: LogFile, token: str, license_id: str, kid: str) -> _LogResult:
    """The license's issuance found in a downloaded copy of the log (every entry read)."""
    checkpoint = copy.checkpoint.checkpoint
    index = copy.find_issuance(license_id)
    if index is None:
        return _LogResult(
            _failed(
                "log_index_unknown",
                f"the copy of the log (size {copy.size}) holds no issuance of {license_id}",
            )
        )
    data, _proof = copy.proven_entry(index)
    mismatch = _entry_mismatch(data, token, license_id, kid)
    facts = {
        "log_index": index,
        "index_from": "the copy of the log",
        "tree_size": checkpoint.size,
        "root_hash": encode_hash(checkpoint.root_hash),
        "origin": checkpoint.origin,
    }
    if mismatch is not None:
        return _LogResult(
            _failed("entry_mismatch", f"the copy's issuance of {license_id}: {mismatch}", **facts)
        )
    return _LogResult(
        _ok(
            f"logged at index {index}, in the copy of the log of size {checkpoint.size} "
            f"({checkpoint.origin}), every entry read",
            **facts,
        ),
        index,
        None,
        checkpoint,
        copy,
    )


def _judge_standing(standing: Standing | None, status: RegistryStatus | None) -> Check:
    """Revoked or suspended, as the log proves it; the registry's word only where the
    log cannot be asked, or where it is the stricter of the two."""
    if standing is None:
        return _judge_revocation(status)
    facts: dict[str, Any] = {
        "standing": standing.status,
        "registry_status": status.status if status is not None else None,
        "events": [e.index for e in standing.events],
    }
    if standing.because is not None:
        facts["event"] = standing.because.to_json()
    if standing.status in ("revoked", "suspended"):
        return _failed(standing.status, f"the log shows: {standing.detail}", **facts)
    if status is not None and status.status in ("revoked", "suspended", *_KEY_REFUSALS):
        # The registry is stricter than its log: refuse, but say that the log is silent.
        return _failed(
            status.status,
            f"the registry reports {status.status!r}, but no event in the log says so: "
            "the registry's word only",
            **facts,
        )
    count = len(standing.events)
    return _ok(
        f"not revoked or suspended: {count} event{'s' if count != 1 else ''} about it and its "
        "voice in the log, each proven in the checkpoint",
        **facts,
    )


def _judge_revocation(status: RegistryStatus | None) -> Check:
    if status is None:
        return _not_checked(
            "revocation needs the registry (--log-url URL) or a newer view of "
            "the log; a license can be revoked after it was issued"
        )
    facts = {
        "registry_status": status.status,
        "revoked_at": status.revoked_at,
        "revocation_reason": status.revocation_reason,
    }
    if status.status == "revoked":
        why = f" ({status.revocation_reason})" if status.revocation_reason else ""
        return _failed(
            "revoked", f"the registry revoked this license at {status.revoked_at}{why}", **facts
        )
    if status.status in _KEY_REFUSALS:
        # The key check judges this from the JWKS too; the registry saying so is reason
        # enough not to pass the license, whatever a stale JWKS says.
        return _failed(
            status.status,
            f"the registry reports {status.status!r}: its signing key no longer vouches for it",
            **facts,
        )
    if status.status == "suspended":
        return _failed(
            "suspended",
            "the registry suspends this license: its voice is not live (suspended or retired)",
            **facts,
        )
    # "expired" and "not_yet_valid" are the registry's view of today; the term check
    # judges the signed dates at the moment asked for.
    return _ok(f"not revoked (the registry reports {status.status!r})", **facts)


# --- putting it together ---------------------------------------------------------------


def verify_license(
    token_bytes: bytes, jwks: Any, at: datetime, log: LogInputs | None = None
) -> LicenseReport:
    """Run every check that the inputs allow; the report says which ones could not run.

    Raises :class:`CannotCheck` or :class:`~verifier.http.FetchError` when the
    inputs do not fit together or the registry cannot be asked.
    """
    log = log or LogInputs()
    report = LicenseReport()
    checks = report.checks
    # Saved tokens usually end in a newline; whitespace is never part of a
    # compact JWS, so trimming it cannot change what is verified (or hashed).
    try:
        token = token_bytes.strip().decode("ascii")
    except UnicodeDecodeError:
        checks["signature"] = _failed("malformed", "the license file is not an ASCII JWS")
        return report
    try:
        keys = keys_from_jwks(jwks)
    except JWSError as exc:
        checks["signature"] = _failed("bad_jwks", exc.message)
        return report
    try:
        verified = verify_jws(token, keys, expected_typ=TYP_LICENSE)
    except JWSError as exc:
        checks["signature"] = _failed(reason_for_jws_error(exc.code), exc.message, code=exc.code)
        return report
    kid = str(verified.header["kid"])
    checks["signature"] = _ok(
        f"signed by key {kid} ({ALGORITHM}, typ {verified.header.get('typ')})",
        kid=kid,
        alg=ALGORITHM,
        typ=verified.header.get("typ"),
    )
    try:
        terms = _read_document(verified.payload)
    except ValueError as exc:
        checks["document"] = _failed("malformed", f"not a {LICENSE_SCHEMA} document: {exc}")
        return report
    report.document = verified.payload
    checks["document"] = _ok(
        f"a {LICENSE_SCHEMA} document", schema=LICENSE_SCHEMA, license_id=terms.license_id
    )
    try:
        key = key_status_in(jwks, kid)
    except JWSError as exc:
        checks["key"] = _failed("bad_jwks", exc.message)
        return report

    if log.log_file is not None:
        result = _check_log_file(log.log_file, token, terms.license_id, kid)
    else:
        result = _check_log(log, token, terms.license_id, kid)
    checks["log"] = result.check
    checks["key"] = judge_key(key, result.log_index)
    checks["revocation"] = _judge_standing(_standing(result, verified.payload), result.status)
    checks["term"] = _judge_term(verified.payload, terms, at)
    return report


# --- human output ------------------------------------------------------------------------


def _clean(value: object) -> str:
    # The summary comes from a signed document, but names are typed by people and
    # printed to a terminal: control characters must not rewrite what is shown.
    return "".join(ch if ch.isprintable() else "?" for ch in str(value))


def _party(value: object) -> str:
    if not isinstance(value, dict):
        return _clean(value)
    name, ident = value.get("name"), value.get("id")
    if name is None:
        return f"id {_clean(ident)}"
    return f"{_clean(name)} (id {_clean(ident)})" if ident is not None else _clean(name)


def _verified_licensee(licensee: object) -> str:
    """What the license says the licensee proved: its legal name and domain, or that it
    proved nothing (a license issued to an unverified brand, or before verification)."""
    verified = licensee.get("verified") if isinstance(licensee, dict) else None
    if not isinstance(verified, dict):
        return "no: the license names no verified legal name or domain"
    method = verified.get("method")
    how = {
        "dns": "DNS TXT record",
        "email": "e-mail to an address at the domain",
        "operator": "confirmed by an operator",
    }.get(str(method), _clean(method))
    return (
        f"domain {_clean(verified.get('domain'))} proven ({how}), "
        f"legal name {_clean(verified.get('legal_name'))} as declared with it"
    )


def _listing(value: object) -> str:
    if isinstance(value, list):
        return ", ".join(_clean(item) for item in value) or "(none)"
    return _clean(value)


_LABELS = {"ok": "ok", "failed": "FAILED", "not_checked": "not checked"}


def format_report(report: LicenseReport) -> list[str]:
    """The lines printed for people: the license, then one line per check."""
    lines = []
    document = report.document
    if document is not None:
        terms = document["terms"]
        lines += [
            f"license      {_clean(document['license_id'])} ({LICENSE_SCHEMA})",
            f"issuer       {_clean(document.get('issuer'))}",
            f"issued       {_clean(document.get('issued_at'))}",
            f"licensee     {_party(document.get('licensee'))}",
            f"verified     {_verified_licensee(document.get('licensee'))}",
            f"voice        {_party(document.get('voice'))}",
            f"performer    {_party(document.get('performer'))}",
            f"uses         {_listing(terms.get('uses'))}",
            f"territories  {_listing(terms.get('territories'))}",
            f"term         {_clean(terms['valid_from'])} to {_clean(terms['valid_until'])}",
        ]
        key = report.checks.get("key")
        if key is not None and "status" in key.facts:
            since = ""
            if key.facts["status"] != "active":
                since = f" since log index {key.facts['status_log_index']}"
            lines.append(f"key          {key.facts['kid']} ({key.facts['status']}{since})")
    for name in CHECK_ORDER:
        check = report.checks.get(name)
        if check is not None:
            lines.append(f"{_LABELS[check.outcome]:<12} {name}: {_clean(check.detail)}")
    failure = report.failure
    if report.valid:
        lines.append("valid")
    elif failure is not None:
        lines.append(f"INVALID: {failure.reason}")
    return lines
