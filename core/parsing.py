"""Parsing of numbers from URLs and forms.

str.isdigit() is true for "¹" and "٣", which int() then rejects or reads as another
number; ids and indices here are plain ASCII decimal only.
"""

from __future__ import annotations

import re
from datetime import date

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
