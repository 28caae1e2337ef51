"""Refunds: asked for by the registry, or made from the Dashboard on Stripe's side."""

from __future__ import annotations

from tests.payments.stripe_fake.charges import Charges
from tests.payments.stripe_fake.events import Events
from tests.payments.stripe_fake.store import Route
from tests.payments.stripe_fake.wire import ApiError, Obj, Recorded, invalid

REFUND_CREATE = frozenset(
    """amount charge currency customer expand instructions_email metadata origin payment_intent
    reason refund_application_fee reverse_transfer""".split()
)


class Refunds(Charges, Events):
    def _refund_routes(self) -> list[Route]:
        return [
            ("POST", "/v1/refunds", self._create_refund),
            ("GET", "/v1/refunds/{id}", self._retriever("refund")),
        ]

    def refund(self, charge_id: str, amount: int | None = None) -> Obj:
        """A refund (e.g. from the Dashboard) -> ``charge.refunded`` (also builds
        ``refund.created``). ``amount`` defaults to what is left to refund."""
        with self._state_change():
            charge = self._own(charge_id, "charge")
            return self._refund(charge, amount, metadata={}, reason=None, request=None)[1]

    def _create_refund(self, rec: Recorded, args: Obj, _: str) -> Obj:
        self._check_params(args, REFUND_CREATE)
        if args.get("charge") is not None:
            charge = self._lookup(args["charge"], "charge", param="charge")
        elif args.get("payment_intent") is not None:
            pi = self._lookup(args["payment_intent"], "payment_intent", param="payment_intent")
            if pi["latest_charge"] is None:
                raise ApiError(
                    400,
                    f"This PaymentIntent ({pi['id']}) does not have a successful charge to refund.",
                    code="charge_not_refundable",
                    param="payment_intent",
                )
            charge = self.objects[pi["latest_charge"]]
        else:
            raise ApiError(
                400,
                "One of the following params should be provided for this request: charge or "
                "payment_intent.",
                code="parameter_missing",
                saved=False,
            )
        amount = self._opt_int(args, "amount")
        reason = self._enum(args, "reason", ("duplicate", "fraudulent", "requested_by_customer"))
        metadata = self._metadata(args)
        return self._refund(charge, amount, metadata=metadata, reason=reason, request=rec)[0]

    def _refund(
        self,
        charge: Obj,
        amount: int | None,
        *,
        metadata: dict[str, str],
        reason: str | None,
        request: Recorded | None,
    ) -> tuple[Obj, Obj]:
        """(refund, charge.refunded event)."""
        remaining = charge["amount"] - charge["amount_refunded"]
        if remaining <= 0:
            raise ApiError(
                400,
                f"Charge {charge['id']} has already been refunded.",
                code="charge_already_refunded",
            )
        amount = remaining if amount is None else amount
        if amount <= 0:
            raise invalid("amount", "Invalid positive integer", "parameter_invalid_integer")
        if amount > remaining:
            raise ApiError(
                400,
                f"Refund amount ({amount}) is greater than unrefunded amount on charge "
                f"({remaining})",
                code="amount_too_large",
                param="amount",
            )
        t = self._now()
        refund_id = self._new_id("re_")
        bt = self._new_balance_transaction(
            type="refund",
            amount=-amount,
            currency=charge["currency"],
            source=refund_id,
            created=t,
            description="REFUND FOR CHARGE"
            + (f" ({charge['description']})" if charge["description"] else ""),
        )
        refund: Obj = {
            "id": refund_id,
            "object": "refund",
            "amount": amount,
            "balance_transaction": bt["id"],
            "charge": charge["id"],
            "created": t,
            "currency": charge["currency"],
            "destination_details": {
                "card": {
                    "reference_status": "pending",
                    "reference_type": "acquirer_reference_number",
                    "type": "refund",
                },
                "type": "card",
            },
            "metadata": metadata,
            "payment_intent": charge["payment_intent"],
            "reason": reason,
            "receipt_number": None,
            "source_transfer_reversal": None,
            "status": "succeeded",
            "transfer_reversal": None,
        }
        self._store(refund)
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        self.event("refund.created", refund, created=t, request=request)
        return refund, self.event("charge.refunded", charge, created=t, request=request)
