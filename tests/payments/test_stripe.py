"""The Stripe backend, with the real `stripe` library talking to Stripe's HTTP layer
answered locally, and webhooks signed for real with the endpoint's secret."""

from __future__ import annotations

import io
import time
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.test import Client

from licensing.models import License, LicenseRequest
from licensing.verification import verify_licenses
from payments import fees, invoices, payouts
from payments.models import (
    CashMovement,
    ConnectedAccount,
    FeePayment,
    Invoice,
    Payout,
    StripeEvent,
)
from royalties.models import JournalEntry, Payee
from tests.payments.helpers import (
    balance,
    balances_are_sound,
    closed_month_with_usage,
    connected,
    deliver,
    paid,
    pay,
    payee_of,
    record,
    this_month,
)
from tests.payments.stripe_fake import DISPUTE_FEE, stripe_fee

pytestmark = pytest.mark.django_db

TOTAL = 60_000  # fee 50000 + guarantee 10000


# --- license fee: Checkout and webhooks -------------------------------------------------


def test_pay_opens_one_checkout_session_carrying_our_ids(
    client: Client, fake_stripe: Any, brand_bob: Any, request_due: LicenseRequest
) -> None:
    payment = pay(client, brand_bob, request_due)
    [call] = fake_stripe.calls("POST", "/v1/checkout/sessions")
    assert call.idempotency_key == f"license-fee:{request_due.pk}:{payment.pk}"
    assert call.headers["authorization"] == "Bearer sk_test_timbre"
    params = call.params
    assert params["mode"] == "payment"
    assert params["metadata"] == {
        "fee_payment_id": str(payment.pk),
        "request_id": str(request_due.pk),
    }
    assert params["payment_intent_data"]["metadata"] == params["metadata"]
    assert params["client_reference_id"] == str(request_due.pk)
    amounts = [
        (i["price_data"]["unit_amount"], i["price_data"]["currency"]) for i in params["line_items"]
    ]
    assert amounts == [("50000", "usd"), ("10000", "usd")]
    assert params["success_url"].endswith(f"/billing/?paid={request_due.pk}")
    assert params["cancel_url"].endswith(f"/billing/?cancelled={request_due.pk}")
    assert payment.amount == TOTAL and payment.checkout_url.startswith("https://")

    # Clicking Pay again reuses the open session: no second session, no second charge.
    again = pay(client, brand_bob, request_due)
    assert again.pk == payment.pk and len(fake_stripe.calls("POST", "/v1/checkout/sessions")) == 1


def test_the_success_redirect_alone_issues_nothing(
    client: Client, fake_stripe: Any, brand_bob: Any, request_due: LicenseRequest
) -> None:
    pay(client, brand_bob, request_due)
    page = client.get(f"/brands/{request_due.brand.slug}/billing/?paid={request_due.pk}")
    assert "as soon as the payment is confirmed" in page.content.decode()
    request_due.refresh_from_db()
    assert request_due.status == "awaiting_payment" and not License.objects.exists()
    assert not JournalEntry.objects.exists()


def test_a_verified_completed_checkout_issues_the_license_and_books_it_once(
    client: Client, fake_stripe: Any, brand_bob: Any, request_due: LicenseRequest
) -> None:
    payment = pay(client, brand_bob, request_due)
    event = fake_stripe.complete_checkout(payment.checkout_session_id)
    response = deliver(client, event)
    assert response.status_code == 200 and response.json()["duplicate"] is False
    lic = License.objects.get()
    payment.refresh_from_db()
    charge = payment.charge_id
    assert charge.startswith("ch_") and lic.payment_ref == charge
    assert payment.status == "paid" and payment.receipt_url
    fee = stripe_fee(TOTAL)
    assert balance("cash") == TOTAL - fee
    assert balance("processing_fees") == fee
    assert balance("payee_payable", payee=Payee.objects.get()) == -45_000
    assert balance("advance", license=lic) == -10_000
    assert set(CashMovement.objects.values_list("entry__kind", "source")) == {
        ("fee", charge),
        ("advance", charge),
        ("processing_fee", charge),
    }
    # The same event delivered again is a no-op.
    entries = JournalEntry.objects.count()
    again = deliver(client, event)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert StripeEvent.objects.count() == 1 and License.objects.count() == 1
    assert JournalEntry.objects.count() == entries
    balances_are_sound()


