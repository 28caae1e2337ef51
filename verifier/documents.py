"""The signed documents' shapes: what a license and a work receipt say, and how.

The registry builds every document it signs here, so the format has one owner; the
verifiers in this package read the same names. Ids, money and counters travel as
strings, times as RFC 3339 UTC with milliseconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

__all__ = [
    "LICENSE_SCHEMA",
    "RECEIPT_SCHEMA",
    "format_rfc3339",
    "license_document",
    "receipt_document",
]

LICENSE_SCHEMA = "timbre.license/1"
RECEIPT_SCHEMA = "timbre.receipt/1"


def format_rfc3339(moment: datetime) -> str:
    """``2026-05-01T12:00:00.000Z``: UTC, milliseconds, as every signed time is written."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _count(value: int | None) -> str | None:
    return None if value is None else str(value)


def license_document(
    *,
    license_id: str,
    issuer: str,
    issued_at: datetime,
    voice: tuple[str, str, str],
    performer: tuple[str, str],
    licensee: tuple[str, str],
    uses: Sequence[str],
    excluded_content: Sequence[str],
    excluded_brands: Sequence[str],
    territories: Sequence[str],
    languages: Sequence[str],
    media: Sequence[str],
    valid_from: date,
    valid_until: date,
    max_works: int | None,
    max_seconds: int | None,
    exclusive: bool,
    measured_only: bool,
    currency: str,
    upfront_fee: int,
    per_work: int,
    per_second: Decimal,
    revenue_share_bps: int,
    minimum_guarantee: int,
    licensee_verified: tuple[str, str, str] | None = None,
    union: tuple[str, str, int] | None = None,
) -> dict[str, Any]:
    """A ``timbre.license/1`` document. ``voice`` is (id, name, model SHA-256), the
    parties (id, name). ``licensee_verified`` is (legal name, domain, method) when the
    licensee had proved control of its domain when the license was issued: the licensee
    then carries ``verified`` {``legal_name``, ``domain`` (ASCII), ``method``}; licenses
    issued to a brand not verified, or before verification existed, lack it. The term
    runs from the first to the last instant (UTC) of its days; the disclosure is the
    label the brand must show beside the voice.
    ``measured_only``: every work must be recorded with its audio, which the registry
    measures (a license without the field, issued before it existed, does not require it).
    ``union`` is the union agreement the offer follows (code, name, pension and health
    rate in bps): the contribution is charged to the licensee on top of each work's price
    and paid to the union's fund; a license without it follows none."""
    voice_id, voice_name, model_sha256 = voice
    performer_id, performer_name = performer
    licensee_id, licensee_name = licensee
    licensee_part: dict[str, Any] = {"id": licensee_id, "name": licensee_name}
    if licensee_verified is not None:
        legal_name, domain, method = licensee_verified
        licensee_part["verified"] = {"legal_name": legal_name, "domain": domain, "method": method}
    royalty: dict[str, Any] = {
        "currency": currency,
        "upfront_fee": str(upfront_fee),
        "per_work": str(per_work),
        "per_second": format(per_second.normalize(), "f"),
        "revenue_share_bps": str(revenue_share_bps),
        "minimum_guarantee": str(minimum_guarantee),
    }
    if union is not None:
        code, name, pension_health_bps = union
        royalty["union"] = {
            "agreement": code,
            "name": name,
            "pension_health_bps": str(pension_health_bps),
        }
    return {
        "schema": LICENSE_SCHEMA,
        "license_id": license_id,
        "issuer": issuer,
        "issued_at": format_rfc3339(issued_at),
        "voice": {"id": voice_id, "name": voice_name, "model_sha256": model_sha256},
        "performer": {"id": performer_id, "name": performer_name},
        "licensee": licensee_part,
        "terms": {
            "uses": list(uses),
            "excluded_content": list(excluded_content),
            "excluded_brands": list(excluded_brands),
            "territories": list(territories),
            "languages": list(languages),
            "media": list(media),
            "valid_from": format_rfc3339(datetime.combine(valid_from, time(0, 0, 0), UTC)),
            "valid_until": format_rfc3339(datetime.combine(valid_until, time(23, 59, 59), UTC)),
            "max_works": _count(max_works),
            "max_seconds": _count(max_seconds),
            "exclusive": exclusive,
            "measured_only": measured_only,
            "disclosure": f"AI-generated voice of {performer_name}, licensed ({license_id})",
        },
        "royalty": royalty,
    }


def receipt_document(
    *,
    work_id: str,
    license_id: str,
    content_sha256: str,
    duration_ms: int,
    recorded_at: str,
    log_index: int,
    duration_measured: bool,
) -> dict[str, Any]:
    """A ``timbre.receipt/1`` document: the registry's word that this work was recorded
    under this license, at this place in the log. ``recorded_at`` is already RFC 3339
    (a batch shares one). ``duration_measured`` says whether the registry measured the
    duration from the audio itself (true) or the brand declared it (false); receipts
    signed before it existed lack it, and mean "declared"."""
    return {
        "schema": RECEIPT_SCHEMA,
        "work_id": work_id,
        "license_id": license_id,
        "content_sha256": content_sha256,
        "duration_ms": str(duration_ms),
        "duration_measured": duration_measured,
        "recorded_at": recorded_at,
        "log_index": str(log_index),
    }
