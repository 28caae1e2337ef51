"""PaymentIntents and Charges: created when a customer pays (Checkout, an invoice),
each charge with its balance transaction and Stripe's processing fee."""

from __future__ import annotations

from tests.payments.stripe_fake.balance_transactions import BalanceTransactions
from tests.payments.stripe_fake.store import Route
from tests.payments.stripe_fake.wire import DAY, Obj

PAYMENT_INTENT_RETRIEVE = frozenset({"client_secret", "expand"})


def stripe_fee(amount: int) -> int:
    """Stripe's standard card fee: 2.9% (rounded half up) + 30."""
    return (abs(amount) * 29 + 500) // 1000 + 30


class Charges(BalanceTransactions):
    def _charge_routes(self) -> list[Route]:
        get = self._retriever
        return [
            ("GET", "/v1/payment_intents/{id}", get("payment_intent", PAYMENT_INTENT_RETRIEVE)),
            ("GET", "/v1/charges/{id}", get("charge")),
        ]

    def _new_payment_intent(
        self,
        *,
        amount: int,
        currency: str,
        created: int,
        status: str,
        customer: str | None = None,
        description: str | None = None,
        metadata: dict[str, str] | None = None,
        transfer_group: str | None = None,
    ) -> Obj:
        pi_id = self._new_id("pi_")
        pi: Obj = {
            "id": pi_id,
            "object": "payment_intent",
            "amount": amount,
            "amount_capturable": 0,
            "amount_details": {"tip": {}},
            "amount_received": amount if status == "succeeded" else 0,
            "application": None,
            "application_fee_amount": None,
            "automatic_payment_methods": None,
            "canceled_at": None,
            "cancellation_reason": None,
            "capture_method": "automatic_async",
            "client_secret": f"{pi_id}_secret_{self._rand(25)}",
            "confirmation_method": "automatic",
            "created": created,
            "currency": currency,
            "customer": customer,
            "description": description,
            "last_payment_error": None,
            "latest_charge": None,
            "livemode": False,
            "metadata": dict(metadata or {}),
            "next_action": None,
            "on_behalf_of": None,
            "payment_method": self._new_id("pm_"),
            "payment_method_configuration_details": None,
            "payment_method_options": {"card": {"request_three_d_secure": "automatic"}},
            "payment_method_types": ["card"],
            "processing": None,
            "receipt_email": None,
            "review": None,
            "setup_future_usage": None,
            "shipping": None,
            "source": None,
            "statement_descriptor": None,
            "statement_descriptor_suffix": None,
            "status": status,
            "transfer_data": None,
            "transfer_group": transfer_group,
        }
        self._store(pi)
        return pi

    def _new_charge(
        self, pi: Obj, *, created: int, email: str | None, description: str | None = None
    ) -> Obj:
        """A succeeded charge for ``pi`` with its (pending) ``charge`` balance transaction."""
        charge_id = self._new_id("ch_")
        amount, currency = pi["amount"], pi["currency"]
        fee = stripe_fee(amount)
        bt = self._new_balance_transaction(
            type="charge",
            amount=amount,
            fee=fee,
            fee_details=[self._fee_detail(fee, currency, "Stripe processing fees")],
            currency=currency,
            source=charge_id,
            created=created,
            description=description or pi["description"],
            available_on=(created // DAY + 2) * DAY,
        )
        charge: Obj = {
            "id": charge_id,
            "object": "charge",
            "amount": amount,
            "amount_captured": amount,
            "amount_refunded": 0,
            "application": None,
            "application_fee": None,
            "application_fee_amount": None,
            "balance_transaction": bt["id"],
            "billing_details": {
                "address": dict.fromkeys(
                    ("city", "country", "line1", "line2", "postal_code", "state")
                ),
                "email": email,
                "name": None,
                "phone": None,
                "tax_id": None,
            },
            "calculated_statement_descriptor": "FAKESTRIPE TEST",
            "captured": True,
            "created": created,
            "currency": currency,
            "customer": pi["customer"],
            "description": description or pi["description"],
            "disputed": False,
            "failure_balance_transaction": None,
            "failure_code": None,
            "failure_message": None,
            "fraud_details": {},
            "livemode": False,
            "metadata": dict(pi["metadata"]),
            "on_behalf_of": None,
            "outcome": {
                "advice_code": None,
                "network_advice_code": None,
                "network_decline_code": None,
                "network_status": "approved_by_network",
                "reason": None,
                "risk_level": "normal",
                "risk_score": 20,
                "seller_message": "Payment complete.",
                "type": "authorized",
            },
            "paid": True,
            "payment_intent": pi["id"],
            "payment_method": pi["payment_method"],
            "payment_method_details": {
                "card": {
                    "amount_authorized": amount,
                    "brand": "visa",
                    "checks": {
                        "address_line1_check": None,
                        "address_postal_code_check": None,
                        "cvc_check": "pass",
                    },
                    "country": "US",
                    "exp_month": 12,
                    "exp_year": 2034,
                    "fingerprint": self._rand(16),
                    "funding": "credit",
                    "last4": "4242",
                    "network": "visa",
                    "three_d_secure": None,
                    "wallet": None,
                },
                "type": "card",
            },
            "radar_options": {},
            "receipt_email": None,
            "receipt_number": None,
            "receipt_url": f"https://pay.stripe.test/receipts/payment/{self._rand(40)}",
            "refunded": False,
            "review": None,
            "shipping": None,
            "source": None,
            "source_transfer": None,
            "statement_descriptor": None,
            "statement_descriptor_suffix": None,
            "status": "succeeded",
            "transfer_data": None,
            "transfer_group": pi["transfer_group"],
        }
        self._store(charge)
        pi.update(latest_charge=charge_id, status="succeeded", amount_received=amount)
        return charge
