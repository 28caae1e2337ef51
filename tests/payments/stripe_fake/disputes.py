"""Disputes: a cardholder disputes a charge, and the dispute is won or lost; the
registry only reads them."""

from __future__ import annotations

from tests.payments.stripe_fake.balance_transactions import BalanceTransactions
from tests.payments.stripe_fake.events import Events
from tests.payments.stripe_fake.store import Route
from tests.payments.stripe_fake.wire import DAY, Obj

DISPUTE_FEE = 1500

_DISPUTE_EVIDENCE_FIELDS = (
    "access_activity_log billing_address cancellation_policy cancellation_policy_disclosure "
    "cancellation_rebuttal customer_communication customer_email_address customer_name "
    "customer_purchase_ip customer_signature duplicate_charge_documentation "
    "duplicate_charge_explanation duplicate_charge_id product_description receipt "
    "refund_policy refund_policy_disclosure refund_refusal_explanation service_date "
    "service_documentation shipping_address shipping_carrier shipping_date "
    "shipping_documentation shipping_tracking_number uncategorized_file uncategorized_text"
).split()


class Disputes(BalanceTransactions, Events):
    def _dispute_routes(self) -> list[Route]:
        return [("GET", "/v1/disputes/{id}", self._retriever("dispute"))]

    def dispute(self, charge_id: str) -> Obj:
        """The cardholder disputed the charge -> ``charge.dispute.created``: the amount and a
        1500 dispute fee leave the balance (BalanceTransaction type ``adjustment``)."""
        with self._state_change():
            charge = self._own(charge_id, "charge")
            if charge["disputed"]:
                raise ValueError(f"{charge_id} is already disputed")
            t = self._now()
            dp_id = self._new_id("dp_")
            amount, currency = charge["amount"], charge["currency"]
            bt = self._new_balance_transaction(
                type="adjustment",
                amount=-amount,
                fee=DISPUTE_FEE,
                fee_details=[self._fee_detail(DISPUTE_FEE, currency, "Dispute fee")],
                currency=currency,
                source=dp_id,
                created=t,
                description=f"Chargeback withdrawal for {charge_id}",
                reporting_category="dispute",
            )
            dispute: Obj = {
                "id": dp_id,
                "object": "dispute",
                "amount": amount,
                "balance_transactions": [bt],
                "charge": charge_id,
                "created": t,
                "currency": currency,
                "enhanced_eligibility_types": [],
                "evidence": dict.fromkeys(_DISPUTE_EVIDENCE_FIELDS),
                "evidence_details": {
                    "due_by": t + 7 * DAY,
                    "enhanced_eligibility": {},
                    "has_evidence": False,
                    "past_due": False,
                    "submission_count": 0,
                },
                "is_charge_refundable": False,
                "livemode": False,
                "metadata": {},
                "payment_intent": charge["payment_intent"],
                "payment_method_details": {
                    "card": {
                        "brand": "visa",
                        "case_type": "chargeback",
                        "network_reason_code": "10.4",
                    },
                    "type": "card",
                },
                "reason": "fraudulent",
                "status": "needs_response",
            }
            self._store(dispute)
            charge["disputed"] = True
            return self.event("charge.dispute.created", dispute, created=t)

    def close_dispute(self, dispute_id: str, status: str) -> Obj:
        """The dispute ended -> ``charge.dispute.closed``. ``won``: the disputed amount comes
        back (BalanceTransaction ``adjustment``, +amount, fee 0); ``lost``: nothing moves."""
        if status not in ("won", "lost"):
            raise ValueError("status must be 'won' or 'lost'")
        with self._state_change():
            dispute = self._own(dispute_id, "dispute")
            if dispute["status"] in ("won", "lost"):
                raise ValueError(f"{dispute_id} is already {dispute['status']}")
            t = self._now()
            if status == "won":
                bt = self._new_balance_transaction(
                    type="adjustment",
                    amount=dispute["amount"],
                    currency=dispute["currency"],
                    source=dispute_id,
                    created=t,
                    description=f"Chargeback reversal for {dispute['charge']}",
                    reporting_category="dispute_reversal",
                )
                dispute["balance_transactions"].append(bt)
            dispute["status"] = status
            return self.event("charge.dispute.closed", dispute, created=t)
