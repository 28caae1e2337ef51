"""The local Stripe answers the real ``stripe`` library the way Stripe's API does."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
import stripe

from tests.payments.stripe_fake import (
    DISPUTE_FEE,
    FakeStripe,
    Recorded,
    decode_params,
    encode_event,
    sign,
    stripe_fee,
)

NOW = 1_760_000_000
SECRET = "whsec_test_secret"


@pytest.fixture
def fake() -> Iterator[FakeStripe]:
    with FakeStripe() as server:
        server.clock = lambda: NOW
        yield server


@pytest.fixture
def client(fake: FakeStripe) -> stripe.StripeClient:
    return stripe.StripeClient(
        "sk_test_fake", base_addresses={"api": fake.url}, max_network_retries=0
    )


def checkout_params(**extra: Any) -> dict[str, Any]:
    return {
        "mode": "payment",
        "line_items": [
            {
                "quantity": 2,
                "price_data": {
                    "currency": "usd",
                    "unit_amount": 25_000,
                    "product_data": {"name": "License fee"},
                },
            }
        ],
        "success_url": "https://timbre.test/paid",
        "cancel_url": "https://timbre.test/cancel",
        "client_reference_id": "request-42",
        "metadata": {"request": "42"},
        "payment_intent_data": {"metadata": {"request": "42"}},
        **extra,
    }


def paid_charge(fake: FakeStripe, client: stripe.StripeClient) -> dict[str, Any]:
    session = client.v1.checkout.sessions.create(params=checkout_params())
    event = fake.complete_checkout(session.id)
    pi = fake.objects[event["data"]["object"]["payment_intent"]]
    return fake.objects[pi["latest_charge"]]


def ready_account(fake: FakeStripe, client: stripe.StripeClient) -> str:
    account = client.v1.accounts.create(
        params={
            "type": "express",
            "country": "US",
            "capabilities": {"transfers": {"requested": True}},
        }
    )
    fake.account_ready(account.id)
    return account.id


def test_params_decode_like_stripe_encodes_them() -> None:
    decoded = decode_params(
        "line_items[0][price_data][currency]=usd&line_items[0][quantity]=2"
        "&line_items[1][quantity]=1&expand[]=a&expand[]=b&metadata[0]=zero&created[gte]=5"
    )
    assert decoded == {
        "line_items": [{"price_data": {"currency": "usd"}, "quantity": "2"}, {"quantity": "1"}],
        "expand": ["a", "b"],
        "metadata": {"0": "zero"},
        "created": {"gte": "5"},
    }


def test_checkout_session_is_created_and_completed(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    session = client.v1.checkout.sessions.create(
        params=checkout_params(customer_email="brand@example.com"),
        options={"idempotency_key": "checkout-42"},
    )
    assert session.id.startswith("cs_test_")
    assert session.object == "checkout.session"
    assert (session.livemode, session.created, session.expires_at) == (False, NOW, NOW + 86_400)
    assert (session.amount_total, session.currency) == (50_000, "usd")
    assert (session.status, session.payment_status, session.payment_intent) == (
        "open",
        "unpaid",
        None,
    )
    assert session.url == f"https://checkout.stripe.test/c/pay/{session.id}"
    assert session.metadata.to_dict() == {"request": "42"}
    assert session.client_reference_id == "request-42"
    (call,) = fake.calls("POST", "/v1/checkout/sessions")
    assert call.idempotency_key == "checkout-42"
    assert call.params["line_items"][0]["price_data"]["product_data"] == {"name": "License fee"}
    assert call.headers["authorization"] == "Bearer sk_test_fake"
    assert call.status == 200

    event = fake.complete_checkout(session.id, created=NOW + 60)
    assert event["id"].startswith("evt_")
    assert {k: event[k] for k in ("object", "api_version", "created", "livemode", "type")} == {
        "object": "event",
        "api_version": stripe.api_version,
        "created": NOW + 60,
        "livemode": False,
        "type": "checkout.session.completed",
    }
    assert event["request"] == {"id": None, "idempotency_key": None}
    completed = event["data"]["object"]
    assert (completed["status"], completed["payment_status"]) == ("complete", "paid")
    assert completed["payment_intent"].startswith("pi_")

    pi = client.v1.payment_intents.retrieve(
        completed["payment_intent"], params={"expand": ["latest_charge.balance_transaction"]}
    )
    assert (pi.status, pi.amount, pi.amount_received) == ("succeeded", 50_000, 50_000)
    assert pi.metadata.to_dict() == {"request": "42"}
    charge = pi.latest_charge
    assert isinstance(charge, stripe.Charge)
    assert charge.id.startswith("ch_") and charge.paid and charge.amount == 50_000
    txn = charge.balance_transaction
    assert isinstance(txn, stripe.BalanceTransaction)
    assert txn.id.startswith("txn_")
    fee = round(50_000 * 0.029) + 30
    assert (txn.type, txn.reporting_category, txn.source, txn.created) == (
        "charge",
        "charge",
        charge.id,
        NOW + 60,
    )
    assert (txn.amount, txn.fee, txn.net, txn.currency) == (50_000, fee, 50_000 - fee, "usd")
    assert client.v1.checkout.sessions.retrieve(session.id).status == "complete"
    with pytest.raises(ValueError, match="not open"):
        fake.complete_checkout(session.id)


def test_delayed_payment_and_expiry(fake: FakeStripe, client: stripe.StripeClient) -> None:
    session = client.v1.checkout.sessions.create(params=checkout_params())
    event = fake.complete_checkout(session.id, paid=False)
    assert event["data"]["object"]["payment_status"] == "unpaid"
    pi = fake.objects[event["data"]["object"]["payment_intent"]]
    assert (pi["status"], pi["latest_charge"]) == ("processing", None)
    settled = fake.settle_checkout(session.id)
    assert settled["type"] == "checkout.session.async_payment_succeeded"
    assert settled["data"]["object"]["payment_status"] == "paid"
    assert fake.objects[pi["latest_charge"]]["paid"] is True

    other = client.v1.checkout.sessions.create(params=checkout_params())
    expired = client.v1.checkout.sessions.expire(other.id)
    assert (expired.status, expired.url) == ("expired", None)
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.checkout.sessions.expire(other.id)
    assert fake.events[-1]["type"] == "checkout.session.expired"


def test_idempotent_replay_returns_the_first_answer_and_creates_nothing(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    first = client.v1.checkout.sessions.create(
        params=checkout_params(), options={"idempotency_key": "same"}
    )
    again = client.v1.checkout.sessions.create(
        params=checkout_params(), options={"idempotency_key": "same"}
    )
    assert again.id == first.id
    calls = fake.calls("POST", "/v1/checkout/sessions")
    assert [c.replayed for c in calls] == [False, True]
    sessions = [o for o in fake.objects.values() if o["object"] == "checkout.session"]
    assert len(sessions) == 1

    with pytest.raises(stripe.IdempotencyError) as raised:
        client.v1.checkout.sessions.create(
            params=checkout_params(client_reference_id="request-43"),
            options={"idempotency_key": "same"},
        )
    assert raised.value.http_status == 400
    assert "same parameters" in str(raised.value.user_message)
    assert len([o for o in fake.objects.values() if o["object"] == "checkout.session"]) == 1


def test_injected_failure_is_not_replayed_but_a_lost_answer_is(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    fake.fail_next("POST", "/v1/customers", 500, {"type": "api_error", "message": "boom"})
    with pytest.raises(stripe.APIError):
        client.v1.customers.create(params={"name": "Bob"}, options={"idempotency_key": "c1"})
    created = client.v1.customers.create(params={"name": "Bob"}, options={"idempotency_key": "c1"})
    assert created.id.startswith("cus_")

    lost = [True]

    def drop_answer(rec: Recorded) -> None:
        if lost:
            lost.pop()
            raise ConnectionError("answer lost")

    fake.after = drop_answer
    with pytest.raises(stripe.APIConnectionError):
        client.v1.customers.create(params={"name": "Eve"}, options={"idempotency_key": "c2"})
    retried = client.v1.customers.create(params={"name": "Eve"}, options={"idempotency_key": "c2"})
    assert fake.calls("POST", "/v1/customers")[-1].replayed
    assert [o["name"] for o in fake.objects.values() if o["object"] == "customer"] == [
        "Bob",
        "Eve",
    ]
    assert retried.name == "Eve"


def test_concurrent_request_with_the_same_key_conflicts(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    arrived, release = threading.Event(), threading.Event()

    def hold_first(rec: Recorded) -> None:
        if not arrived.is_set():
            arrived.set()
            release.wait(5)

    fake.before = hold_first
    results: list[Any] = []
    first = threading.Thread(
        target=lambda: results.append(
            client.v1.customers.create(params={"name": "A"}, options={"idempotency_key": "k"})
        )
    )
    first.start()
    assert arrived.wait(5)
    with pytest.raises(stripe.APIError) as raised:
        client.v1.customers.create(params={"name": "A"}, options={"idempotency_key": "k"})
    assert raised.value.http_status == 409
    assert raised.value.error.code == "idempotency_key_in_use"
    release.set()
    first.join(5)
    assert results[0].id.startswith("cus_")


def test_transfers_need_an_active_account_and_list_by_group(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    account = client.v1.accounts.create(
        params={
            "type": "express",
            "country": "US",
            "email": "alice@example.com",
            "capabilities": {"transfers": {"requested": True}},
        }
    )
    assert account.id.startswith("acct_")
    assert account.capabilities.to_dict() == {"transfers": "inactive"}
    assert (account.details_submitted, account.payouts_enabled) == (False, False)
    link = client.v1.account_links.create(
        params={
            "account": account.id,
            "refresh_url": "https://timbre.test/r",
            "return_url": "https://timbre.test/done",
            "type": "account_onboarding",
        }
    )
    assert link.object == "account_link"
    assert link.url.startswith(f"https://connect.stripe.test/setup/e/{account.id}/")

    transfer = {"amount": 4_500, "currency": "usd", "destination": account.id}
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.transfers.create(params={**transfer, "transfer_group": "june"})
    assert raised.value.code == "insufficient_capabilities_for_transfer"
    assert fake.calls("POST", "/v1/transfers")[0].status == 400
    assert not [o for o in fake.objects.values() if o["object"] == "transfer"]

    event = fake.account_ready(account.id)
    assert (event["type"], event["account"]) == ("account.updated", account.id)
    assert event["data"]["object"]["capabilities"]["transfers"] == "active"
    assert event["data"]["previous_attributes"]["capabilities"] == {"transfers": "inactive"}

    june = [
        client.v1.transfers.create(params={**transfer, "transfer_group": "june"}) for _ in range(3)
    ]
    client.v1.transfers.create(params={**transfer, "transfer_group": "july"})
    listed = client.v1.transfers.list(params={"transfer_group": "june", "limit": 2})
    assert listed.object == "list" and listed.url == "/v1/transfers" and listed.has_more
    assert [t.id for t in listed.data] == [june[2].id, june[1].id]
    everything = client.v1.transfers.list(params={"transfer_group": "june"}).auto_paging_iter()
    assert [t.id for t in everything] == [t.id for t in reversed(june)]
    assert client.v1.transfers.retrieve(june[0].id).destination == account.id

    txn = fake.objects[june[0].balance_transaction]
    assert (txn["type"], txn["source"], txn["amount"], txn["fee"], txn["net"]) == (
        "transfer",
        june[0].id,
        -4_500,
        0,
        -4_500,
    )
    reversed_event = fake.reverse_transfer(june[0].id)
    assert reversed_event["type"] == "transfer.reversed"
    reversed_transfer = reversed_event["data"]["object"]
    assert (reversed_transfer["reversed"], reversed_transfer["amount_reversed"]) == (True, 4_500)
    reversal = reversed_transfer["reversals"]["data"][0]
    assert reversal["id"].startswith("trr_")
    back = fake.objects[reversal["balance_transaction"]]
    assert (back["type"], back["source"], back["amount"]) == (
        "transfer_refund",
        reversal["id"],
        4_500,
    )


def test_balance_transactions_page_through_created_filters(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    for i in range(250):
        fake.add_balance_transaction(type="charge", amount=100 + i, created=NOW - 1_000 + i)
    fake.add_balance_transaction(type="payout", amount=-5, created=NOW - 900)

    pages = client.v1.balance_transactions.list(
        params={"created": {"gte": NOW - 980, "lt": NOW - 760}, "type": "charge", "limit": 100}
    )
    seen = list(pages.auto_paging_iter())
    assert len(seen) == 220
    assert [t.created for t in seen] == list(range(NOW - 761, NOW - 981, -1))
    assert len({t.id for t in seen}) == 220
    calls = fake.calls("GET", "/v1/balance_transactions")
    assert len(calls) == 3
    assert calls[1].query["starting_after"] == seen[99].id
    assert calls[1].query["created"] == {"gte": str(NOW - 980), "lt": str(NOW - 760)}

    newest = client.v1.balance_transactions.list(params={"created": {"gt": NOW - 754}})
    assert [t.amount for t in newest.data] == [349, 348, 347]
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.balance_transactions.list(params={"limit": 101})


def test_refunds_and_disputes_move_money(fake: FakeStripe, client: stripe.StripeClient) -> None:
    charge = paid_charge(fake, client)
    event = fake.refund(charge["id"], 10_000)
    assert event["type"] == "charge.refunded"
    refunded = event["data"]["object"]
    assert (refunded["refunded"], refunded["amount_refunded"]) == (False, 10_000)
    refund = client.v1.refunds.create(params={"payment_intent": charge["payment_intent"]})
    assert (refund.object, refund.amount, refund.status) == ("refund", 40_000, "succeeded")
    txn = fake.objects[refund.balance_transaction]
    assert (txn["type"], txn["source"], txn["amount"]) == ("refund", refund.id, -40_000)
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.refunds.create(params={"charge": charge["id"]})
    assert raised.value.code == "charge_already_refunded"
    expanded = client.v1.charges.retrieve(charge["id"], params={"expand": ["refunds"]})
    assert expanded.refunded and len(expanded.refunds.data) == 2

    disputed = paid_charge(fake, client)
    opened = fake.dispute(disputed["id"])
    dispute = opened["data"]["object"]
    assert (opened["type"], dispute["status"], dispute["amount"]) == (
        "charge.dispute.created",
        "needs_response",
        50_000,
    )
    (withdrawal,) = dispute["balance_transactions"]
    assert (withdrawal["type"], withdrawal["source"], withdrawal["amount"]) == (
        "adjustment",
        dispute["id"],
        -50_000,
    )
    assert (withdrawal["fee"], withdrawal["net"]) == (DISPUTE_FEE, -50_000 - DISPUTE_FEE)
    closed = fake.close_dispute(dispute["id"], "won")
    assert (closed["type"], closed["data"]["object"]["status"]) == ("charge.dispute.closed", "won")
    assert closed["data"]["object"]["balance_transactions"][1]["amount"] == 50_000


def test_invoices_are_drafted_finalized_and_paid(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    customer = client.v1.customers.create(params={"name": "Bob Brand", "email": "bob@example.com"})
    invoice = client.v1.invoices.create(
        params={
            "customer": customer.id,
            "currency": "usd",
            "collection_method": "send_invoice",
            "days_until_due": 30,
            "metadata": {"license": "7"},
            "auto_advance": False,
        }
    )
    assert (invoice.id[:3], invoice.status, invoice.amount_due) == ("in_", "draft", 0)
    item = client.v1.invoice_items.create(
        params={
            "customer": customer.id,
            "invoice": invoice.id,
            "amount": 12_000,
            "currency": "usd",
            "description": "Minimum guarantee",
        }
    )
    assert item.id.startswith("ii_")
    invoice = client.v1.invoices.finalize_invoice(invoice.id)
    assert (invoice.status, invoice.amount_due, invoice.total) == ("open", 12_000, 12_000)
    assert invoice.number and invoice.hosted_invoice_url.startswith("https://invoice.stripe.test/")
    assert invoice.due_date == NOW + 30 * 86_400
    assert invoice.lines.data[0].parent.invoice_item_details.invoice_item == item.id
    client.v1.invoices.send_invoice(invoice.id)

    paid = fake.pay_invoice(invoice.id)
    assert paid["type"] == "invoice.paid"
    assert {
        k: paid["data"]["object"][k] for k in ("status", "amount_paid", "amount_remaining")
    } == {
        "status": "paid",
        "amount_paid": 12_000,
        "amount_remaining": 0,
    }
    (payment,) = client.v1.invoice_payments.list(params={"invoice": invoice.id}).data
    pi = client.v1.payment_intents.retrieve(
        payment.payment.payment_intent, params={"expand": ["latest_charge.balance_transaction"]}
    )
    txn = pi.latest_charge.balance_transaction
    assert (txn.type, txn.amount, txn.fee) == ("charge", 12_000, stripe_fee(12_000))
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.invoices.void_invoice(invoice.id)


def test_webhook_payload_signed_like_stripe(fake: FakeStripe, client: stripe.StripeClient) -> None:
    session = client.v1.checkout.sessions.create(params=checkout_params())
    payload = encode_event(fake.complete_checkout(session.id))
    header = sign(payload, SECRET)

    event = client.construct_event(payload, header, SECRET)
    assert (event.type, event.data.object.id) == ("checkout.session.completed", session.id)
    assert stripe.Webhook.construct_event(payload, header, SECRET).id == event.id
    t = int(header.split(",")[0][2:])
    assert header == stripe.WebhookSignature.generate_signature_header(
        payload.decode(), SECRET, timestamp=t
    )
    with pytest.raises(stripe.SignatureVerificationError):
        client.construct_event(payload.replace(b"complete", b"expired"), header, SECRET)
    with pytest.raises(stripe.SignatureVerificationError):
        client.construct_event(payload, sign(payload, SECRET, timestamp=t - 3_600), SECRET)


def test_unknown_ids_urls_and_parameters_are_stripe_errors(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.charges.retrieve("ch_missing")
    assert (raised.value.http_status, raised.value.code) == (404, "resource_missing")
    assert raised.value.user_message == "No such charge: 'ch_missing'"

    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.customers.create(params={"nmae": "typo"})
    assert (raised.value.code, raised.value.param) == ("parameter_unknown", "nmae")

    request = urllib.request.Request(  # noqa: S310 - a local URL
        f"{fake.url}/v1/nowhere", headers={"Authorization": "Bearer sk_test_fake"}
    )
    with pytest.raises(urllib.error.HTTPError) as http_error:
        urllib.request.urlopen(request, timeout=5)  # noqa: S310
    assert http_error.value.code == 404
    body = json.loads(http_error.value.read())
    assert body["error"]["type"] == "invalid_request_error"
    assert body["error"]["message"].startswith("Unrecognized request URL (GET: /v1/nowhere)")


def test_requests_without_a_test_key_are_rejected(fake: FakeStripe) -> None:
    live = stripe.StripeClient(
        "sk_live_not_here", base_addresses={"api": fake.url}, max_network_retries=0
    )
    with pytest.raises(stripe.AuthenticationError) as raised:
        live.v1.charges.retrieve("ch_any")
    assert raised.value.http_status == 401

    with pytest.raises(urllib.error.HTTPError) as http_error:
        urllib.request.urlopen(f"{fake.url}/v1/charges/ch_any", timeout=5)  # noqa: S310
    assert http_error.value.code == 401
    assert "did not provide an API key" in json.loads(http_error.value.read())["error"]["message"]
    assert [r.status for r in fake.requests] == [401, 401]
