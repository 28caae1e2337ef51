"""Calendar months in UTC: the unit of statements, invoices and payouts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta


def month_start(day: date) -> date:
    """The first day of the month ``day`` is in."""
    return day.replace(day=1)


def next_month(month: date) -> date:
    """The first day of the month after ``month``."""
    return date(month.year + (month.month == 12), month.month % 12 + 1, 1)


def previous_month(month: date) -> date:
    """The first day of the month before ``month``."""
    return month_start(month_start(month) - timedelta(days=1))


def bounds(month: date) -> tuple[datetime, datetime]:
    """The month's first instant and the next month's first instant, in UTC."""
    start = datetime(month.year, month.month, 1, tzinfo=UTC)
    end_month = next_month(month)
    return start, datetime(end_month.year, end_month.month, 1, tzinfo=UTC)
