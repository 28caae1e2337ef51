"""Pure checks of license terms against an offer: territories, languages, uses, media, term.

No Django: each check returns the list of problems, keyed by field, so that a request
is refused with every reason at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

WORLD = "WORLD"


def territories_cover(offered: Sequence[str], wanted: Iterable[str]) -> list[str]:
    """Territories asked for that the offer does not include."""
    if WORLD in offered:
        return []
    return [t for t in wanted if t not in offered]


def territories_overlap(a: Sequence[str], b: Sequence[str]) -> bool:
    return WORLD in a or WORLD in b or bool(set(a) & set(b))


def language_covered(offered: Sequence[str], tag: str) -> bool:
    """An offer of "es" covers "es-MX"; an offer of "es-419" does not cover "es-ES"."""
    lowered = tag.lower()
    return any(lowered == o.lower() or lowered.startswith(o.lower() + "-") for o in offered)


def dates_overlap(a_from: date, a_until: date, b_from: date, b_until: date) -> bool:
    return a_from <= b_until and b_from <= a_until


def term_days(valid_from: date, valid_until: date) -> int:
    """Both ends count: a license from 1 Jan to 1 Jan is one day long."""
    return (valid_until - valid_from).days + 1
