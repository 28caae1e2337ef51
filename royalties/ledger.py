"""The double-entry ledger: accounts, balanced append-only entries, balances by SQL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from licensing.models import License
from registry.models import Brand
from royalties.models import Account, JournalEntry, Payee, Period, Posting


class UnbalancedEntry(ValueError):
    pass


@dataclass(frozen=True)
class Line:
    account: Account
    amount: int
    license: License | None = None
    works: int = 0
    milliseconds: int = 0
    gross: int = 0
    recouped: int = 0
    fee: int = 0


def account(
    kind: str,
    currency: str,
    *,
    brand: Brand | None = None,
    payee: Payee | None = None,
    license: License | None = None,
) -> Account:
    owner = (
        f"brand:{brand.pk}"
        if brand
        else f"payee:{payee.pk}"
        if payee
        else f"license:{license.pk}"
        if license
        else "platform"
    )
    found, _ = Account.objects.get_or_create(
        kind=kind,
        currency=currency,
        owner=owner,
        defaults={"brand": brand, "payee": payee, "license": license},
    )
    return found


def post(
    *,
    key: str,
    currency: str,
    memo: str,
    lines: Sequence[Line],
    reverses: JournalEntry | None = None,
    at: datetime | None = None,
) -> JournalEntry:
    """Write a balanced entry once: a second call with the same key returns the first."""
    if sum(line.amount for line in lines) != 0:
        raise UnbalancedEntry(f"{key}: postings sum to {sum(line.amount for line in lines)}, not 0")
    if any(line.account.currency != currency for line in lines):
        raise UnbalancedEntry(f"{key}: an entry has one currency ({currency})")
    existing = JournalEntry.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return existing
    if at is not None and at.date() < timezone.now().date().replace(day=1):
        _refuse_closed_month(at)
    try:
        with transaction.atomic():
            entry = JournalEntry.objects.create(
                idempotency_key=key,
                currency=currency,
                memo=memo[:300],
                reverses=reverses,
                created_at=at or timezone.now(),
            )
            Posting.objects.bulk_create(
                Posting(
                    entry=entry,
                    account=line.account,
                    amount=line.amount,
                    license=line.license,
                    works=line.works,
                    milliseconds=line.milliseconds,
                    gross=line.gross,
                    recouped=line.recouped,
                    fee=line.fee,
                )
                for line in lines
                if line.amount or line.works or line.gross
            )
    except IntegrityError:
        # The same key committed meanwhile by a concurrent caller: theirs stands.
        return JournalEntry.objects.get(idempotency_key=key)
    return entry


class ClosedPeriod(ValueError):
    pass


def _refuse_closed_month(at: datetime) -> None:
    """Nothing is posted into a closed month: its statements are frozen."""
    if Period.objects.filter(month=at.date().replace(day=1), closed_at__isnull=False).exists():
        raise ClosedPeriod(f"{at:%Y-%m} is closed; post into an open month")


def balance(acct: Account) -> int:
    """Debits minus credits, by SQL aggregate."""
    return acct.postings.aggregate(total=Sum("amount"))["total"] or 0
