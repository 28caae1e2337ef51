"""A license whose term has not begun is "not yet valid" wherever anyone asks: the
verify API, the status API, the offline verifier, and the check of a work."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from licensing import services
from tests.licensing.helpers import request_input
from tests.royalties.helpers import record_one
from verifier.http import HttpClient
from verifier.license import LogInputs, verify_license

# The offline verifier asks a live server, which must see what the test wrote.
pytestmark = pytest.mark.django_db(transaction=True)


def test_a_license_not_yet_in_force_is_answered_alike(
    client: Client, offer: Any, brand_bob: Any, bob_brand: Any, operator: Any, live_server: Any
) -> None:
    start = dt.date.today() + dt.timedelta(days=30)
    req = services.request_submit(
        actor=brand_bob,
        brand=bob_brand,
        offer=offer,
        data=request_input(valid_from=start, valid_until=start + dt.timedelta(days=60)),
    )
    services.request_decide(actor=offer.voice.performer.user, request=req, approve=True)
    lic = services.license_settle_manually(operator=operator, request=req, invoice_ref="INV")

    verdict = client.post("/api/v1/verify", {"jws": lic.jws}, content_type="application/json")
    found = verdict.json()["results"][0]
    assert (found["valid"], found["reason"], found["license_status"]) == (
        False,
        "not_yet_valid",
        "not_yet_valid",
    )
    status = client.get(f"/api/v1/licenses/{lic.license_id}/status").json()
    assert status["status"] == "not_yet_valid"

    # Offline, asking the registry: the signed term and the registry agree.
    jwks = client.get("/.well-known/jwks.json").json()
    report = verify_license(
        lic.jws.encode(),
        jwks,
        dt.datetime.now(dt.UTC),
        LogInputs(registry=HttpClient(live_server.url, timeout=5)),
    )
    assert not report.valid and report.failure is not None
    assert report.failure.reason == "not_yet_valid"
    assert report.checks["revocation"].outcome == "ok"

    outcome = record_one(lic, "early")
    assert (outcome.status, outcome.reason) == ("rejected", "license_not_yet_valid")
    assert outcome.detail == f"the license starts on {start}"
