"""``FakeStripe``: every resource's endpoints and Stripe-side changes on one server."""

from __future__ import annotations

from tests.payments.stripe_fake.accounts import Accounts
from tests.payments.stripe_fake.checkout import CheckoutSessions
from tests.payments.stripe_fake.customers import Customers
from tests.payments.stripe_fake.disputes import Disputes
from tests.payments.stripe_fake.invoices import Invoices
from tests.payments.stripe_fake.refunds import Refunds
from tests.payments.stripe_fake.server import Server
from tests.payments.stripe_fake.store import Route
from tests.payments.stripe_fake.transfers import Transfers


class FakeStripe(
    CheckoutSessions, Refunds, Disputes, Customers, Invoices, Accounts, Transfers, Server
):
    """Stripe's v1 API on a local port (see the package docstring).

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
        super().__init__(routes=self._route_table())

    def _route_table(self) -> list[Route]:
        """Every endpoint, in the order they are tried."""
        return [
            *self._checkout_routes(),
            *self._charge_routes(),
            *self._refund_routes(),
            *self._dispute_routes(),
            *self._customer_routes(),
            *self._invoice_routes(),
            *self._invoice_item_routes(),
            *self._invoice_payment_routes(),
            *self._account_routes(),
            *self._transfer_routes(),
            *self._balance_transaction_routes(),
            *self._event_routes(),
        ]
