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

Where things are: one module per Stripe resource, each with its routes first, then what
Stripe changes on its side (returning the event), then the endpoints --
``checkout`` (Checkout Sessions), ``charges`` (PaymentIntents, Charges), ``refunds``,
``disputes``, ``customers``, ``invoices`` (and InvoicePayments), ``invoice_items``,
``accounts`` (and AccountLinks), ``transfers`` (and reversals), ``balance_transactions``,
``events`` (Events, webhook signing). The machinery under them: ``server`` (HTTP, auth,
idempotency, routing), ``store`` (objects, ids, the clock), ``lists`` (pagination,
``expand[]``), ``params`` (parameter checks), ``wire`` (encoding, errors, ``Recorded``);
``fake`` puts them together.
"""

from __future__ import annotations

from tests.payments.stripe_fake.charges import stripe_fee
from tests.payments.stripe_fake.disputes import DISPUTE_FEE
from tests.payments.stripe_fake.events import encode_event, sign
from tests.payments.stripe_fake.fake import FakeStripe
from tests.payments.stripe_fake.wire import API_VERSION, Recorded, decode_params

__all__ = [
    "API_VERSION",
    "DISPUTE_FEE",
    "FakeStripe",
    "Recorded",
    "decode_params",
    "encode_event",
    "sign",
    "stripe_fee",
]