@pytest.mark.parametrize("problem", ["tampered", "stale", "unsigned", "wrong-secret", "garbage"])
def test_a_bad_webhook_is_refused_and_changes_nothing(
    client: Client, fake_stripe: Any, brand_bob: Any, request_due: LicenseRequest, problem: str
) -> None:
    from tests.payments.stripe_fake import encode_event

    payment = pay(client, brand_bob, request_due)
    event = fake_stripe.complete_checkout(payment.checkout_session_id)
    if problem == "tampered":
        body = encode_event(event).replace(b'"paid"', b'"paid" ', 1)
        response = deliver(client, event, body=body)
    elif problem == "stale":
        response = deliver(client, event, timestamp=int(time.time()) - 301)
    elif problem == "unsigned":
        response = deliver(client, event, signature=None)
    elif problem == "wrong-secret":
        response = deliver(client, event, secret="whsec_someone_else")
    else:
        response = deliver(client, event, signature="t=1,v1=00")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert "signature" in response.json()["detail"].lower()
    assert not StripeEvent.objects.exists() and not License.objects.exists()
    assert not JournalEntry.objects.exists()


def test_a_webhook_that_is_not_json_is_a_400(client: Client, fake_stripe: Any) -> None:
    response = deliver(client, {}, body=b"\xff\xfe not json", signature=None)
    assert response.status_code == 400
    from tests.payments.stripe_fake import sign

    body = b"[1, 2"
    response = client.post(
        "/payments/stripe/webhook",
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(body, "whsec_timbre_tests"),
    )
    assert response.status_code == 400 and not StripeEvent.objects.exists()


def test_without_stripe_the_webhook_endpoint_does_not_exist(client: Client) -> None:
    response = client.post("/payments/stripe/webhook", data=b"{}", content_type="application/json")
    assert response.status_code == 404


def test_an_expired_session_leaves_the_request_awaiting_and_pay_opens_a_new_one(
    client: Client, fake_stripe: Any, brand_bob: Any, request_due: LicenseRequest
) -> None:
    first = pay(client, brand_bob, request_due)
    assert (
        deliver(client, fake_stripe.expire_checkout(first.checkout_session_id)).status_code == 200
    )
    first.refresh_from_db()
    request_due.refresh_from_db()
    assert first.status == "expired" and request_due.status == "awaiting_payment"
    second = pay(client, brand_bob, request_due)
    assert second.pk != first.pk
    keys = [c.idempotency_key for c in fake_stripe.calls("POST", "/v1/checkout/sessions")]
    assert keys == [
        f"license-fee:{request_due.pk}:{first.pk}",
        f"license-fee:{request_due.pk}:{second.pk}",
    ]
    deliver(client, fake_stripe.complete_checkout(second.checkout_session_id))
    assert License.objects.get().request == request_due


def test_only_the_brands_members_pay(
    client: Client, fake_stripe: Any, brand_hank: Any, request_due: LicenseRequest
) -> None:
    client.force_login(brand_hank)
    response = client.post(f"/brands/{request_due.brand.slug}/billing/pay/{request_due.pk}/")
    assert response.status_code == 404
    with pytest.raises(PermissionDenied):
        fees.fee_checkout_start(
            actor=brand_hank, request=request_due, success_url="http://x/", cancel_url="http://x/"
        )
    assert not fake_stripe.requests


