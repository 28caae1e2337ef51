"""Payments fixtures: approved requests awaiting payment, the clock a month on, Stripe."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from django.utils import timezone
from time_machine import TimeMachineFixture

from tests import factories as f
from tests.payments.helpers import WEBHOOK_SECRET, awaiting


@pytest.fixture
def operator(db: None) -> Any:
    return f.UserFactory(email="olive@example.com", is_staff=True)


@pytest.fixture
def voice(performer_alice: Any) -> Any:
    return f.VoiceFactory(performer=performer_alice, display_name="Alice Warm", slug="alice-warm")


# Fee 500.00, guarantee 100.00 (minor units), $2 a work, nothing per second.
TERMS: dict[str, Any] = {
    "upfront_fee": 50_000,
    "minimum_guarantee": 10_000,
    "per_work": 200,
    "per_second": "0",
    "revenue_share_bps": 0,
}


@pytest.fixture
def request_due(voice: Any, brand_bob: Any) -> Any:
    return awaiting(voice, brand_bob, **TERMS)


@pytest.fixture
def next_month(time_machine: TimeMachineFixture) -> Callable[..., date]:
    """Call to move the clock into next month (ledger and all), for closing this one.

    Every clock moves and stays there until the test ends: Django's, ``time.time()`` (so a
    webhook signed after the move is fresh to the endpoint, which checks its timestamp
    against the same clock) and the fake Stripe's (what Stripe creates after the move is
    dated next month too)."""

    def move(days: int = 32) -> date:
        later = timezone.now() + timedelta(days=days)
        time_machine.move_to(later, tick=False)
        return later.date()

    return move


@pytest.fixture
def tasks_in_process() -> Iterator[None]:
    """Run tasks in this process even when a broker is configured (the PostgreSQL stage):
    these tests check what a task does; tests/worker checks a real worker runs it."""
    from timbre.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


@pytest.fixture
def fake_stripe(settings: Any, tasks_in_process: None) -> Iterator[Any]:
    """Stripe's HTTP layer answered locally; the registry switched to the Stripe backend."""
    from tests.payments.stripe_fake import FakeStripe

    fake = FakeStripe().start()
    settings.PAYMENTS_BACKEND = "stripe"
    settings.STRIPE_SECRET_KEY = "sk_test_timbre"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_API_BASE = fake.url
    yield fake
    fake.stop()
    assert not fake.errors, fake.errors
