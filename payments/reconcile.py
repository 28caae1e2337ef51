"""Reconciliation: the ledger's cash against what the payment provider says moved.

For a month, every Stripe balance transaction is matched by its source (a charge,
refund, dispute, transfer or transfer reversal) to the cash legs of the ledger entries
that name the same source; each must agree to the minor unit on the net amount (Stripe
books its fees on the same source, and so do we). Cash that moved in the ledger with
nothing behind it is reported too, on either backend.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from core.months import bounds, month_start
from payments import gateway
from payments.books import backend
from payments.models import Backend, CashMovement, Reconciliation
from royalties.selectors import cash_legs

# Movements between Stripe's balance and the platform's own bank account are not money
# in or out of the registry's books.
_OWN_BANK = {
    "payout",
    "payout_cancel",
    "payout_failure",
    "payout_minimum_balance_hold",
    "payout_minimum_balance_release",
}
# An entry may be dated in the month after Stripe's (when Stripe's month was closed by
# the time its webhook came): each source is matched over a window around the month.
_WINDOW = timedelta(days=35)


@dataclass
class _LedgerCash:
    by_source: dict[tuple[str, str], int]  # (backend, source): cash, window around the month
    sources_in_month: set[str]  # the sources of entries dated in the month itself
    in_month: dict[str, int]  # backend: cash moved by entries dated in the month
    unexplained: list[dict[str, Any]]  # cash legs in the month with no movement behind them


def _ledger_cash(start: datetime, end: datetime) -> _LedgerCash:
    found = _LedgerCash(defaultdict(int), set(), defaultdict(int), [])
    legs = cash_legs(start - _WINDOW, end + _WINDOW)
    movements = {
        m.entry_id: m
        for m in CashMovement.objects.filter(entry_id__in=[leg["entry_id"] for leg in legs])
    }
    for leg in legs:
        inside = start <= leg["entry__created_at"] < end
        movement = movements.get(leg["entry_id"])
        if movement is None:
            if inside:
                found.unexplained.append(
                    {
                        "source": leg["entry__idempotency_key"],
                        "problem": "cash moved in the ledger with no payment behind it",
                        "ledger": leg["total"],
                        "stripe": None,
                        "currency": leg["account__currency"],
                    }
                )
            continue
        found.by_source[(movement.backend, movement.source)] += int(leg["total"])
        if inside:
            found.sources_in_month.add(movement.source)
            found.in_month[movement.backend] += int(leg["total"])
    return found


def reconcile(*, month: date) -> Reconciliation:
    month = month_start(month)
    start, end = bounds(month)
    via = backend()
    ledger = _ledger_cash(start, end)
    ours, ours_in_month, mismatches = ledger.by_source, ledger.sources_in_month, ledger.unexplained
    matched = timing = 0
    totals: dict[str, Any] = {}
    if via == Backend.STRIPE:
        theirs: dict[str, int] = defaultdict(int)
        theirs_in_month: set[str] = set()
        kinds: dict[str, str] = {}
        own_bank = stripe_net = 0
        for txn in gateway.balance_transactions(start - _WINDOW, end + _WINDOW):
            inside = start.timestamp() <= int(txn["created"]) < end.timestamp()
            if txn.get("type") in _OWN_BANK:
                own_bank += int(txn["net"]) if inside else 0
                continue
            source = txn.get("source") or txn["id"]
            source = source if isinstance(source, str) else source["id"]
            theirs[source] += int(txn["net"])
            kinds[source] = str(txn.get("type"))
            if inside:
                theirs_in_month.add(source)
                stripe_net += int(txn["net"])
        stripe_ours = {src: amt for (b, src), amt in ours.items() if b == Backend.STRIPE}
        stripe_ours_in_month = ours_in_month & set(stripe_ours)
        for source in sorted(theirs_in_month | stripe_ours_in_month):
            stripe_amount, ledger_amount = theirs.get(source), stripe_ours.get(source)
            if stripe_amount == ledger_amount:
                matched += 1
                timing += (source in theirs_in_month) != (source in stripe_ours_in_month)
                continue
            mismatches.append(
                {
                    "source": source,
                    "type": kinds.get(source, ""),
                    "problem": "missing from the ledger"
                    if ledger_amount is None
                    else "missing at Stripe"
                    if stripe_amount is None
                    else "amounts differ",
                    "stripe": stripe_amount,
                    "ledger": ledger_amount,
                }
            )
        totals.update(stripe_net=stripe_net, to_own_bank=own_bank, booked_in_another_month=timing)
    else:
        matched = len(ours_in_month)
    totals["ledger_cash"] = sum(ledger.in_month.values())
    totals["manual"] = ledger.in_month.get(Backend.MANUAL, 0)
    return Reconciliation.objects.create(
        month=month, backend=via, matched=matched, mismatches=mismatches, totals=totals
    )