def test_events_out_of_order_end_in_the_right_state(
    client: Client, fake_stripe: Any, brand_bob: Any, request_due: LicenseRequest
) -> None:
    payment = pay(client, brand_bob, request_due)
    completed = fake_stripe.complete_checkout(payment.checkout_session_id)
    charge = completed["data"]["object"]["payment_intent"]
    charge_id = fake_stripe.objects[charge]["latest_charge"]
    refunded = fake_stripe.refund(charge_id)
    # The refund arrives first: stored, and waiting for the payment it refunds.
    assert deliver(client, refunded).status_code == 200
    waiting = StripeEvent.objects.get()
    assert waiting.processed_at is None and "no paid license fee" in waiting.error
    assert not License.objects.exists()
    # Then the payment: the license is issued, and the waiting refund suspends it.
    assert deliver(client, completed).status_code == 200
    lic = License.objects.get()
    assert lic.status_at() == "suspended"
    assert StripeEvent.objects.filter(processed_at__isnull=True).count() == 0
    payment.refresh_from_db()
    assert payment.status == "refunded" and payment.refunded == TOTAL
    assert balance("payee_payable", payee=Payee.objects.get()) == 0
    assert balance("cash") == -stripe_fee(TOTAL)
    balances_are_sound()


# --- refunds and disputes ----------------------------------------------------------------


def test_a_refund_suspends_the_license_and_reverses_the_books(
    client: Client, fake_stripe: Any, brand_bob: Any, request_due: LicenseRequest
) -> None:
    lic = paid(client, fake_stripe, brand_bob, request_due)
    record(lic, 3)
    payee = Payee.objects.get()
    deliver(client, fake_stripe.refund(FeePayment.objects.get().charge_id))
    lic.refresh_from_db()
    assert lic.status_at() == "suspended" and verify_licenses([lic.jws])[0].reason == "suspended"
    assert record(lic, 1, start=10)[0].reason == "license_suspended"
    # Fee and guarantee back out; the 3 works the guarantee paid for are now owed.
    assert balance("cash") == -stripe_fee(TOTAL)
    assert balance("platform_revenue") == -60  # 10% of the 3 works' 600
    assert balance("payee_payable", payee=payee) == -540
    assert balance("advance", license=lic) == 0
    assert balance("brand_receivable", brand=lic.brand) == 600
    refund_source = CashMovement.objects.get(entry__kind="fee_refund").source
    assert refund_source.startswith("re_")
    balances_are_sound()


def test_a_partial_refund_comes_out_of_the_fee(
    client: Client, fake_stripe: Any, brand_bob: Any, request_due: LicenseRequest
) -> None:
    lic = paid(client, fake_stripe, brand_bob, request_due)
    deliver(client, fake_stripe.refund(FeePayment.objects.get().charge_id, 20_000))
    assert balance("payee_payable", payee=Payee.objects.get()) == -27_000
    assert balance("advance", license=lic) == -10_000
    lic.refresh_from_db()
    assert lic.status_at() == "suspended"
    balances_are_sound()


def test_a_dispute_suspends_and_a_won_dispute_restores(
    client: Client, fake_stripe: Any, brand_bob: Any, request_due: LicenseRequest
) -> None:
    lic = paid(client, fake_stripe, brand_bob, request_due)
    payee = Payee.objects.get()
    opened = fake_stripe.dispute(FeePayment.objects.get().charge_id)
    deliver(client, opened)
    lic.refresh_from_db()
    assert lic.status_at() == "suspended"
    assert balance("payee_payable", payee=payee) == 0
    assert balance("cash") == -stripe_fee(TOTAL) - DISPUTE_FEE
    dispute_id = opened["data"]["object"]["id"]
    deliver(client, fake_stripe.close_dispute(dispute_id, "won"))
    lic.refresh_from_db()
    assert lic.status_at() == "active" and verify_licenses([lic.jws])[0].valid
    assert balance("payee_payable", payee=payee) == -45_000
    assert balance("advance", license=lic) == -10_000
    assert balance("cash") == TOTAL - stripe_fee(TOTAL) - DISPUTE_FEE
    assert record(lic, 1)[0].status == "recorded"
    assert FeePayment.objects.get().status == "paid"
    balances_are_sound()


