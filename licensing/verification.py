"""Verify licenses for anyone: signature, key status, license status, log inclusion.

Every failure has a stable machine-readable reason. Batches share their database work:
keys, licenses and the subtrees of every inclusion proof are each fetched once.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from licensing.keys import trusted_keys
from licensing.models import License, SigningKey
from transparency.selectors import inclusion_proofs, latest_checkpoint
from verifier.errors import JWSError, VerificationError
from verifier.jcs import parse_json_strict
from verifier.jws import TYP_LICENSE, decode_jws, verify_jws_signature

MAX_BATCH = 1000

# jws error code -> public reason
_REASONS = {
    "jws.bad_alg": "alg_not_allowed",
    "jws.bad_signature": "bad_signature",
    "jws.unknown_kid": "unknown_key",
    "jws.missing_kid": "unknown_key",
    "jws.wrong_typ": "wrong_type",
    "jws.too_large": "too_large",
}


@dataclass
class Verdict:
    valid: bool = False
    reason: str | None = None
    detail: str = ""
    kid: str | None = None
    key_status: str | None = None
    license_id: str | None = None
    license_status: str | None = None
    document: Any = None
    log_index: int | None = None
    inclusion: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def fail(self, reason: str, detail: str) -> Verdict:
        self.valid = False
        self.reason = reason
        self.detail = detail
        return self


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def verify_licenses(tokens: list[str]) -> list[Verdict]:
    keys = trusted_keys()
    verdicts: list[Verdict] = []
    pending: list[tuple[Verdict, str]] = []
    for token in tokens:
        verdict = Verdict()
        verdicts.append(verdict)
        try:
            decoded = decode_jws(token)
        except JWSError as exc:
            verdict.fail(_REASONS.get(exc.code, "malformed"), exc.message)
            continue
        kid = decoded.header.get("kid")
        verdict.kid = kid if isinstance(kid, str) else None
        known = keys.get(verdict.kid or "")
        if known is None:
            verdict.fail("unknown_key", f"no key of this registry has kid {kid!r}")
            continue
        key_row, public_key = known
        verdict.key_status = key_row.status
        typ = decoded.header.get("typ")
        if not isinstance(typ, str) or typ.lower().removeprefix("application/") != TYP_LICENSE:
            verdict.fail("wrong_type", f"typ must be {TYP_LICENSE!r}, got {typ!r}")
            continue
        try:
            verify_jws_signature(decoded, public_key)
            document = parse_json_strict(decoded.payload_bytes)
        except JWSError as exc:
            verdict.fail(_REASONS.get(exc.code, "malformed"), exc.message)
            continue
        except VerificationError as exc:  # strict JSON: duplicate keys, bad numbers...
            verdict.fail("malformed", f"payload is not strict JSON: {exc.message}")
            continue
        if not isinstance(document, dict) or document.get("schema") != "timbre.license/1":
            verdict.fail("malformed", "the payload is not a timbre.license/1 document")
            continue
        verdict.document = document
        verdict.license_id = str(document.get("license_id", ""))
        pending.append((verdict, token))

    rows = {
        lic.license_id: lic
        for lic in License.objects.select_related("voice", "signing_key").filter(
            license_id__in=[v.license_id for v, _ in pending]
        )
    }
    checkpoint = latest_checkpoint()
    found: list[tuple[Verdict, License]] = []
    for verdict, token in pending:
        lic = rows.get(verdict.license_id or "")
        if lic is None or lic.jws != token:
            verdict.fail("unknown_license", "this registry never issued this license")
            continue
        verdict.log_index = lic.log_index
        key: SigningKey = lic.signing_key
        if (
            key.status == SigningKey.Status.COMPROMISED
            and key.compromised_from_index is not None
            and lic.log_index >= key.compromised_from_index
        ):
            verdict.fail(
                "key_compromised",
                f"signed with key {key.kid}, compromised from log index "
                f"{key.compromised_from_index}",
            )
            verdict.license_status = lic.status_at()
            continue
        status = lic.status_at()
        verdict.license_status = status
        if status == License.Status.ACTIVE:
            verdict.valid = True
        else:
            verdict.fail(str(status), _STATUS_DETAIL[status])
        found.append((verdict, lic))

    if checkpoint is not None:
        covered = [(v, lic) for v, lic in found if lic.log_index < checkpoint.tree_size]
        proofs = inclusion_proofs([lic.log_index for _, lic in covered], checkpoint.tree_size)
        for (verdict, _), proof in zip(covered, proofs, strict=True):
            verdict.inclusion = {
                "tree_size": checkpoint.tree_size,
                "root_hash": _b64(bytes(checkpoint.root_hash)),
                "proof": [_b64(p) for p in proof],
            }
    return verdicts


_STATUS_DETAIL = {
    License.Status.REVOKED: "the license was revoked",
    License.Status.EXPIRED: "the license's term has ended",
    License.Status.SUSPENDED: "the voice is not live (suspended or retired), so neither is this",
}
