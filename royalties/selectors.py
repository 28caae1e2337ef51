"""Reads for the earnings, works, usage and statement pages."""

from __future__ import annotations

import base64
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypedDict

from django.db import connection
from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import TruncMonth

from core.months import bounds, month_start
from licensing.models import License
from registry.authentication import ApiPrincipal
from registry.policies import audited_performers, managed_performers
from royalties import ledger
from royalties.models import Account, JournalEntry, Payee, Period, Posting, Work, WorkStamp
from transparency.selectors import inclusion_proofs, latest_checkpoint


def payees_of(user: Any) -> QuerySet[Payee]:
    if not getattr(user, "is_authenticated", False) or isinstance(user, ApiPrincipal):
        return Payee.objects.none()
    if user.is_staff:
        return Payee.objects.all()
    return Payee.objects.filter(Q(user=user) | Q(performer__in=managed_performers(user))).distinct()


def statement_payees(user: Any) -> QuerySet[Payee]:
    """Payees whose statements ``user`` may read: their own (payees_of), and, for an
    auditor (signed in, or by API key), those of the performers who granted it access."""
    auditor = getattr(user, "auditor", None) if getattr(user, "is_authenticated", False) else None
    audited = Q(performer__in=audited_performers(auditor)) if auditor is not None else Q(pk=None)
    if isinstance(user, ApiPrincipal):
        return Payee.objects.filter(audited)
    return Payee.objects.filter(Q(pk__in=payees_of(user)) | audited).distinct()


def earnings_by_month(payees: QuerySet[Payee]) -> list[dict[str, Any]]:
    rows = (
        Posting.objects.filter(account__kind=Account.Kind.PAYEE_PAYABLE, account__payee__in=payees)
        .exclude(entry__kind__in=JournalEntry.PAYOUT_KINDS)
        .annotate(month=TruncMonth("entry__created_at"))
        .values("month", "account__currency")
        .annotate(total=Sum("amount"), works=Sum("works"))
        .order_by("month")
    )
    return [
        {
            "month": r["month"].date() if hasattr(r["month"], "date") else r["month"],
            "currency": r["account__currency"],
            "amount": -r["total"],
            "works": r["works"] or 0,
        }
        for r in rows
    ]


def earnings_by_voice(payees: QuerySet[Payee]) -> list[dict[str, Any]]:
    rows = (
        Posting.objects.filter(account__kind=Account.Kind.PAYEE_PAYABLE, account__payee__in=payees)
        .exclude(entry__kind__in=JournalEntry.PAYOUT_KINDS)
        .values("license__voice__display_name", "account__currency")
        .annotate(total=Sum("amount"), works=Sum("works"))
        .order_by("license__voice__display_name")
    )
    return [
        {
            "voice": r["license__voice__display_name"] or "Minimum guarantees",
            "currency": r["account__currency"],
            "amount": -r["total"],
            "works": r["works"] or 0,
        }
        for r in rows
    ]


def chart(
    rows: list[dict[str, Any]], label: str, *, height: int = 160, bar: int = 36
) -> dict[str, Any]:
    """Bars for an SVG chart drawn by the template: no JavaScript needed."""
    top = max((r["amount"] for r in rows), default=0) or 1
    bars = []
    for i, r in enumerate(rows):
        h = round(height * max(r["amount"], 0) / top)
        bars.append(
            {
                **r,
                "x": 10 + i * (bar + 12),
                "y": height - h + 10,
                "h": h,
                "w": bar,
                "label": r[label],
            }
        )
    return {"bars": bars, "width": 20 + len(rows) * (bar + 12), "height": height + 40}


def works_for(
    user: Any, *, voice: str = "", license_id: str = "", month: date | None = None
) -> QuerySet[Work]:
    works = Work.objects.filter(
        license__voice__performer__in=managed_performers(user)
    ).select_related("license__voice", "brand")
    if voice:
        works = works.filter(license__voice__slug=voice)
    if license_id:
        works = works.filter(license__license_id=license_id)
    if month:
        works = works.filter(recorded_at__year=month.year, recorded_at__month=month.month)
    return works.order_by("-recorded_at")


def brand_owes(brand: Any) -> dict[str, int]:
    totals: dict[str, int] = defaultdict(int)
    for currency, total in (
        Posting.objects.filter(account__kind=Account.Kind.BRAND_RECEIVABLE, account__brand=brand)
        .values_list("account__currency")
        .annotate(s=Sum("amount"))
    ):
        totals[currency] += total or 0
    return dict(totals)


