"""The double-entry ledger: accounts, balanced append-only entries, balances by SQL, and
the one way an amount is split between the platform and the payees.

Every entry has a kind and a source (what it is about, by our ids); its idempotency key
is made of the two here and nowhere else, so a second attempt to book the same thing
finds the first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from licensing.models import License
from registry.models import Brand
from royalties import rules
from royalties.models import Account, JournalEntry, Payee, Period, Posting
from verifier.statement import split_to_log

Kind = JournalEntry.Kind


class UnbalancedEntry(ValueError):
    pass


class ClosedPeriod(ValueError):
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
    set_aside: int = 0
    pension_health: int = 0

    def negated(self) -> Line:
        """The line that takes this one back out, statement dimensions included."""
        return replace(
            self,
            amount=-self.amount,
            works=-self.works,
            milliseconds=-self.milliseconds,
            gross=-self.gross,
            recouped=-self.recouped,
            fee=-self.fee,
            set_aside=-self.set_aside,
            pension_health=-self.pension_health,
        )

    @property
    def empty(self) -> bool:
        return not (
            self.amount
            or self.works
            or self.milliseconds
            or self.gross
            or self.recouped
            or self.fee
            or self.set_aside
            or self.pension_health
        )


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


class Accounts:
    """Accounts looked up once per use case, however many lines need them."""

    def __init__(self) -> None:
        self._found: dict[tuple[str, str, str, int], Account] = {}

    def get(
        self,
        kind: str,
        currency: str,
        *,
        brand: Brand | None = None,
        payee: Payee | None = None,
        license: License | None = None,
    ) -> Account:
        owner = brand or payee or license
        key = (kind, currency, type(owner).__name__, owner.pk if owner else 0)
        if key not in self._found:
            self._found[key] = account(kind, currency, brand=brand, payee=payee, license=license)
        return self._found[key]


# The prefix of each kind's idempotency keys. Keys written before entries had kinds used
# these prefixes, and a retried payment event must find what it booked then, so they
# stay; kinds that share a prefix have sources that never collide (Stripe's ids).
_KEY_PREFIX = {
    Kind.WORKS: "works",
    Kind.WORK_VOID: "void",
    Kind.ADVANCE: "advance",
    Kind.ADVANCE_REAPPLIED: "advance-reapplied",
    Kind.ADVANCE_TO_BRAND: "advance-to-brand",
    Kind.TRUE_UP: "trueup",
    Kind.FEE: "fee",
    Kind.FEE_UNAPPLIED: "unapplied",
    Kind.FEE_REFUND: "refund",
    Kind.INVOICE_REFUND: "refund",
    Kind.FEE_CHARGEBACK: "dispute",
    Kind.INVOICE_CHARGEBACK: "dispute",
    Kind.FEE_RESTORED: "dispute-won",
    Kind.INVOICE_RESTORED: "dispute-won",
    Kind.INVOICE_PAYMENT: "invoice-paid",
    Kind.PROCESSING_FEE: "processing",
    Kind.PAYOUT: "payout",
    Kind.PAYOUT_REVERSAL: "payout",
    Kind.ESTATE_TRANSFER: "estate",
    Kind.TRUST_DEPOSIT: "trust-deposit",
}


def entry_key(kind: str, source: str) -> str:
    """The idempotency key of the entry of ``kind`` about ``source``."""
    return f"{_KEY_PREFIX[Kind(kind)]}:{source}"


def find(kind: str, source: str) -> JournalEntry | None:
    """The entry of ``kind`` about ``source``, if it was booked."""
    return JournalEntry.objects.filter(idempotency_key=entry_key(kind, source)).first()


def post(
    *,
    kind: str,
    source: str,
    currency: str,
    memo: str,
    lines: Sequence[Line],
    reverses: JournalEntry | None = None,
    at: datetime | None = None,
    split: SplitBasis | None = None,
) -> JournalEntry:
    """Write a balanced entry once: a second call for the same kind and source returns
    the first entry."""
    key = entry_key(kind, source)
    total = sum(line.amount for line in lines)
    if total != 0:
        raise UnbalancedEntry(f"{key}: postings sum to {total}, not 0")
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
                kind=kind,
                source=source,
                idempotency_key=key,
                currency=currency,
                memo=memo[:300],
                reverses=reverses,
                split=None if split is None else split.to_json(),
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
                    set_aside=line.set_aside,
                    pension_health=line.pension_health,
                )
                for line in lines
                if not line.empty
            )
    except IntegrityError:
        # The same key committed meanwhile by a concurrent caller: theirs stands.
        return JournalEntry.objects.get(idempotency_key=key)
    return entry


def _refuse_closed_month(at: datetime) -> None:
    """Nothing is posted into a closed month: its statements are frozen."""
    if Period.objects.filter(month=at.date().replace(day=1), closed_at__isnull=False).exists():
        raise ClosedPeriod(f"{at:%Y-%m} is closed; post into an open month")


def balance(acct: Account) -> int:
    """Debits minus credits, by SQL aggregate."""
    return acct.postings.aggregate(total=Sum("amount"))["total"] or 0


# --- splits -------------------------------------------------------------------------


@dataclass(frozen=True)
class SplitBasis:
    """How money earned under a voice is split: the platform's fee, then the payees'
    shares (payee, basis points summing to 10,000); the payees (minors, at booking) whose
    part is partly set aside in a blocked trust account, with the rate; and, for works
    under a license that follows a union agreement, the union's fund credited the pension
    and health charged on top of each price, with the rate. Stored with the entry it
    split, so that a reversal splits exactly the same."""

    fee_bps: int
    payees: tuple[tuple[Payee, int], ...]
    set_aside: tuple[tuple[Payee, int], ...] = ()
    pension_health: tuple[Payee, int] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "fee_bps": self.fee_bps,
            "payees": [[p.pk, bps] for p, bps in self.payees],
        }
        if self.set_aside:
            out["set_aside"] = [[p.pk, bps] for p, bps in self.set_aside]
        if self.pension_health is not None:
            out["pension_health"] = [self.pension_health[0].pk, self.pension_health[1]]
        return out

    def to_log(self) -> dict[str, Any]:
        """As the log states it (integers as strings, as every number in the log)."""
        return split_to_log(
            self.fee_bps,
            [(p.pk, bps) for p, bps in self.payees],
            [(p.pk, bps) for p, bps in self.set_aside],
            None
            if self.pension_health is None
            else (self.pension_health[0].pk, self.pension_health[1]),
        )

    def aside_bps(self, payee: Payee) -> int:
        return next((bps for p, bps in self.set_aside if p.pk == payee.pk), 0)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SplitBasis:
        union = data.get("pension_health")
        wanted = [pk for pk, _ in data["payees"]] + ([union[0]] if union else [])
        payees = {p.pk: p for p in Payee.objects.filter(pk__in=wanted)}
        return cls(
            fee_bps=int(data["fee_bps"]),
            payees=tuple((payees[int(pk)], int(bps)) for pk, bps in data["payees"]),
            set_aside=tuple((payees[int(pk)], int(bps)) for pk, bps in data.get("set_aside", [])),
            pension_health=None if not union else (payees[int(union[0])], int(union[1])),
        )


def split_lines(
    amounts: Sequence[int],
    *,
    basis: SplitBasis,
    currency: str,
    lic: License | None,
    accounts: Accounts,
    works: int = 0,
    milliseconds: int = 0,
    recouped: int = 0,
) -> list[Line]:
    """The credit side of earning ``amounts``: the platform's fee and each payee's share.

    Each amount is split on its own and the shares are added up, so that taking any one
    of them back (a void) is the exact negation of its part, and a set of amounts splits
    the same whichever entries they were booked in. The payees' lines carry the
    statement's dimensions (works, time, gross, recouped, fee) for the license.
    """
    weights = [bps for _, bps in basis.payees]
    aside_bps = [basis.aside_bps(payee) for payee, _ in basis.payees]
    fee = 0
    shares = [0] * len(weights)
    asides = [0] * len(weights)
    seen: dict[int, tuple[rules.Distribution, list[int]]] = {}
    for amount in amounts:
        found = seen.get(amount)
        if found is None:
            split = rules.distribute(amount, fee_bps=basis.fee_bps, split_bps=weights)
            # A minor's set-aside is worked out on each amount's share on its own too.
            found = seen[amount] = (
                split,
                [
                    rules.set_aside(share, bps)
                    for share, bps in zip(split.payees, aside_bps, strict=True)
                ],
            )
        split, amount_asides = found
        fee += split.fee
        for i, share in enumerate(split.payees):
            shares[i] += share
            asides[i] += amount_asides[i]
    gross = sum(amounts)
    lines = [Line(accounts.get(Account.Kind.PLATFORM_REVENUE, currency), -fee, lic)]
    for (payee, _), share, aside in zip(basis.payees, shares, asides, strict=True):
        lines.append(
            Line(
                accounts.get(Account.Kind.PAYEE_PAYABLE, currency, payee=payee),
                -(share - aside),
                lic,
                works,
                milliseconds,
                gross=gross,
                recouped=recouped,
                fee=fee,
                set_aside=aside,
            )
        )
        if aside:
            lines.append(
                Line(accounts.get(Account.Kind.MINOR_TRUST, currency, payee=payee), -aside, lic)
            )
    return lines


def pension_health_lines(
    prices: Sequence[int],
    *,
    basis: SplitBasis,
    currency: str,
    lic: License,
    accounts: Accounts,
    works: int = 0,
    milliseconds: int = 0,
    recouped: int = 0,
) -> list[Line]:
    """The union's pension and health on works priced ``prices`` (none if the basis
    names no union): the brand owes it on top of the prices (its leg says how much of
    what it owes is pension and health), and the union's fund is owed it. Worked out
    work by work, so that a void takes back exactly its part. The fund's leg carries the
    statement's dimensions as every payee's does (the license's gross and fee)."""
    if basis.pension_health is None:
        return []
    fund, bps = basis.pension_health
    weights = [b for _, b in basis.payees]
    # Per distinct price, as split_lines does: a batch of thousands repeats a few prices.
    seen: dict[int, tuple[int, int]] = {}
    total = fee = 0
    for price in prices:
        found = seen.get(price)
        if found is None:
            found = seen[price] = (
                rules.pension_health(price, bps),
                rules.distribute(price, fee_bps=basis.fee_bps, split_bps=weights).fee,
            )
        total += found[0]
        fee += found[1]
    if not total and not works:
        return []
    return [
        Line(
            accounts.get(Account.Kind.BRAND_RECEIVABLE, currency, brand=lic.brand),
            total,
            lic,
            pension_health=total,
        ),
        Line(
            accounts.get(Account.Kind.PAYEE_PAYABLE, currency, payee=fund),
            -total,
            lic,
            works,
            milliseconds,
            gross=sum(prices),
            recouped=recouped,
            fee=fee,
        ),
    ]


def split_taken_back(
    legs: Sequence[Posting], *, before: int, after: int, lic: License | None
) -> list[Line]:
    """Lines that take back part of an amount that was split (a refunded or disputed
    fee): ``legs`` are the platform's and the payees' legs as booked; ``before`` and
    ``after`` how much of the amount was taken back before and after this. Each leg gives
    back in proportion to what it got; the shares are worked out cumulatively, so that
    partial take-backs never round a unit away and a full one returns every unit."""
    weights = [-leg.amount for leg in legs]
    done = rules.allocate(before, weights) if before else [0] * len(legs)
    deltas = [a - b for a, b in zip(rules.allocate(after, weights), done, strict=True)]
    platform = sum(
        delta
        for leg, delta in zip(legs, deltas, strict=True)
        if leg.account.kind == Account.Kind.PLATFORM_REVENUE
    )
    # A minor's trust account gives back in proportion too; the payee's own leg says so.
    trust = {
        leg.account.payee_id: delta
        for leg, delta in zip(legs, deltas, strict=True)
        if leg.account.kind == Account.Kind.MINOR_TRUST
    }
    return [
        Line(
            leg.account,
            delta,
            lic,
            gross=-(after - before),
            fee=-platform,
            set_aside=-trust.get(leg.account.payee_id, 0),
        )
        if leg.account.kind == Account.Kind.PAYEE_PAYABLE
        else Line(leg.account, delta, lic)
        for leg, delta in zip(legs, deltas, strict=True)
    ]


def kinds_in_sql(name: str, kinds: Sequence[str]) -> tuple[str, dict[str, str]]:
    """For raw SQL: ``(%(name_0)s, %(name_1)s, ...)`` and its parameters, so that a query
    filters on a set of kinds named once (``JournalEntry.PAYOUT_KINDS``, say)."""
    params = {f"{name}_{i}": str(kind) for i, kind in enumerate(kinds)}
    return "(" + ", ".join(f"%({key})s" for key in params) + ")", params
