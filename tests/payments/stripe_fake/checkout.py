"""Checkout Sessions: opened by the registry, then completed, settled (a delayed
payment) or expired by the customer on Stripe's side."""

from __future__ import annotations

from tests.payments.stripe_fake.charges import Charges
from tests.payments.stripe_fake.events import Events
from tests.payments.stripe_fake.params import EXPAND, LIST
from tests.payments.stripe_fake.store import Route
from tests.payments.stripe_fake.wire import DAY, ApiError, Obj, Recorded, invalid, missing

SESSION_CREATE = frozenset(
    """adaptive_pricing after_expiration allow_promotion_codes allowed_payment_method_types
    automatic_tax billing_address_collection branding_settings cancel_url client_reference_id
    consent_collection currency custom_fields custom_text customer customer_account
    customer_creation customer_email customer_update discounts excluded_payment_method_types
    expand expires_at integration_identifier invoice_creation line_items locale
    managed_payments metadata mode name_collection optional_items origin_context
    payment_intent_data payment_method_collection payment_method_configuration
    payment_method_data payment_method_options payment_method_types permissions
    phone_number_collection redirect_on_completion return_url saved_payment_method_options
    setup_intent_data shipping_address_collection shipping_options submit_type
    subscription_data success_url tax_id_collection ui_mode wallet_options""".split()
)


