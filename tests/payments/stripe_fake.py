"""Stripe's HTTP layer, answered locally.

``FakeStripe`` is a small HTTP server that speaks the part of Stripe's v1 REST API our payments
integration uses, so tests run the *real* ``stripe`` library against it end to end::

    with FakeStripe() as fake:
        client = stripe.StripeClient("sk_test_x", base_addresses={"api": fake.url})
        session = client.v1.checkout.sessions.create(params={...})
        event = fake.complete_checkout(session.id)  # what Stripe would POST to the webhook

It answers the way Stripe does: form-encoded bodies (``a[b]=1``, ``a[0][c]=2``), bearer keys
(``sk_test_...`` only), idempotency keys (replay, parameter mismatch, in-flight conflict),
``expand[]``, cursor pagination (``starting_after``/``ending_before``, newest first) and
Stripe-shaped errors (unknown parameter, missing parameter, resource_missing, 404 for unknown
URLs). Objects carry Stripe's id prefixes, ``object`` names and the field names of the API version
the library pins (``stripe.api_version``); they live in ``fake.objects`` and change "on Stripe's
side" through methods such as :meth:`FakeStripe.complete_checkout`, :meth:`FakeStripe.refund` or
:meth:`FakeStripe.dispute`, each returning the webhook event Stripe would send. :func:`sign` signs
a webhook payload exactly as Stripe does.

Standard library only: a ``ThreadingHTTPServer`` on 127.0.0.1 (ephemeral port) in a daemon
thread. Not modelled: the platform balance (a transfer never fails for insufficient funds),
Stripe-Account scoped requests (the header is recorded and otherwise ignored), subscriptions,
prices and products as objects of their own, and live mode.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import operator
import random
import re
import string
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

try:  # events carry the API version the library under test pins, as Stripe's do
    from stripe import api_version as API_VERSION
except ImportError:  # pragma: no cover - the fake itself needs only the standard library
    API_VERSION = "2026-10-28.endive"

Obj = dict[str, Any]

DAY = 86_400
DISPUTE_FEE = 1500
ACCOUNT_LINK_LIFETIME = 300
_ALNUM = string.ascii_letters + string.digits

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

_CURRENCY_BY_COUNTRY = {"US": "usd", "GB": "gbp", "CA": "cad", "AU": "aud", "JP": "jpy"}
_EURO_COUNTRIES = frozenset("AT BE CY DE EE ES FI FR GR HR IE IT LT LU LV MT NL PT SI SK".split())

# Top-level parameters each endpoint accepts (from the library's params classes, without its
# request options): anything else is answered with Stripe's "Received unknown parameter".
_EXPAND = frozenset({"expand"})
_LIST = frozenset({"ending_before", "expand", "limit", "starting_after"})
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
CUSTOMER_CREATE = frozenset(
    """address balance business_name cash_balance description email expand individual_name
    invoice_prefix invoice_settings metadata name next_invoice_sequence payment_method phone
    preferred_locales shipping source tax tax_exempt tax_id_data test_clock validate""".split()
)
INVOICE_CREATE = frozenset(
    """account_tax_ids application_fee_amount auto_advance automatic_tax
    automatically_finalizes_at collection_method currency custom_fields customer
    customer_account days_until_due default_payment_method default_source default_tax_rates
    description discounts due_date effective_at expand footer from_invoice issuer metadata
    number on_behalf_of payment_settings pending_invoice_items_behavior rendering shipping_cost
    shipping_details statement_descriptor subscription transfer_data""".split()
)
INVOICE_ITEM_CREATE = frozenset(
    """amount currency customer customer_account description discountable discounts expand
    invoice metadata period price_data pricing quantity quantity_decimal subscription
    tax_behavior tax_code tax_rates unit_amount_decimal""".split()
)
ACCOUNT_CREATE = frozenset(
    """account_token business_profile business_type capabilities company controller country
    default_currency documents email expand external_account groups individual metadata
    settings tos_acceptance type""".split()
)
ACCOUNT_LINK_CREATE = frozenset(
    "account collect collection_options expand refresh_url return_url type".split()
)
TRANSFER_CREATE = frozenset(
    """amount currency description destination expand metadata source_transaction source_type
    transfer_group""".split()
)
TRANSFER_LIST = _LIST | {"created", "destination", "transfer_group"}
BALANCE_TRANSACTION_LIST = _LIST | {"created", "currency", "payout", "source", "type"}
INVOICE_PAYMENT_LIST = _LIST | {"created", "invoice", "payment", "status"}
REFUND_CREATE = frozenset(
    """amount charge currency customer expand instructions_email metadata origin payment_intent
    reason refund_application_fee reverse_transfer""".split()
)
REVERSAL_CREATE = frozenset("amount description expand metadata refund_application_fee".split())
INVOICE_FINALIZE = frozenset({"auto_advance", "expand"})
PAYMENT_INTENT_RETRIEVE = frozenset({"client_secret", "expand"})

_DISPUTE_EVIDENCE_FIELDS = (
    "access_activity_log billing_address cancellation_policy cancellation_policy_disclosure "
    "cancellation_rebuttal customer_communication customer_email_address customer_name "
    "customer_purchase_ip customer_signature duplicate_charge_documentation "
    "duplicate_charge_explanation duplicate_charge_id product_description receipt "
    "refund_policy refund_policy_disclosure refund_refusal_explanation service_date "
    "service_documentation shipping_address shipping_carrier shipping_date "
    "shipping_documentation shipping_tracking_number uncategorized_file uncategorized_text"
).split()


def stripe_fee(amount: int) -> int:
    """Stripe's standard card fee: 2.9% (rounded half up) + 30."""
    return (abs(amount) * 29 + 500) // 1000 + 30


