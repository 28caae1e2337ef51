"""Money between integer minor units (storage, the ledger) and decimal major units (what
people and spreadsheets read), with the currency's own number of decimals from CLDR.

The one place that knows how many decimals a currency has: JPY 0, EUR 2, KWD 3.
"""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import get_currency_precision

# The most any one amount may be, in minor units (a fee, a price per work, what one work
# costs its brand): ten thousand billion, far past any real fee, and far enough below
# 2**63 that the sums of a brand's, a payee's or a month's amounts never overflow.
MAX_AMOUNT = 10**13


def decimals(currency: str) -> int:
    """How many digits a currency has after the decimal point (ISO 4217 / CLDR)."""
    return int(get_currency_precision(currency.upper()))


def major_units(amount: int, currency: str) -> str:
    """``1250`` EUR → ``"12.50"``; ``1250`` JPY → ``"1250"``: exact, never a float."""
    places = decimals(currency)
    value = Decimal(amount).scaleb(-places)
    return f"{value:.{places}f}"
