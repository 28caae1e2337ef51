"""What each log event says: its fields, and whom it is about.

One home for the shape of the log's events: the registry refuses to append an event
that does not fit (``transparency.services``), ``log_audit`` and ``verifier monitor``
flag a logged one that does not, and :mod:`verifier.state` folds them into what holds.

Every event is ``{"type": ..., "at": <RFC 3339>, ...fields}``. Numbers are strings of
decimal digits (JSON numbers lose precision past 2**53). Fields may be added to an event
in later versions; a reader ignores the ones it does not know. Personal data never goes
into the log: reasons are classes (``invoice_overdue``), not the words someone typed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

__all__ = ["EVENTS", "REQUIRED", "event_problem", "subjects"]

_DIGITS = re.compile(r"(0|[1-9][0-9]{0,30})\Z")
_SHA256 = re.compile(r"[0-9a-f]{64}\Z")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_JURISDICTION = re.compile(r"[A-Z]{2}(-[A-Z0-9]{1,3})?\Z")
_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z\Z")


def _text(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value) <= 200


def _digits(value: object) -> bool:
    return isinstance(value, str) and _DIGITS.match(value) is not None


def _sha256(value: object) -> bool:
    return isinstance(value, str) and _SHA256.match(value) is not None


def _time(value: object) -> bool:
    return isinstance(value, str) and _TIME.match(value) is not None


def _object(value: object) -> bool:
    return isinstance(value, dict)


def _flag(value: object) -> bool:
    return isinstance(value, bool)


def _pair(value: object) -> bool:
    return isinstance(value, list) and len(value) == 2 and _digits(value[0]) and _digits(value[1])


def _split(value: object) -> bool:
    """A work's split: the platform's fee and the payees' bps; optionally the payees whose
    share is partly set aside in trust, with the rate (``set_aside``, a minor's Coogan
    account), and the union fund credited pension and health on top of the price, with
    the rate (``pension_health``: [payee id, bps])."""
    if not isinstance(value, dict) or not _digits(value.get("fee_bps")):
        return False
    payees = value.get("payees")
    set_aside = value.get("set_aside", [])
    return (
        isinstance(payees, list)
        and bool(payees)
        and all(_pair(p) for p in payees)
        and isinstance(set_aside, list)
        and all(_pair(p) for p in set_aside)
        and ("pension_health" not in value or _pair(value["pension_health"]))
    )


def _date(value: object) -> bool:
    return isinstance(value, str) and _DATE.match(value) is not None


def _jurisdiction(value: object) -> bool:
    return isinstance(value, str) and _JURISDICTION.match(value) is not None


# What an operator verified before a voice went live: the performer's identity, or the
# authority of the representative (estate executor, guardian) who consents for them.
IDENTITY_STANDINGS: Final[frozenset[str]] = frozenset({"identity_verified", "authority_verified"})


def _identity(value: object) -> bool:
    return value in IDENTITY_STANDINGS


_CHECKS = {
    "date": _date,
    "jurisdiction": _jurisdiction,
    "text": _text,
    "digits": _digits,
    "sha256": _sha256,
    "object": _object,
    "flag": _flag,
    "time": _time,
    "split": _split,
    "identity": _identity,
}

# type -> {field: kind}; every field listed is required. Kinds are checked by _CHECKS.
REQUIRED: Final[dict[str, dict[str, str]]] = {
    "voice.registered": {"voice": "object", "performer": "object", "consent": "object"},
    "voice.suspended": {"voice_id": "digits", "cause": "text"},
    "voice.retired": {"voice_id": "digits", "cause": "text"},
    "voice.reinstated": {"voice_id": "digits", "cause": "text"},
    "consent.withdrawn": {"voice_id": "digits"},
    "consent.renewed": {
        "voice_id": "digits",
        "statement_sha256": "sha256",
        "given_as": "text",
        "expires_at": "time",
    },
    "consent.expired": {"voice_id": "digits", "statement_sha256": "sha256"},
    "delegation.granted": {
        "delegation_id": "digits",
        "performer_id": "digits",
        "representative_id": "digits",
        "powers": "text",
        "ends_on": "date",
    },
    "delegation.revoked": {"delegation_id": "digits", "performer_id": "digits"},
    # An operator verified the performer's identity. The id only: never a name, never
    # anything from the document or the recording.
    "performer.verified": {"performer_id": "digits"},
    "license.issued": {
        "license_id": "text",
        "jws_sha256": "sha256",
        "kid": "text",
        "voice_id": "digits",
        "licensee_id": "digits",
    },
    "license.revoked": {"license_id": "text", "reason": "text", "jws_sha256": "sha256"},
    "license.held": {"license_id": "text", "hold_id": "digits", "reason": "text"},
    "license.released": {"license_id": "text", "hold_id": "digits", "reason": "text"},
    "work.recorded": {
        "work_id": "text",
        "license_id": "text",
        "content_sha256": "sha256",
        "duration_ms": "digits",
    },
    "work.voided": {
        "work_id": "text",
        "license_id": "text",
        "recorded_index": "digits",
        "receipt_sha256": "sha256",
        "content_sha256": "sha256",
        "slot_returned": "flag",
    },
    "statement.issued": {
        "payee_id": "digits",
        "month": "text",
        "currency": "text",
        "statement_sha256": "sha256",
    },
    "performer.died": {
        "performer_id": "digits",
        "date_of_death": "date",
        "jurisdiction": "jurisdiction",
        "post_mortem_until": "date",
    },
    "performer.term_continued": {"performer_id": "digits", "post_mortem_until": "date"},
    # A brand proved control of a domain (method: dns, or operator). Its legal name is
    # typed by people, so only its SHA-256 (of the UTF-8 name, as licenses state it).
    "brand.verified": {
        "brand_id": "digits",
        "domain": "text",
        "method": "text",
        "legal_name_sha256": "sha256",
    },
    "key.added": {"kid": "text", "jwk": "object"},
    "key.retired": {"kid": "text"},
    "key.compromised": {"kid": "text", "from_index": "digits"},
}

# Optional fields, checked when present (events logged before they existed lack them).
OPTIONAL: Final[dict[str, dict[str, str]]] = {
    "voice.registered": {"identity": "identity"},
    "work.recorded": {
        "declared_revenue": "digits",
        "price": "digits",
        "from_advance": "digits",
        "split": "split",
        "measured": "flag",
    },
}

EVENTS: Final[frozenset[str]] = frozenset(REQUIRED)


def event_problem(entry: object) -> str | None:
    """What is wrong with a parsed log entry as an event, or None if it fits."""
    if not isinstance(entry, dict):
        return "the entry is not a JSON object"
    kind = entry.get("type")
    if kind not in REQUIRED:
        return f"unknown event type {kind!r}"
    at = entry.get("at")
    if not isinstance(at, str) or _TIME.match(at) is None:
        return f"{kind}: 'at' is not an RFC 3339 UTC time"
    for fields, required in ((REQUIRED[kind], True), (OPTIONAL.get(kind, {}), False)):
        for name, check in fields.items():
            if name not in entry:
                if required:
                    return f"{kind}: the field {name!r} is missing"
                continue
            if not _CHECKS[check](entry[name]):
                return f"{kind}: the field {name!r} is not {_WORDS[check]}"
    return None


_WORDS = {
    "text": "a non-empty string of at most 200 characters",
    "digits": "a string of decimal digits",
    "sha256": "a lowercase hex SHA-256",
    "object": "a JSON object",
    "flag": "true or false",
    "time": "an RFC 3339 UTC time",
    "date": "a date, YYYY-MM-DD",
    "jurisdiction": "an ISO 3166 code (GB, US-CA)",
    "split": 'a split ({"fee_bps": "...", "payees": [["payee id", "bps"], ...]}, and '
    'optionally "set_aside": [["payee id", "bps"], ...] and "pension_health": '
    '["payee id", "bps"])',
    "identity": "identity_verified or authority_verified",
}


def subjects(entry: Mapping[str, Any]) -> list[str]:
    """Whom an event changes the standing of, as ``kind:id`` keys the registry indexes so
    that a verifier can ask for every event about a license, a voice or a work.

    A work's recording is not indexed: its receipt and its credentials name its index.
    """
    kind = entry.get("type")
    if kind in ("license.issued", "license.revoked", "license.held", "license.released"):
        return [f"license:{entry['license_id']}"]
    if kind in (
        "voice.suspended",
        "voice.retired",
        "voice.reinstated",
        "consent.withdrawn",
        "consent.renewed",
        "consent.expired",
    ):
        return [f"voice:{entry['voice_id']}"]
    if kind == "voice.registered":
        return [f"voice:{entry['voice']['id']}"]
    if kind == "work.voided":
        return [f"work:{entry['work_id']}"]
    if kind in (
        "performer.died",
        "performer.term_continued",
        "delegation.granted",
        "delegation.revoked",
        "performer.verified",
    ):
        return [f"performer:{entry['performer_id']}"]
    if kind == "statement.issued":
        return [f"payee:{entry['payee_id']}"]
    if kind == "brand.verified":
        return [f"brand:{entry['brand_id']}"]
    if kind in ("key.added", "key.retired", "key.compromised"):
        return [f"key:{entry['kid']}"]
    return []
