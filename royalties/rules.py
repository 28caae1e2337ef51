"""Pricing, recoupment and splits: the registry's name for the one set of royalty rules,
which live in :mod:`verifier.royalty` so that the offline verifier recomputes statements
with the very code the ledger books with (no Django there, no floats anywhere)."""

from __future__ import annotations

from verifier.royalty import (
    BPS,
    Distribution,
    Rates,
    Recoupment,
    allocate,
    distribute,
    pension_health,
    price_work,
    recoup,
    set_aside,
    to_minor_units,
    true_up,
)

__all__ = [
    "BPS",
    "Distribution",
    "Rates",
    "Recoupment",
    "allocate",
    "distribute",
    "pension_health",
    "price_work",
    "recoup",
    "set_aside",
    "to_minor_units",
    "true_up",
]
