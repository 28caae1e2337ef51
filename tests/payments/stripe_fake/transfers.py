"""Transfers to connected accounts (payouts), listed to find one after a crash, and their
reversals."""

from __future__ import annotations

from tests.payments.stripe_fake.balance_transactions import BalanceTransactions
from tests.payments.stripe_fake.events import Events
from tests.payments.stripe_fake.params import LIST
from tests.payments.stripe_fake.store import Route
from tests.payments.stripe_fake.wire import ApiError, Obj, Recorded, empty_list, invalid

TRANSFER_CREATE = frozenset(
    """amount currency description destination expand metadata source_transaction source_type
    transfer_group""".split()
)
TRANSFER_LIST = LIST | {"created", "destination", "transfer_group"}
REVERSAL_CREATE = frozenset("amount description expand metadata refund_application_fee".split())


class Transfers(BalanceTransactions, Events):
    def _transfer_routes(self) -> list[Route]:
        return [
            ("POST", "/v1/transfers", self._create_transfer),
            ("GET", "/v1/transfers", self._list_transfers),
            ("GET", "/v1/transfers/{id}", self._retriever("transfer")),
            ("POST", "/v1/transfers/{id}/reversals", self._create_reversal),
        ]

    def reverse_transfer(self, transfer_id: str, amount: int | None = None) -> Obj:
        """Reverse (part of) a transfer -> ``transfer.reversed``."""
        with self._state_change():
            transfer = self._own(transfer_id, "transfer")
            return self._reverse(transfer, amount, metadata={}, description=None, request=None)[1]

    def _create_transfer(self, rec: Recorded, args: Obj, _: str) -> Obj:
        self._check_params(args, TRANSFER_CREATE)
        amount = self._positive_int(args, "amount")
        currency = self._req_str(args, "currency").lower()
        destination = self._req_str(args, "destination")
        account = self._lookup(destination, "account", param="destination")
        source_transaction = args.get("source_transaction")
        if source_transaction is not None:
            self._lookup(source_transaction, "charge", param="source_transaction")
        capabilities = account["capabilities"]
        if not any(
            capabilities.get(c) == "active"
            for c in ("transfers", "crypto_transfers", "legacy_payments")
        ):
            raise ApiError(
                400,
                "Your destination account needs to have at least one of the following "
                "capabilities enabled: transfers, crypto_transfers, legacy_payments",
                code="insufficient_capabilities_for_transfer",
                param="destination",
            )
        now = self._now()
        transfer_id = self._new_id("tr_")
        bt = self._new_balance_transaction(
            type="transfer",
            amount=-amount,
            currency=currency,
            source=transfer_id,
            created=now,
            description=args.get("description"),
        )
        transfer: Obj = {
            "id": transfer_id,
            "object": "transfer",
            "amount": amount,
            "amount_reversed": 0,
            "balance_transaction": bt["id"],
            "created": now,
            "currency": currency,
            "description": args.get("description"),
            "destination": destination,
            "destination_payment": self._new_id("py_"),
            "livemode": False,
            "metadata": self._metadata(args),
            "reversals": empty_list(f"/v1/transfers/{transfer_id}/reversals"),
            "reversed": False,
            "source_transaction": source_transaction,
            "source_type": args.get("source_type") or "card",
            "transfer_group": args.get("transfer_group"),
        }
        self._store(transfer)
        self.event("transfer.created", transfer, created=now, request=rec)
        return transfer

    def _list_transfers(self, rec: Recorded, args: Obj, _: str) -> Obj:
        self._check_params(args, TRANSFER_LIST)
        created = self._created_filter(args)
        wanted = {k: args.get(k) for k in ("destination", "transfer_group")}

        def keep(o: Obj) -> bool:
            return created(o["created"]) and all(v is None or o[k] == v for k, v in wanted.items())

        return self._page(self._of_kind("transfer", keep), args, "/v1/transfers")

    def _create_reversal(self, rec: Recorded, args: Obj, transfer_id: str) -> Obj:
        self._check_params(args, REVERSAL_CREATE)
        transfer = self._lookup(transfer_id, "transfer")
        amount = self._opt_int(args, "amount")
        metadata = self._metadata(args)
        description = args.get("description")
        return self._reverse(
            transfer, amount, metadata=metadata, description=description, request=rec
        )[0]

    def _reverse(
        self,
        transfer: Obj,
        amount: int | None,
        *,
        metadata: dict[str, str],
        description: str | None,
        request: Recorded | None,
    ) -> tuple[Obj, Obj]:
        """(transfer_reversal, transfer.reversed event)."""
        remaining = transfer["amount"] - transfer["amount_reversed"]
        if remaining <= 0:
            raise ApiError(400, f"Transfer {transfer['id']} has already been fully reversed.")
        amount = remaining if amount is None else amount
        if amount <= 0:
            raise invalid("amount", "Invalid positive integer", "parameter_invalid_integer")
        if amount > remaining:
            raise ApiError(
                400,
                f"Reversal amount ({amount}) is greater than the amount left on the transfer "
                f"({remaining}).",
                param="amount",
            )
        t = self._now()
        reversal_id = self._new_id("trr_")
        bt = self._new_balance_transaction(
            type="transfer_refund",
            amount=amount,
            currency=transfer["currency"],
            source=reversal_id,
            created=t,
            description=description,
        )
        reversal: Obj = {
            "id": reversal_id,
            "object": "transfer_reversal",
            "amount": amount,
            "balance_transaction": bt["id"],
            "created": t,
            "currency": transfer["currency"],
            "destination_payment_refund": self._new_id("pyr_"),
            "metadata": metadata,
            "source_refund": None,
            "transfer": transfer["id"],
        }
        self._store(reversal)
        reversals = transfer["reversals"]
        reversals["data"].insert(0, reversal)
        reversals["total_count"] = len(reversals["data"])
        transfer["amount_reversed"] += amount
        transfer["reversed"] = transfer["amount_reversed"] == transfer["amount"]
        return reversal, self.event("transfer.reversed", transfer, created=t, request=request)
