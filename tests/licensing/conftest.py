from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from licensing import services
from registry.models import Brand
from tests import factories as f


def offer_terms(**over: Any) -> services.OfferTerms:
    values: dict[str, Any] = {
        "uses": ["advertising", "podcast"],
        "territories": ["US", "CA", "MX"],
        "languages": ["en", "es"],
        "media": ["tv", "online_video", "podcast"],
        "max_term_days": 730,
        "currency": "USD",
        "upfront_fee": 50_000,
        "per_work": 200,
        "per_second": "0.125",
        "revenue_share_bps": 150,
        "minimum_guarantee": 100_000,
        "excluded_content": ["political", "adult"],
        "exclusive": False,
    }
    values.update(over)
    return services.OfferTerms(**values)


def request_input(**over: Any) -> services.RequestInput:
    today = dt.date.today()
    values: dict[str, Any] = {
        "campaign": "Summer Roast 2027",
        "product": "Cold brew cans",
        "script_summary": "A warm voice-over for a 30-second spot about our new cold brew.",
        "channels": "TV, YouTube",
        "uses": ["advertising"],
        "territories": ["US"],
        "languages": ["en-US"],
        "media": ["tv", "online_video"],
        "valid_from": today,
        "valid_until": today + dt.timedelta(days=364),
    }
    values.update(over)
    return services.RequestInput(**values)


@pytest.fixture
def voice(performer_alice: Any) -> Any:
    return f.VoiceFactory(performer=performer_alice, display_name="Alice Warm")


@pytest.fixture
def offer(voice: Any) -> Any:
    return services.offer_publish(
        actor=voice.performer.user, voice=voice, title="Ads and podcasts", offer_terms=offer_terms()
    )


@pytest.fixture
def bob_brand(brand_bob: Any) -> Brand:
    return brand_bob.brand_memberships.get().brand


@pytest.fixture
def operator(db: None) -> Any:
    return f.UserFactory(email="olive@example.com", is_staff=True)


@pytest.fixture
def issued(offer: Any, brand_bob: Any, bob_brand: Brand, operator: Any) -> Any:
    """A license: requested by Bob's brand, approved by Alice, settled by an operator."""
    req = services.request_submit(
        actor=brand_bob, brand=bob_brand, offer=offer, data=request_input()
    )
    services.request_decide(actor=offer.voice.performer.user, request=req, approve=True)
    return services.license_settle_manually(operator=operator, request=req, invoice_ref="INV-1")