def test_a_lost_dispute_keeps_the_license_suspended(
    client: Client, fake_stripe: Any, brand_bob: Any, request_due: LicenseRequest
) -> None:
    lic = paid(client, fake_stripe, brand_bob, request_due)
    opened = fake_stripe.dispute(FeePayment.objects.get().charge_id)
    deliver(client, opened)
    deliver(client, fake_stripe.close_dispute(opened["data"]["object"]["id"], "lost"))
    lic.refresh_from_db()
    assert lic.status_at() == "suspended"
    assert balance("payee_payable", payee=Payee.objects.get()) == 0


def test_a_dispute_closed_before_it_was_opened_ends_restored(
    client: Client, fake_stripe: Any, brand_bob: Any, request_due: LicenseRequest
) -> None:
    lic = paid(client, fake_stripe, brand_bob, request_due)
    opened = fake_stripe.dispute(FeePayment.objects.get().charge_id)
    won = fake_stripe.close_dispute(opened["data"]["object"]["id"], "won")
    deliver(client, won)
    assert StripeEvent.objects.get(event_id=won["id"]).processed_at is None
    deliver(client, opened)
    lic.refresh_from_db()
    assert lic.status_at() == "active"
    assert StripeEvent.objects.filter(processed_at__isnull=True).count() == 0
    assert balance("payee_payable", payee=Payee.objects.get()) == -45_000
    balances_are_sound()


# --- usage invoices -----------------------------------------------------------------------


def test_usage_is_invoiced_through_stripe_once_and_paid_by_webhook(
    client: Client, fake_stripe: Any, brand_bob: Any, request_due: LicenseRequest, next_month: Any
) -> None:
    lic, month = closed_month_with_usage(client, fake_stripe, brand_bob, request_due, next_month)
    [invoice] = invoices.invoices_issue(month=month)
    invoice.refresh_from_db()
    assert invoice.amount == 6_000 and invoice.stripe_invoice_id.startswith("in_")
    brand = lic.brand
    [customer] = fake_stripe.calls("POST", "/v1/customers")
    assert customer.idempotency_key == f"customer:{brand.pk}"
    [created] = fake_stripe.calls("POST", "/v1/invoices")
    assert created.idempotency_key == f"invoice:{invoice.pk}"
    assert created.params["collection_method"] == "send_invoice"
    assert created.params["metadata"]["invoice_id"] == str(invoice.pk)
    [item] = fake_stripe.calls("POST", "/v1/invoiceitems")
    line = invoice.lines.get()
    assert item.idempotency_key == f"invoice-item:{invoice.pk}:{line.pk}"
    assert (item.params["amount"], item.params["invoice"]) == ("6000", invoice.stripe_invoice_id)
    assert len(fake_stripe.calls("POST", f"/v1/invoices/{invoice.stripe_invoice_id}/finalize")) == 1
    assert len(fake_stripe.calls("POST", f"/v1/invoices/{invoice.stripe_invoice_id}/send")) == 1
    posts = len([r for r in fake_stripe.requests if r.method == "POST"])
    invoices.invoices_issue(month=month)  # again: nothing new at Stripe
    assert len([r for r in fake_stripe.requests if r.method == "POST"]) == posts

    deliver(client, fake_stripe.pay_invoice(invoice.stripe_invoice_id))
    invoice.refresh_from_db()
    assert invoice.status == "paid" and invoice.charge_id.startswith("ch_")
    assert balance("brand_receivable", brand=brand) == 0
    assert CashMovement.objects.filter(
        entry__kind="invoice_payment", source=invoice.charge_id
    ).exists()
    balances_are_sound()


