"""What every money flow shares: the settlement backend, when to date an entry for
something Stripe did, the cash movement behind an entry, Stripe's processing fees, and
the rules for an operator's manual settlement."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from core.months import month_start
from payments.models import Backend, CashMovement
from registry.models import Brand, User
from royalties import ledger
from royalties.ledger import Kind, Line
from royalties.models import Account, JournalEntry, Payee
from royalties.selectors import month_closed


class NotYet(Exception):
    """An event about something we have not heard of yet: it waits for the earlier event."""


def backend() -> str:
    return str(settings.PAYMENTS_BACKEND)


def booking_time(created: int | None) -> datetime:
    """When to date an entry for something Stripe did at `created`: then, unless that
    month is closed already (or the clock says the future), in which case now."""
    now = timezone.now()
    if not created:
        return now
    at = datetime.fromtimestamp(created, UTC)
    if at > now or at < now - timedelta(days=62):
        return now
    return now if month_closed(month_start(at.date())) else at


def movement(entry: JournalEntry, source: str, at: datetime, via: str) -> None:
    """Name the outside object that moved an entry's cash (a Stripe charge, refund,
    dispute or transfer; a bank reference), for reconciliation."""
    CashMovement.objects.get_or_create(
        entry=entry, defaults={"source": source[:255], "at": at, "backend": via}
    )


def processing_fee(*, source: str, currency: str, amount: int, at: datetime) -> None:
    """What Stripe kept of a charge or charged for a dispute: our expense, out of cash."""
    if not amount:
        return
    entry = ledger.post(
        kind=Kind.PROCESSING_FEE,
        source=source,
        currency=currency,
        memo=f"Stripe fee on {source}",
        lines=[
            Line(ledger.account(Account.Kind.PROCESSING_FEES, currency), amount),
            Line(ledger.account(Account.Kind.CASH, currency), -amount),
        ],
        at=at,
    )
    movement(entry, source, at, Backend.STRIPE)


def operator_reference(operator: User, reference: str, does: str, whose: str) -> str:
    """What every manual settlement needs: an operator, and the money's reference."""
    if not operator.is_staff:
        raise PermissionDenied(f"Only an operator {does}.")
    reference = reference.strip()
    if not reference:
        raise ValidationError({"reference": [f"Give {whose} reference."]})
    return reference


def manual_source(reference: str) -> str:
    """The source a bank transfer's reference gives the cash it moved."""
    return f"manual:{reference[:180]}"


def charge_of(source: str) -> str:
    """The Stripe charge id in a source, or "" for money that came another way."""
    return source if source.startswith(("ch_", "py_")) else ""


def balance_fee(charge: dict[str, Any]) -> int:
    """Stripe's fee on a charge, from its balance transaction."""
    return int((charge.get("balance_transaction") or {}).get("fee") or 0)


def brand_paid(
    *, kind: str, source: str, brand: Brand, currency: str, amount: int, memo: str, at: datetime
) -> JournalEntry:
    """Cash from a brand (negative: cash back to it) against what it owes."""
    return ledger.post(
        kind=kind,
        source=source,
        currency=currency,
        memo=memo,
        lines=[
            Line(ledger.account(Account.Kind.CASH, currency), amount),
            Line(ledger.account(Account.Kind.BRAND_RECEIVABLE, currency, brand=brand), -amount),
        ],
        at=at,
    )


def payee_paid(
    *, kind: str, source: str, payee: Payee, currency: str, amount: int, memo: str, at: datetime
) -> JournalEntry:
    """Cash to a payee (negative: money that came back from them) against what they are
    owed."""
    return ledger.post(
        kind=kind,
        source=source,
        currency=currency,
        memo=memo,
        lines=[
            Line(ledger.account(Account.Kind.PAYEE_PAYABLE, currency, payee=payee), amount),
            Line(ledger.account(Account.Kind.CASH, currency), -amount),
        ],
        at=at,
    )
