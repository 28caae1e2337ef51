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


def add_years(moment: datetime, years: int) -> datetime:
    """The same instant ``years`` later by the calendar; 29 February becomes 28 February
    in a year that has none (a term never runs past what was agreed)."""
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:
        return moment.replace(year=moment.year + years, day=28)


def birthday(born: date, age: int) -> datetime:
    """The first instant (UTC) of the day someone born on ``born`` turns ``age``; someone
    born on 29 February turns it on 1 March in a year that has none."""
    try:
        day = born.replace(year=born.year + age)
    except ValueError:
        day = date(born.year + age, 3, 1)
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
