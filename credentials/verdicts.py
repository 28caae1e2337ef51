"""What the registry says about an audio file: its credentials, the license today, and
how long the file plays (measured here, and held against its receipt's duration)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import IO, Any

from credentials import stamping
from licensing.keys import jwks
from licensing.models import License
from registry.audio import disagreement, duration_ms, seconds
from royalties.models import Work
from royalties.selectors import lookup_by_hash
from verifier.audio import check_receipt
from verifier.errors import JWSError
from verifier.jws import TYP_RECEIPT, keys_from_jwks, verify_jws

WORDS = {
    "licensed": "Licensed, active: made with a licensed voice, under a license in force today.",
    "revoked": "Revoked: made under a license that has since been revoked.",
    "suspended": "Suspended: its license is suspended (voice not live, or payment in question).",
    "expired": "Expired: its license's term has ended.",
    "not_yet_valid": "Not yet valid: its license's term has not begun.",
    "key_compromised": (
        "Not valid: the key that signed its license was compromised before the license was logged."
    ),
    "key_retired_before_logging": (
        "Not valid: the key that signed its license was retired before the license was logged."
    ),
    "altered": "Altered: the file changed after it was stamped; its credentials no longer hold.",
    "untrusted": "Not ours: the credentials are intact but signed by someone else.",
    "unknown": "Unknown: the credentials name a license or work this registry does not have.",
    "voided": "Voided: the brand withdrew this work's record after recording it.",
    "bad_receipt": "Forged: the credentials carry a receipt that does not hold.",
    "damaged": "Damaged: the file or its credentials cannot be read; nothing they say holds.",
    "credential_problem": (
        "Intact, but the certificate that signed the credentials is not valid today "
        "(expired or revoked): ask the registry about the work by its hash."
    ),
    "recorded": "No credentials, but this exact audio was recorded as a work.",
    "unrecorded": "No credentials, and this registry has no record of this audio.",
}


def measured_duration(data: bytes | IO[bytes]) -> dict[str, Any]:
    """How long a file plays, measured by the registry (for files whose credentials are
    not read)."""
    return duration_report(duration_ms(data))


def duration_report(
    measured: int | None, receipt: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """How long the file plays (``measured`` by the registry, in ms), and, given the
    payload of a receipt its credentials carry, whether the receipt's duration agrees
    with it, by the same rule as stamping: within the larger of 100 ms and 1%."""
    report: dict[str, Any] = {
        "measured_ms": measured,
        "words": (
            f"Plays for {seconds(measured)} (measured by the registry)."
            if measured is not None
            else "The registry could not measure how long this file plays."
        ),
    }
    raw = receipt.get("duration_ms") if receipt is not None else None
    if receipt is None or not isinstance(raw, str) or not raw.isdigit():
        return report
    said = int(raw)
    # Receipts signed before the flag existed lack it: their durations were declared.
    how = "measured" if receipt.get("duration_measured") is True else "declared by the brand"
    report.update(receipt_ms=said, receipt_duration_measured=how == "measured")
    if measured is None:
        report["words"] += f" Its receipt says {seconds(said)} ({how})."
        return report
    why = disagreement(measured_ms=measured, declared_ms=said, declared_as="its receipt says")
    report["receipt_agrees"] = why is None
    report["words"] = (
        f"{why} ({how})."
        if why is not None
        else f"Plays for {seconds(measured)}, as its receipt says ({seconds(said)}, {how})."
    )
    return report


def _receipt_payload(timbre: Mapping[str, Any], keys: Mapping[str, Any]) -> dict[str, Any] | None:
    """The payload of the receipt the credentials carry (already judged valid)."""
    try:
        payload = verify_jws(str(timbre.get("receipt", "")), keys, TYP_RECEIPT).payload
    except JWSError:
        return None
    return payload if isinstance(payload, dict) else None


def _license_status(lic: License) -> str:
    status = str(lic.status_at())
    return "licensed" if status == "active" else status


def audio_verdict(data: bytes, digest: str | None = None) -> dict[str, Any]:
    """The verdict on a file; `digest` is its SHA-256 when the caller has it already."""
    digest = digest or hashlib.sha256(data).hexdigest()
    report = stamping.read(data)
    measured = duration_ms(data)
    answer: dict[str, Any] = {
        "content_sha256": digest,
        "credentials": report.to_json(),
        "duration": duration_report(measured),
    }
    if not report.readable or not report.manifest or (not report.valid and not report.tampered):
        # Nothing to believe in the file itself: its bytes' hash is all there is (the
        # recorded audio's, or a stamped copy's).
        found = lookup_by_hash(digest)
        answer["lookup"] = found
        if not report.readable:
            verdict = "damaged"
        elif report.manifest:
            verdict = "credential_problem"
        else:
            verdict = "recorded" if found["matches"] else "unrecorded"
        return {**answer, "verdict": verdict, "words": WORDS[verdict]}

    timbre = report.timbre or {}
    if not report.valid:
        verdict = "altered"
    elif not report.trusted:
        verdict = "untrusted"
    else:
        work = (
            Work.objects.select_related(
                "license__voice__performer", "license__brand", "license__signing_key"
            )
            .filter(work_id=str(timbre.get("work_id", ""))[:40])
            .first()
        )
        keys = keys_from_jwks(jwks())
        ok, why = check_receipt(timbre, keys)
        answer["receipt"] = {"valid": ok, "detail": why}
        receipt = _receipt_payload(timbre, keys) if ok else None
        if receipt is not None:
            answer["duration"] = duration_report(measured, receipt)
        if work is None or work.license.license_id != timbre.get("license_id"):
            verdict = "unknown"
        elif not ok:
            verdict = "bad_receipt"
        else:
            lic = work.license
            verdict = "voided" if work.voided_at else _license_status(lic)
            answer["license"] = {
                "license_id": lic.license_id,
                "status": str(lic.status_at()),
                "licensee": lic.brand.name,
                "voice": lic.voice.display_name,
                "performer": lic.voice.performer.stage_name,
            }
            answer["work"] = {
                "work_id": work.work_id,
                "recorded_at": work.recorded_at,
                "log_index": work.log_index,
                "voided": work.voided_at is not None,
                "void_log_index": work.void_log_index,
            }
    return {**answer, "verdict": verdict, "words": WORDS[verdict]}