def test_an_overdue_invoice_suspends_until_paid_by_webhook(
    client: Client,
    fake_stripe: Any,
    brand_bob: Any,
    request_due: LicenseRequest,
    next_month: Any,
    settings: Any,
) -> None:
    lic, month = closed_month_with_usage(client, fake_stripe, brand_bob, request_due, next_month)
    [invoice] = invoices.invoices_issue(month=month)
    settings.TIMBRE_INVOICE_GRACE_DAYS = 7
    assert invoices.invoices_enforce(now=invoice.due_at + timedelta(days=6)) == 0
    assert invoices.invoices_enforce(now=invoice.due_at + timedelta(days=8)) == 1
    lic.refresh_from_db()
    assert lic.status_at() == "suspended"
    invoice.refresh_from_db()
    deliver(client, fake_stripe.pay_invoice(invoice.stripe_invoice_id))
    lic.refresh_from_db()
    assert lic.status_at() == "active"


# --- Connect and payouts ----------------------------------------------------------------


def test_a_payee_onboards_to_connect_once(
    client: Client,
    fake_stripe: Any,
    brand_bob: Any,
    performer_alice: Any,
    request_due: LicenseRequest,
) -> None:
    paid(client, fake_stripe, brand_bob, request_due)  # makes Alice a payee
    client.force_login(performer_alice.user)
    payee = payee_of(performer_alice.user)
    first = client.post("/studio/payouts/connect/", {"payee": payee.pk})
    again = client.post("/studio/payouts/connect/", {"payee": payee.pk})
    assert first.status_code == again.status_code == 302
    [account] = fake_stripe.calls("POST", "/v1/accounts")
    assert account.idempotency_key == f"connect-account:{payee.pk}"
    assert account.params["type"] == "express"
    assert account.params["capabilities"] == {"transfers": {"requested": "true"}}
    links = fake_stripe.calls("POST", "/v1/account_links")
    assert len(links) == 2 and links[0].params["type"] == "account_onboarding"
    assert links[0].params["return_url"].endswith(f"/studio/payouts/connect/{payee.pk}/return/")
    assert links[0].params["refresh_url"].endswith(f"/studio/payouts/connect/{payee.pk}/refresh/")
    connected = ConnectedAccount.objects.get()
    ready = fake_stripe.account_ready(connected.stripe_account_id)
    older = dict(ready, id="evt_older", created=ready["created"] - 60)
    older["data"] = {
        "object": dict(ready["data"]["object"], capabilities={"transfers": "inactive"})
    }
    deliver(client, ready)
    deliver(client, older)  # an older snapshot arriving late changes nothing
    connected.refresh_from_db()
    assert connected.transfers_active and connected.details_submitted
    # Someone else cannot start onboarding for Alice.
    client.force_login(brand_bob)
    assert client.post("/studio/payouts/connect/", {"payee": payee.pk}).status_code == 404


def test_a_payout_run_makes_one_transfer_per_payee_with_a_stable_key(
    client: Client,
    fake_stripe: Any,
    brand_bob: Any,
    performer_alice: Any,
    request_due: LicenseRequest,
    next_month: Any,
) -> None:
    _, month = closed_month_with_usage(client, fake_stripe, brand_bob, request_due, next_month)
    account = connected(client, fake_stripe, performer_alice.user)
    run = payouts.payout_run(month=month)
    payout = Payout.objects.get()
    assert run.paid == 1 and payout.status == "paid"
    [call] = fake_stripe.calls("POST", "/v1/transfers")
    assert call.idempotency_key == f"payout:{payout.pk}"
    assert call.params == {
        "amount": str(45_000 + 14_400),
        "currency": "usd",
        "destination": account.stripe_account_id,
        "transfer_group": f"period-{month:%Y-%m}",
        "description": f"Royalties {month:%Y-%m}",
        "metadata": {"payout_id": str(payout.pk), "payee_id": str(payout.payee_id)},
    }
    assert balance("payee_payable", payee=payout.payee) == 0
    payouts.payout_run(month=month)  # again: nobody is paid twice
    assert len(fake_stripe.calls("POST", "/v1/transfers")) == 1
    balances_are_sound()


