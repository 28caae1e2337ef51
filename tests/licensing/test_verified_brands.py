"""Verified brands in licensing: offers that take verified brands only (the default), and
licenses that name the verified legal name and domain, everywhere a license is read."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from licensing import services
from licensing.models import License, LicenseRequest, OfferVersion
from tests import factories as f
from tests.licensing.helpers import offer_terms, request_input
from transparency import keys as log_keys
from verifier.cli import main as verifier_main

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_ivy(db: None) -> Any:
    """Ivy owns Ivy Audio, which has not verified a domain yet."""
    return f.MembershipFactory(
        brand__name="Ivy Audio",
        brand__slug="ivy-audio",
        brand__verified=False,
        user__email="ivy@example.com",
        role="owner",
    ).user


@pytest.fixture
def ivy_brand(owner_ivy: Any) -> Any:
    return owner_ivy.brand_memberships.get().brand


def api(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def request_body(brand: Any, campaign: str = "Launch") -> dict[str, Any]:
    today = dt.date.today()
    return {
        "brand": brand.pk,
        "campaign": campaign,
        "product": "Headphones",
        "script_summary": "A 20-second spot for our new headphones.",
        "uses": ["advertising"],
        "territories": ["US"],
        "languages": ["en-US"],
        "media": ["tv"],
        "valid_from": str(today),
        "valid_until": str(today + dt.timedelta(days=90)),
    }


def issue(req: LicenseRequest, operator: Any) -> License:
    services.request_decide(actor=req.voice.performer.user, request=req, approve=True)
    return services.license_settle_manually(operator=operator, request=req, invoice_ref="INV")


def verify_domain(owner: Any, brand: Any, dns_stub: Any, legal_name: str, domain: str) -> None:
    started = api(owner).post(
        f"/api/v1/brands/{brand.pk}/verification",
        {"legal_name": legal_name, "domain": domain},
        format="json",
    )
    pending = started.json()["pending"]
    dns_stub.publish(pending["txt_name"], pending["txt_value"])
    checked = api(owner).post(f"/api/v1/brands/{brand.pk}/verification/check")
    assert checked.status_code == 200, checked.json()


def test_a_brand_verifies_its_domain_and_its_next_license_names_it(
    client: Client, offer: Any, owner_ivy: Any, ivy_brand: Any, operator: Any, dns_stub: Any
) -> None:
    # An offer open to every brand licenses Ivy Audio before it verifies anything.
    open_offer = services.offer_publish(
        actor=offer.voice.performer.user,
        voice=offer.voice,
        title="Open to all",
        offer_terms=offer_terms(verified_brands_only=False, minimum_guarantee=0),
    )
    before = issue(
        services.request_submit(
            actor=owner_ivy, brand=ivy_brand, offer=open_offer, data=request_input()
        ),
        operator,
    )
    assert before.document["licensee"] == {"id": str(ivy_brand.pk), "name": "Ivy Audio"}

    # The default offer takes verified brands only: Ivy Audio is told why, and what to do.
    refused = api(owner_ivy).post(
        f"/api/v1/offers/{offer.pk}/requests", request_body(ivy_brand), format="json"
    )
    assert refused.status_code == 400
    assert refused["Content-Type"] == "application/problem+json"
    problem = refused.json()
    assert problem["type"] == "/problems/brand-unverified"
    assert "verified brands only" in problem["errors"]["brand"][0]
    assert f"/api/v1/brands/{ivy_brand.pk}/verification" in problem["errors"]["brand"][0]
    assert not LicenseRequest.objects.filter(offer_version__offer=offer).exists()

    # Ivy publishes the TXT record; the registry's resolver finds it (on a local server).
    verify_domain(owner_ivy, ivy_brand, dns_stub, "Ivy Audio GmbH", "ivy-audio.example")

    asked = api(owner_ivy).post(
        f"/api/v1/offers/{offer.pk}/requests", request_body(ivy_brand), format="json"
    )
    assert asked.status_code == 201, asked.json()
    lic = issue(LicenseRequest.objects.get(pk=asked.json()["id"]), operator)
    assert lic.document["licensee"] == {
        "id": str(ivy_brand.pk),
        "name": "Ivy Audio",
        "verified": {
            "legal_name": "Ivy Audio GmbH",
            "domain": "ivy-audio.example",
            "method": "dns",
        },
    }
    # The license issued before verification is as it was, and both verify.
    before.refresh_from_db()
    assert "verified" not in before.document["licensee"]
    results = (
        APIClient()
        .post("/api/v1/verify", {"jws": [lic.jws, before.jws]}, format="json")
        .json()["results"]
    )
    assert [r["valid"] for r in results] == [True, True]
    assert results[0]["licensee_verified"] == {
        "legal_name": "Ivy Audio GmbH",
        "domain": "ivy-audio.example",
        "method": "dns",
    }
    assert results[1]["licensee_verified"] is None

    # The license page and the public /verify/ page say so.
    client.force_login(owner_ivy)
    page = client.get(f"/licenses/{lic.license_id}/").content.decode()
    assert 'id="licensee-verified"' in page
    assert "Ivy Audio GmbH" in page and "ivy-audio.example" in page
    old_page = client.get(f"/licenses/{before.license_id}/").content.decode()
    assert 'id="licensee-verified"' not in old_page and "Not verified" in old_page
    verified_page = Client().post("/verify/", {"jws": lic.jws}).content.decode()
    assert "Valid license" in verified_page
    assert 'id="licensee-legal-name">Ivy Audio GmbH<' in verified_page
    assert "ivy-audio.example" in verified_page


def test_an_offer_open_to_every_brand_takes_an_unverified_brands_request(
    offer: Any, owner_ivy: Any, ivy_brand: Any
) -> None:
    services.offer_revise(
        actor=offer.voice.performer.user,
        offer=offer,
        offer_terms=offer_terms(verified_brands_only=False),
    )
    req = services.request_submit(
        actor=owner_ivy, brand=ivy_brand, offer=offer, data=request_input()
    )
    assert req.status == "submitted" and req.offer_version.number == 2


def test_new_offers_take_verified_brands_only_unless_the_performer_says_otherwise(
    voice: Any, client: Client
) -> None:
    performer = voice.performer.user
    body = {
        "title": "Ads",
        "uses": ["advertising"],
        "territories": ["US"],
        "languages": ["en"],
        "media": ["tv"],
        "max_term_days": 365,
        "currency": "USD",
        "upfront_fee": 0,
    }
    made = api(performer).post(f"/api/v1/voices/{voice.pk}/offers", body, format="json")
    assert made.status_code == 201 and made.json()["terms"]["verified_brands_only"] is True
    opened = api(performer).post(
        f"/api/v1/voices/{voice.pk}/offers",
        {**body, "title": "Open", "verified_brands_only": False},
        format="json",
    )
    assert opened.json()["terms"]["verified_brands_only"] is False

    client.force_login(performer)
    form = client.get(f"/studio/voices/{voice.slug}/offers/new/").content.decode()
    assert 'name="verified_brands_only"' in form
    assert 'id="id_verified_brands_only" checked' in form or (
        'checked id="id_verified_brands_only"' in form
    )
    page = client.get(f"/offers/{made.json()['id']}/").content.decode()
    assert "Verified brands only" in page


def test_the_offer_page_tells_an_unverified_brand_why_and_where_to_verify(
    client: Client, offer: Any, owner_ivy: Any, ivy_brand: Any
) -> None:
    client.force_login(owner_ivy)
    page = client.get(f"/offers/{offer.pk}/").content.decode()
    assert 'id="brand-unverified"' in page
    assert 'href="/brands/ivy-audio/verification/"' in page
    form = {
        "brand": ivy_brand.pk,
        "campaign": "Page campaign",
        "product": "p",
        "script_summary": "s",
        "uses": ["advertising"],
        "media": ["tv"],
        "territories": "US",
        "languages": "en-US",
        "valid_from": dt.date.today(),
        "valid_until": dt.date.today() + dt.timedelta(days=10),
    }
    response = client.post(f"/offers/{offer.pk}/", form)
    assert response.status_code == 200
    assert "accepts requests from verified brands only" in response.content.decode()
    assert not LicenseRequest.objects.exists()


def test_a_verified_brand_sees_no_warning(client: Client, offer: Any, brand_bob: Any) -> None:
    client.force_login(brand_bob)
    assert 'id="brand-unverified"' not in client.get(f"/offers/{offer.pk}/").content.decode()


@pytest.mark.django_db(transaction=True)
def test_the_offline_verifier_prints_the_verified_licensee(
    issued: Any,
    offer: Any,
    owner_ivy: Any,
    ivy_brand: Any,
    operator: Any,
    live_server: Any,
    tmp_path: Path,
    capsys: Any,
) -> None:
    services.offer_revise(
        actor=offer.voice.performer.user,
        offer=offer,
        offer_terms=offer_terms(verified_brands_only=False),
    )
    unverified = issue(
        services.request_submit(
            actor=owner_ivy, brand=ivy_brand, offer=offer, data=request_input()
        ),
        operator,
    )
    jwks = live_server.url + "/.well-known/jwks.json"
    lines = {}
    for lic in (issued, unverified):
        token = tmp_path / f"{lic.license_id}.jws"
        token.write_text(lic.jws)
        status = verifier_main(
            [
                "license",
                str(token),
                "--jwks",
                jwks,
                "--log-url",
                live_server.url,
                "--verifier-key",
                log_keys.verifier_key(),
            ]
        )
        out = capsys.readouterr().out
        assert status == 0, out
        lines[lic.license_id] = [line for line in out.splitlines() if line.startswith("verified ")]
    domain = issued.brand.verification().domain
    assert lines[issued.license_id] == [
        f"verified     domain {domain} proven (DNS TXT record), "
        "legal name Bobcat Audio Ltd as declared with it"
    ]
    assert lines[unverified.license_id] == [
        "verified     no: the license names no verified legal name or domain"
    ]


@pytest.mark.django_db(transaction=True)
def test_offer_versions_from_before_the_term_existed_take_every_brand(offer: Any) -> None:
    from django.core.management import call_command

    call_command("migrate", "licensing", "0004", verbosity=0)
    # Forward again, every app: going back took what depends on licensing with it.
    call_command("migrate", verbosity=0)
    assert OfferVersion.objects.get(offer=offer).verified_brands_only is False
    revised = services.offer_revise(
        actor=offer.voice.performer.user, offer=offer, offer_terms=offer_terms()
    )
    assert revised.verified_brands_only is True
