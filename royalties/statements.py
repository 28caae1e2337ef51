"""Statements per payee per month, period close (with the minimum-guarantee true-up).

A statement is read from the ledger alone: the payee's payable account gives opening,
earnings, payouts and closing; the entries that moved it give, per license, the works,
seconds, gross royalties, what the advance covered, and the platform's fee.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from licensing.models import License
from royalties import ledger, rules
from royalties.models import Account, JournalEntry, LicenseUsage, Payee, Period, Posting, Statement

PAYOUT_PREFIX = "payout:"
_SECOND = timedelta(seconds=1)


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(month: date) -> date:
    return date(month.year + (month.month == 12), month.month % 12 + 1, 1)


def bounds(month: date) -> tuple[datetime, datetime]:
    start = datetime(month.year, month.month, 1, tzinfo=UTC)
    end_month = next_month(month)
    return start, datetime(end_month.year, end_month.month, 1, tzinfo=UTC)


@dataclass
class StatementData:
    payee: Payee
    month: date
    currency: str
    opening: int = 0
    earnings: int = 0
    payouts: int = 0
    lines: list[dict[str, Any]] = field(default_factory=list)

    @property
    def closing(self) -> int:
        return self.opening + self.earnings - self.payouts


def compute(payee: Payee, month: date, currency: str) -> StatementData:
    """The statement as the ledger says it is now. Amounts owed to the payee are positive."""
    start, end = bounds(month)
    data = StatementData(payee=payee, month=month, currency=currency)
    acct = Account.objects.filter(
        kind=Account.Kind.PAYEE_PAYABLE, currency=currency, payee=payee
    ).first()
    if acct is None:
        return data
    postings = Posting.objects.filter(account=acct)
    data.opening = -(
        postings.filter(entry__created_at__lt=start).aggregate(s=Sum("amount"))["s"] or 0
    )
    in_month = postings.filter(entry__created_at__gte=start, entry__created_at__lt=end)
    payout_q = Q(entry__idempotency_key__startswith=PAYOUT_PREFIX)
    data.payouts = in_month.filter(payout_q).aggregate(s=Sum("amount"))["s"] or 0
    per_license = (
        in_month.exclude(payout_q)
        .values("license_id")
        .annotate(share=Sum("amount"), works=Sum("works"), ms=Sum("milliseconds"))
        .order_by("license_id")
    )
    rows = {r["license_id"]: r for r in per_license}
    # What the same entries did elsewhere: gross, recouped (advance) and fee per license.
    entry_ids = in_month.exclude(payout_q).values("entry_id")
    others = (
        Posting.objects.filter(entry_id__in=entry_ids)
        .exclude(account__kind=Account.Kind.PAYEE_PAYABLE)
        .values("license_id", "account__kind")
        .annotate(total=Sum("amount"))
    )
    extra: dict[Any, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in others:
        extra[row["license_id"]][row["account__kind"]] += row["total"]
    names = dict(
        License.objects.filter(pk__in=[k for k in rows if k]).values_list("pk", "license_id")
    )
    for license_pk, row in rows.items():
        kinds = extra[license_pk]
        advance = kinds[Account.Kind.ADVANCE]
        data.lines.append(
            {
                "license_id": names.get(license_pk, ""),
                "works": row["works"] or 0,
                "seconds": (row["ms"] or 0) // 1000,
                "milliseconds": row["ms"] or 0,
                "gross": advance + kinds[Account.Kind.BRAND_RECEIVABLE],
                "recouped": advance,
                "fee": -kinds[Account.Kind.PLATFORM_REVENUE],
                "amount": -row["share"],
            }
        )
    data.earnings = sum(line["amount"] for line in data.lines)
    return data


def currencies_of(payee: Payee) -> list[str]:
    return sorted(
        set(
            Account.objects.filter(kind=Account.Kind.PAYEE_PAYABLE, payee=payee).values_list(
                "currency", flat=True
            )
        )
    )


def _true_ups(month: date) -> int:
    """Licenses whose term ended by the end of `month`: their unrecouped advance is earned."""
    from royalties.services import _fee_bps, _splits

    _, end = bounds(month)
    released = 0
    ended = (
        LicenseUsage.objects.select_for_update()
        .filter(advance_released=False, advance_left__gt=0, license__valid_until__lt=end.date())
        .select_related("license__voice__performer")
    )
    for usage in ended:
        lic = usage.license
        amount = usage.advance_left
        currency = lic.document["royalty"]["currency"]
        payees, split = _splits(lic.voice)
        shares = rules.distribute(rules.true_up(amount), fee_bps=_fee_bps(), split_bps=split)
        lines = [
            ledger.Line(ledger.account(Account.Kind.ADVANCE, currency, license=lic), amount, lic),
            ledger.Line(ledger.account(Account.Kind.PLATFORM_REVENUE, currency), -shares.fee, lic),
        ] + [
            ledger.Line(ledger.account(Account.Kind.PAYEE_PAYABLE, currency, payee=p), -a, lic)
            for p, a in zip(payees, shares.payees, strict=True)
        ]
        ledger.post(
            key=f"trueup:{lic.license_id}",
            currency=currency,
            memo=f"minimum guarantee true-up for {lic.license_id}",
            lines=lines,
            at=end - _SECOND,
        )
        usage.advance_left = 0
        usage.advance_released = True
        usage.save(update_fields=["advance_left", "advance_released"])
        released += 1
    return released


@transaction.atomic
def period_close(*, month: date) -> Period:
    """Close a past month, and before it every earlier month still open, in order:
    true-ups, then one frozen statement per payee and currency. Months close in order
    so that each statement opens where the previous one closed.

    Safe to run twice: a closed period is returned as it is.
    """
    month = month_start(month)
    if next_month(month) > timezone.now().date():
        raise ValueError(f"{month:%Y-%m} has not ended yet")
    first = JournalEntry.objects.order_by("created_at").values_list("created_at", flat=True).first()
    earlier = month_start(first.date()) if first else month
    while earlier < month:
        _close_one(earlier)
        earlier = next_month(earlier)
    return _close_one(month)


def _close_one(month: date) -> Period:
    period, _ = Period.objects.get_or_create(month=month)
    period = Period.objects.select_for_update().get(pk=period.pk)
    if period.closed_at is not None:
        return period
    _true_ups(month)
    _, end = bounds(month)
    accounts = (
        Account.objects.filter(kind=Account.Kind.PAYEE_PAYABLE, postings__entry__created_at__lt=end)
        .select_related("payee")
        .distinct()
    )
    for acct in accounts:
        data = compute(acct.payee, month, acct.currency)
        if not data.lines and not data.opening and not data.payouts:
            continue
        Statement.objects.create(
            payee=acct.payee,
            period=period,
            currency=acct.currency,
            opening=data.opening,
            earnings=data.earnings,
            payouts=data.payouts,
            closing=data.closing,
            lines=data.lines,
        )
    period.closed_at = timezone.now()
    period.save(update_fields=["closed_at"])
    return period


def statement_for(payee: Payee, month: date, currency: str) -> tuple[StatementData, bool]:
    """The frozen statement of a closed month, or the live draft of an open one."""
    stored = Statement.objects.filter(
        payee=payee,
        period__month=month_start(month),
        period__closed_at__isnull=False,
        currency=currency,
    ).first()
    if stored is None:
        return compute(payee, month_start(month), currency), False
    data = StatementData(
        payee=payee,
        month=month_start(month),
        currency=currency,
        opening=stored.opening,
        earnings=stored.earnings,
        payouts=stored.payouts,
        lines=stored.lines,
    )
    return data, True