def test_a_payee_without_a_ready_account_waits(
    client: Client, fake_stripe: Any, brand_bob: Any, request_due: LicenseRequest, next_month: Any
) -> None:
    _, month = closed_month_with_usage(client, fake_stripe, brand_bob, request_due, next_month)
    run = payouts.payout_run(month=month)
    assert run.waiting == 1 and not Payout.objects.exists()
    assert not fake_stripe.calls("POST", "/v1/transfers")


def test_a_failed_transfer_books_nothing_and_is_paid_next_run(
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
        "/v1/transfers",
        400,
        {"type": "invalid_request_error", "code": "balance_insufficient", "message": "No funds."},
    )
    run = payouts.payout_run(month=month)
    failed = Payout.objects.get()
    assert run.failed == 1 and failed.status == "failed" and "No funds" in failed.error
    payee = failed.payee
    assert balance("payee_payable", payee=payee) == -(45_000 + 14_400)
    # The next run (same month, rerun by the operator, or next month's) pays it.
    payouts.payout_run(month=month)
    paid_now = Payout.objects.get(status="paid")
    assert paid_now.amount == failed.amount and balance("payee_payable", payee=payee) == 0
    keys = [c.idempotency_key for c in fake_stripe.calls("POST", "/v1/transfers")]
    assert keys == [f"payout:{failed.pk}", f"payout:{paid_now.pk}"]
    balances_are_sound()


def test_a_reversed_transfer_is_reversed_in_the_ledger_and_paid_again(
    client: Client,
    fake_stripe: Any,
    brand_bob: Any,
    performer_alice: Any,
    request_due: LicenseRequest,
    next_month: Any,
) -> None:
    _, month = closed_month_with_usage(client, fake_stripe, brand_bob, request_due, next_month)
    connected(client, fake_stripe, performer_alice.user)
    payouts.payout_run(month=month)
    payout = Payout.objects.get()
    reversed_ = fake_stripe.reverse_transfer(payout.transfer_id)
    deliver(client, reversed_)
    deliver(client, reversed_)
    payout.refresh_from_db()
    assert payout.status == "reversed"
    assert balance("payee_payable", payee=payout.payee) == -payout.amount
    source = CashMovement.objects.get(entry__kind="payout_reversal").source
    assert source.startswith("trr_")
    payouts.payout_run(month=month)
    assert Payout.objects.filter(status="paid").get().amount == payout.amount
    assert balance("payee_payable", payee=payout.payee) == 0
    balances_are_sound()


def test_an_interrupted_payout_is_found_at_stripe_not_sent_again(
    client: Client,
    fake_stripe: Any,
    brand_bob: Any,
    performer_alice: Any,
    request_due: LicenseRequest,
    next_month: Any,
) -> None:
    _, month = closed_month_with_usage(client, fake_stripe, brand_bob, request_due, next_month)
    connected(client, fake_stripe, performer_alice.user)

    def lose_the_answer(rec: Any) -> None:
        if rec.method == "POST" and rec.path == "/v1/transfers":
            raise ConnectionResetError("the worker died before reading the answer")

    fake_stripe.after = lose_the_answer
    run = payouts.payout_run(month=month)
    assert run.paid == 0 and run.failed == 0
    fake_stripe.after = None
    fake_stripe.errors.clear()
    payout = Payout.objects.get()
    assert payout.status == "sending"  # the outcome is unknown: nothing is booked
    assert balance("payee_payable", payee=payout.payee) == -payout.amount
    posts = len(fake_stripe.calls("POST", "/v1/transfers"))
    payouts.payout_run(month=month)
    payout.refresh_from_db()
    assert payout.status == "paid"
    assert len(fake_stripe.calls("POST", "/v1/transfers")) == posts  # found, not sent again
    assert fake_stripe.calls("GET", "/v1/transfers")
    assert len([o for o in fake_stripe.objects.values() if o.get("object") == "transfer"]) == 1
    assert balance("payee_payable", payee=payout.payee) == 0
    balances_are_sound()


# --- reconciliation -----------------------------------------------------------------------


