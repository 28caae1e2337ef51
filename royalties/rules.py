"""Pricing, recoupment and splits: pure functions over integers and exact decimals.

No Django, no floats. Amounts are integer minor units of one currency.

The one rounding rule, applied in `to_minor_units` and nowhere else: an exact amount of
minor units is rounded half up (x.5 goes to x+1) to a whole minor unit. A work's price is
summed exactly from its parts and rounded once. Splitting rounds nothing: a price is
allocated in whole units between the platform's fee and the payees in one pass, by
largest remainder, and a tie goes to the payees.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

BPS = 10_000


def to_minor_units(amount: Decimal) -> int:
    """The only place where a fraction of a minor unit is rounded."""
    if amount < 0:
        raise ValueError("amounts are never negative here")
    return int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Rates:
    """A license's royalty terms, as signed in the license document."""

    per_work: int = 0
    per_second: Decimal = Decimal(0)
    revenue_share_bps: int = 0

    def __post_init__(self) -> None:
        if self.per_work < 0 or self.per_second < 0 or not 0 <= self.revenue_share_bps <= BPS:
            raise ValueError("rates must be non-negative; a share is 0..10000 bps")


def price_work(rates: Rates, *, duration_ms: int, declared_revenue: int = 0) -> int:
    """Royalty for one work: per work + per second of audio + share of declared revenue."""
    if duration_ms < 0 or declared_revenue < 0:
        raise ValueError("durations and revenue are never negative")
    exact = (
        Decimal(rates.per_work)
        + rates.per_second * Decimal(duration_ms) / Decimal(1000)
        + Decimal(declared_revenue) * Decimal(rates.revenue_share_bps) / Decimal(BPS)
    )
    return to_minor_units(exact)


def allocate(amount: int, weights: Sequence[int]) -> list[int]:
    """Split `amount` in proportion to `weights` exactly (largest remainder method).

    Every part is the floor of its exact share; the minor units left over go one each to
    the parts with the largest remainders (ties to the earlier part), so the parts always
    sum to `amount`: no minor unit is created or lost.
    """
    if amount < 0:
        raise ValueError("cannot allocate a negative amount")
    if not weights or any(w < 0 for w in weights) or sum(weights) == 0:
        raise ValueError("weights must be non-negative with a positive total")
    total = sum(weights)
    floors = [amount * w // total for w in weights]
    remainders = [amount * w % total for w in weights]
    left = amount - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for i in order[:left]:
        floors[i] += 1
    return floors


@dataclass(frozen=True)
class Recoupment:
    """How one royalty meets the unrecouped advance (the minimum guarantee)."""

    from_advance: int  # covered by what the brand paid upfront
    owed_by_brand: int  # invoiced to the brand
    advance_left: int


def recoup(royalty: int, advance_left: int) -> Recoupment:
    """Royalties first use up the advance the brand paid; only then does the brand owe more.

    The payee earns the whole royalty either way; recoupment only decides who pays it.
    """
    if royalty < 0 or advance_left < 0:
        raise ValueError("never negative")
    used = min(royalty, advance_left)
    return Recoupment(
        from_advance=used, owed_by_brand=royalty - used, advance_left=advance_left - used
    )


@dataclass(frozen=True)
class Distribution:
    fee: int
    payees: list[int]

    @property
    def total(self) -> int:
        return self.fee + sum(self.payees)


def distribute(royalty: int, *, fee_bps: int, split_bps: Sequence[int]) -> Distribution:
    """A royalty allocated between the platform's fee (``fee_bps`` of it) and the payees
    (the rest, weighted in bps summing to 10000), in one largest-remainder pass: every
    part is its exact share give or take one unit, the parts add up to the royalty, and
    where the platform and a payee tie for a unit, the payee gets it."""
    if sum(split_bps) != BPS:
        raise ValueError("payee splits must sum to 10000 bps (100%)")
    if not 0 <= fee_bps <= BPS:
        raise ValueError("fee is 0..10000 bps")
    # Payees first: allocate() gives ties to the earlier part.
    parts = allocate(royalty, [bps * (BPS - fee_bps) for bps in split_bps] + [fee_bps * BPS])
    return Distribution(fee=parts[-1], payees=parts[:-1])


def true_up(advance_left: int) -> int:
    """At the end of a license's term, the advance not recouped is earned by the payees:
    the minimum guarantee was guaranteed. Returns the amount to release to them."""
    if advance_left < 0:
        raise ValueError("never negative")
    return advance_left
