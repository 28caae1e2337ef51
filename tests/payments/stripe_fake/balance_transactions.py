"""Balance transactions: every movement of money on the account, with Stripe's fees;
a charge's is ``pending`` until its ``available_on``."""

from __future__ import annotations

from typing import Any

from tests.payments.stripe_fake.lists import Lists
from tests.payments.stripe_fake.params import LIST
from tests.payments.stripe_fake.store import Route
from tests.payments.stripe_fake.wire import Obj, Recorded

#: Balance transaction ``type`` -> ``reporting_category`` (Stripe's reporting categories).
REPORTING_CATEGORY = {
    "adjustment": "other_adjustment",
    "application_fee": "platform_earning",
    "charge": "charge",
    "payment": "charge",
    "payment_refund": "refund",
    "payout": "payout",
    "refund": "refund",
    "stripe_fee": "fee",
    "transfer": "transfer",
    "transfer_refund": "transfer_reversal",
}

BALANCE_TRANSACTION_LIST = LIST | {"created", "currency", "payout", "source", "type"}


class BalanceTransactions(Lists):
    def _balance_transaction_routes(self) -> list[Route]:
        return [
            ("GET", "/v1/balance_transactions", self._list_balance_transactions),
            ("GET", "/v1/balance_transactions/{id}", self._retriever("balance_transaction")),
        ]

    def add_balance_transaction(self, **fields: Any) -> Obj:
        """Plant a BalanceTransaction (reconciliation tests). Defaults: type ``adjustment``,
        amount 0, fee 0, net = amount - fee, currency usd, created = clock(), status
        ``available``; any field given is used verbatim."""
        with self._lock:
            type_ = fields.get("type", "adjustment")
            amount, fee = int(fields.get("amount", 0)), int(fields.get("fee", 0))
            created = int(fields.get("created", self._now()))
            bt = self._new_balance_transaction(
                type=type_,
                amount=amount,
                fee=fee,
                currency=fields.get("currency", "usd"),
                source=fields.get("source"),
                created=created,
                store=False,
            )
            bt.update(fields)
            self._store(bt)
            return bt

    def _new_balance_transaction(
        self,
        *,
        type: str,
        amount: int,
        currency: str,
        source: str | None,
        created: int,
        fee: int = 0,
        fee_details: list[Obj] | None = None,
        description: str | None = None,
        reporting_category: str | None = None,
        available_on: int | None = None,
        store: bool = True,
    ) -> Obj:
        bt: Obj = {
            "id": self._new_id("txn_"),
            "object": "balance_transaction",
            "amount": amount,
            "available_on": created if available_on is None else available_on,
            "balance_type": "payments",
            "created": created,
            "currency": currency,
            "description": description,
            "exchange_rate": None,
            "fee": fee,
            "fee_details": fee_details or [],
            "net": amount - fee,
            "reporting_category": reporting_category or REPORTING_CATEGORY.get(type, "other"),
            "source": source,
            "status": "available",
            "type": type,
        }
        if available_on is not None:
            self._settling.add(bt["id"])
            bt["status"] = "available" if available_on <= self._now() else "pending"
        if store:
            self._store(bt)
        return bt

    @staticmethod
    def _fee_detail(amount: int, currency: str, description: str) -> Obj:
        return {
            "amount": amount,
            "application": None,
            "currency": currency,
            "description": description,
            "type": "stripe_fee",
        }

    def _list_balance_transactions(self, rec: Recorded, args: Obj, _: str) -> Obj:
        self._check_params(args, BALANCE_TRANSACTION_LIST)
        created = self._created_filter(args)
        wanted = {k: args.get(k) for k in ("currency", "source", "type")}
        payout = args.get("payout")

        def keep(o: Obj) -> bool:
            return (
                payout is None  # no payouts here: filtering by one finds nothing
                and created(o["created"])
                and all(v is None or o[k] == v for k, v in wanted.items())
            )

        return self._page(
            self._of_kind("balance_transaction", keep), args, "/v1/balance_transactions"
        )
