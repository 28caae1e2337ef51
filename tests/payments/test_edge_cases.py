"""Money edge cases found in review: paying twice, refunding what issued nothing,
inquiries, refunds and disputes in every order, clawbacks after a month closed, Stripe
errors of unknown outcome, odd webhooks, credits carried between invoices."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import pytest
import stripe
import time_machine
from django.test import Client, TestCase

from core.months import next_month as month_after
from licensing.models import License, LicenseRequest
from payments import events, fees, gateway, invoices, payouts, tasks
from payments.models import FeePayment, Invoice, Payout, StripeEvent
from payments.reconcile import reconcile
from registry.models import VoiceModel
from royalties.models import Payee, VoiceSplit
from royalties.services import work_void
from royalties.statements import period_close
from tests.payments.helpers import (
    WEBHOOK_SECRET,
    awaiting,
    balance,
    balances_are_sound,
    closed_month_with_usage,
    connected,
    deliver,
    paid,
    pay,
    record,
    this_month,
)
from tests.payments.stripe_fake import sign, stripe_fee

pytestmark = pytest.mark.django_db


def _unapplied(client: Client, fake: Any, brand: Any, req: LicenseRequest) -> FeePayment:
    """Paid, but the voice was suspended meanwhile: nothing can be issued."""
    payment = pay(client, brand, req)
    VoiceModel.objects.filter(pk=req.voice.pk).update(status="suspended")
    deliver(client, fake.complete_checkout(payment.checkout_session_id))
    payment.refresh_from_db()
    return payment


def test_money_that_issues_nothing_is_the_brands_credit_until_refunded(
    client: Client, fake_stripe: Any, brand_bob: Any, request_due: LicenseRequest
) -> None:
    payment = _unapplied(client, fake_stripe, brand_bob, request_due)
    assert payment.status == "unapplied" and payment.license is None
    brand = request_due.brand
    assert balance("brand_receivable", brand=brand) == -60_000
    deliver(client, fake_stripe.refund(payment.charge_id))
    assert StripeEvent.objects.filter(processed_at__isnull=True).count() == 0
    assert balance("brand_receivable", brand=brand) == 0
    assert balance("cash") == -stripe_fee(60_000)
    balances_are_sound()


def test_an_operator_can_still_settle_after_an_unapplied_card_payment(
    client: Client,
    fake_stripe: Any,
    brand_bob: Any,
    request_due: LicenseRequest,
    operator: Any,
) -> None:
    _unapplied(client, fake_stripe, brand_bob, request_due)
    VoiceModel.objects.filter(pk=request_due.voice.pk).update(status="active")
    lic = fees.fee_settle_manually(operator=operator, request=request_due, reference="B-2")
    assert lic.request == request_due
    assert FeePayment.objects.filter(status="unapplied").count() == 1  # still to refund
    balances_are_sound()


def test_settling_by_hand_closes_the_open_card_page_and_a_late_payment_is_a_credit(
    client: Client,
    fake_stripe: Any,
    brand_bob: Any,
    request_due: LicenseRequest,
    operator: Any,
) -> None:
    payment = pay(client, brand_bob, request_due)
    fees.fee_settle_manually(operator=operator, request=request_due, reference="BANK-9")
    session = payment.checkout_session_id
    assert fake_stripe.calls("POST", f"/v1/checkout/sessions/{session}/expire")
    assert fake_stripe.objects[session]["status"] == "expired"
    # Had the brand paid in that last moment anyway, the money is a credit, not a crash.
    fake_stripe.objects[session]["status"] = "open"
    deliver(client, fake_stripe.complete_checkout(session))
    payment.refresh_from_db()
    assert payment.status == "unapplied" and License.objects.count() == 1
    assert balance("brand_receivable", brand=request_due.brand) == -60_000
    balances_are_sound()


def test_a_dispute_inquiry_moves_no_money_and_its_close_lifts_the_hold(
    client: Client, fake_stripe: Any, brand_bob: Any, request_due: LicenseRequest
) -> None:
    lic = paid(client, fake_stripe, brand_bob, request_due)
    payee = Payee.objects.get()
    opened = fake_stripe.dispute(FeePayment.objects.get().charge_id)
    inquiry = opened["data"]["object"]
    inquiry["status"], inquiry["balance_transactions"] = "warning_needs_response", []
    deliver(client, opened)
    lic.refresh_from_db()
    assert lic.status_at() == "suspended"
    assert balance("payee_payable", payee=payee) == -45_000  # nothing reversed
    closed = dict(opened, id="evt_inquiry_closed", type="charge.dispute.closed")
    closed["data"] = {"object": dict(inquiry, status="warning_closed")}
    deliver(client, closed)
    lic.refresh_from_db()
    assert lic.status_at() == "active"


def test_a_dispute_after_a_full_refund_is_booked_and_closes(
    client: Client, fake_stripe: Any, brand_bob: Any, request_due: LicenseRequest
) -> None:
    paid(client, fake_stripe, brand_bob, request_due)
    charge_id = FeePayment.objects.get().charge_id
    deliver(client, fake_stripe.refund(charge_id))
    fake_stripe.objects[charge_id]["disputed"] = False
    opened = fake_stripe.dispute(charge_id)
    deliver(client, opened)
    # Stripe took the money a second time: the brand owes it.
    assert balance("brand_receivable", brand=request_due.brand) == 60_000
    won = fake_stripe.close_dispute(opened["data"]["object"]["id"], "won")
    deliver(client, won)
    assert StripeEvent.objects.get(event_id=won["id"]).processed_at is not None
    assert balance("brand_receivable", brand=request_due.brand) == 0
    balances_are_sound()


def test_partial_refunds_add_up_to_a_full_one_to_the_minor_unit(
    client: Client, fake_stripe: Any, brand_bob: Any, voice: Any
) -> None:
    req = awaiting(voice, brand_bob, upfront_fee=50_000, minimum_guarantee=0)
    paid(client, fake_stripe, brand_bob, req)
    charge_id = FeePayment.objects.get().charge_id
    deliver(client, fake_stripe.refund(charge_id, 25_005))
    deliver(client, fake_stripe.refund(charge_id, 24_995))
    assert balance("payee_payable", payee=Payee.objects.get()) == 0
    assert balance("platform_revenue") == 0
    balances_are_sound()


def test_a_refund_takes_back_from_whoever_was_credited_not_todays_splits(
    client: Client, fake_stripe: Any, brand_bob: Any, voice: Any
) -> None:
    req = awaiting(voice, brand_bob, upfront_fee=50_000, minimum_guarantee=0)
    paid(client, fake_stripe, brand_bob, req)
    alice = Payee.objects.get()
    agent = Payee.objects.create(kind="agent", name="New Agent")
    VoiceSplit.objects.create(voice=voice, payee=alice, bps=8000)
    VoiceSplit.objects.create(voice=voice, payee=agent, bps=2000)
    deliver(client, fake_stripe.refund(FeePayment.objects.get().charge_id))
    assert balance("payee_payable", payee=alice) == 0
    assert balance("payee_payable", payee=agent) == 0


def test_a_waiting_refund_is_not_dropped_however_many_events_pass(
    client: Client, fake_stripe: Any, brand_bob: Any, request_due: LicenseRequest
) -> None:
    payment = pay(client, brand_bob, request_due)
    completed = fake_stripe.complete_checkout(payment.checkout_session_id)
    intent = completed["data"]["object"]["payment_intent"]
    deliver(client, fake_stripe.refund(fake_stripe.objects[intent]["latest_charge"]))
    for _ in range(80):
        events.process_waiting()
    deliver(client, completed)
    assert License.objects.get().status_at() == "suspended"
    assert FeePayment.objects.get().status == "refunded"


def test_an_event_that_fails_is_kept_with_its_error_and_retried_later(
    client: Client, fake_stripe: Any, brand_bob: Any, request_due: LicenseRequest
) -> None:
    payment = pay(client, brand_bob, request_due)
    completed = fake_stripe.complete_checkout(payment.checkout_session_id)
    fake_stripe.fail_next(
        "GET",
        f"/v1/payment_intents/{completed['data']['object']['payment_intent']}",
        500,
        {"type": "api_error", "message": "Stripe is having a bad day."},
    )
    with mock.patch.object(stripe.StripeClient, "__init__", _no_retries(stripe.StripeClient)):
        gateway._clients.clear()
        response = deliver(client, completed)
    gateway._clients.clear()
    assert response.status_code == 200  # stored; the failure is ours to retry
    stored = StripeEvent.objects.get()
    assert stored.processed_at is None and "bad day" in stored.error
    assert stored.next_attempt_at is not None and not License.objects.exists()
    assert events.process_waiting() == 0  # not due yet
    later = stored.next_attempt_at + timedelta(seconds=1)
    with time_machine.travel(later, tick=False):
        assert events.process_waiting() == 1
    assert License.objects.exists()


def _no_retries(cls: Any) -> Any:
    original = cls.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        kwargs["max_network_retries"] = 0
        original(self, *args, **kwargs)

    return init


def test_a_payout_never_sends_money_clawed_back_after_the_month(
    client: Client,
    fake_stripe: Any,
    brand_bob: Any,
    performer_alice: Any,
    request_due: LicenseRequest,
    next_month: Any,
) -> None:
    paid(client, fake_stripe, brand_bob, request_due)
    month = this_month()
    next_month()
    period_close(month=month)
    connected(client, fake_stripe, performer_alice.user)
    deliver(client, fake_stripe.refund(FeePayment.objects.get().charge_id))
    payouts.payout_run(month=month)
    assert not Payout.objects.exists() and not fake_stripe.calls("POST", "/v1/transfers")


def test_a_stripe_error_of_unknown_outcome_never_pays_twice(
    client: Client,
    fake_stripe: Any,
    brand_bob: Any,
    performer_alice: Any,
    request_due: LicenseRequest,
    next_month: Any,
    monkeypatch: Any,
) -> None:
    paid(client, fake_stripe, brand_bob, request_due)
    month = this_month()
    next_month()
    period_close(month=month)
    connected(client, fake_stripe, performer_alice.user)
    real = gateway.transfer_create

    def made_then_500(payout: Any) -> Any:
        real(payout)
        raise stripe.APIError("An unknown error occurred", http_status=500)

    monkeypatch.setattr(gateway, "transfer_create", made_then_500)
    payouts.payout_run(month=month)
    assert Payout.objects.get().status == "sending"
    monkeypatch.setattr(gateway, "transfer_create", real)
    payouts.payout_run(month=month)
    transfers = [o for o in fake_stripe.objects.values() if o.get("object") == "transfer"]
    assert len(transfers) == 1 and Payout.objects.get().status == "paid"
    balances_are_sound()


@pytest.mark.parametrize("shape", ["no-data", "object-is-list", "created-is-text", "json-array"])
def test_a_signed_webhook_of_the_wrong_shape_is_a_400(
    client: Client, fake_stripe: Any, shape: str
) -> None:
    base = {"id": f"evt_{shape}", "object": "event", "created": 1, "type": "charge.refunded"}
    body = {
        "no-data": base,
        "object-is-list": dict(base, data={"object": [1]}),
        "created-is-text": dict(base, created="yesterday", data={"object": {"id": "ch_1"}}),
        "json-array": [base],
    }[shape]
    payload = json.dumps(body).encode()
    response = client.post(
        "/payments/stripe/webhook",
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(payload, WEBHOOK_SECRET),
    )
    assert response.status_code == 400 and not StripeEvent.objects.exists()


def _at(day: Any, hour: int = 0, minute: int = 30) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def test_a_credit_is_carried_into_the_next_invoice(
    request_due: LicenseRequest, operator: Any
) -> None:
    lic = fees.fee_settle_manually(operator=operator, request=request_due, reference="B1")
    m0 = this_month()
    m1 = month_after(m0)
    m2 = month_after(m1)
    m3 = month_after(m2)

    with time_machine.travel(_at(m1, 0, 0) - timedelta(hours=1), tick=False):
        recorded = record(lic, 51)  # 10200: 10000 from the advance, 200 owed
    with time_machine.travel(_at(m1, 0, 0) + timedelta(minutes=30), tick=False):
        # Voided in m1, before m0 closes (a closed month's works cannot be voided).
        work_void(brand=lic.brand, work_id=recorded[-1].work_id)  # a 200 credit in m1
    with time_machine.travel(_at(m1), tick=False):
        period_close(month=m0)
        [first] = invoices.invoices_issue(month=m0)
        assert first.amount == 200
        invoices.invoice_settle_manually(operator=operator, invoice=first, reference="B2")
    with time_machine.travel(_at(m2, 1), tick=False):
        period_close(month=m1)
        assert invoices.invoices_issue(month=m1) == []  # only a credit: nothing to invoice
        record(lic, 2, start=100)  # 400 more in m2
    with time_machine.travel(_at(m3, 1), tick=False):
        period_close(month=m2)
        [second] = invoices.invoices_issue(month=m2)
    assert second.amount == 200  # 400 of usage less the 200 credit
    lines = {(line.license_id is None, line.amount) for line in second.lines.all()}
    assert lines == {(False, 400), (True, -200)}
    assert Invoice.objects.count() == 2


def test_reconcile_matches_a_charge_booked_in_the_month_after(
    client: Client,
    fake_stripe: Any,
    brand_bob: Any,
    request_due: LicenseRequest,
    next_month: Any,
) -> None:
    payment = pay(client, brand_bob, request_due)
    event = fake_stripe.complete_checkout(payment.checkout_session_id)  # Stripe: this month
    month = this_month()
    next_month()
    period_close(month=month)  # closed before the webhook was processed
    deliver(client, event)  # so it is booked next month
    # Stripe's clock (the fake's wall clock) moved into next month with everyone else's.
    first = reconcile(month=month)
    second = reconcile(month=month_after(month))
    assert first.ok and second.ok, (first.mismatches, second.mismatches)
    assert first.totals["booked_in_another_month"] == 1


def test_a_dispute_on_a_paid_invoice_reopens_it_and_a_won_one_settles_it_again(
    client: Client, fake_stripe: Any, brand_bob: Any, request_due: LicenseRequest, next_month: Any
) -> None:
    lic, month = closed_month_with_usage(client, fake_stripe, brand_bob, request_due, next_month)
    [invoice] = invoices.invoices_issue(month=month)
    invoice.refresh_from_db()
    deliver(client, fake_stripe.pay_invoice(invoice.stripe_invoice_id))
    invoice.refresh_from_db()
    brand = invoice.brand
    opened = fake_stripe.dispute(invoice.charge_id)
    deliver(client, opened)
    invoice.refresh_from_db()
    lic.refresh_from_db()
    assert invoice.status == "open" and lic.status_at() == "suspended"
    assert balance("brand_receivable", brand=brand) == invoice.amount
    deliver(client, fake_stripe.close_dispute(opened["data"]["object"]["id"], "won"))
    invoice.refresh_from_db()
    lic.refresh_from_db()
    assert invoice.status == "paid" and lic.status_at() == "active"
    assert balance("brand_receivable", brand=brand) == 0
    balances_are_sound()


def test_one_invoice_failing_at_stripe_does_not_stop_payouts(
    client: Client,
    fake_stripe: Any,
    brand_bob: Any,
    performer_alice: Any,
    request_due: LicenseRequest,
    next_month: Any,
) -> None:
    _, month = closed_month_with_usage(client, fake_stripe, brand_bob, request_due, next_month)
    connected(client, fake_stripe, performer_alice.user)
    fake_stripe.fail_next(
        "POST",
        "/v1/customers",
        400,
        {"type": "invalid_request_error", "message": "Invalid email address"},
    )
    with TestCase.captureOnCommitCallbacks(execute=True):
        tasks.month_end()
    assert Payout.objects.get().status == "paid"
    invoice = Invoice.objects.get()
    assert not invoice.stripe_invoice_id  # sent on the next run
    invoices.invoices_issue(month=month)
    invoice.refresh_from_db()
    assert invoice.stripe_invoice_id
