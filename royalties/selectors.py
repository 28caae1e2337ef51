"""Reads for the earnings, works, usage and statement pages."""

from __future__ import annotations

import base64
from collections import defaultdict
from datetime import date
from typing import Any

from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import TruncMonth

from licensing.models import License
from registry.policies import managed_performers
from royalties.models import Account, Payee, Posting, Work, WorkStamp
from transparency.selectors import inclusion_proofs, latest_checkpoint


def payees_of(user: Any) -> QuerySet[Payee]:
    if not getattr(user, "is_authenticated", False):
        return Payee.objects.none()
    if user.is_staff:
        return Payee.objects.all()
    return Payee.objects.filter(Q(user=user) | Q(performer__in=managed_performers(user))).distinct()


def earnings_by_month(payees: QuerySet[Payee]) -> list[dict[str, Any]]:
    rows = (
        Posting.objects.filter(account__kind=Account.Kind.PAYEE_PAYABLE, account__payee__in=payees)
        .exclude(entry__idempotency_key__startswith="payout:")
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
        .exclude(entry__idempotency_key__startswith="payout:")
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