class CheckoutSessions(Charges, Events):
    def _checkout_routes(self) -> list[Route]:
        return [
            ("POST", "/v1/checkout/sessions", self._create_session),
            ("GET", "/v1/checkout/sessions/{id}", self._retriever("checkout.session")),
            ("GET", "/v1/checkout/sessions/{id}/line_items", self._session_line_items),
            ("POST", "/v1/checkout/sessions/{id}/expire", self._expire_session),
        ]

    # -- on Stripe's side ------------------------------------------------------------------

    def complete_checkout(
        self, session_id: str, *, paid: bool = True, created: int | None = None
    ) -> Obj:
        """The customer finished Checkout -> ``checkout.session.completed``.

        ``paid``: a PaymentIntent (succeeded), its Charge and the charge's BalanceTransaction
        are created. ``paid=False`` models a delayed payment method: the PaymentIntent is
        ``processing``, no charge yet, ``payment_status`` stays ``unpaid`` (see
        :meth:`settle_checkout`).
        """
        with self._state_change():
            session = self._own(session_id, "checkout.session")
            if session["status"] != "open":
                raise ValueError(f"{session_id} is {session['status']}, not open")
            t = self._now() if created is None else created
            data = self._private[session_id]["payment_intent_data"]
            pi = self._new_payment_intent(
                amount=session["amount_total"],
                currency=session["currency"],
                created=t,
                status="succeeded" if paid else "processing",
                customer=session["customer"],
                description=data.get("description"),
                metadata=data.get("metadata") or {},
                transfer_group=data.get("transfer_group"),
            )
            if paid:
                self._new_charge(pi, created=t, email=session["customer_email"])
            session.update(
                customer_details={
                    "address": None,
                    "business_name": None,
                    "email": session["customer_email"] or "customer@example.com",
                    "individual_name": None,
                    "name": "Jenny Rosen",
                    "phone": None,
                    "tax_exempt": "none",
                    "tax_ids": [],
                },
                payment_intent=pi["id"],
                payment_status="paid" if paid else "unpaid",
                status="complete",
                url=None,
            )
            return self.event("checkout.session.completed", session, created=t)

    def settle_checkout(
        self, session_id: str, *, succeeded: bool = True, created: int | None = None
    ) -> Obj:
        """A delayed payment (``complete_checkout(paid=False)``) settled ->
        ``checkout.session.async_payment_succeeded`` (charge + balance transaction created) or
        ``checkout.session.async_payment_failed``."""
        with self._state_change():
            session = self._own(session_id, "checkout.session")
            pi = self.objects.get(session["payment_intent"] or "")
            if session["status"] != "complete" or pi is None or pi["status"] != "processing":
                raise ValueError(f"{session_id} has no payment processing")
            t = self._now() if created is None else created
            if succeeded:
                self._new_charge(pi, created=t, email=session["customer_email"])
                session["payment_status"] = "paid"
                return self.event("checkout.session.async_payment_succeeded", session, created=t)
            pi.update(
                status="requires_payment_method",
                last_payment_error={
                    "code": "payment_method_provider_decline",
                    "message": "The payment was declined.",
                    "type": "card_error",
                },
            )
            return self.event("checkout.session.async_payment_failed", session, created=t)

    def expire_checkout(self, session_id: str) -> Obj:
        """The session timed out -> ``checkout.session.expired``."""
        with self._state_change():
            session = self._own(session_id, "checkout.session")
            if session["status"] != "open":
                raise ValueError(f"{session_id} is {session['status']}, not open")
            session.update(status="expired", url=None)
            return self.event("checkout.session.expired", session)

    # -- endpoints -------------------------------------------------------------------------

    def _create_session(self, rec: Recorded, args: Obj, _: str) -> Obj:
        self._check_params(args, SESSION_CREATE)
        mode = self._enum(args, "mode", ("payment", "setup", "subscription"), required=True)
        if mode != "payment":
            raise invalid("mode", f"FakeStripe answers mode=payment only, not mode={mode}.")
        raw_items = args.get("line_items")
        if not raw_items:
            raise missing("line_items")
        if not isinstance(raw_items, list):
            raise invalid("line_items", "Invalid array", "parameter_invalid_array")
        now = self._now()
        items: list[Obj] = []
        currency: str | None = None
        for i, raw in enumerate(raw_items):
            where = f"line_items[{i}]"
            if not isinstance(raw, dict):
                raise invalid(where, "Invalid object", "parameter_invalid_object")
            if "price" in raw:
                raise ApiError(
                    400,
                    f"No such price: '{raw['price']}'",
                    code="resource_missing",
                    param=f"{where}[price]",
                    saved=False,
                )
            data = raw.get("price_data")
            if not isinstance(data, dict):
                raise missing(f"{where}[price_data]")
            item_currency = self._req_str(data, "currency", f"{where}[price_data][currency]")
            unit = self._req_int(data, "unit_amount", f"{where}[price_data][unit_amount]")
            quantity = self._req_int(raw, "quantity", f"{where}[quantity]")
            product_data = data.get("product_data")
            if isinstance(product_data, dict):
                name = self._req_str(
                    product_data, "name", f"{where}[price_data][product_data][name]"
                )
                product = self._new_id("prod_", 14)
            else:
                product = self._req_str(data, "product", f"{where}[price_data][product]")
                name = product
            if currency is not None and item_currency.lower() != currency:
                raise invalid(
                    f"{where}[price_data][currency]", "All line items must use the same currency."
                )
            currency = item_currency.lower()
            items.append(self._checkout_item(name, product, currency, unit, quantity, now))
        expires_at = self._opt_int(args, "expires_at")
        if expires_at is None:
            expires_at = now + DAY
        elif expires_at > now + DAY:
            raise invalid(
                "expires_at",
                "The `expires_at` timestamp must be less than 24 hours from Checkout Session "
                "creation.",
            )
        elif expires_at < now + 1800:
            raise invalid(
                "expires_at",
                "The `expires_at` timestamp must be at least 30 minutes from Checkout Session "
                "creation.",
            )
        customer = args.get("customer")
        if customer is not None:
            self._lookup(customer, "customer", param="customer")
        intent_data = args.get("payment_intent_data") or {}
        if not isinstance(intent_data, dict):
            raise invalid("payment_intent_data", "Invalid object", "parameter_invalid_object")
        total = sum(item["amount_total"] for item in items)
        session_id = "cs_test_" + self._rand(58)
        session: Obj = {
            "id": session_id,
            "object": "checkout.session",
            "adaptive_pricing": None,
            "after_expiration": None,
            "allow_promotion_codes": None,
            "amount_subtotal": total,
            "amount_total": total,
            "automatic_tax": {
                "enabled": False,
                "liability": None,
                "provider": None,
                "status": None,
            },
            "billing_address_collection": None,
            "cancel_url": args.get("cancel_url"),
            "client_reference_id": args.get("client_reference_id"),
            "client_secret": None,
            "collected_information": None,
            "consent": None,
            "consent_collection": None,
            "created": now,
            "currency": currency,
            "currency_conversion": None,
            "custom_fields": [],
            "custom_text": {
                "after_submit": None,
                "shipping_address": None,
                "submit": None,
                "terms_of_service_acceptance": None,
            },
            "customer": customer,
            "customer_account": None,
            "customer_creation": "if_required",
            "customer_details": None,
            "customer_email": args.get("customer_email"),
            "discounts": [],
            "expires_at": expires_at,
            "invoice": None,
            "invoice_creation": {
                "enabled": False,
                "invoice_data": {
                    "account_tax_ids": None,
                    "custom_fields": None,
                    "description": None,
                    "footer": None,
                    "issuer": None,
                    "metadata": {},
                    "rendering_options": None,
                },
            },
            "livemode": False,
            "locale": args.get("locale"),
            "metadata": self._metadata(args),
            "mode": mode,
            "origin_context": None,
            "payment_intent": None,
            "payment_link": None,
            "payment_method_collection": "if_required",
            "payment_method_configuration_details": None,
            "payment_method_options": {"card": {"request_three_d_secure": "automatic"}},
            "payment_method_types": args.get("payment_method_types") or ["card"],
            "payment_status": "unpaid",
            "permissions": None,
            "phone_number_collection": {"enabled": False},
            "recovered_from": None,
            "saved_payment_method_options": None,
            "setup_intent": None,
            "shipping_address_collection": None,
            "shipping_cost": None,
            "shipping_options": [],
            "status": "open",
            "submit_type": args.get("submit_type"),
            "subscription": None,
            "success_url": args.get("success_url"),
            "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
            "ui_mode": args.get("ui_mode") or "hosted",
            "url": f"https://checkout.stripe.test/c/pay/{session_id}",
            "wallet_options": None,
        }
        self._store(session)
        self._private[session_id] = {
            "line_items": items,
            "payment_intent_data": {
                **intent_data,
                "metadata": self._metadata(intent_data, "payment_intent_data[metadata]"),
            },
        }
        return session

    def _checkout_item(
        self, name: str, product: str, currency: str, unit: int, quantity: int, now: int
    ) -> Obj:
        return {
            "id": self._new_id("li_"),
            "object": "item",
            "adjustable_quantity": None,
            "amount_discount": 0,
            "amount_subtotal": unit * quantity,
            "amount_tax": 0,
            "amount_total": unit * quantity,
            "currency": currency,
            "description": name,
            "metadata": {},
            "price": {
                "id": self._new_id("price_"),
                "object": "price",
                "active": False,
                "billing_scheme": "per_unit",
                "created": now,
                "currency": currency,
                "custom_unit_amount": None,
                "livemode": False,
                "lookup_key": None,
                "metadata": {},
                "nickname": None,
                "product": product,
                "recurring": None,
                "tax_behavior": "unspecified",
                "tiers_mode": None,
                "transform_quantity": None,
                "type": "one_time",
                "unit_amount": unit,
                "unit_amount_decimal": str(unit),
            },
            "quantity": quantity,
        }

    def _session_line_items(self, rec: Recorded, args: Obj, session_id: str) -> Obj:
        self._check_params(args, LIST)
        self._lookup(session_id, "checkout.session")
        items = self._private[session_id]["line_items"]
        limit = self._limit(args)
        return {
            "object": "list",
            "data": items[:limit],
            "has_more": len(items) > limit,
            "url": f"/v1/checkout/sessions/{session_id}/line_items",
        }

    def _expire_session(self, rec: Recorded, args: Obj, session_id: str) -> Obj:
        self._check_params(args, EXPAND)
        session = self._lookup(session_id, "checkout.session")
        if session["status"] != "open":
            raise ApiError(
                400,
                'Only Checkout Sessions with a status in ["open"] can be expired. This Checkout '
                f'Session has a status of "{session["status"]}".',
            )
        session.update(status="expired", url=None)
        self.event("checkout.session.expired", session, request=rec)
        return session
