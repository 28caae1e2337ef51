"""Parsing of numbers from URLs and forms.

str.isdigit() is true for "¹" and "٣", which int() then rejects or reads as another
number; ids and indices here are plain ASCII decimal only.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation

_DECIMAL = re.compile(r"[0-9]{1,19}")


def parse_index(raw: str | None) -> int | None:
    """A non-negative ASCII decimal that fits in a signed 64-bit column, or None."""
    if raw is None or not _DECIMAL.fullmatch(raw):
        return None
    value = int(raw)
    return value if value < 2**63 else None


_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})", re.ASCII)


def parse_month(raw: str | None) -> date | None:
    """The first day of a month written YYYY-MM, or None. December 9999 is refused too:
    a month's end is the next month's start, which a date cannot hold."""
    match = _MONTH.fullmatch(raw or "")
    if match is None or match[0] == "9999-12":
        return None
    try:
        return date(int(match[1]), int(match[2]), 1)
    except ValueError:
        return None


def parse_percent_bps(raw: str) -> int:
    """A percentage as people type it ("12.5", "100") in basis points, exactly: at most
    two decimals, finite, not negative. ValueError otherwise (never a rounded guess)."""
    try:
        value = Decimal(raw.strip())
    except (InvalidOperation, ValueError) as exc:
        raise ValueError(f"{raw!r} is not a number") from exc
    if not value.is_finite() or value < 0 or value > 10**6:
        raise ValueError(f"{raw!r} is not a percentage")
    bps = value * 100
    if bps != bps.to_integral_value():
        raise ValueError(f"{raw!r} has more than two decimals")
    return int(bps)
