"""Money between integer minor units (storage, the ledger) and decimal major units (what
people and spreadsheets read), with the currency's own number of decimals from CLDR.

The one place that knows how many decimals a currency has: JPY 0, EUR 2, KWD 3.
"""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import get_currency_precision
from django.core.exceptions import ValidationError

# The most any one amount may be, in minor units (a fee, a price per work, what one work
# costs its brand): ten thousand billion, far past any real fee, and far enough below
# 2**63 that the sums of a brand's, a payee's or a month's amounts never overflow.
MAX_AMOUNT = 10**13

# The currencies the registry prices and pays in (ISO 4217, upper case).
CURRENCIES = frozenset(
    "USD EUR GBP JPY CAD AUD CHF SEK NOK DKK PLN CZK MXN BRL ARS CLP COP INR KRW SGD HKD "
    "NZD ZAR".split()
)


def validate_currency(code: object) -> None:
    """Refuse anything but a currency the registry trades in (a model and form validator)."""
    if code not in CURRENCIES:
        raise ValidationError(
            f"{code!r} is not a currency the registry uses; choose one of "
            f"{', '.join(sorted(CURRENCIES))}."
        )


def decimals(currency: str) -> int:
    """How many digits a currency has after the decimal point (ISO 4217 / CLDR)."""
    return int(get_currency_precision(currency.upper()))


def major_units(amount: int, currency: str) -> str:
    """``1250`` EUR → ``"12.50"``; ``1250`` JPY → ``"1250"``: exact, never a float."""
    places = decimals(currency)
    value = Decimal(amount).scaleb(-places)
    return f"{value:.{places}f}"
