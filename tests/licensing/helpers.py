"""Offer terms and request input with sensible defaults; override any field by keyword."""

from __future__ import annotations

import datetime as dt
from typing import Any

from licensing import services


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
