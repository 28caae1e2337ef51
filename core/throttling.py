"""Rate limiting for the plain (non-DRF) public endpoints, with DRF's "public" rate.

A fixed window per client address in the cache (Redis in production, so every web
process shares it): one atomic increment per request.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _rate() -> tuple[int, int]:
    text = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["public"]
    count, period = text.split("/")
    return int(count), _PERIODS[period[0]]


def public_rate_limit(request: HttpRequest, scope: str) -> int | None:
    """None when the request may proceed, else the seconds until it may."""
    limit, period = _rate()
    window = int(time.time()) // period
    key = f"throttle:{scope}:{request.META.get('REMOTE_ADDR', '')}:{window}"
    if cache.add(key, 1, timeout=period + 1):
        return None
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr: a fresh window
        cache.add(key, 1, timeout=period + 1)
        return None
    if count <= limit:
        return None
    return max(1, (window + 1) * period - int(time.time()))
