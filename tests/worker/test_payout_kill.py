"""A payout run in a real Celery worker is killed (SIGKILL) halfway and run again: every
payee is paid exactly once, with one transfer request each, and the ledger balances.

The worker talks to Stripe's HTTP layer served locally by this test process; the server
holds the 26th transfer request until the worker is dead, then lets Stripe make that
transfer, as happens when a worker dies with a request on the wire."""

from __future__ import annotations

import os
import signal
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.conf import settings
from django.db.models import Sum
from django.utils import timezone

from core.months import month_start
from payments import gateway
from payments.models import ConnectedAccount, Payout
from payments.tasks import payout_run
from royalties import ledger
from royalties.models import Account, Payee, Posting
from royalties.statements import period_close
from tests.payments.helpers import WEBHOOK_SECRET
from tests.payments.stripe_fake import FakeStripe
from tests.worker.helpers import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

PAYEES = 50
KILL_AT = 26


def test_a_killed_payout_run_pays_every_payee_exactly_once(
    worker_factory: Any, settings: Any
) -> None:
    assert not settings.CELERY_TASK_ALWAYS_EAGER, "the run must go through the broker"
    fake = FakeStripe().start()
    stripe_env = {
        "STRIPE_SECRET_KEY": "sk_test_timbre",
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPE_API_BASE": fake.url,
    }
    settings.PAYMENTS_BACKEND = "stripe"
    settings.STRIPE_SECRET_KEY = stripe_env["STRIPE_SECRET_KEY"]
    settings.STRIPE_API_BASE = fake.url
    try:
        _run(worker_factory, fake, stripe_env)
    finally:
        fake.stop()


def _run(worker_factory: Any, fake: FakeStripe, stripe_env: dict[str, str]) -> None:
    # 50 payees, each owed a different amount for last month, each with a ready account.
    last_month = month_start(month_start(timezone.now().date()) - timedelta(days=1))
    mid = datetime(last_month.year, last_month.month, 15, tzinfo=UTC)
    payees = []
    for n in range(PAYEES):
        payee = Payee.objects.create(kind=Payee.Kind.PERFORMER, name=f"Payee {n}")
        ledger.post(
            kind=ledger.Kind.WORKS,
            source=f"earned-{n}",
            currency="USD",
            memo="royalties",
            lines=[
                ledger.Line(ledger.account(Account.Kind.CASH, "USD"), 5_000 + n),
                ledger.Line(
                    ledger.account(Account.Kind.PAYEE_PAYABLE, "USD", payee=payee), -(5_000 + n)
                ),
            ],
            at=mid,
        )
        account = gateway.account_create(payee_id=payee.pk, email=f"p{n}@example.com")
        fake.account_ready(account["id"])
        ConnectedAccount.objects.create(
            payee=payee, stripe_account_id=account["id"], transfers_active=True
        )
        payees.append(payee)
    period_close(month=last_month)

    reached, release = threading.Event(), threading.Event()
    seen = {"transfers": 0}

    def hold_the_26th(rec: Any) -> None:
        if rec.method == "POST" and rec.path == "/v1/transfers":
            seen["transfers"] += 1
            if seen["transfers"] == KILL_AT:
                reached.set()
                release.wait(60)

    fake.before = hold_the_26th
    first = worker_factory(**stripe_env)
    payout_run.delay(last_month.isoformat())
    assert reached.wait(60), "the run never reached the 26th transfer"
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=30)
    release.set()  # Stripe makes the transfer the dead worker asked for

    statuses = Counter(Payout.objects.values_list("status", flat=True))
    assert statuses == {"paid": KILL_AT - 1, "sending": 1, "pending": PAYEES - KILL_AT}

    worker_factory(**stripe_env)
    payout_run.delay(last_month.isoformat())
    wait_for(lambda: Payout.objects.filter(status="paid").count() == PAYEES, timeout=90)

    transfers = fake.calls("POST", "/v1/transfers")
    payouts = {p.pk: p for p in Payout.objects.select_related("payee")}
    # One transfer request per payee, each with the payout's own idempotency key.
    assert len(transfers) == PAYEES
    keys = Counter(call.idempotency_key for call in transfers)
    assert keys == Counter(f"payout:{pk}" for pk in payouts)
    destinations = Counter(call.params["destination"] for call in transfers)
    assert set(destinations.values()) == {1}
    made = [o for o in fake.objects.values() if o.get("object") == "transfer"]
    assert len(made) == PAYEES
    for call in transfers:
        payout = payouts[int(call.idempotency_key.split(":")[1])]
        assert call.params["amount"] == str(payout.amount)
        assert payout.amount == 5_000 + int(payout.payee.name.split()[1])
    # The interrupted one was looked up at Stripe, not sent again.
    assert fake.calls("GET", "/v1/transfers")

    # The ledger balances, and every payee is paid up.
    assert Posting.objects.aggregate(t=Sum("amount"))["t"] == 0
    for payee in payees:
        owed = Posting.objects.filter(
            account__kind=Account.Kind.PAYEE_PAYABLE, account__payee=payee
        ).aggregate(t=Sum("amount"))["t"]
        assert owed == 0, payee
    assert settings.TIMBRE_PAYOUT_THRESHOLD <= 5_000


def test_a_webhook_is_processed_by_the_worker_after_commit(
    worker_factory: Any, settings: Any, client: Any
) -> None:
    from licensing import services as licensing
    from licensing.models import License
    from payments.models import FeePayment, StripeEvent
    from tests import factories as f
    from tests.licensing.helpers import offer_terms, request_input
    from tests.payments.helpers import deliver

    fake = FakeStripe().start()
    stripe_env = {
        "STRIPE_SECRET_KEY": "sk_test_timbre",
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPE_API_BASE": fake.url,
    }
    settings.PAYMENTS_BACKEND = "stripe"
    settings.STRIPE_SECRET_KEY = stripe_env["STRIPE_SECRET_KEY"]
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_API_BASE = fake.url
    try:
        performer = f.PerformerFactory()
        voice = f.VoiceFactory(performer=performer)
        brand_user = f.MembershipFactory(role="owner").user
        brand = brand_user.brand_memberships.get().brand
        offer = licensing.offer_publish(
            actor=performer.user, voice=voice, title="Ads", offer_terms=offer_terms()
        )
        req = licensing.request_submit(
            actor=brand_user, brand=brand, offer=offer, data=request_input()
        )
        licensing.request_decide(actor=performer.user, request=req, approve=True)
        worker_factory(**stripe_env)
        client.force_login(brand_user)
        client.post(f"/brands/{brand.slug}/billing/pay/{req.pk}/")
        payment = FeePayment.objects.get()
        response = deliver(client, fake.complete_checkout(payment.checkout_session_id))
        assert response.status_code == 200
        # Stored at once; the license comes from the worker's task, after the commit.
        assert StripeEvent.objects.count() == 1
        lic = wait_for(lambda: License.objects.filter(request=req).first(), timeout=60)
        assert lic.payment_ref.startswith("ch_")
        assert StripeEvent.objects.get().processed_at is not None
    finally:
        fake.stop()