def sign(payload: bytes | str, secret: str, *, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` header Stripe sends with ``payload``: ``t=<ts>,v1=<hex>``.

    ``v1`` is the HMAC-SHA256, keyed with the endpoint's signing secret, of ``"<ts>.<payload>"``.
    """
    body = payload.encode() if isinstance(payload, str) else payload
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def encode_event(event: Obj) -> bytes:
    """A webhook body as Stripe sends it: the event as pretty-printed JSON."""
    return json.dumps(event, indent=2).encode()


def decode_params(encoded: str) -> Obj:
    """Decode a Stripe form/query string into nested dicts and lists.

    ``a[b]=1`` -> ``{"a": {"b": "1"}}``; ``a[0][c]=2`` and ``a[]=x`` -> lists. Values stay
    strings, as they are on the wire. Digit keys under ``metadata`` stay dict keys.
    """
    root: Obj = {}
    for key, value in parse_qsl(encoded, keep_blank_values=True):
        match = re.fullmatch(r"([^\[\]]+)((?:\[[^\[\]]*\])*)", key)
        parts = [match.group(1), *re.findall(r"\[([^\[\]]*)\]", match.group(2))] if match else [key]
        node = root
        for part in parts[:-1]:
            name = part or str(len(node))
            child = node.get(name)
            if not isinstance(child, dict):
                child = {}
                node[name] = child
            node = child
        node[parts[-1] or str(len(node))] = value
    return _listify(root, "")


def _listify(value: Any, key: str) -> Any:
    if not isinstance(value, dict):
        return value
    out = {k: _listify(v, k) for k, v in value.items()}
    if key != "metadata" and out and all(k.isdigit() for k in out):
        return [out[k] for k in sorted(out, key=int)]
    return out


def _wall_clock() -> int:
    return int(time.time())


@dataclass
class Recorded:
    """One request as the fake received it, and what it answered."""

    method: str
    path: str
    query: Obj
    params: Obj
    headers: dict[str, str]
    idempotency_key: str | None
    status: int | None = None  # None while in flight, or when the connection was dropped
    response: Obj | None = None
    request_id: str = ""
    replayed: bool = False  # answered from the idempotency store, nothing executed


@dataclass
class _Failure:
    method: str
    path: str
    status: int
    error: Obj
    headers: dict[str, str]
    saved: bool


@dataclass
class _Saved:
    method: str
    path: str
    params: Obj
    status: int
    body: Obj
    request_id: str


class _ApiError(Exception):
    """An error answer. ``saved``: kept under the idempotency key (the endpoint had begun
    executing, like Stripe) rather than dropped (parameter validation)."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        saved: bool = True,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.type = status, message, type
        self.code, self.param, self.saved = code, param, saved

    def body(self, request_id: str, now: int) -> Obj:
        return _error_body(self.message, self.type, request_id, now, self.code, self.param)


def _error_body(
    message: str,
    type: str,
    request_id: str,
    now: int,
    code: str | None = None,
    param: str | None = None,
) -> Obj:
    error: Obj = {}
    if code:
        error["code"] = code
        error["doc_url"] = f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}"
    error["message"] = message
    if param:
        error["param"] = param
    error["request_log_url"] = f"https://dashboard.stripe.com/test/logs/{request_id}?t={now}"
    error["type"] = type
    return {"error": error}


def _missing(param: str) -> _ApiError:
    return _ApiError(
        400, f"Missing required param: {param}.", code="parameter_missing", param=param, saved=False
    )


def _invalid(param: str, message: str, code: str = "parameter_invalid_string") -> _ApiError:
    return _ApiError(400, message, code=code, param=param, saved=False)


def _empty_list(url: str) -> Obj:
    return {"object": "list", "data": [], "has_more": False, "total_count": 0, "url": url}


_Handler = Callable[[Recorded, Obj, str], Obj]


class FakeStripe:
    """Stripe's v1 API on a local port (see the module docstring).

    - ``requests``: every request in arrival order, recorded before any hook runs;
      ``status``/``response`` are filled in when answered (they stay None if dropped).
    - ``objects``: every object (events included) by id; ``events``: every event built.
    - ``clock``: returns the unix time used for every ``created`` (default: wall clock).
    - ``before(rec)``: runs in the server thread once the request has arrived (a POST's
      idempotency key is then in flight). Blocking models a slow Stripe; raising drops the
      connection without an answer and executes nothing.
    - ``after(rec)``: runs once the request executed and its answer is kept; raising drops the
      connection, so the client never hears the answer (a retry with the same key replays it).
    - ``errors``: exceptions raised by the hooks, or by the fake itself (answered as 500s).
    """

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.objects: dict[str, Obj] = {}
        self.events: list[Obj] = []  # every event built, in order (including secondary ones)
        self.errors: list[BaseException] = []  # raised by hooks, or by the fake itself (500s)
        self.before: Callable[[Recorded], None] | None = None
        self.after: Callable[[Recorded], None] | None = None
        self.clock: Callable[[], int] = _wall_clock
        self._lock = threading.RLock()
        self._seq: dict[str, int] = {}
        self._private: dict[str, Obj] = {}
        self._failures: list[_Failure] = []
        self._saved: dict[str, _Saved] = {}
        self._in_flight: set[str] = set()
        self._settling: set[str] = set()  # balance transactions pending until available_on
        self._rng = random.Random()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._routes = self._build_routes()

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> FakeStripe:
        if self._server is None:
            server = _Server(self)
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="fake-stripe",
                daemon=True,
            )
            thread.start()
            self._server, self._thread = server, thread
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> FakeStripe:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeStripe is not started")
        return f"http://127.0.0.1:{self._server.server_port}"

    # -- inspection and hooks --------------------------------------------------------------

    def calls(self, method: str, path: str) -> list[Recorded]:
        """Requests made to exactly ``method path`` (e.g. ``("POST", "/v1/transfers")``)."""
        with self._lock:
            return [r for r in self.requests if r.method == method.upper() and r.path == path]

    def fail_next(
        self,
        method: str,
        path: str,
        status: int,
        error: Obj,
        *,
        headers: dict[str, str] | None = None,
        saved: bool = False,
    ) -> None:
        """Answer the next ``method path`` request with ``{"error": error}`` and ``status``.

        Nothing executes. By default the answer is not kept under the request's idempotency
        key, so a retry with the same key runs for real (a failure before Stripe's endpoint
        began); ``saved=True`` keeps it, so retries replay it (as Stripe does for a 500 raised
        during execution). ``headers`` are added to the answer (e.g. Stripe-Should-Retry).
        """
        failure = _Failure(method.upper(), path, status, dict(error), dict(headers or {}), saved)
        with self._lock:
            self._failures.append(failure)

    # -- changes Stripe makes on its side, each returning the event it would deliver --------

    def event(
        self,
        type: str,
        obj: Obj,
        *,
        created: int | None = None,
        account: str | None = None,
        previous_attributes: Obj | None = None,
        request: Recorded | None = None,
    ) -> Obj:
        """Build (and keep) an Event whose ``data.object`` is a snapshot of ``obj``.

        ``account`` is set for events about a connected account (Connect webhooks);
        ``request`` fills ``request.id``/``request.idempotency_key`` for API-caused events.
        """
        with self._lock:
            evt: Obj = {"id": self._new_id("evt_"), "object": "event"}
            if account is not None:
                evt["account"] = account
            data: Obj = {"object": self._snapshot(obj)}
            if previous_attributes is not None:
                data["previous_attributes"] = copy.deepcopy(previous_attributes)
            evt.update(
                {
                    "api_version": API_VERSION,
                    "created": self._now() if created is None else created,
                    "data": data,
                    "livemode": False,
                    "pending_webhooks": 1,
                    "request": {
                        "id": request.request_id if request else None,
                        "idempotency_key": request.idempotency_key if request else None,
                    },
                    "type": type,
                }
            )
            self._store(evt)
            self.events.append(evt)
            return evt

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

    def refund(self, charge_id: str, amount: int | None = None) -> Obj:
        """A refund (e.g. from the Dashboard) -> ``charge.refunded`` (also builds
        ``refund.created``). ``amount`` defaults to what is left to refund."""
        with self._state_change():
            charge = self._own(charge_id, "charge")
            return self._refund(charge, amount, metadata={}, reason=None, request=None)[1]

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

    def reverse_transfer(self, transfer_id: str, amount: int | None = None) -> Obj:
        """Reverse (part of) a transfer -> ``transfer.reversed``."""
        with self._state_change():
            transfer = self._own(transfer_id, "transfer")
            return self._reverse(transfer, amount, metadata={}, description=None, request=None)[1]

    def account_ready(self, account_id: str) -> Obj:
        """The connected account finished onboarding -> ``account.updated`` (a Connect event:
        ``account`` is set): requested capabilities and ``transfers`` become ``active``."""
        with self._state_change():
            account = self._own(account_id, "account")
            keys = ("capabilities", "charges_enabled", "details_submitted", "payouts_enabled")
            previous = {k: copy.deepcopy(account[k]) for k in keys}
            previous["requirements"] = copy.deepcopy(account["requirements"])
            capabilities = dict.fromkeys(account["capabilities"], "active")
            capabilities["transfers"] = "active"
            account.update(
                capabilities=capabilities,
                charges_enabled=True,
                details_submitted=True,
                payouts_enabled=True,
                requirements=self._requirements([]),
                future_requirements=self._requirements([]),
            )
            return self.event(
                "account.updated", account, account=account_id, previous_attributes=previous
            )

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

    # -- HTTP ------------------------------------------------------------------------------

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        split = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length).decode("utf-8", "replace") if length else ""
        headers = {k.lower(): v for k, v in handler.headers.items()}
        rec = Recorded(
            method=handler.command,
            path=split.path,
            query=decode_params(split.query),
            params=decode_params(body),
            headers=headers,
            idempotency_key=headers.get("idempotency-key"),
        )
        key = rec.idempotency_key if rec.method == "POST" else None
        with self._lock:
            rec.request_id = self._new_id("req_", 14)
            self.requests.append(rec)
            # Stripe has the request from here on: the same key arriving while `before` holds
            # this one is answered 409 idempotency_key_in_use.
            claimed = key is not None and key not in self._saved and key not in self._in_flight
            if claimed:
                self._in_flight.add(str(key))
        try:
            if not self._run_hook(self.before, rec):
                handler.close_connection = True  # nothing executed, and no answer at all
                return
            status, answer, extra = self._answer(rec, claimed)
        finally:
            if claimed:
                with self._lock:
                    self._in_flight.discard(str(key))
        rec.status, rec.response = status, answer
        if not self._run_hook(self.after, rec):
            handler.close_connection = True  # executed, but the answer is lost on the way
            return
        payload = json.dumps(answer, indent=2).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        handler.send_header("Request-Id", rec.request_id)
        handler.send_header("Stripe-Version", headers.get("stripe-version") or API_VERSION)
        if rec.method == "POST" and rec.idempotency_key:
            handler.send_header("Idempotency-Key", rec.idempotency_key)
        for name, value in extra.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(payload)

    def _run_hook(self, hook: Callable[[Recorded], None] | None, rec: Recorded) -> bool:
        if hook is None:
            return True
        try:
            hook(rec)
        except Exception as exc:
            with self._lock:
                self.errors.append(exc)
            return False
        return True

    def _answer(self, rec: Recorded, claimed: bool) -> tuple[int, Obj, dict[str, str]]:
        """``claimed``: this request already holds its idempotency key in flight."""
        auth_problem = self._auth_problem(rec.headers.get("authorization", ""))
        if auth_problem:
            body = {"error": {"message": auth_problem, "type": "invalid_request_error"}}
            return 401, body, {"WWW-Authenticate": 'Basic realm="Stripe"'}
        key = rec.idempotency_key if rec.method == "POST" else None
        if key is None:
            status, body, extra, _ = self._execute(rec)
            return status, body, extra
        if not claimed:
            with self._lock:
                early = self._replay(rec, key)
                if early is not None:
                    return early
                self._in_flight.add(key)
        try:
            status, body, extra, keep = self._execute(rec)
            if keep:
                with self._lock:
                    saved = _Saved(rec.method, rec.path, rec.params, status, body, rec.request_id)
                    self._saved[key] = saved
            return status, body, extra
        finally:
            with self._lock:
                self._in_flight.discard(key)

    def _replay(self, rec: Recorded, key: str) -> tuple[int, Obj, dict[str, str]] | None:
        saved = self._saved.get(key)
        if saved is None:
            if key not in self._in_flight:
                return None
            message = (
                "There is currently another in-progress request using this Idempotent Key "
                "(that probably means you submitted twice, and the other request is still "
                f"going through): {key}. Please try again later."
            )
            body = _error_body(
                message,
                "invalid_request_error",
                rec.request_id,
                self._now(),
                code="idempotency_key_in_use",
            )
            return 409, body, {}
        if (saved.method, saved.path) != (rec.method, rec.path):
            message = (
                "Keys for idempotent requests can only be used for the same endpoint they were "
                f"first used for ('{saved.method} {saved.path}' vs '{rec.method} {rec.path}'). "
                f"Try using a key other than '{key}' if you meant to execute a different request."
            )
            return 400, _error_body(message, "idempotency_error", rec.request_id, self._now()), {}
        if saved.params != rec.params:
            message = (
                "Keys for idempotent requests can only be used with the same parameters they "
                f"were first used with. Try using a key other than '{key}' if you meant to "
                "execute a different request."
            )
            return 400, _error_body(message, "idempotency_error", rec.request_id, self._now()), {}
        rec.replayed = True
        extra = {"Idempotent-Replayed": "true", "Original-Request": saved.request_id}
        return saved.status, copy.deepcopy(saved.body), extra

    def _execute(self, rec: Recorded) -> tuple[int, Obj, dict[str, str], bool]:
        """(status, body, extra headers, keep under the idempotency key)."""
        with self._lock:
            failure = next(
                (f for f in self._failures if (f.method, f.path) == (rec.method, rec.path)), None
            )
            if failure is not None:
                self._failures.remove(failure)
                error = {"error": copy.deepcopy(failure.error)}
                return failure.status, error, dict(failure.headers), failure.saved
            try:
                return 200, self._dispatch(rec), {}, True
            except _ApiError as exc:
                return exc.status, exc.body(rec.request_id, self._now()), {}, exc.saved
            except Exception as exc:  # a bug in the fake: a Stripe-shaped 500 the test will see
                self.errors.append(exc)
                body = {"error": {"message": f"FakeStripe crashed: {exc!r}", "type": "api_error"}}
                return 500, body, {"Stripe-Should-Retry": "false"}, False

    @staticmethod
    def _auth_problem(header: str) -> str | None:
        scheme, _, credentials = header.strip().partition(" ")
        key = ""
        if scheme.lower() == "bearer":
            key = credentials.strip()
        elif scheme.lower() == "basic":  # curl -u sk_test_...:
            try:
                key = base64.b64decode(credentials).decode().partition(":")[0]
            except ValueError:
                key = credentials
        if not key:
            return (
                "You did not provide an API key. You need to provide your API key in the "
                "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
                "YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, "
                "or we can help at https://support.stripe.com/."
            )
        if key.startswith("sk_test_") and len(key) > len("sk_test_"):
            return None
        masked = key[:8] + "*" * max(len(key) - 12, 0) + key[-4:] if len(key) > 12 else key
        return f"Invalid API Key provided: {masked}"

    # -- routing ---------------------------------------------------------------------------

    def _build_routes(self) -> list[tuple[str, re.Pattern[str], _Handler]]:
        get = self._retriever
        table: list[tuple[str, str, _Handler]] = [
            ("POST", "/v1/checkout/sessions", self._create_session),
            ("GET", "/v1/checkout/sessions/{id}", get("checkout.session")),
            ("GET", "/v1/checkout/sessions/{id}/line_items", self._session_line_items),
            ("POST", "/v1/checkout/sessions/{id}/expire", self._expire_session),
            ("GET", "/v1/payment_intents/{id}", get("payment_intent", PAYMENT_INTENT_RETRIEVE)),
            ("GET", "/v1/charges/{id}", get("charge")),
            ("POST", "/v1/refunds", self._create_refund),
            ("GET", "/v1/refunds/{id}", get("refund")),
            ("GET", "/v1/disputes/{id}", get("dispute")),
            ("POST", "/v1/customers", self._create_customer),
            ("GET", "/v1/customers/{id}", get("customer")),
            ("POST", "/v1/invoices", self._create_invoice),
            ("GET", "/v1/invoices/{id}", get("invoice")),
            ("GET", "/v1/invoices/{id}/lines", self._invoice_lines),
            ("POST", "/v1/invoices/{id}/finalize", self._finalize_invoice),
            ("POST", "/v1/invoices/{id}/send", self._send_invoice),
            ("POST", "/v1/invoices/{id}/void", self._void_invoice),
            ("POST", "/v1/invoiceitems", self._create_invoice_item),
            ("GET", "/v1/invoiceitems/{id}", get("invoiceitem")),
            ("GET", "/v1/invoice_payments", self._list_invoice_payments),
            ("GET", "/v1/invoice_payments/{id}", get("invoice_payment")),
            ("POST", "/v1/accounts", self._create_account),
            ("GET", "/v1/accounts/{id}", get("account")),
            ("POST", "/v1/account_links", self._create_account_link),
            ("POST", "/v1/transfers", self._create_transfer),
            ("GET", "/v1/transfers", self._list_transfers),
            ("GET", "/v1/transfers/{id}", get("transfer")),
            ("POST", "/v1/transfers/{id}/reversals", self._create_reversal),
            ("GET", "/v1/balance_transactions", self._list_balance_transactions),
            ("GET", "/v1/balance_transactions/{id}", get("balance_transaction")),
            ("GET", "/v1/events/{id}", get("event")),
        ]
        return [
            (method, re.compile(pattern.replace("{id}", "(?P<id>[^/]+)")), handler)
            for method, pattern, handler in table
        ]

    def _dispatch(self, rec: Recorded) -> Obj:
        args = rec.query if rec.method == "GET" else rec.params
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(rec.path)
            if match and method == rec.method:
                path_id = unquote(match.group("id")) if "id" in pattern.groupindex else ""
                return self._expand(handler(rec, args, path_id), args.get("expand"))
        raise _ApiError(
            404,
            f"Unrecognized request URL ({rec.method}: {rec.path}). Please see "
            "https://stripe.com/docs or we can help at https://support.stripe.com/.",
            saved=False,
        )

    def _retriever(self, object_name: str, allowed: frozenset[str] = _EXPAND) -> _Handler:
        def retrieve(rec: Recorded, args: Obj, path_id: str) -> Obj:
            self._check_params(args, allowed)
            return self._lookup(path_id, object_name)

        return retrieve

    # -- checkout ------------------------------------------------------------------------

    def _create_session(self, rec: Recorded, args: Obj, _: str) -> Obj:
        self._check_params(args, SESSION_CREATE)
        mode = self._enum(args, "mode", ("payment", "setup", "subscription"), required=True)
        if mode != "payment":
            raise _invalid("mode", f"FakeStripe answers mode=payment only, not mode={mode}.")
        raw_items = args.get("line_items")
        if not raw_items:
            raise _missing("line_items")
        if not isinstance(raw_items, list):
            raise _invalid("line_items", "Invalid array", "parameter_invalid_array")
        now = self._now()
        items: list[Obj] = []
        currency: str | None = None
        for i, raw in enumerate(raw_items):
            where = f"line_items[{i}]"
            if not isinstance(raw, dict):
                raise _invalid(where, "Invalid object", "parameter_invalid_object")
            if "price" in raw:
                raise _ApiError(
                    400,
                    f"No such price: '{raw['price']}'",
                    code="resource_missing",
                    param=f"{where}[price]",
                    saved=False,
                )
            data = raw.get("price_data")
            if not isinstance(data, dict):
                raise _missing(f"{where}[price_data]")
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
                raise _invalid(
                    f"{where}[price_data][currency]", "All line items must use the same currency."
                )
            currency = item_currency.lower()
            items.append(self._checkout_item(name, product, currency, unit, quantity, now))
        expires_at = self._opt_int(args, "expires_at")
        if expires_at is None:
            expires_at = now + DAY
        elif expires_at > now + DAY:
            raise _invalid(
                "expires_at",
                "The `expires_at` timestamp must be less than 24 hours from Checkout Session "
                "creation.",
            )
        elif expires_at < now + 1800:
            raise _invalid(
                "expires_at",
                "The `expires_at` timestamp must be at least 30 minutes from Checkout Session "
                "creation.",
            )
        customer = args.get("customer")
        if customer is not None:
            self._lookup(customer, "customer", param="customer")
        intent_data = args.get("payment_intent_data") or {}
        if not isinstance(intent_data, dict):
            raise _invalid("payment_intent_data", "Invalid object", "parameter_invalid_object")
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
        self._check_params(args, _LIST)
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
        self._check_params(args, _EXPAND)
        session = self._lookup(session_id, "checkout.session")
        if session["status"] != "open":
            raise _ApiError(
                400,
                'Only Checkout Sessions with a status in ["open"] can be expired. This Checkout '
                f'Session has a status of "{session["status"]}".',
            )
        session.update(status="expired", url=None)
        self.event("checkout.session.expired", session, request=rec)
        return session

    # -- payments ------------------------------------------------------------------------

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

    def _create_refund(self, rec: Recorded, args: Obj, _: str) -> Obj:
        self._check_params(args, REFUND_CREATE)
        if args.get("charge") is not None:
            charge = self._lookup(args["charge"], "charge", param="charge")
        elif args.get("payment_intent") is not None:
            pi = self._lookup(args["payment_intent"], "payment_intent", param="payment_intent")
            if pi["latest_charge"] is None:
                raise _ApiError(
                    400,
                    f"This PaymentIntent ({pi['id']}) does not have a successful charge to refund.",
                    code="charge_not_refundable",
                    param="payment_intent",
                )
            charge = self.objects[pi["latest_charge"]]
        else:
            raise _ApiError(
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
            raise _ApiError(
                400,
                f"Charge {charge['id']} has already been refunded.",
                code="charge_already_refunded",
            )
        amount = remaining if amount is None else amount
        if amount <= 0:
            raise _invalid("amount", "Invalid positive integer", "parameter_invalid_integer")
        if amount > remaining:
            raise _ApiError(
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

    # -- customers and invoices ------------------------------------------------------------

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
            raise _invalid(
                "days_until_due",
                "Invoices with `collection_method=send_invoice` need `days_until_due` or "
                "`due_date`.",
            )
        if collection != "send_invoice" and (days is not None or due_date is not None):
            raise _invalid(
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
            "lines": _empty_list(f"/v1/invoices/{invoice_id}/lines"),
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

    def _create_invoice_item(self, rec: Recorded, args: Obj, _: str) -> Obj:
        self._check_params(args, INVOICE_ITEM_CREATE)
        customer = self._lookup(self._req_str(args, "customer"), "customer", param="customer")
        invoice = None
        if args.get("invoice") is not None:
            invoice = self._lookup(args["invoice"], "invoice", param="invoice")
            if invoice["customer"] != customer["id"]:
                raise _invalid("invoice", "The invoice belongs to a different customer.")
        currency = args.get("currency") or (invoice or customer)["currency"]
        if not currency:
            raise _missing("currency")
        currency = currency.lower()
        quantity = self._opt_int(args, "quantity") or 1
        amount = self._opt_int(args, "amount")
        if amount is None:
            unit = self._opt_int(args, "unit_amount_decimal")
            if unit is None:
                raise _missing("amount")
            amount = unit * quantity
        if invoice is not None:
            if invoice["status"] != "draft":
                raise _ApiError(
                    400,
                    f"You can only add invoice items to draft invoices; {invoice['id']} is "
                    f"{invoice['status']}.",
                    code="invoice_not_editable",
                    param="invoice",
                )
            if invoice["currency"] != currency:
                raise _invalid("currency", "The invoice item currency must match the invoice's.")
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

    def _invoice_lines(self, rec: Recorded, args: Obj, invoice_id: str) -> Obj:
        self._check_params(args, _LIST)
        lines = self._lookup(invoice_id, "invoice")["lines"]
        limit = self._limit(args)
        return {**lines, "data": lines["data"][:limit], "has_more": len(lines["data"]) > limit}

    def _finalize_invoice(self, rec: Recorded, args: Obj, invoice_id: str) -> Obj:
        self._check_params(args, INVOICE_FINALIZE)
        invoice = self._lookup(invoice_id, "invoice")
        auto_advance = self._opt_bool(args, "auto_advance")
        if invoice["status"] != "draft":
            raise _ApiError(
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
        self._check_params(args, _EXPAND)
        invoice = self._lookup(invoice_id, "invoice")
        if invoice["collection_method"] != "send_invoice":
            raise _ApiError(
                400,
                "You can only manually send an invoice if its collection method is 'send_invoice'.",
            )
        if invoice["status"] != "open":
            raise _ApiError(
                400, f"You can only send an open invoice; this invoice is {invoice['status']}."
            )
        self.event("invoice.sent", invoice, request=rec)
        return invoice

    def _void_invoice(self, rec: Recorded, args: Obj, invoice_id: str) -> Obj:
        self._check_params(args, _EXPAND)
        invoice = self._lookup(invoice_id, "invoice")
        if invoice["status"] not in ("open", "uncollectible"):
            raise _ApiError(
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
            raise _invalid("payment", "Invalid object", "parameter_invalid_object")
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

    # -- connect ---------------------------------------------------------------------------

    def _create_account(self, rec: Recorded, args: Obj, _: str) -> Obj:
        self._check_params(args, ACCOUNT_CREATE)
        type_ = self._enum(args, "type", ("custom", "express", "standard"))
        if type_ is None and args.get("controller") is None:
            raise _missing("type")
        country = (args.get("country") or "US").upper()
        requested = args.get("capabilities") or {}
        if not isinstance(requested, dict):
            raise _invalid("capabilities", "Invalid object", "parameter_invalid_object")
        capabilities = {
            name: "inactive"
            for name, ask in requested.items()
            if isinstance(ask, dict) and ask.get("requested") == "true"
        }
        now = self._now()
        account_id = self._new_id("acct_", 16)
        dashboard = {"custom": "none", "express": "express", "standard": "full"}.get(
            type_ or "", "none"
        )
        account: Obj = {
            "id": account_id,
            "object": "account",
            "business_profile": dict.fromkeys(
                (
                    "annual_revenue estimated_worker_count mcc name product_description "
                    "support_address support_email support_phone support_url url"
                ).split()
            ),
            "business_type": args.get("business_type"),
            "capabilities": capabilities,
            "charges_enabled": False,
            "controller": {
                "fees": {"payer": "account" if type_ == "standard" else "application"},
                "is_controller": True,
                "losses": {"payments": "stripe" if type_ == "standard" else "application"},
                "requirement_collection": "application" if type_ == "custom" else "stripe",
                "stripe_dashboard": {"type": dashboard},
                "type": "application",
            },
            "country": country,
            "created": now,
            "default_currency": args.get("default_currency")
            or ("eur" if country in _EURO_COUNTRIES else _CURRENCY_BY_COUNTRY.get(country, "usd")),
            "details_submitted": False,
            "email": args.get("email"),
            "external_accounts": _empty_list(f"/v1/accounts/{account_id}/external_accounts"),
            "future_requirements": self._requirements([]),
            "metadata": self._metadata(args),
            "payouts_enabled": False,
            "requirements": self._requirements(
                [
                    "business_profile.mcc",
                    "business_profile.url",
                    "business_type",
                    "external_account",
                    "tos_acceptance.date",
                    "tos_acceptance.ip",
                ]
            ),
            "settings": {
                "payouts": {
                    "debit_negative_balances": True,
                    "schedule": {"delay_days": 2, "interval": "daily"},
                    "statement_descriptor": None,
                },
            },
            "tos_acceptance": {"date": None, "ip": None, "user_agent": None},
            "type": type_ or "none",
        }
        self._store(account)
        return account

    @staticmethod
    def _requirements(due: list[str]) -> Obj:
        return {
            "alternatives": [],
            "current_deadline": None,
            "currently_due": list(due),
            "disabled_reason": "requirements.past_due" if due else None,
            "errors": [],
            "eventually_due": list(due),
            "past_due": list(due),
            "pending_verification": [],
        }

    def _create_account_link(self, rec: Recorded, args: Obj, _: str) -> Obj:
        self._check_params(args, ACCOUNT_LINK_CREATE)
        account = self._lookup(self._req_str(args, "account"), "account", param="account")
        self._enum(args, "type", ("account_onboarding", "account_update"), required=True)
        now = self._now()
        return {
            "object": "account_link",
            "created": now,
            "expires_at": now + ACCOUNT_LINK_LIFETIME,
            "url": f"https://connect.stripe.test/setup/e/{account['id']}/{self._rand(12)}",
        }

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
            raise _ApiError(
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
            "reversals": _empty_list(f"/v1/transfers/{transfer_id}/reversals"),
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
            raise _ApiError(400, f"Transfer {transfer['id']} has already been fully reversed.")
        amount = remaining if amount is None else amount
        if amount <= 0:
            raise _invalid("amount", "Invalid positive integer", "parameter_invalid_integer")
        if amount > remaining:
            raise _ApiError(
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

    # -- balance transactions --------------------------------------------------------------

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

    # -- lists and expansion ---------------------------------------------------------------

    def _of_kind(self, object_name: str, keep: Callable[[Obj], bool]) -> list[Obj]:
        return [o for o in self.objects.values() if o["object"] == object_name and keep(o)]

    def _order(self, obj: Obj) -> tuple[int, int]:
        return obj["created"], self._seq[obj["id"]]

    def _page(self, items: Iterable[Obj], args: Obj, url: str) -> Obj:
        """A Stripe list: newest first, ``limit`` (10), ``starting_after``/``ending_before``."""
        limit = self._limit(args)
        ordered = sorted(items, key=self._order, reverse=True)
        after, before = args.get("starting_after"), args.get("ending_before")
        if after is not None and before is not None:
            raise _invalid(
                "starting_after",
                "You may only specify one of these parameters: ending_before, starting_after.",
            )
        if after is not None:
            cursor = self._order(self._cursor(after, "starting_after"))
            pool = [o for o in ordered if self._order(o) < cursor]
            page = pool[:limit]
        elif before is not None:
            cursor = self._order(self._cursor(before, "ending_before"))
            pool = [o for o in ordered if self._order(o) > cursor]
            page = pool[-limit:]
        else:
            pool = ordered
            page = pool[:limit]
        return {"object": "list", "data": page, "has_more": len(pool) > limit, "url": url}

    def _cursor(self, object_id: Any, param: str) -> Obj:
        obj = self.objects.get(object_id) if isinstance(object_id, str) else None
        if obj is None or "created" not in obj:
            raise _ApiError(
                400,
                f"No such object: '{object_id}'",
                code="resource_missing",
                param=param,
                saved=False,
            )
        return obj

    def _limit(self, args: Obj) -> int:
        limit = self._opt_int(args, "limit")
        if limit is None:
            return 10
        if not 1 <= limit <= 100:
            bound = "less than or equal to 100" if limit > 100 else "greater than or equal to 1"
            raise _invalid(
                "limit",
                f"This value must be {bound} (it currently is '{limit}').",
                "parameter_invalid_integer",
            )
        return limit

    def _created_filter(self, args: Obj) -> Callable[[int], bool]:
        raw = args.get("created")
        if raw is None:
            return lambda _t: True
        if isinstance(raw, str):
            exact = self._int_value(raw, "created")
            return lambda t: t == exact
        if not isinstance(raw, dict):
            raise _invalid("created", "Invalid object", "parameter_invalid_object")
        ops = {"gt": operator.gt, "gte": operator.ge, "lt": operator.lt, "lte": operator.le}
        checks: list[tuple[Callable[[int, int], bool], int]] = []
        for op, value in raw.items():
            if op not in ops:
                raise _ApiError(
                    400,
                    f"Received unknown parameter: created[{op}]",
                    code="parameter_unknown",
                    param=f"created[{op}]",
                    saved=False,
                )
            checks.append((ops[op], self._int_value(value, f"created[{op}]")))
        return lambda t: all(check(t, bound) for check, bound in checks)

    def _include(self, obj: Obj, name: str) -> Obj | None:
        """Includable fields: absent unless expanded."""
        kind, oid = obj.get("object"), obj.get("id", "")
        if kind == "checkout.session" and name == "line_items":
            items = self._private[oid]["line_items"]
            url = f"/v1/checkout/sessions/{oid}/line_items"
            return {"object": "list", "data": items, "has_more": False, "url": url}
        if kind == "charge" and name == "refunds":
            refunds = self._of_kind("refund", lambda r: r["charge"] == oid)
            return self._full_list(refunds, f"/v1/charges/{oid}/refunds")
        if kind == "invoice" and name == "payments":
            payments = self._of_kind("invoice_payment", lambda p: p["invoice"] == oid)
            return self._full_list(payments, "/v1/invoice_payments")
        return None

    def _full_list(self, items: list[Obj], url: str) -> Obj:
        data = sorted(items, key=self._order, reverse=True)
        return {
            "object": "list",
            "data": data,
            "has_more": False,
            "total_count": len(data),
            "url": url,
        }

    def _expand(self, obj: Obj, expand: Any) -> Obj:
        out = self._snapshot(obj)
        if expand is None:
            return out
        paths = [expand] if isinstance(expand, str) else expand
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            raise _invalid("expand", "Invalid array", "parameter_invalid_array")
        for path in paths:
            self._expand_path(out, path.split("."), path)
        return out

    def _expand_path(self, node: Any, parts: list[str], full: str) -> None:
        if not parts or node is None:
            return
        if isinstance(node, list):
            for element in node:
                self._expand_path(element, parts, full)
            return
        head, rest = parts[0], parts[1:]
        if isinstance(node, dict) and node.get("object") == "list" and head == "data":
            self._expand_path(node["data"], rest, full)
            return
        cannot = _invalid("expand", f"This property cannot be expanded ({full}).")
        if not isinstance(node, dict):
            raise cannot
        if head not in node:
            included = self._include(node, head)
            if included is None:
                raise cannot
            node[head] = self._snapshot(included)
        value = node[head]
        if isinstance(value, str):
            target = self.objects.get(value)
            if target is None:
                raise cannot
            node[head] = self._snapshot(target)
        elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            if not all(v in self.objects for v in value):
                raise cannot
            node[head] = [self._snapshot(self.objects[v]) for v in value]
        self._expand_path(node[head], rest, full)

    def _snapshot(self, value: Any) -> Any:
        out = copy.deepcopy(value)
        self._settle(out)
        return out

    def _settle(self, node: Any) -> None:
        """Charge balance transactions are ``pending`` until their ``available_on``."""
        if isinstance(node, dict):
            if node.get("object") == "balance_transaction" and node.get("id") in self._settling:
                status = "available" if node["available_on"] <= self._now() else "pending"
                node["status"] = status
                self.objects[node["id"]]["status"] = status
            for child in node.values():
                self._settle(child)
        elif isinstance(node, list):
            for child in node:
                self._settle(child)

    # -- parameters ------------------------------------------------------------------------

    @staticmethod
    def _check_params(args: Obj, allowed: frozenset[str]) -> None:
        for name in args:
            if name not in allowed:
                raise _ApiError(
                    400,
                    f"Received unknown parameter: {name}",
                    code="parameter_unknown",
                    param=name,
                    saved=False,
                )

    @staticmethod
    def _int_value(raw: Any, param: str) -> int:
        if isinstance(raw, str) and re.fullmatch(r"-?\d+", raw):
            return int(raw)
        raise _invalid(param, f"Invalid integer: {raw}", "parameter_invalid_integer")

    def _opt_int(self, args: Obj, name: str, param: str | None = None) -> int | None:
        raw = args.get(name)
        return None if raw is None else self._int_value(raw, param or name)

    def _req_int(self, args: Obj, name: str, param: str | None = None) -> int:
        value = self._opt_int(args, name, param)
        if value is None:
            raise _missing(param or name)
        return value

    def _positive_int(self, args: Obj, name: str) -> int:
        value = self._req_int(args, name)
        if value <= 0:
            raise _invalid(name, "Invalid positive integer", "parameter_invalid_integer")
        return value

    @staticmethod
    def _req_str(args: Obj, name: str, param: str | None = None) -> str:
        value = args.get(name)
        if value is None or value == "":
            raise _missing(param or name)
        if not isinstance(value, str):
            raise _invalid(param or name, f"Invalid string: {value!r}")
        return value

    @staticmethod
    def _opt_bool(args: Obj, name: str) -> bool | None:
        raw = args.get(name)
        if raw is None:
            return None
        if raw in ("true", "false"):
            return raw == "true"
        raise _invalid(name, f"Invalid boolean: {raw}", "parameter_invalid_boolean")

    @staticmethod
    def _enum(
        args: Obj, name: str, choices: tuple[str, ...], *, required: bool = False
    ) -> str | None:
        value = args.get(name)
        if value is None:
            if required:
                raise _missing(name)
            return None
        if value not in choices:
            listed = ", ".join(choices[:-1]) + f", or {choices[-1]}"
            raise _invalid(name, f"Invalid {name}: must be one of {listed}")
        return str(value)

    @staticmethod
    def _metadata(args: Obj, param: str = "metadata") -> dict[str, str]:
        raw = args.get("metadata")
        if raw is None or raw == "":
            return {}
        if not isinstance(raw, dict):
            raise _invalid(param, "Invalid object", "parameter_invalid_object")
        return {k: v for k, v in raw.items() if v != ""}  # "" unsets a key, as on Stripe

    # -- storage ---------------------------------------------------------------------------

    def _now(self) -> int:
        return int(self.clock())

    def _rand(self, length: int) -> str:
        return "".join(self._rng.choices(_ALNUM, k=length))

    def _new_id(self, prefix: str, length: int = 24) -> str:
        while True:
            candidate = prefix + self._rand(length)
            if candidate not in self.objects:
                return candidate

    def _store(self, obj: Obj) -> None:
        self.objects[obj["id"]] = obj
        self._seq[obj["id"]] = len(self._seq)

    def _lookup(self, object_id: Any, object_name: str, *, param: str | None = None) -> Obj:
        """``object_id`` as ``object_name``, or Stripe's resource_missing: 404 for an id in
        the path, 400 for one passed as parameter ``param``."""
        obj = self.objects.get(object_id) if isinstance(object_id, str) else None
        if obj is None or obj.get("object") != object_name:
            raise _ApiError(
                404 if param is None else 400,
                f"No such {object_name}: '{object_id}'",
                code="resource_missing",
                param=param or "id",
                saved=False,
            )
        return obj

    def _own(self, object_id: str, object_name: str) -> Obj:
        obj = self.objects.get(object_id)
        if obj is None or obj.get("object") != object_name:
            raise KeyError(f"no {object_name} {object_id!r}")
        return obj

    @contextmanager
    def _state_change(self) -> Iterator[None]:
        with self._lock:
            try:
                yield
            except _ApiError as exc:
                raise ValueError(exc.message) from exc


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, fake: FakeStripe) -> None:
        self.fake = fake
        super().__init__(("127.0.0.1", 0), _RequestHandler)


class _RequestHandler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms stalls

    def do_GET(self) -> None:
        self.server.fake._serve(self)

    def do_POST(self) -> None:
        self.server.fake._serve(self)

    def do_DELETE(self) -> None:
        self.server.fake._serve(self)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: requests are in ``FakeStripe.requests``."""


__all__ = [
    "API_VERSION",
    "FakeStripe",
    "Recorded",
    "decode_params",
    "encode_event",
    "sign",
    "stripe_fee",
]
