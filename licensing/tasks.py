from __future__ import annotations

from celery import shared_task

from licensing.services import requests_expire


@shared_task
def license_requests_expire() -> int:
    """Beat: lapse requests nobody acted on in time. Safe to run twice."""
    return requests_expire()
