from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from core.months import month_start
from royalties.statements import period_close


@shared_task
def period_close_previous() -> str:
    """Beat (daily): close last month if it is still open. Safe to run twice."""
    last_month = month_start(month_start(timezone.now().date()) - timedelta(days=1))
    return str(period_close(month=last_month))
