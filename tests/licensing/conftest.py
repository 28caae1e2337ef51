from __future__ import annotations

from typing import Any

import pytest

from licensing import services
from registry.models import Brand
from tests import factories as f
from tests.licensing.helpers import offer_terms, request_input


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
