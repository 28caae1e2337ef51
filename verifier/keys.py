"""What a signing key still vouches for, given its status (DESIGN.md "Formats").

* an *active* key vouches for what it signs;
* a *retired* key vouches for documents logged before its retirement;
* a *compromised* key vouches only for documents logged before the index the registry
  names as the start of the compromise (from index 0 when it names none).

This is the one statement of the rule: the registry's own verification, its status
API, its pages and the offline verifier all ask it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["KEY_STATUSES", "KeyStatus", "KeyVerdict", "judge_key_status"]

KEY_STATUSES = ("active", "retired", "compromised")


@dataclass(frozen=True)
class KeyStatus:
    kid: str
    status: str
    status_log_index: int
    compromised_from_index: int | None

    def to_json(self) -> dict[str, Any]:
        return {
            "kid": self.kid,
            "status": self.status,
            "status_log_index": self.status_log_index,
            "compromised_from_index": self.compromised_from_index,
        }


@dataclass(frozen=True)
class KeyVerdict:
    """``reason`` is None when the key vouches for the document, else why it does not."""

    reason: str | None
    detail: str


def judge_key_status(key: KeyStatus, log_index: int) -> KeyVerdict:
    """Whether ``key`` vouches for a document logged at ``log_index``."""
    if key.status == "active":
        return KeyVerdict(None, f"key {key.kid} is active")
    if key.status == "compromised":
        start = key.compromised_from_index if key.compromised_from_index is not None else 0
        if log_index >= start:
            return KeyVerdict(
                "key_compromised",
                f"key {key.kid} is compromised from log index {start}, and this license was "
                f"logged at index {log_index}",
            )
        return KeyVerdict(
            None,
            f"key {key.kid} is compromised from log index {start}, but this license was "
            f"logged before, at index {log_index}",
        )
    if log_index >= key.status_log_index:
        return KeyVerdict(
            "key_retired_before_logging",
            f"key {key.kid} was retired at log index {key.status_log_index}, before this "
            f"license was logged at index {log_index}",
        )
    return KeyVerdict(
        None,
        f"key {key.kid} is retired since log index {key.status_log_index}; this license was "
        f"logged before, at index {log_index}",
    )
