"""Licensing over HTTP: who may see and do what; pages for each side."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from licensing import services
from licensing.models import LicenseRequest, Offer
from registry import services as registry_services
from tests.licensing.helpers import request_input

pytestmark = pytest.mark.django_db


def api(user: Any = None, key: str | None = None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    if key is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def brand_key(user: Any) -> str:
    brand = user.brand_memberships.get().brand
    return registry_services.api_key_create(actor=user, owner=brand, name="k")[1]


def request_body(**over: Any) -> dict[str, Any]:
    today = dt.date.today()
    body = {
        "campaign": "Launch",
        "product": "Widget",
        "script_summary": "30s spot",
        "uses": ["advertising"],
        "territories": ["US"],
        "languages": ["en-US"],
        "media": ["tv"],
        "valid_from": str(today),
        "valid_until": str(today + dt.timedelta(days=30)),
    }
    body.update(over)
    return body


def test_a_performer_publishes_an_offer_and_a_brand_key_requests_under_it(
    voice: Any, brand_bob: Any
) -> None:
    offer_body = {
        "title": "Ads",
        "uses": ["advertising"],
        "territories": ["US", "CA"],
        "languages": ["en"],
        "media": ["tv"],
        "max_term_days": 365,
        "currency": "usd",
        "upfront_fee": 1000,
        "per_second": "0.25",
    }
    created = api(voice.performer.user).post(
        f"/api/v1/voices/{voice.pk}/offers", offer_body, format="json"
    )
    assert created.status_code == 201, created.content
    offer_id = created.json()["id"]
    assert created.json()["terms"]["currency"] == "USD"
    assert api().get("/api/v1/offers").json()["results"][0]["id"] == offer_id

    key = brand_key(brand_bob)
    submitted = api(key=key).post(
        f"/api/v1/offers/{offer_id}/requests", request_body(), format="json"
    )
    assert submitted.status_code == 201, submitted.content
    assert submitted.json()["status"] == "submitted"
    outside = api(key=key).post(
        f"/api/v1/offers/{offer_id}/requests", request_body(territories=["FR"]), format="json"
    )
    assert outside.status_code == 400
    assert "territories" in outside.json()["errors"]

    approve = api(voice.performer.user).post(
        f"/api/v1/license-requests/{submitted.json()['id']}/approve", {"note": "yes"}, format="json"
    )
    assert approve.json()["status"] == "awaiting_payment"
    # A brand key cannot approve its own request.
    assert api(key=key).post(
        f"/api/v1/license-requests/{submitted.json()['id']}/approve"
    ).status_code in (403, 404)


def test_a_brand_key_cannot_publish_offers(voice: Any, brand_bob: Any) -> None:
    response = api(key=brand_key(brand_bob)).post(
        f"/api/v1/voices/{voice.pk}/offers", {}, format="json"
    )
    assert response.status_code == 403
    assert not Offer.objects.exists()


def test_one_brand_never_sees_anothers_requests_or_licenses(
    issued: Any, brand_bob: Any, brand_hank: Any, client: Client
) -> None:
    hank = api(key=brand_key(brand_hank))
    assert hank.get("/api/v1/license-requests").json()["results"] == []
    assert hank.get("/api/v1/licenses").json()["results"] == []
    assert hank.get(f"/api/v1/licenses/{issued.license_id}").status_code == 404
    assert (
        hank.post(
            f"/api/v1/licenses/{issued.license_id}/revoke", {"reason": "surrender"}, format="json"
        ).status_code
        == 404
    )
    bob = api(key=brand_key(brand_bob))
    assert [lic["license_id"] for lic in bob.get("/api/v1/licenses").json()["results"]] == [
        issued.license_id
    ]
    assert bob.get(f"/api/v1/licenses/{issued.license_id}").json()["jws"] == issued.jws

    client.force_login(brand_hank)
    assert client.get(f"/licenses/{issued.license_id}.jws").status_code == 404
    assert client.get(f"/licenses/{issued.license_id}/").status_code == 403
    bob_slug = brand_bob.brand_memberships.get().brand.slug
    assert client.get(f"/brands/{bob_slug}/licensing/").status_code == 404
    client.force_login(brand_bob)
    download = client.get(f"/licenses/{issued.license_id}.jws")
    assert download.status_code == 200 and download.content.decode() == issued.jws
    assert "attachment" in download["Content-Disposition"]
    # Anyone may ask for the status of a license by id.
    assert Client().get(f"/api/v1/licenses/{issued.license_id}/status").json()["status"] == "active"


def test_the_jwks_is_public_and_holds_no_private_key(client: Client, issued: Any) -> None:
    response = client.get("/.well-known/jwks.json")
    assert response["Content-Type"] == "application/jwk-set+json"
    key = response.json()["keys"][0]
    assert set(key) >= {"kty", "crv", "x", "kid", "status", "status_log_index"}
    assert "d" not in key


def test_the_performer_approves_on_the_requests_page(
    client: Client, offer: Any, brand_bob: Any, bob_brand: Any
) -> None:
    req = services.request_submit(
        actor=brand_bob, brand=bob_brand, offer=offer, data=request_input()
    )
    client.force_login(offer.voice.performer.user)
    page = client.get("/studio/requests/").content.decode()
    assert "Summer Roast 2027" in page
    client.post(f"/studio/requests/{req.pk}/approve/", {"note": "go"})
    req.refresh_from_db()
    assert req.status == "awaiting_payment"
    assert client.post(f"/studio/requests/{req.pk}/whatever/").status_code == 404


def test_the_verify_page_explains_in_plain_words(client: Client, issued: Any) -> None:
    page = client.post("/verify/", {"jws": issued.jws}).content.decode()
    assert "Valid license" in page and issued.license_id in page
    tampered = issued.jws[:-4] + ("AAAA" if not issued.jws.endswith("AAAA") else "BBBB")
    page = client.post("/verify/", {"jws": tampered}).content.decode()
    assert "Not valid: bad_signature" in page
    from django.core.files.uploadedfile import SimpleUploadedFile

    page = client.post(
        "/verify/", {"file": SimpleUploadedFile("x.jws", issued.jws.encode())}
    ).content.decode()
    assert "Valid license" in page
    assert "Paste a license" in client.post("/verify/", {}).content.decode()


def test_a_brand_requests_through_the_offer_page(
    client: Client, offer: Any, brand_bob: Any
) -> None:
    client.force_login(brand_bob)
    today = dt.date.today()
    data = {
        "brand": brand_bob.brand_memberships.get().brand.pk,
        "campaign": "Page campaign",
        "product": "p",
        "script_summary": "s",
        "uses": ["advertising"],
        "media": ["tv"],
        "territories": "US, MX",
        "languages": "es-MX",
        "valid_from": today,
        "valid_until": today + dt.timedelta(days=10),
    }
    response = client.post(f"/offers/{offer.pk}/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert LicenseRequest.objects.get().territories == ["US", "MX"]
    bad = client.post(f"/offers/{offer.pk}/", {**data, "territories": "ZZ"}).content.decode()
    assert "not an ISO 3166-1 alpha-2" in bad


def test_a_brand_key_may_only_surrender(issued: Any, brand_bob: Any) -> None:
    brand_bob.is_staff = True  # even a staff member's key acts for the brand only
    brand_bob.save()
    key = api(key=brand_key(brand_bob))
    refused = key.post(
        f"/api/v1/licenses/{issued.license_id}/revoke", {"reason": "operator"}, format="json"
    )
    assert refused.status_code == 403
    issued.refresh_from_db()
    assert not issued.revoked
    ok = key.post(
        f"/api/v1/licenses/{issued.license_id}/revoke", {"reason": "surrender"}, format="json"
    )
    assert ok.status_code == 200 and ok.json()["status"] == "revoked"


@pytest.mark.parametrize("body", ["[null, null]", '"surrender"', "{}"])
def test_a_revocation_body_of_the_wrong_shape_is_a_400(
    issued: Any, brand_bob: Any, body: str
) -> None:
    response = api(key=brand_key(brand_bob)).post(
        f"/api/v1/licenses/{issued.license_id}/revoke", data=body, content_type="application/json"
    )
    assert response.status_code == 400
