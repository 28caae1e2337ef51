"""Customers: one per brand, for invoicing."""

from __future__ import annotations

from tests.payments.stripe_fake.events import Events
from tests.payments.stripe_fake.store import Route
from tests.payments.stripe_fake.wire import Obj, Recorded

CUSTOMER_CREATE = frozenset(
    """address balance business_name cash_balance description email expand individual_name
    invoice_prefix invoice_settings metadata name next_invoice_sequence payment_method phone
    preferred_locales shipping source tax tax_exempt tax_id_data test_clock validate""".split()
)


class Customers(Events):
    def _customer_routes(self) -> list[Route]:
        return [
            ("POST", "/v1/customers", self._create_customer),
            ("GET", "/v1/customers/{id}", self._retriever("customer")),
        ]

    def _create_customer(self, rec: Recorded, args: Obj, _: str) -> Obj:
        self._check_params(args, CUSTOMER_CREATE)
        now = self._now()
        customer: Obj = {
            "id": self._new_id("cus_", 14),
            "object": "customer",
            "address": None,
            "balance": 0,
            "created": now,
            "currency": None,
            "default_source": None,
            "delinquent": False,
            "description": args.get("description"),
            "discount": None,
            "email": args.get("email"),
            "invoice_prefix": args.get("invoice_prefix") or self._rand(8).upper(),
            "invoice_settings": {
                "custom_fields": None,
                "default_payment_method": None,
                "footer": None,
                "rendering_options": None,
            },
            "livemode": False,
            "metadata": self._metadata(args),
            "name": args.get("name"),
            "next_invoice_sequence": 1,
            "phone": args.get("phone"),
            "preferred_locales": [],
            "shipping": None,
            "tax_exempt": "none",
            "test_clock": None,
        }
        self._store(customer)
        self.event("customer.created", customer, created=now, request=rec)
        return customer
