"""Property tests of the pure pricing rules."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from royalties.rules import (
    BPS,
    Distribution,
    Rates,
    allocate,
    distribute,
    pension_health,
    price_work,
    recoup,
    set_aside,
    to_minor_units,
)

amounts = st.integers(min_value=0, max_value=10**12)
weights = st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=8).filter(
    lambda w: sum(w) > 0
)


@st.composite
def splits(draw: st.DrawFn) -> list[int]:
    """Payee shares in basis points that sum to exactly 100%."""
    n = draw(st.integers(min_value=1, max_value=6))
    cuts = sorted(draw(st.lists(st.integers(0, BPS), min_size=n - 1, max_size=n - 1)))
    bounds = [0, *cuts, BPS]
    return [bounds[i + 1] - bounds[i] for i in range(n)]


@given(amounts, weights)
def test_allocation_never_creates_or_loses_a_minor_unit(amount: int, w: list[int]) -> None:
    parts = allocate(amount, w)
    assert sum(parts) == amount
    total = sum(w)
    for part, weight in zip(parts, w, strict=True):
        exact = amount * weight / total
        assert abs(part - exact) < 1  # each part is its exact share, give or take one unit
        if weight == 0:
            assert part == 0


@given(amounts, st.integers(0, BPS), splits())
def test_distribution_totals_equal_the_royalty(
    royalty: int, fee_bps: int, split: list[int]
) -> None:
    d = distribute(royalty, fee_bps=fee_bps, split_bps=split)
    assert d.total == royalty
    assert all(p >= 0 for p in d.payees) and 0 <= d.fee <= royalty


@given(amounts, st.integers(0, BPS), splits())
def test_each_share_of_a_royalty_is_its_exact_share_give_or_take_a_unit(
    royalty: int, fee_bps: int, split: list[int]
) -> None:
    d = distribute(royalty, fee_bps=fee_bps, split_bps=split)
    assert abs(Decimal(d.fee) - Decimal(royalty) * fee_bps / BPS) < 1
    rest = Decimal(royalty) * (BPS - fee_bps) / BPS
    for share, bps in zip(d.payees, split, strict=True):
        assert abs(Decimal(share) - rest * bps / BPS) < 1


def test_a_unit_the_platform_and_a_payee_tie_for_goes_to_the_payee() -> None:
    # 10% of 105 is 10.5: the payee gets 95, the platform 10.
    assert distribute(105, fee_bps=1000, split_bps=[BPS]) == Distribution(10, [95])
    assert distribute(5, fee_bps=1000, split_bps=[BPS]) == Distribution(0, [5])
    assert distribute(10, fee_bps=1000, split_bps=[5000, 5000]) == Distribution(1, [5, 4])


@given(st.lists(amounts.map(lambda a: a % 10**7), max_size=40), st.integers(0, 10**8))
def test_recoupment_pays_nothing_extra_before_the_advance_is_covered(
    royalties: list[int], advance: int
) -> None:
    left = advance
    owed = 0
    recouped = 0
    for royalty in royalties:
        r = recoup(royalty, left)
        assert r.from_advance + r.owed_by_brand == royalty
        # The brand owes nothing while any advance is left to recoup.
        if r.owed_by_brand:
            assert r.advance_left == 0
        owed += r.owed_by_brand
        recouped += r.from_advance
        left = r.advance_left
    assert recouped + left == advance
    assert owed == max(0, sum(royalties) - advance)


@given(
    st.integers(0, 10**6),
    st.decimals(min_value=0, max_value=1000, places=6, allow_nan=False, allow_infinity=False),
    st.integers(0, BPS),
    st.integers(0, 10**7),
    st.integers(0, 10**9),
)
def test_a_price_is_its_exact_parts_rounded_once(
    per_work: int, per_second: Decimal, bps: int, duration_ms: int, revenue: int
) -> None:
    price = price_work(
        Rates(per_work, per_second, bps), duration_ms=duration_ms, declared_revenue=revenue
    )
    exact = per_work + per_second * duration_ms / 1000 + Decimal(revenue) * bps / BPS
    assert abs(Decimal(price) - exact) <= Decimal("0.5")


def test_the_rounding_rule_is_half_up() -> None:
    assert to_minor_units(Decimal("2.5")) == 3
    assert to_minor_units(Decimal("2.4999999")) == 2
    assert price_work(Rates(per_second=Decimal("0.5")), duration_ms=1000) == 1  # 0.5 -> 1
    assert price_work(Rates(per_second=Decimal("0.125")), duration_ms=4000) == 1  # 0.5 -> 1
    assert price_work(Rates(per_second=Decimal("0.125")), duration_ms=3000) == 0  # 0.375 -> 0


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError):
        distribute(100, fee_bps=0, split_bps=[5000, 4000])
    with pytest.raises(ValueError):
        allocate(10, [0, 0])
    with pytest.raises(ValueError):
        Rates(per_work=-1)
    with pytest.raises(ValueError):
        price_work(Rates(), duration_ms=-5)


def test_the_rules_import_no_django() -> None:
    import ast
    from pathlib import Path

    import royalties.rules as rules

    tree = ast.parse(Path(rules.__file__).read_text())
    imported = {
        (node.module or "").split(".")[0]
        if isinstance(node, ast.ImportFrom)
        else alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert imported <= {"__future__", "collections", "dataclasses", "decimal", "verifier"}


@given(amounts, st.integers(0, BPS))
def test_a_set_aside_is_the_shares_exact_part_rounded_once_and_never_more_than_it(
    share: int, bps: int
) -> None:
    aside = set_aside(share, bps)
    exact = Decimal(share) * bps / BPS
    assert 0 <= aside <= share
    assert abs(Decimal(aside) - exact) <= Decimal("0.5")
    assert set_aside(share, 0) == 0 and set_aside(share, BPS) == share


@given(amounts, st.integers(0, BPS))
def test_pension_and_health_is_the_prices_exact_part_rounded_once(price: int, bps: int) -> None:
    contribution = pension_health(price, bps)
    exact = Decimal(price) * bps / BPS
    assert abs(Decimal(contribution) - exact) <= Decimal("0.5")
    assert pension_health(price, 0) == 0


def test_rates_outside_0_to_10000_bps_are_refused() -> None:
    with pytest.raises(ValueError):
        set_aside(100, 10_001)
    with pytest.raises(ValueError):
        pension_health(-1, 100)
