from __future__ import annotations

from datetime import date

from celery import shared_task

from payments import events, invoices, monthly, payouts


@shared_task
def event_process(pk: int) -> bool:
    """A stored Stripe event, after the commit that stored it. Safe to run twice."""
    done = events.process(pk)
    if done:
        events.process_waiting()
    return done


@shared_task
def events_retry() -> int:
    """Beat: events that arrived before the one they depend on, and failed deliveries."""
    return events.process_waiting()


@shared_task
def month_end() -> str:
    """Beat: close last month (if open), invoice brands for its usage, pay payees.
    Each step is safe to run twice."""
    done = monthly.month_end(
        month=monthly.last_month(), pay_later=lambda month: payout_run.delay(month.isoformat())
    )
    return f"{done.month:%Y-%m}"


@shared_task(acks_late=True)
def payout_run(month: str) -> int:
    """Pay every payee for a closed month. Killed halfway and run again, it pays each
    payee exactly once."""
    run = payouts.payout_run(month=date.fromisoformat(month))
    return run.paid


@shared_task
def invoices_enforce() -> int:
    """Beat: suspend licenses of brands whose invoice is past due and grace."""
    return invoices.invoices_enforce()
