"""A performer can require measured works: the offer's `measured_only` term is signed into
each license's terms and enforced on every work (nothing is signed that is not enforced)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from rest_framework.test import APIClient

from licensing.models import OfferVersion
from licensing.permission import WorkFacts, WorkPermission
from registry import services as registry_services
from royalties.models import Work, WorkAttempt
from royalties.services import WorkInput, works_record
from tests.helpers import tone
from tests.royalties.helpers import issue, post_with_audio, work

pytestmark = pytest.mark.django_db


@pytest.fixture
def measured_license(voice: Any, brand_bob: Any, operator: Any) -> Any:
    return issue(voice, brand_bob, operator, terms={"measured_only": True})


@pytest.fixture
def bob_key(brand_bob: Any) -> str:
    brand = brand_bob.brand_memberships.get().brand
    return registry_services.api_key_create(actor=brand_bob, owner=brand, name="pipeline")[1]


def test_the_term_is_signed_into_the_license(measured_license: Any) -> None:
    assert measured_license.offer_version.measured_only is True
    assert measured_license.document["terms"]["measured_only"] is True


def test_it_refuses_a_declared_work_under_a_measured_only_license(
    measured_license: Any, bob_key: str
) -> None:
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Bearer {bob_key}")
    response = c.post(
        f"/api/v1/licenses/{measured_license.license_id}/works",
        work(n=1),
        format="json",
        HTTP_IDEMPOTENCY_KEY="declared",
    )
    assert response.status_code == 422, response.content
    [result] = response.json()["results"]
    assert result["reason"] == "measured_audio_required"
    assert "requires works recorded with their audio" in result["detail"]
    assert not Work.objects.exists()
    assert WorkAttempt.objects.get().reason == "measured_audio_required"


def test_it_records_a_work_sent_with_its_audio_under_a_measured_only_license(
    measured_license: Any, bob_key: str
) -> None:
    response = post_with_audio(
        bob_key, measured_license.license_id, tone(2.0, "WAV"), idem="measured", n=2
    )
    assert response.status_code == 201, response.content
    assert Work.objects.get().measured is True


def test_the_refusal_is_licensings_one_answer(measured_license: Any) -> None:
    permission = WorkPermission(dt.date.today())
    declared = WorkFacts("advertising", "US", "en-US", "tv", 1000)
    measured = WorkFacts("advertising", "US", "en-US", "tv", 1000, measured=True)
    refusal = permission.refusal(measured_license, declared, works_used=0, milliseconds_used=0)
    assert refusal is not None and refusal.reason == "measured_audio_required"
    assert permission.refusal(measured_license, measured, works_used=0, milliseconds_used=0) is None


def test_licenses_without_the_term_accept_declared_works(
    voice: Any, brand_bob: Any, operator: Any
) -> None:
    lic = issue(voice, brand_bob, operator)
    assert lic.document["terms"]["measured_only"] is False
    # A license signed before the term existed has no such field: it never required it.
    del lic.document["terms"]["measured_only"]
    item = WorkInput(
        license_id=lic.license_id,
        client_ref="old",
        content_sha256="cd" * 32,
        duration_ms=1000,
        language="en-US",
        territory="US",
        use="advertising",
        medium="tv",
    )
    permission = WorkPermission(dt.date.today())
    facts = WorkFacts(item.use, item.territory, item.language, item.medium, item.duration_ms)
    assert permission.refusal(lic, facts, works_used=0, milliseconds_used=0) is None
    with transaction.atomic():
        [outcome] = works_record(brand=lic.brand, items=[item])
    assert outcome.status == "recorded"


def test_a_performer_requires_measured_works_through_the_offer_form(
    voice: Any, client: Client
) -> None:
    client.force_login(voice.performer.user)
    form = client.get(f"/studio/voices/{voice.slug}/offers/new/").content.decode()
    assert 'name="measured_only"' in form and "Only measured works" in form
    response = client.post(
        f"/studio/voices/{voice.slug}/offers/new/",
        {
            "title": "Measured ads",
            "uses": ["advertising"],
            "media": ["tv"],
            "territories": "US",
            "languages": "en",
            "max_term_days": 365,
            "currency": "USD",
            "upfront_fee": 0,
            "per_work": 0,
            "per_second": "0.5",
            "revenue_share_bps": 0,
            "minimum_guarantee": 0,
            "measured_only": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    version = OfferVersion.objects.get(offer__title="Measured ads")
    assert version.measured_only is True
    page = client.get(f"/offers/{version.offer_id}/").content.decode()
    assert "Measured only: each work is recorded with its audio" in page


def test_a_performer_requires_measured_works_through_the_api(voice: Any) -> None:
    api = APIClient()
    api.force_login(voice.performer.user)
    body = {
        "title": "Measured ads",
        "uses": ["advertising"],
        "territories": ["US"],
        "languages": ["en"],
        "media": ["tv"],
        "max_term_days": 365,
        "currency": "USD",
        "upfront_fee": 1000,
        "measured_only": True,
    }
    created = api.post(f"/api/v1/voices/{voice.pk}/offers", body, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["terms"]["measured_only"] is True
    assert OfferVersion.objects.get().measured_only is True
    body["measured_only"] = "sometimes"
    refused = api.post(f"/api/v1/voices/{voice.pk}/offers", body, format="json")
    assert refused.status_code == 400 and "measured_only" in refused.json()["errors"]
