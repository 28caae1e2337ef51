"""Payments fixtures: approved requests awaiting payment, money-loop helpers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any
from unittest import mock

import pytest
from django.db.models import Sum
from django.utils import timezone

from licensing import services as licensing
from royalties.models import Account, JournalEntry, Posting
from tests import factories as f
from tests.licensing.conftest import offer_terms, request_input


@pytest.fixture
def operator(db: None) -> Any:
    return f.UserFactory(email="olive@example.com", is_staff=True)


@pytest.fixture
def voice(performer_alice: Any) -> Any:
    return f.VoiceFactory(performer=performer_alice, display_name="Alice Warm", slug="alice-warm")


def awaiting(voice: Any, brand_user: Any, **terms: Any) -> Any:
    """A request approved by the performer, awaiting the fee (and the guarantee)."""
    brand = brand_user.brand_memberships.get().brand
    offer = licensing.offer_publish(
        actor=voice.performer.user,
        voice=voice,
        title="Campaign",
        offer_terms=offer_terms(**terms),
    )
    req = licensing.request_submit(
        actor=brand_user,
        brand=brand,
        offer=offer,
        data=request_input(media=["tv"], languages=["en-US"], territories=["US"]),
    )
    licensing.request_decide(actor=voice.performer.user, request=req, approve=True)
    req.refresh_from_db()
    return req


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


def balances_are_sound() -> None:
    """Every entry sums to zero; nothing is out of balance overall."""
    for entry in JournalEntry.objects.prefetch_related("postings"):
        assert sum(p.amount for p in entry.postings.all()) == 0, entry.idempotency_key
    assert (Posting.objects.aggregate(t=Sum("amount"))["t"] or 0) == 0


def balance(kind: str, currency: str = "USD", **owner: Any) -> int:
    accounts = Account.objects.filter(kind=kind, currency=currency, **owner)
    return Posting.objects.filter(account__in=accounts).aggregate(t=Sum("amount"))["t"] or 0


@pytest.fixture
def next_month() -> Iterator[Any]:
    """Call to move the clock into next month (ledger and all), for closing this one."""
    patches: list[Any] = []

    def move(days: int = 32) -> date:
        later = timezone.now() + timedelta(days=days)
        patch = mock.patch("django.utils.timezone.now", return_value=later)
        patch.start()
        patches.append(patch)
        return later.date()

    yield move
    for patch in reversed(patches):
        patch.stop()


def this_month() -> date:
    return timezone.now().date().replace(day=1)


def record(lic: Any, count: int, start: int = 0) -> list[Any]:
    """Record `count` 30-second TV spots under `lic` (the brand's pipeline)."""
    from django.db import transaction

    from royalties.services import WorkInput, works_record

    items = [
        WorkInput(
            license_id=lic.license_id,
            client_ref=f"spot-{lic.pk}-{n}",
            content_sha256=f"{n:064x}",
            duration_ms=30_000,
            language="en-US",
            territory="US",
            use="advertising",
            medium="tv",
        )
        for n in range(start, start + count)
    ]
    with transaction.atomic():
        return works_record(brand=lic.brand, items=items)


__all__ = ["datetime"]


WEBHOOK_SECRET = "whsec_timbre_tests"


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


def deliver(
    client: Any,
    event: dict[str, Any],
    *,
    secret: str = WEBHOOK_SECRET,
    timestamp: int | None = None,
    body: bytes | None = None,
    signature: str | None = "sign",
) -> Any:
    """POST an event to the webhook endpoint as Stripe does, signed for real."""
    from tests.payments.stripe_fake import encode_event, sign

    payload = encode_event(event) if body is None else body
    headers = {}
    if signature == "sign":
        signed = encode_event(event)
        headers["HTTP_STRIPE_SIGNATURE"] = sign(signed, secret, timestamp=timestamp)
    elif signature is not None:
        headers["HTTP_STRIPE_SIGNATURE"] = signature
    # The event is processed by a task sent after the commit that stored it; the test's
    # transaction never commits, so run what would have run on commit.
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(
            "/payments/stripe/webhook", data=payload, content_type="application/json", **headers
        )
