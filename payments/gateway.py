"""Every call to Stripe goes through this module, with the official `stripe` library.

Each call that creates something carries an idempotency key made of our own ids, so a
retried task (or a worker killed mid-call and run again) never charges or pays twice.
Stripe keeps idempotency keys for 24 hours; payouts also look for the transfer they may
already have made (by transfer group and our id in metadata) before making one.

Answers are returned as plain dicts: nothing outside this module touches Stripe types.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

import stripe
from django.conf import settings

if TYPE_CHECKING:
    from stripe.params import AccountCreateParams
    from stripe.params.checkout import SessionCreateParams, SessionCreateParamsLineItem

    from payments.models import FeePayment, Invoice, InvoiceLine, Payout

_lock = threading.Lock()
_clients: dict[tuple[str, str], stripe.StripeClient] = {}

SignatureError = stripe.SignatureVerificationError
StripeError = stripe.StripeError


def outcome_unknown(exc: Exception) -> bool:
    """Whether Stripe may have done what a failed call asked: a lost connection, or an
    error on Stripe's side (5xx) or a rate limit, after the library's own retries."""
    status = getattr(exc, "http_status", None)
    return isinstance(exc, stripe.APIConnectionError | stripe.RateLimitError) or (
        isinstance(status, int) and status >= 500
    )


def client() -> stripe.StripeClient:
    """One client per key and address (threads share it; Stripe's client is thread-safe)."""
    key, base = settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE
    with _lock:
        found = _clients.get((key, base))
        if found is None:
            addresses: Any = {"api": base, "connect": base} if base else None
            found = stripe.StripeClient(key, base_addresses=addresses, max_network_retries=2)
            _clients[(key, base)] = found
        return found


def _dict(obj: Any) -> dict[str, Any]:
    return obj.to_dict()


def _created(key: str) -> stripe.RequestOptions:
    return {"idempotency_key": key}


def verify_signature(payload: bytes, signature: str | None) -> None:
    """Check the Stripe-Signature header over the exact body (300 s tolerance), as the
    stripe library does; raise SignatureError if it does not hold."""
    if not signature:
        raise SignatureError("no Stripe-Signature header", signature, payload.decode("latin-1"))
    stripe.WebhookSignature.verify_header(
        payload.decode("utf-8"), signature, settings.STRIPE_WEBHOOK_SECRET, tolerance=300
    )


# --- license fees: Checkout --------------------------------------------------------


def checkout_session_create(
    payment: FeePayment,
    *,
    title: str,
    email: str,
    success_url: str,
    cancel_url: str,
    expires_at: datetime | None = None,
) -> dict[str, Any]:
    ours = {"fee_payment_id": str(payment.pk), "request_id": str(payment.request_id)}
    items: list[SessionCreateParamsLineItem] = [
        {
            "price_data": {
                "currency": payment.currency.lower(),
                "unit_amount": payment.upfront_fee,
                "product_data": {"name": f"License fee: {title}"},
            },
            "quantity": 1,
        }
    ]
    if payment.minimum_guarantee:
        items.append(
            {
                "price_data": {
                    "currency": payment.currency.lower(),
                    "unit_amount": payment.minimum_guarantee,
                    "product_data": {"name": "Minimum guarantee (an advance on royalties)"},
                },
                "quantity": 1,
            }
        )
    items = [item for item in items if item["price_data"]["unit_amount"]]
    params: SessionCreateParams = {
        "mode": "payment",
        "line_items": items,
        "success_url": success_url,
        "cancel_url": cancel_url,
        "client_reference_id": str(payment.request_id),
        "metadata": ours,
        "payment_intent_data": {"metadata": ours},
    }
    if email:
        params["customer_email"] = email
    if expires_at is not None:
        params["expires_at"] = int(expires_at.timestamp())
    session = client().v1.checkout.sessions.create(
        params=params,
        options=_created(f"license-fee:{payment.request_id}:{payment.pk}"),
    )
    return _dict(session)


def checkout_session_expire(session_id: str) -> dict[str, Any]:
    return _dict(client().v1.checkout.sessions.expire(session_id))


def checkout_session_get(session_id: str) -> dict[str, Any]:
    return _dict(client().v1.checkout.sessions.retrieve(session_id))


def charge_of_payment_intent(payment_intent_id: str) -> dict[str, Any]:
    """The charge that paid, with its balance transaction (for Stripe's fee)."""
    intent = client().v1.payment_intents.retrieve(
        payment_intent_id,
        params={"expand": ["latest_charge.balance_transaction"]},
    )
    return _dict(intent)["latest_charge"]


def refunds_of_charge(charge_id: str) -> list[dict[str, Any]]:
    """Every refund of a charge (events no longer carry them), oldest first."""
    charge = _dict(client().v1.charges.retrieve(charge_id, params={"expand": ["refunds"]}))
    refunds = (charge.get("refunds") or {}).get("data") or []
    return sorted(refunds, key=lambda refund: (refund["created"], refund["id"]))


def charge_of_invoice(invoice_id: str) -> dict[str, Any] | None:
    """The charge that paid an invoice: invoices name their payments' PaymentIntents."""
    invoice = _dict(client().v1.invoices.retrieve(invoice_id, params={"expand": ["payments"]}))
    for payment in (invoice.get("payments") or {}).get("data", []):
        intent = (payment.get("payment") or {}).get("payment_intent")
        if payment.get("status") == "paid" and intent:
            return charge_of_payment_intent(intent if isinstance(intent, str) else intent["id"])
    return None


# --- usage invoices --------------------------------------------------------------------


def customer_create(*, brand_id: int, name: str, email: str) -> str:
    customer = client().v1.customers.create(
        params={"name": name, "email": email, "metadata": {"brand_id": str(brand_id)}},
        options=_created(f"customer:{brand_id}"),
    )
    return str(customer.id)


def invoice_create(invoice: Invoice, lines: list[InvoiceLine], *, days_until_due: int) -> dict:
    """A Stripe Invoice with an item per license, finalized and sent to the brand."""
    api = client().v1
    created = api.invoices.create(
        params={
            "customer": invoice.stripe_customer_id,
            "currency": invoice.currency.lower(),
            "collection_method": "send_invoice",
            "days_until_due": days_until_due,
            "auto_advance": False,
            "pending_invoice_items_behavior": "exclude",
            "description": f"Voice usage royalties, {invoice.month:%B %Y}",
            "metadata": {"invoice_id": str(invoice.pk), "number": invoice.number},
        },
        options=_created(f"invoice:{invoice.pk}"),
    )
    for line in lines:
        api.invoice_items.create(
            params={
                "customer": invoice.stripe_customer_id,
                "invoice": created.id,
                "amount": line.amount,
                "currency": invoice.currency.lower(),
                "description": line.label,
                "metadata": {
                    "invoice_id": str(invoice.pk),
                    "license_id": line.license.license_id if line.license else "",
                },
            },
            options=_created(f"invoice-item:{invoice.pk}:{line.pk}"),
        )
    api.invoices.finalize_invoice(
        created.id, params={"auto_advance": False}, options=_created(f"invoice-final:{invoice.pk}")
    )
    sent = api.invoices.send_invoice(created.id, options=_created(f"invoice-send:{invoice.pk}"))
    return _dict(sent)


# --- Connect: payees' accounts ---------------------------------------------------------


def account_create(*, payee_id: int, email: str) -> dict[str, Any]:
    """A v1 Express account that can receive transfers (the payee is paid, never charges).
    Stripe's hosted onboarding asks the payee for their country and bank details."""
    params: AccountCreateParams = {
        "type": "express",
        "capabilities": {"transfers": {"requested": True}},
        "metadata": {"payee_id": str(payee_id)},
    }
    if email:
        params["email"] = email
    account = client().v1.accounts.create(
        params=params, options=_created(f"connect-account:{payee_id}")
    )
    return _dict(account)


def account_get(account_id: str) -> dict[str, Any]:
    return _dict(client().v1.accounts.retrieve(account_id))


def account_link_create(account_id: str, *, refresh_url: str, return_url: str) -> str:
    link = client().v1.account_links.create(
        params={
            "account": account_id,
            "refresh_url": refresh_url,
            "return_url": return_url,
            "type": "account_onboarding",
        }
    )
    return str(link.url)


# --- payouts: transfers ----------------------------------------------------------------


def transfer_find(payout: Payout) -> dict[str, Any] | None:
    """The transfer already made for this payout, if any (after a crash mid-call)."""
    listed = client().v1.transfers.list(
        params={"transfer_group": payout.transfer_group, "destination": payout.destination}
    )
    for found in listed.auto_paging_iter():
        transfer = _dict(found)
        if (transfer.get("metadata") or {}).get("payout_id") == str(payout.pk):
            return transfer
    return None


def transfer_get(transfer_id: str) -> dict[str, Any]:
    """A transfer with its reversals."""
    return _dict(client().v1.transfers.retrieve(transfer_id))


def transfer_create(payout: Payout) -> dict[str, Any]:
    transfer = client().v1.transfers.create(
        params={
            "amount": payout.amount,
            "currency": payout.currency.lower(),
            "destination": payout.destination,
            "transfer_group": payout.transfer_group,
            "description": f"Royalties {payout.month:%Y-%m}",
            "metadata": {"payout_id": str(payout.pk), "payee_id": str(payout.payee_id)},
        },
        options=_created(payout.idempotency_key),
    )
    return _dict(transfer)


# --- reconciliation --------------------------------------------------------------------


def balance_transactions(start: datetime, end: datetime) -> Iterator[dict[str, Any]]:
    listed = client().v1.balance_transactions.list(
        params={
            "created": {"gte": int(start.timestamp()), "lt": int(end.timestamp())},
            "limit": 100,
        }
    )
    for txn in listed.auto_paging_iter():
        yield _dict(txn)