def lookup_by_hash(digest: str) -> dict[str, Any]:
    # The recorded audio's hash, or the hash of a copy stamped with content credentials.
    stamped = WorkStamp.objects.filter(stamped_sha256=digest).values("work_id")
    works = list(
        Work.objects.filter(Q(content_sha256=digest) | Q(pk__in=stamped))
        .select_related("license__voice__performer", "license__brand", "license__signing_key")
        .order_by("recorded_at")[:20]
    )
    checkpoint = latest_checkpoint()
    covered = [w for w in works if checkpoint and w.log_index < checkpoint.tree_size]
    proofs = dict(
        zip(
            [w.pk for w in covered],
            inclusion_proofs([w.log_index for w in covered], checkpoint.tree_size)
            if checkpoint and covered
            else [],
            strict=True,
        )
    )
    matches = []
    for w in works:
        lic: License = w.license
        proof = proofs.get(w.pk)
        matches.append(
            {
                "work_id": w.work_id,
                "license_id": lic.license_id,
                "license_status": lic.status_at(),
                "voice": {"id": str(lic.voice_id), "name": lic.voice.display_name},
                "performer": {
                    "id": str(lic.voice.performer_id),
                    "name": lic.voice.performer.stage_name,
                },
                "licensee": {"id": str(lic.brand_id), "name": lic.brand.name},
                "recorded_at": w.recorded_at,
                "voided": w.voided_at is not None,
                "receipt": w.receipt,
                "log_index": w.log_index,
                "inclusion": None
                if proof is None or checkpoint is None
                else {
                    "tree_size": checkpoint.tree_size,
                    "root_hash": base64.b64encode(bytes(checkpoint.root_hash)).decode(),
                    "proof": [base64.b64encode(p).decode() for p in proof],
                },
            }
        )
    licensed = any(not m["voided"] and m["license_status"] == "active" for m in matches)
    return {"content_sha256": digest, "licensed": licensed, "matches": matches}


# --- what payments reads of the ledger ---------------------------------------------------


def month_closed(month: date) -> bool:
    return Period.objects.filter(month=month_start(month), closed_at__isnull=False).exists()


def booked_legs(kind: str, source: str) -> list[Posting]:
    """The non-cash legs of the entry of ``kind`` about ``source``, as booked."""
    return list(
        Posting.objects.filter(entry__idempotency_key=ledger.entry_key(kind, source))
        .exclude(account__kind=Account.Kind.CASH)
        .select_related("account")
        .order_by("pk")
    )


def entry_postings(entry: JournalEntry) -> list[Posting]:
    return list(entry.postings.select_related("account", "license"))


# What a brand owes, by license, from postings on its receivable account: usage (works,
# voids), and anything else booked to it (guarantee the brand used after a refund,
# credits), but not the settlements of invoices (which settle invoices, not usage).
_SETTLEMENTS, _SETTLEMENT_PARAMS = ledger.kinds_in_sql(
    "settlement", JournalEntry.INVOICE_SETTLEMENT_KINDS
)
_OWES_SQL = f"""
SELECT a.brand_id, a.currency, p.license_id, SUM(p.amount),
       SUM(CASE WHEN e.created_at >= %(start)s THEN p.amount ELSE 0 END),
       SUM(CASE WHEN e.created_at >= %(start)s THEN p.pension_health ELSE 0 END)
FROM royalties_posting p
JOIN royalties_account a ON a.id = p.account_id
JOIN royalties_journalentry e ON e.id = p.entry_id
WHERE a.kind = %(kind)s AND e.created_at < %(end)s
  AND e.kind NOT IN {_SETTLEMENTS}
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3
"""  # noqa: S608 — only placeholders are formatted in


@dataclass
class BrandOwes:
    total: int = 0  # everything owed up to the month's end
    lines: list[tuple[int, int]] = field(default_factory=list)  # (license pk, this month)
    # Per license pk: of this month's amount, the union's pension and health on top of
    # the works' prices (what the invoice shows apart).
    pension_health: dict[int, int] = field(default_factory=dict)


def brands_owe(month: date) -> dict[tuple[int, str], BrandOwes]:
    """Per brand and currency: what it owes for usage up to the end of ``month``, and
    the month's part of it per license."""
    start, end = bounds(month)
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(
            _OWES_SQL,
            {
                "kind": Account.Kind.BRAND_RECEIVABLE.value,
                "start": adapt(start),
                "end": adapt(end),
                **_SETTLEMENT_PARAMS,
            },
        )
        rows = cursor.fetchall()
    owes: dict[tuple[int, str], BrandOwes] = {}
    for brand_id, currency, license_pk, amount, this_month, pension_health in rows:
        found = owes.setdefault((brand_id, currency), BrandOwes())
        found.total += int(amount)
        if license_pk is not None and int(this_month):
            found.lines.append((license_pk, int(this_month)))
            if int(pension_health or 0):
                found.pension_health[license_pk] = int(pension_health)
    return owes