def test_reconcile_passes_on_clean_data_and_reports_a_planted_mismatch(
    client: Client,
    fake_stripe: Any,
    brand_bob: Any,
    performer_alice: Any,
    request_due: LicenseRequest,
    voice: Any,
) -> None:
    from tests.payments.helpers import awaiting

    paid(client, fake_stripe, brand_bob, request_due)
    second = awaiting(voice, brand_bob, upfront_fee=20_000, minimum_guarantee=0)
    lic2 = paid(client, fake_stripe, brand_bob, second)
    deliver(client, fake_stripe.refund(FeePayment.objects.get(license=lic2).charge_id, 5_000))
    period = f"{this_month():%Y-%m}"

    out = io.StringIO()
    call_command("reconcile", "--period", period, stdout=out)
    text = out.getvalue()
    assert "0 mismatched" in text and "MISMATCH" not in text
    # 2 charges and 1 refund, each matched to the cent net of Stripe's fees.
    assert "3 matched" in text

    planted = fake_stripe.add_balance_transaction(
        type="adjustment", amount=-777, source="adj_planted", currency="usd"
    )
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("reconcile", "--period", period, stdout=out)
    assert exit_.value.code == 1
    assert f"MISMATCH {planted['source']}: missing from the ledger (stripe -777, ledger None)" in (
        out.getvalue()
    )


def test_a_checkout_session_never_outlives_its_request(
    client: Client, fake_stripe: Any, brand_bob: Any, request_due: LicenseRequest
) -> None:
    from django.utils import timezone

    soon = timezone.now() + timedelta(hours=2)
    LicenseRequest.objects.filter(pk=request_due.pk).update(expires_at=soon)
    pay(client, brand_bob, request_due)
    [call] = fake_stripe.calls("POST", "/v1/checkout/sessions")
    assert call.params["expires_at"] == str(int(soon.timestamp()))

    LicenseRequest.objects.filter(pk=request_due.pk).update(
        expires_at=timezone.now() + timedelta(minutes=10)
    )
    FeePayment.objects.update(status="expired")
    request_due.refresh_from_db()
    with pytest.raises(ValidationError, match="lapses within 30 minutes"):
        fees.fee_checkout_start(
            actor=brand_bob, request=request_due, success_url="http://x/", cancel_url="http://x/"
        )
    assert len(fake_stripe.calls("POST", "/v1/checkout/sessions")) == 1


def test_stripe_secrets_never_reach_logs_or_pages(
    client: Client,
    fake_stripe: Any,
    brand_bob: Any,
    request_due: LicenseRequest,
    caplog: Any,
) -> None:
    import logging

    from tests.payments.helpers import WEBHOOK_SECRET

    caplog.set_level(logging.DEBUG)
    payment = pay(client, brand_bob, request_due)
    deliver(client, fake_stripe.complete_checkout(payment.checkout_session_id))
    page = client.get(f"/brands/{request_due.brand.slug}/billing/").content.decode()
    assert License.objects.exists()
    for secret in ("sk_test_timbre", WEBHOOK_SECRET):
        assert secret not in caplog.text and secret not in page


def test_the_operators_month_end_invoices_and_starts_the_payout_run(
    client: Client,
    fake_stripe: Any,
    brand_bob: Any,
    performer_alice: Any,
    request_due: LicenseRequest,
    next_month: Any,
    operator: Any,
) -> None:
    lic = paid(client, fake_stripe, brand_bob, request_due)
    record(lic, 80)
    month = this_month()
    connected(client, fake_stripe, performer_alice.user)
    next_month()
    client.force_login(operator)
    response = client.post(
        "/operations/payments/", {"action": "month-end", "month": f"{month:%Y-%m}"}, follow=True
    )
    assert "the payout run has started" in response.content.decode()
    invoice = Invoice.objects.get()
    assert invoice.stripe_invoice_id and invoice.amount == 6_000
    assert Payout.objects.get().status == "paid"
    page = client.get("/operations/payments/").content.decode()
    assert invoice.number in page and "Stripe invoice" in page
