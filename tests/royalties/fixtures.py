"""Fixtures for suites that need Bob's license on Alice's voice: royalties, credentials
and postgres import them into their conftest.py."""

from __future__ import annotations

from typing import Any

import pytest

from registry import services as registry_services
from tests import factories as f
from tests.royalties.helpers import issue


@pytest.fixture
def operator(db: None) -> Any:
    return f.UserFactory(email="olive@example.com", is_staff=True)


@pytest.fixture
def voice(performer_alice: Any) -> Any:
    return f.VoiceFactory(performer=performer_alice, display_name="Alice Warm")


@pytest.fixture
def license_(voice: Any, brand_bob: Any, operator: Any) -> Any:
    """Bob's license on Alice's voice: $2/work, 0.125c/s, MG $10 (1000 cents), 10% fee."""
    return issue(
        voice,
        brand_bob,
        operator,
        terms={
            "per_work": 200,
            "per_second": "0.125",
            "revenue_share_bps": 150,
            "minimum_guarantee": 1000,
            "max_works": 50,
            "max_seconds": 3600,
        },
        media=["tv", "online_video"],
        languages=["en-US"],
        territories=["US"],
    )


@pytest.fixture
def bob_key(brand_bob: Any) -> str:
    brand = brand_bob.brand_memberships.get().brand
    return registry_services.api_key_create(actor=brand_bob, owner=brand, name="pipeline")[1]
