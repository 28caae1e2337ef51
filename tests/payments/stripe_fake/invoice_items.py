"""Invoice items: the lines of a draft invoice, or pending until an invoice takes them."""

from __future__ import annotations

from tests.payments.stripe_fake.events import Events
from tests.payments.stripe_fake.store import Route
from tests.payments.stripe_fake.wire import ApiError, Obj, Recorded, invalid, missing

INVOICE_ITEM_CREATE = frozenset(
    """amount currency customer customer_account description discountable discounts expand
    invoice metadata period price_data pricing quantity quantity_decimal subscription
    tax_behavior tax_code tax_rates unit_amount_decimal""".split()
)


class InvoiceItems(Events):
    def _invoice_item_routes(self) -> list[Route]:
        return [
            ("POST", "/v1/invoiceitems", self._create_invoice_item),
            ("GET", "/v1/invoiceitems/{id}", self._retriever("invoiceitem")),
        ]

    def _create_invoice_item(self, rec: Recorded, args: Obj, _: str) -> Obj:
        self._check_params(args, INVOICE_ITEM_CREATE)
        customer = self._lookup(self._req_str(args, "customer"), "customer", param="customer")
        invoice = None
        if args.get("invoice") is not None:
            invoice = self._lookup(args["invoice"], "invoice", param="invoice")
            if invoice["customer"] != customer["id"]:
                raise invalid("invoice", "The invoice belongs to a different customer.")
        currency = args.get("currency") or (invoice or customer)["currency"]
        if not currency:
            raise missing("currency")
        currency = currency.lower()
        quantity = self._opt_int(args, "quantity") or 1
        amount = self._opt_int(args, "amount")
        if amount is None:
            unit = self._opt_int(args, "unit_amount_decimal")
            if unit is None:
                raise missing("amount")
            amount = unit * quantity
        if invoice is not None:
            if invoice["status"] != "draft":
                raise ApiError(
                    400,
                    f"You can only add invoice items to draft invoices; {invoice['id']} is "
                    f"{invoice['status']}.",
                    code="invoice_not_editable",
                    param="invoice",
                )
            if invoice["currency"] != currency:
                raise invalid("currency", "The invoice item currency must match the invoice's.")
        now = self._now()
        item: Obj = {
            "id": self._new_id("ii_"),
            "object": "invoiceitem",
            "amount": amount,
            "currency": currency,
            "customer": customer["id"],
            "customer_account": None,
            "date": now,
            "description": args.get("description"),
            "discountable": True,
            "discounts": [],
            "invoice": None,
            "livemode": False,
            "metadata": self._metadata(args),
            "net_amount": amount,
            "parent": None,
            "period": {"end": now, "start": now},
            "pricing": None,
            "proration": False,
            "proration_details": {"credited_items": None},
            "quantity": quantity,
            "quantity_decimal": str(quantity),
            "tax_rates": [],
            "test_clock": None,
        }
        self._store(item)
        if invoice is not None:
            self._attach_item(invoice, item)
        self.event("invoiceitem.created", item, created=now, request=rec)
        return item

    def _attach_item(self, invoice: Obj, item: Obj) -> None:
        item["invoice"] = invoice["id"]
        line = {
            "id": self._new_id("il_"),
            "object": "line_item",
            "amount": item["amount"],
            "currency": item["currency"],
            "description": item["description"],
            "discount_amounts": [],
            "discountable": True,
            "discounts": [],
            "invoice": invoice["id"],
            "livemode": False,
            "metadata": dict(item["metadata"]),
            "parent": {
                "invoice_item_details": {
                    "invoice_item": item["id"],
                    "proration": False,
                    "proration_details": {"credited_items": None},
                    "subscription": None,
                },
                "subscription_item_details": None,
                "type": "invoice_item_details",
            },
            "period": dict(item["period"]),
            "pretax_credit_amounts": [],
            "pricing": None,
            "quantity": item["quantity"],
            "quantity_decimal": item["quantity_decimal"],
            "subscription": None,
            "subtotal": item["amount"],
            "taxes": [],
        }
        lines = invoice["lines"]
        lines["data"].append(line)
        lines["total_count"] = len(lines["data"])
        total = sum(li["amount"] for li in lines["data"])
        invoice.update(
            amount_due=total,
            amount_remaining=total - invoice["amount_paid"],
            subtotal=total,
            subtotal_excluding_tax=total,
            total=total,
            total_excluding_tax=total,
        )
