"""Reconciliation: the ledger's cash against what the payment provider says moved.

For a month, every Stripe balance transaction is matched by its source (a charge,
refund, dispute, transfer or transfer reversal) to the cash legs of the ledger entries
that name the same source; each must agree to the minor unit on the net amount (Stripe
books its fees on the same source, and so do we). Cash that moved in the ledger with
nothing behind it is reported too, on either backend.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from django.db.models import Sum

from payments import gateway
from payments.models import Backend, CashMovement, Reconciliation
from payments.services import backend
from royalties.models import Account, Posting
from royalties.statements import bounds, month_start

# Movements between Stripe's balance and the platform's own bank account are not money
# in or out of the registry's books.
_OWN_BANK = {"payout", "payout_cancel", "payout_failure", "payout_minimum_balance_hold"}


def _ledger_cash(start: Any, end: Any) -> tuple[dict[tuple[str, str], int], list[dict[str, Any]]]:
    """Cash moved per (backend, source) by entries dated in the month, and cash legs
    with no movement behind them."""
    by_source: dict[tuple[str, str], int] = defaultdict(int)
    unexplained = []
    legs = (
        Posting.objects.filter(
            account__kind=Account.Kind.CASH,
            entry__created_at__gte=start,
            entry__created_at__lt=end,
        )
        .values("entry_id", "entry__idempotency_key", "account__currency")
        .annotate(total=Sum("amount"))
    )
    movements = {
        m.entry_id: m
        for m in CashMovement.objects.filter(entry_id__in=[leg["entry_id"] for leg in legs])
    }
    for leg in legs:
        movement = movements.get(leg["entry_id"])
        if movement is None:
            unexplained.append(
                {
                    "source": leg["entry__idempotency_key"],
                    "problem": "cash moved in the ledger with no payment behind it",
                    "ledger": leg["total"],
                    "stripe": None,
                    "currency": leg["account__currency"],
                }
            )
            continue
        by_source[(movement.backend, movement.source)] += int(leg["total"])
    return by_source, unexplained


def reconcile(*, month: date) -> Reconciliation:
    month = month_start(month)
    start, end = bounds(month)
    via = backend()
    ours, mismatches = _ledger_cash(start, end)
    matched = 0
    totals: dict[str, Any] = {"ledger_cash": sum(ours.values())}
    if via == Backend.STRIPE:
        theirs: dict[str, int] = defaultdict(int)
        kinds: dict[str, str] = {}
        own_bank = 0
        for txn in gateway.balance_transactions(start, end):
            if txn.get("type") in _OWN_BANK:
                own_bank += int(txn["net"])
                continue
            source = txn.get("source") or txn["id"]
            source = source if isinstance(source, str) else source["id"]
            theirs[source] += int(txn["net"])
            kinds[source] = str(txn.get("type"))
        stripe_ours = {src: amt for (b, src), amt in ours.items() if b == Backend.STRIPE}
        for source in sorted(set(theirs) | set(stripe_ours)):
            stripe_net, ledger_net = theirs.get(source), stripe_ours.get(source)
            if stripe_net == ledger_net:
                matched += 1
                continue
            mismatches.append(
                {
                    "source": source,
                    "type": kinds.get(source, ""),
                    "problem": "missing from the ledger"
                    if ledger_net is None
                    else "missing at Stripe"
                    if stripe_net is None
                    else "amounts differ",
                    "stripe": stripe_net,
                    "ledger": ledger_net,
                }
            )
        totals.update(
            stripe_net=sum(theirs.values()),
            ledger_stripe=sum(stripe_ours.values()),
            to_own_bank=own_bank,
        )
    else:
        matched = len(ours)
    totals["manual"] = sum(amt for (b, _), amt in ours.items() if b == Backend.MANUAL)
    return Reconciliation.objects.create(
        month=month, backend=via, matched=matched, mismatches=mismatches, totals=totals
    )
