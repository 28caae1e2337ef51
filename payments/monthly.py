"""The month end, the one way it runs, from the beat task and from the operator's page:
close the month (statements and true-ups), invoice brands for its usage, pay payees."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from django.utils import timezone

from core.months import month_start, previous_month
from payments.books import backend
from payments.invoices import invoices_issue
from payments.models import Backend, Invoice, PayoutRun
from payments.payouts import payout_run
from royalties.statements import period_close


@dataclass(frozen=True)
class MonthEnd:
    month: date
    invoices: list[Invoice]
    # The payout run when it ran here; None when it was handed to a worker.
    run: PayoutRun | None


def last_month() -> date:
    return previous_month(timezone.now().date())


def month_end(*, month: date, pay_later: Callable[[date], None]) -> MonthEnd:
    """Close ``month`` (and any open month before it), invoice it, and pay for it.

    Each step is safe to run twice. Stripe transfers for many payees take a while, so on
    Stripe the payout run goes to ``pay_later`` (the worker); bank payouts only create
    the payouts an operator then records, so they run here. Payees are paid whatever
    happens to one brand's invoice (it is retried on the next run).
    """
    month = month_start(month)
    period_close(month=month)
    run: PayoutRun | None = None
    try:
        invoices = invoices_issue(month=month)
    finally:
        if backend() == Backend.STRIPE:
            pay_later(month)
        else:
            run = payout_run(month=month)
    return MonthEnd(month=month, invoices=invoices, run=run)
