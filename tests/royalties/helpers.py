"""Issue a license the way people do (offer, request, approval, settlement), and the
body of a work as a brand's pipeline posts it."""

from __future__ import annotations

import hashlib
from typing import Any

from licensing import services as licensing
from tests.licensing.helpers import offer_terms, request_input


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


def record_one(lic: Any, ref: str, *, content_sha256: str | None = None) -> Any:
    """Record one second-long US TV ad under `lic` as its brand; return the outcome."""
    from django.db import transaction

    from royalties.services import WorkInput, works_record

    item = WorkInput(
        license_id=lic.license_id,
        client_ref=ref,
        content_sha256=content_sha256 or hashlib.sha256(ref.encode()).hexdigest(),
        duration_ms=1000,
        language="en-US",
        territory="US",
        use="advertising",
        medium="tv",
    )
    with transaction.atomic():
        [outcome] = works_record(brand=lic.brand, items=[item])
    return outcome
