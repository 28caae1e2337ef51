from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from licensing import services as licensing
from registry import services as registry_services
from tests import factories as f
from tests.licensing.conftest import offer_terms, request_input


@pytest.fixture
def operator(db: None) -> Any:
    return f.UserFactory(email="olive@example.com", is_staff=True)


def issue(
    voice: Any,
    brand_user: Any,
    operator: Any,
    *,
    terms: dict[str, Any] | None = None,
    **request: Any,
) -> Any:
    brand = brand_user.brand_memberships.get().brand
    offer = licensing.offer_publish(
        actor=voice.performer.user,
        voice=voice,
        title="Works",
        offer_terms=offer_terms(**(terms or {})),
    )
    req = licensing.request_submit(
        actor=brand_user, brand=brand, offer=offer, data=request_input(**request)
    )
    licensing.request_decide(actor=voice.performer.user, request=req, approve=True)
    return licensing.license_settle_manually(operator=operator, request=req, invoice_ref="INV")


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


def work(license_id: str | None = None, n: int = 0, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "client_ref": f"ad-{n}",
        "content_sha256": f"{n:064x}",
        "duration_ms": 30_000,
        "language": "en-US",
        "territory": "US",
        "use": "advertising",
        "medium": "tv",
        "title": f"Spot {n}",
    }
    if license_id is not None:
        body["license_id"] = license_id
    body.update(over)
    return body


__all__ = ["dt", "issue", "work"]
