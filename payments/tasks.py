from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from core.months import month_start
from payments import events, services
from royalties.statements import period_close


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
    last_month = month_start(month_start(timezone.now().date()) - timedelta(days=1))
    period_close(month=last_month)
    try:
        services.invoices_issue(month=last_month)
    finally:
        # Payees are paid whatever happens to one brand's invoice (it is retried next time).
        payout_run.delay(last_month.isoformat())
    return f"{last_month:%Y-%m}"


@shared_task(acks_late=True)
def payout_run(month: str) -> int:
    """Pay every payee for a closed month. Killed halfway and run again, it pays each
    payee exactly once."""
    from datetime import date

    run = services.payout_run(month=date.fromisoformat(month))
    return run.paid


@shared_task
def invoices_enforce() -> int:
    """Beat: suspend licenses of brands whose invoice is past due and grace."""
    return services.invoices_enforce()