def works_in_month(license_pk: int, month: date) -> int:
    """Works recorded under a license in ``month`` and not voided."""
    start, end = bounds(month)
    return Work.objects.filter(
        license_id=license_pk, recorded_at__gte=start, recorded_at__lt=end, voided_at__isnull=True
    ).count()


_PAYOUTS, _PAYOUT_PARAMS = ledger.kinds_in_sql("payout", JournalEntry.PAYOUT_KINDS)
_EARNED_SQL = f"""
SELECT a.payee_id, a.currency, -SUM(p.amount)
FROM royalties_posting p
JOIN royalties_account a ON a.id = p.account_id
JOIN royalties_journalentry e ON e.id = p.entry_id
WHERE a.kind = %(kind)s
  AND (e.created_at < %(end)s OR e.kind IN {_PAYOUTS})
GROUP BY 1, 2
"""  # noqa: S608 — only placeholders are formatted in


_BALANCE_SQL = """
SELECT a.payee_id, a.currency, -SUM(p.amount)
FROM royalties_posting p
JOIN royalties_account a ON a.id = p.account_id
WHERE a.kind = %(kind)s
GROUP BY 1, 2
"""


def payees_owed(month: date) -> dict[tuple[int, str], int]:
    """Per payee and currency: earned up to the month's end, less every payout booked
    (whenever it was made), and never more than the payee is owed now (money clawed back
    since, by a refund or a chargeback, is not owed)."""
    _, end = bounds(month)
    adapt = connection.ops.adapt_datetimefield_value
    params = {
        "kind": Account.Kind.PAYEE_PAYABLE.value,
        "end": adapt(end),
        **_PAYOUT_PARAMS,
    }
    with connection.cursor() as cursor:
        cursor.execute(_EARNED_SQL, params)
        earned = {(payee, currency): int(amount) for payee, currency, amount in cursor.fetchall()}
        cursor.execute(_BALANCE_SQL, {"kind": Account.Kind.PAYEE_PAYABLE.value})
        now_owed = {(payee, currency): int(amount) for payee, currency, amount in cursor.fetchall()}
    return {k: min(v, now_owed.get(k, v)) for k, v in earned.items()}


_HELD_SQL = """
SELECT a.payee_id, a.currency, -SUM(p.amount)
FROM royalties_posting p
JOIN royalties_account a ON a.id = p.account_id
JOIN royalties_journalentry e ON e.id = p.entry_id
WHERE a.kind = %(kind)s
  AND (e.created_at < %(end)s OR e.kind = %(deposit)s)
GROUP BY 1, 2
"""


def trusts_held(month: date) -> dict[tuple[int, str], int]:
    """Per payee and currency: a minor's set-aside held in its blocked trust account up to
    the month's end, less every deposit into the trust booked (whenever it was made), and
    never more than is held now (a set-aside taken back since, by a void or a refund, is
    not there to pay in). As :func:`payees_owed` is for the payable balance."""
    _, end = bounds(month)
    kind = Account.Kind.MINOR_TRUST.value
    params = {
        "kind": kind,
        "end": connection.ops.adapt_datetimefield_value(end),
        "deposit": JournalEntry.Kind.TRUST_DEPOSIT.value,
    }
    with connection.cursor() as cursor:
        cursor.execute(_HELD_SQL, params)
        held = {(payee, currency): int(amount) for payee, currency, amount in cursor.fetchall()}
        cursor.execute(_BALANCE_SQL, {"kind": kind})
        now_held = {(payee, currency): int(amount) for payee, currency, amount in cursor.fetchall()}
    return {k: min(v, now_held.get(k, v)) for k, v in held.items()}


class CashLeg(TypedDict):
    entry_id: int
    entry__idempotency_key: str
    entry__created_at: datetime
    account__currency: str
    total: int


def cash_legs(start: datetime, end: datetime) -> list[CashLeg]:
    """Cash moved by each entry dated in [start, end): its entry, key, time, currency and
    net amount."""
    return list(
        Posting.objects.filter(
            account__kind=Account.Kind.CASH, entry__created_at__gte=start, entry__created_at__lt=end
        )
        .values("entry_id", "entry__idempotency_key", "entry__created_at", "account__currency")
        .annotate(total=Sum("amount"))
    )
