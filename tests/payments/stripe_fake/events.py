"""Events, as Stripe builds them and delivers them to a webhook endpoint: the event
object, its JSON body, and the ``Stripe-Signature`` header."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import time

from tests.payments.stripe_fake.store import Route, Store
from tests.payments.stripe_fake.wire import API_VERSION, Obj, Recorded


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


class Events(Store):
    def _event_routes(self) -> list[Route]:
        return [("GET", "/v1/events/{id}", self._retriever("event"))]

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
