from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from core.months import previous_month
from royalties.estates import post_mortem_terms_end as terms_end
from royalties.statements import period_close


@shared_task
def period_close_previous() -> str:
    """Beat (daily): close last month if it is still open. Safe to run twice."""
    last_month = previous_month(timezone.now().date())
    return str(period_close(month=last_month))


@shared_task(acks_late=True)
def post_mortem_terms_end() -> int:
    """Beat: retire the voices whose estate's post-mortem term has ended (or continue the
    term where use continues it). Safe to run twice."""
    return terms_end()
