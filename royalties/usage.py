"""Usage reports: per license and month, one row per work, for finance teams to load.

Who may read a license's usage is who may read the license
(``licensing.policies.readable_licenses``): its brand, whoever acts for the voice's
performer, an auditor the performer's side granted access to, operators. Columns are
named after DDEX DSR cells where one fits (README, "Usage reports"); the others are ours.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterator
from datetime import date
from typing import Any

from core.money import major_units
from core.months import bounds
from licensing.models import License
from royalties.exports import Echo
from royalties.models import Work
from verifier.documents import format_rfc3339

# (column, whether DDEX DSR has a cell of this name and meaning)
COLUMNS: tuple[tuple[str, bool], ...] = (
    ("MessageNotificationPeriod", True),  # the month, yyyy-mm
    ("LicenseId", False),
    ("WorkId", False),  # the registry's id of the work
    ("DspResourceId", True),  # the brand's own id of the work (its client_ref)
    ("Title", True),
    ("UseType", True),  # values are Timbre's use codes (advertising, dubbing...)
    ("Medium", False),
    ("TerritoryCode", True),  # ISO 3166-1 alpha-2
    ("LanguageOfPerformance", True),  # BCP 47
    ("Duration", True),  # ISO 8601, e.g. PT30.000S
    ("DurationMs", False),
    ("DurationSource", False),  # measured (the registry measured the audio) or declared
    ("Currency", True),  # ISO 4217
    ("Price", False),  # the work's royalty, in major units (12.50)
    ("FromAdvance", False),  # the part the advance (minimum guarantee) covered
    ("RecordedAt", False),  # RFC 3339
    ("Status", False),  # recorded or voided
    ("VoidedAt", False),
    ("ContentSha256", False),
    ("ReceiptSha256", False),  # SHA-256 of the signed work receipt (JWS)
    ("LogIndex", False),  # where the work.recorded event is in the transparency log
)
HEADER = [name for name, _ in COLUMNS]


def iso_duration(milliseconds: int) -> str:
    """ISO 8601 duration of a work, as DSR writes it: PT30.000S, PT1M5.250S, PT1H0M0.000S."""
    hours, rest = divmod(milliseconds, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds = f"{rest // 1000}.{rest % 1000:03d}S"
    if hours:
        return f"PT{hours}H{minutes}M{seconds}"
    return f"PT{minutes}M{seconds}" if minutes else f"PT{seconds}"


def rows(lic: License, month: date) -> Iterator[dict[str, Any]]:
    """The works recorded under ``lic`` in ``month`` (voided ones too, marked), oldest
    first, read in chunks so that a license with many works streams in constant memory."""
    start, end = bounds(month)
    works = (
        Work.objects.filter(license=lic, recorded_at__gte=start, recorded_at__lt=end)
        .order_by("recorded_at", "pk")
        .iterator(chunk_size=2000)
    )
    period = month.isoformat()[:7]  # 0001-01, not 1-01
    for work in works:
        yield {
            "MessageNotificationPeriod": period,
            "LicenseId": lic.license_id,
            "WorkId": work.work_id,
            "DspResourceId": work.client_ref,
            "Title": work.title,
            "UseType": work.use,
            "Medium": work.medium,
            "TerritoryCode": work.territory,
            "LanguageOfPerformance": work.language,
            "Duration": iso_duration(work.duration_ms),
            "DurationMs": work.duration_ms,
            "DurationSource": "measured" if work.measured else "declared",
            "Currency": work.currency,
            "Price": major_units(work.price, work.currency),
            "FromAdvance": major_units(work.from_advance, work.currency),
            "RecordedAt": format_rfc3339(work.recorded_at),
            "Status": "voided" if work.voided_at else "recorded",
            "VoidedAt": format_rfc3339(work.voided_at) if work.voided_at else "",
            "ContentSha256": work.content_sha256,
            "ReceiptSha256": hashlib.sha256(work.receipt.encode("ascii")).hexdigest(),
            "LogIndex": work.log_index,
        }


def _safe_cell(value: Any) -> Any:
    # A brand's own text (a title, a client ref) must not run as a formula when the file
    # is opened in a spreadsheet (CSV injection): a leading = + - @ is quoted away.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def csv_lines(lic: License, month: date) -> Iterator[str]:
    writer = csv.writer(Echo())
    yield writer.writerow(HEADER)
    for row in rows(lic, month):
        yield writer.writerow([_safe_cell(row[name]) for name in HEADER])


def json_chunks(lic: License, month: date) -> Iterator[str]:
    """``{"license_id", "month", "columns", "works": [...]}`` streamed in pieces."""
    import json

    head = {"license_id": lic.license_id, "month": month.isoformat()[:7], "columns": HEADER}
    yield json.dumps(head)[:-1] + ', "works": ['
    for i, row in enumerate(rows(lic, month)):
        yield ("," if i else "") + json.dumps(row, ensure_ascii=False)
    yield "]}"
