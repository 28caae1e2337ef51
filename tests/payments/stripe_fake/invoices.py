"""Invoices (drafted, finalized, sent, voided by the registry; paid by the customer on
Stripe's side) and the InvoicePayments that link them to the charge that paid them."""

from __future__ import annotations

from tests.payments.stripe_fake.charges import Charges
from tests.payments.stripe_fake.invoice_items import InvoiceItems
from tests.payments.stripe_fake.params import EXPAND, LIST
from tests.payments.stripe_fake.store import Route
from tests.payments.stripe_fake.wire import DAY, ApiError, Obj, Recorded, empty_list, invalid

INVOICE_CREATE = frozenset(
    """account_tax_ids application_fee_amount auto_advance automatic_tax
    automatically_finalizes_at collection_method currency custom_fields customer
    customer_account days_until_due default_payment_method default_source default_tax_rates
    description discounts due_date effective_at expand footer from_invoice issuer metadata
    number on_behalf_of payment_settings pending_invoice_items_behavior rendering shipping_cost
    shipping_details statement_descriptor subscription transfer_data""".split()
)
INVOICE_FINALIZE = frozenset({"auto_advance", "expand"})
INVOICE_PAYMENT_LIST = LIST | {"created", "invoice", "payment", "status"}


class Invoices(Charges, InvoiceItems):
    def _invoice_routes(self) -> list[Route]:
        return [
            ("POST", "/v1/invoices", self._create_invoice),
            ("GET", "/v1/invoices/{id}", self._retriever("invoice")),
            ("GET", "/v1/invoices/{id}/lines", self._invoice_lines),
            ("POST", "/v1/invoices/{id}/finalize", self._finalize_invoice),
            ("POST", "/v1/invoices/{id}/send", self._send_invoice),
            ("POST", "/v1/invoices/{id}/void", self._void_invoice),
        ]

    def _invoice_payment_routes(self) -> list[Route]:
        return [
            ("GET", "/v1/invoice_payments", self._list_invoice_payments),
            ("GET", "/v1/invoice_payments/{id}", self._retriever("invoice_payment")),
        ]

    def pay_invoice(self, invoice_id: str, *, created: int | None = None) -> Obj:
        """The customer paid an open invoice -> ``invoice.paid`` (also builds
        ``invoice.payment_succeeded``). Creates the PaymentIntent, Charge, BalanceTransaction
        (``charge``) and the InvoicePayment linking them to the invoice."""
        with self._state_change():
            invoice = self._own(invoice_id, "invoice")
            if invoice["status"] != "open":
                raise ValueError(f"{invoice_id} is {invoice['status']}, not open")
            t = self._now() if created is None else created
            amount = invoice["amount_remaining"]
            pi = self._new_payment_intent(
                amount=amount,
                currency=invoice["currency"],
                created=t,
                status="succeeded",
                customer=invoice["customer"],
                description="Payment for Invoice",
            )
            self._new_charge(
                pi, created=t, email=invoice["customer_email"], description="Payment for Invoice"
            )
            payment = {
                "id": self._new_id("inpay_"),
                "object": "invoice_payment",
                "amount_paid": amount,
                "amount_requested": amount,
                "created": t,
                "currency": invoice["currency"],
                "invoice": invoice_id,
                "is_default": True,
                "livemode": False,
                "payment": {"payment_intent": pi["id"], "type": "payment_intent"},
                "status": "paid",
                "status_transitions": {"canceled_at": None, "paid_at": t},
            }
            self._store(payment)
            invoice["status_transitions"]["paid_at"] = t
            invoice.update(
                amount_paid=invoice["amount_paid"] + amount,
                amount_remaining=0,
                attempt_count=invoice["attempt_count"] + 1,
                attempted=True,
                status="paid",
            )
            self.event("invoice.payment_succeeded", invoice, created=t)
            return self.event("invoice.paid", invoice, created=t)

    def _create_invoice(self, rec: Recorded, args: Obj, _: str) -> Obj:
        self._check_params(args, INVOICE_CREATE)
        customer = self._lookup(self._req_str(args, "customer"), "customer", param="customer")
        collection = (
            self._enum(args, "collection_method", ("charge_automatically", "send_invoice"))
            or "charge_automatically"
        )
        days = self._opt_int(args, "days_until_due")
        due_date = self._opt_int(args, "due_date")
        if collection == "send_invoice" and days is None and due_date is None:
            raise invalid(
                "days_until_due",
                "Invoices with `collection_method=send_invoice` need `days_until_due` or "
                "`due_date`.",
            )
        if collection != "send_invoice" and (days is not None or due_date is not None):
            raise invalid(
                "days_until_due" if days is not None else "due_date",
                "You can only set `days_until_due` or `due_date` on invoices with "
                "`collection_method=send_invoice`.",
            )
        behavior = self._enum(args, "pending_invoice_items_behavior", ("exclude", "include"))
        auto_advance = self._opt_bool(args, "auto_advance")
        currency = (args.get("currency") or customer["currency"] or "usd").lower()
        now = self._now()
        invoice_id = self._new_id("in_")
        invoice: Obj = {
            "id": invoice_id,
            "object": "invoice",
            "account_country": "US",
            "account_name": "FakeStripe Test Account",
            "account_tax_ids": None,
            "amount_due": 0,
            "amount_overpaid": 0,
            "amount_paid": 0,
            "amount_remaining": 0,
            "amount_shipping": 0,
            "application": None,
            "attempt_count": 0,
            "attempted": False,
            "auto_advance": bool(auto_advance),
            "automatic_tax": {
                "disabled_reason": None,
                "enabled": False,
                "liability": None,
                "provider": None,
                "status": None,
            },
            "automatically_finalizes_at": None,
            "billing_reason": "manual",
            "collection_method": collection,
            "confirmation_secret": None,
            "created": now,
            "currency": currency,
            "custom_fields": None,
            "customer": customer["id"],
            "customer_account": None,
            "customer_address": customer["address"],
            "customer_email": customer["email"],
            "customer_name": customer["name"],
            "customer_phone": customer["phone"],
            "customer_shipping": None,
            "customer_tax_exempt": customer["tax_exempt"],
            "customer_tax_ids": [],
            "default_payment_method": None,
            "default_source": None,
            "default_tax_rates": [],
            "description": args.get("description"),
            "discounts": [],
            "due_date": due_date if days is None else now + days * DAY,
            "effective_at": None,
            "ending_balance": None,
            "footer": None,
            "from_invoice": None,
            "hosted_invoice_url": None,
            "invoice_pdf": None,
            "issuer": {"type": "self"},
            "last_finalization_error": None,
            "latest_revision": None,
            "lines": empty_list(f"/v1/invoices/{invoice_id}/lines"),
            "livemode": False,
            "metadata": self._metadata(args),
            "next_payment_attempt": None,
            "number": args.get("number"),
            "on_behalf_of": None,
            "parent": None,
            "payment_settings": {
                "default_mandate": None,
                "payment_method_options": None,
                "payment_method_types": None,
            },
            "period_end": now,
            "period_start": now,
            "post_payment_credit_notes_amount": 0,
            "pre_payment_credit_notes_amount": 0,
            "receipt_number": None,
            "rendering": None,
            "shipping_cost": None,
            "shipping_details": None,
            "starting_balance": 0,
            "statement_descriptor": args.get("statement_descriptor"),
            "status": "draft",
            "status_transitions": {
                "finalized_at": None,
                "marked_uncollectible_at": None,
                "paid_at": None,
                "voided_at": None,
            },
            "subtotal": 0,
            "subtotal_excluding_tax": 0,
            "test_clock": None,
            "threshold_reason": None,
            "total": 0,
            "total_discount_amounts": [],
            "total_excluding_tax": 0,
            "total_pretax_credit_amounts": [],
            "total_taxes": [],
            "webhooks_delivered_at": None,
        }
        self._private[invoice_id] = {"days_until_due": days}
        self._store(invoice)
        if behavior == "include":
            for item in list(self.objects.values()):
                if (
                    item["object"] == "invoiceitem"
                    and item["customer"] == customer["id"]
                    and item["invoice"] is None
                    and item["currency"] == currency
                ):
                    self._attach_item(invoice, item)
        self.event("invoice.created", invoice, created=now, request=rec)
        return invoice

    def _invoice_lines(self, rec: Recorded, args: Obj, invoice_id: str) -> Obj:
        self._check_params(args, LIST)
        lines = self._lookup(invoice_id, "invoice")["lines"]
        limit = self._limit(args)
        return {**lines, "data": lines["data"][:limit], "has_more": len(lines["data"]) > limit}

    def _finalize_invoice(self, rec: Recorded, args: Obj, invoice_id: str) -> Obj:
        self._check_params(args, INVOICE_FINALIZE)
        invoice = self._lookup(invoice_id, "invoice")
        auto_advance = self._opt_bool(args, "auto_advance")
        if invoice["status"] != "draft":
            raise ApiError(
                400,
                "This invoice is already finalized, you can't re-finalize a non-draft invoice.",
                code="invoice_not_editable",
            )
        now = self._now()
        customer = self.objects[invoice["customer"]]
        number = invoice["number"]
        if number is None:
            number = f"{customer['invoice_prefix']}-{customer['next_invoice_sequence']:04d}"
            customer["next_invoice_sequence"] += 1
        token = f"test_{self._rand(80)}"
        days = self._private[invoice_id]["days_until_due"]
        invoice["status_transitions"]["finalized_at"] = now
        invoice.update(
            due_date=invoice["due_date"] if days is None else now + days * DAY,
            effective_at=now,
            ending_balance=0,
            hosted_invoice_url=f"https://invoice.stripe.test/i/acct_fake/{token}?s=ap",
            invoice_pdf=f"https://pay.stripe.test/invoice/acct_fake/{token}/pdf?s=ap",
            number=number,
            status="open",
        )
        if auto_advance is not None:
            invoice["auto_advance"] = auto_advance
        self.event("invoice.finalized", invoice, created=now, request=rec)
        if invoice["amount_due"] == 0:  # Stripe marks zero-amount invoices paid on finalization
            invoice["status_transitions"]["paid_at"] = now
            invoice["status"] = "paid"
            self.event("invoice.paid", invoice, created=now, request=rec)
        return invoice

    def _send_invoice(self, rec: Recorded, args: Obj, invoice_id: str) -> Obj:
        self._check_params(args, EXPAND)
        invoice = self._lookup(invoice_id, "invoice")
        if invoice["collection_method"] != "send_invoice":
            raise ApiError(
                400,
                "You can only manually send an invoice if its collection method is 'send_invoice'.",
            )
        if invoice["status"] != "open":
            raise ApiError(
                400, f"You can only send an open invoice; this invoice is {invoice['status']}."
            )
        self.event("invoice.sent", invoice, request=rec)
        return invoice

    def _void_invoice(self, rec: Recorded, args: Obj, invoice_id: str) -> Obj:
        self._check_params(args, EXPAND)
        invoice = self._lookup(invoice_id, "invoice")
        if invoice["status"] not in ("open", "uncollectible"):
            raise ApiError(
                400,
                f"You can only void an open or uncollectible invoice; this invoice is "
                f"{invoice['status']}.",
                code="invoice_not_editable",
            )
        now = self._now()
        invoice["status_transitions"]["voided_at"] = now
        invoice["status"] = "void"
        self.event("invoice.voided", invoice, created=now, request=rec)
        return invoice

    def _list_invoice_payments(self, rec: Recorded, args: Obj, _: str) -> Obj:
        self._check_params(args, INVOICE_PAYMENT_LIST)
        created = self._created_filter(args)
        payment = args.get("payment") or {}
        if not isinstance(payment, dict):
            raise invalid("payment", "Invalid object", "parameter_invalid_object")
        wanted = {
            "invoice": args.get("invoice"),
            "status": self._enum(args, "status", ("canceled", "open", "paid")),
        }

        def keep(o: Obj) -> bool:
            return (
                all(v is None or o[k] == v for k, v in wanted.items())
                and all(o["payment"].get(k) == v for k, v in payment.items())
                and created(o["created"])
            )

        return self._page(self._of_kind("invoice_payment", keep), args, "/v1/invoice_payments")
