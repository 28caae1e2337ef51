"""Statements per payee per month, period close (with the minimum-guarantee true-up).

A statement is read from the ledger alone: the payee's payable account gives opening,
earnings, payouts and closing; the entries that moved it give, per license, the works,
seconds, gross royalties, what the advance covered, and the platform's fee.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from core.months import bounds, month_start, next_month
from royalties import advance, ledger
from royalties.models import Account, JournalEntry, LicenseUsage, Payee, Period, Statement

_SECOND = timedelta(seconds=1)


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


# One pass over the payee's own postings up to the month's end (joined to their entries
# for the time and kind, as a plain SUM would be): each payee leg carries the statement's
# dimensions, so no other leg is read. Grouped by before-the-month (the opening balance),
# payout or not, and license.
_PAYOUTS, _PAYOUT_PARAMS = ledger.kinds_in_sql("payout", JournalEntry.PAYOUT_KINDS)
_STATEMENT_SQL = f"""
SELECT e.created_at < %(start)s AS earlier, e.kind IN {_PAYOUTS} AS payout,
       p.license_id, l.license_id, SUM(p.amount), SUM(p.works), SUM(p.milliseconds),
       SUM(p.gross), SUM(p.recouped), SUM(p.fee)
FROM royalties_posting p
JOIN royalties_journalentry e ON e.id = p.entry_id
LEFT JOIN licensing_license l ON l.id = p.license_id
WHERE p.account_id = (
    SELECT id FROM royalties_account
    WHERE kind = %(kind)s AND currency = %(currency)s AND payee_id = %(payee)s
    ORDER BY id LIMIT 1
) AND e.created_at < %(end)s
GROUP BY 1, 2, 3, 4
ORDER BY 3
"""  # noqa: S608 — only placeholders are formatted in


def compute(payee: Payee, month: date, currency: str) -> StatementData:
    """The statement as the ledger says it is now. Amounts owed to the payee are positive."""
    start, end = bounds(month)
    data = StatementData(payee=payee, month=month, currency=currency)
    adapt = connection.ops.adapt_datetimefield_value
    params: dict[str, str | int | None] = {
        "kind": Account.Kind.PAYEE_PAYABLE.value,
        "currency": currency,
        "payee": payee.pk,
        "start": adapt(start),
        "end": adapt(end),
        **_PAYOUT_PARAMS,
    }
    with connection.cursor() as cursor:
        cursor.execute(_STATEMENT_SQL, params)
        grouped = cursor.fetchall()
    for earlier, payout, license_pk, name, amount, works, ms, gross, recouped, fee in grouped:
        if earlier:
            data.opening -= int(amount)
        elif payout:
            data.payouts += int(amount)
        else:
            data.lines.append(
                {
                    "license_id": (name or "") if license_pk else "",
                    "works": int(works or 0),
                    "seconds": int(ms or 0) // 1000,
                    "milliseconds": int(ms or 0),
                    "gross": int(gross or 0),
                    "recouped": int(recouped or 0),
                    "fee": int(fee or 0),
                    "amount": -int(amount),
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
    _, end = bounds(month)
    ended = (
        LicenseUsage.objects.select_for_update(of=("self",))
        .filter(advance_released=False, advance_left__gt=0, license__valid_until__lt=end.date())
        .select_related("license__voice__performer")
    )
    released = 0
    for usage in ended:
        advance.release(usage, at=end - _SECOND)
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
        # royalties.ledger opens a payable account for its payee: one is always named.
        payee = acct.payee
        assert payee is not None
        data = compute(payee, month, acct.currency)
        if not data.lines and not data.opening and not data.payouts:
            continue
        Statement.objects.create(
            payee=payee,
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


def closed_period_locked(month: date) -> Period | None:
    """The month's period if it is closed, its row locked for the caller's transaction
    (what month-end work that must not run twice at once takes first)."""
    period = Period.objects.select_for_update().filter(month=month_start(month)).first()
    return period if period is not None and period.closed_at is not None else None


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
