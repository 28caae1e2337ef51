"""Money that comes back out: refunds and chargebacks of license fees and usage invoices,
and disputes won. Each suspends what it paid for until it is settled."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from licensing import services as licensing
from licensing.models import LicenseHold
from payments import gateway
from payments.books import NotYet, booking_time, brand_paid, movement, processing_fee
from payments.models import FeePayment, Invoice
from royalties import advance, ledger
from royalties.ledger import Kind, Line
from royalties.models import Account, JournalEntry
from royalties.selectors import booked_legs, entry_postings


def _paid_by_charge(charge_id: str) -> FeePayment | Invoice:
    """The fee payment or usage invoice a charge paid (locked)."""
    payment = FeePayment.objects.select_for_update().filter(charge_id=charge_id).first()
    if payment is not None:
        return payment
    invoice = Invoice.objects.select_for_update().filter(charge_id=charge_id).first()
    if invoice is not None:
        return invoice
    raise NotYet(f"no paid license fee or invoice with charge {charge_id} yet")


def _reverse_fee(
    payment: FeePayment, amount: int, *, kind: str, source: str, at: datetime, counter: str
) -> JournalEntry:
    """Take `amount` that left our cash (a refund, a chargeback) back out of the books.

    It comes out of the fee first, leg by leg in proportion to how the fee was booked
    (whoever was credited gives back; cumulative, so partial refunds never round a unit
    away), then out of the advance still unspent; advance the brand already used, and
    anything taken beyond what was paid, is owed by the brand like any usage. Money that
    issued nothing (unapplied) was the brand's credit, and goes back out of it.
    """
    found = ledger.find(kind, source)
    if found is not None:
        return found  # booked already (this refund or dispute was seen before)
    currency = payment.currency
    brand = payment.request.brand
    receivable = ledger.account(Account.Kind.BRAND_RECEIVABLE, currency, brand=brand)
    cash = ledger.account(Account.Kind.CASH, currency)
    lic = payment.license
    if lic is None:
        lines = [Line(cash, -amount), Line(receivable, amount)]
    else:
        taken_before = payment.refunded + payment.disputed
        applied = min(amount, max(payment.amount - taken_before, 0))
        fee_before = min(taken_before, payment.upfront_fee)
        fee_after = min(taken_before + applied, payment.upfront_fee)
        from_fee = fee_after - fee_before
        from_advance = applied - from_fee
        lines = [Line(cash, -amount, lic)]
        if from_fee:
            lines += ledger.split_taken_back(
                booked_legs(Kind.FEE, str(payment.pk)), before=fee_before, after=fee_after, lic=lic
            )
        if from_advance:
            unspent, charged = advance.take_back(advance.usage_locked(lic), from_advance)
            lines.append(
                Line(ledger.account(Account.Kind.ADVANCE, currency, license=lic), unspent, lic)
            )
            if charged:
                lines.append(Line(receivable, charged, lic))
                if counter == "disputed":
                    # Remembered, so that winning the dispute takes exactly this back.
                    payment.dispute_advance_charged += charged
                    payment.save(update_fields=["dispute_advance_charged"])
        if amount - applied:
            lines.append(Line(receivable, amount - applied, lic))
    entry = ledger.post(
        kind=kind,
        source=source,
        currency=currency,
        memo=f"{kind} for {lic.license_id if lic else f'request {payment.request_id}'}",
        lines=lines,
        at=at,
    )
    movement(entry, source, at, payment.backend)
    setattr(payment, counter, getattr(payment, counter) + amount)
    payment.save(update_fields=[counter])
    return entry


def _reverse_invoice(
    invoice: Invoice, amount: int, *, kind: str, source: str, at: datetime
) -> JournalEntry:
    """Money of a paid usage invoice that left our cash: the brand owes it again."""
    entry = brand_paid(
        kind=kind,
        source=source,
        brand=invoice.brand,
        currency=invoice.currency,
        amount=-amount,
        memo=f"{kind} on {invoice.number}",
        at=at,
    )
    movement(entry, source, at, invoice.backend)
    # The money is owed again: the invoice is open (and, past its due date, enforced).
    invoice.status = Invoice.Status.OPEN
    invoice.save(update_fields=["status"])
    return entry


def _hold(paid: FeePayment | Invoice, reason: str, ref: str) -> None:
    """Suspend what the money paid for: the fee's license, or all of the brand's."""
    if isinstance(paid, FeePayment):
        if paid.license is not None:
            licensing.license_hold(license=paid.license, reason=reason, ref=ref)
    else:
        licensing.brand_licenses_hold(brand_id=paid.brand_id, reason=reason, ref=ref)


def charge_refunded(charge: dict[str, Any], event: dict[str, Any]) -> None:
    """Each refund goes back out of the books. A refunded license fee suspends the license;
    a refunded usage invoice is owed again."""
    paid = _paid_by_charge(charge["id"])
    for refund in gateway.refunds_of_charge(charge["id"]):
        if refund.get("status") in ("failed", "canceled"):
            continue
        at = booking_time(refund.get("created"))
        if isinstance(paid, Invoice):
            _reverse_invoice(
                paid, int(refund["amount"]), kind=Kind.INVOICE_REFUND, source=refund["id"], at=at
            )
            continue
        _reverse_fee(
            paid,
            int(refund["amount"]),
            kind=Kind.FEE_REFUND,
            source=refund["id"],
            at=at,
            counter="refunded",
        )
    if isinstance(paid, FeePayment):
        if paid.license is not None:
            paid.status = FeePayment.Status.REFUNDED
            paid.save(update_fields=["status"])
        _hold(paid, LicenseHold.Reason.REFUNDED, charge["id"])


def _withdrawn(dispute: dict[str, Any]) -> int:
    """What a dispute took from our balance: nothing for an inquiry (warning_*)."""
    if str(dispute.get("status", "")).startswith("warning_"):
        return 0
    return int(dispute["amount"])


def dispute_created(dispute: dict[str, Any], event: dict[str, Any]) -> None:
    """A chargeback (or an inquiry, which moves no money): the license, or the brand's
    licenses for a usage invoice, are suspended; money taken is reversed in the books."""
    paid = _paid_by_charge(dispute["charge"])
    amount = _withdrawn(dispute)
    if not amount:
        _hold(paid, LicenseHold.Reason.DISPUTED, dispute["id"])
        return
    at = booking_time(dispute.get("created") or event.get("created"))
    if isinstance(paid, Invoice):
        _reverse_invoice(paid, amount, kind=Kind.INVOICE_CHARGEBACK, source=dispute["id"], at=at)
    else:
        _reverse_fee(
            paid,
            amount,
            kind=Kind.FEE_CHARGEBACK,
            source=dispute["id"],
            at=at,
            counter="disputed",
        )
        if paid.license is not None:
            paid.status = FeePayment.Status.DISPUTED
            paid.save(update_fields=["status"])
    # Held after the money is booked: the license's advance (its usage row) is locked
    # before the license itself, in the order every other writer takes them.
    _hold(paid, LicenseHold.Reason.DISPUTED, dispute["id"])
    for txn in dispute.get("balance_transactions") or []:
        if isinstance(txn, dict) and txn.get("fee") and int(txn.get("amount") or 0) < 0:
            processing_fee(source=dispute["id"], currency=paid.currency, amount=txn["fee"], at=at)


def dispute_closed(dispute: dict[str, Any], event: dict[str, Any]) -> None:
    """Won: the money comes back, the reversal is itself reversed, the licenses are live.
    An inquiry closed (warning_closed) lifts its hold. Lost: all stays as it is."""
    paid = _paid_by_charge(dispute["charge"])
    status = dispute.get("status")
    if status == "warning_closed":
        licensing.holds_release(reason=LicenseHold.Reason.DISPUTED, ref=dispute["id"])
        return
    on_invoice = isinstance(paid, Invoice)
    taken = ledger.find(
        Kind.INVOICE_CHARGEBACK if on_invoice else Kind.FEE_CHARGEBACK, dispute["id"]
    )
    if taken is None:
        raise NotYet(f"dispute {dispute['id']} closed before we recorded it")
    if status != "won":
        return  # lost: the money stays reversed and the licenses suspended
    at = booking_time(event.get("created"))
    restored_kind = Kind.INVOICE_RESTORED if on_invoice else Kind.FEE_RESTORED
    postings = entry_postings(taken)
    restored = ledger.find(restored_kind, dispute["id"]) is not None
    entry = ledger.post(
        kind=restored_kind,
        source=dispute["id"],
        currency=paid.currency,
        memo=f"dispute {dispute['id']} won",
        lines=[
            Line(
                p.account,
                p.amount,
                p.license,
                p.works,
                p.milliseconds,
                gross=p.gross,
                recouped=p.recouped,
                fee=p.fee,
                set_aside=p.set_aside,
                pension_health=p.pension_health,
            ).negated()
            for p in postings
        ],
        reverses=taken,
        at=at,
    )
    movement(entry, dispute["id"], at, paid.backend)
    if isinstance(paid, Invoice) and not restored:
        paid.status = Invoice.Status.PAID
        paid.save(update_fields=["status"])
    if isinstance(paid, FeePayment) and not restored:
        back = sum(-p.amount for p in postings if p.account.kind == Account.Kind.CASH)
        returned = sum(p.amount for p in postings if p.account.kind == Account.Kind.ADVANCE)
        if paid.license is not None and (returned or paid.dispute_advance_charged):
            advance.give_back(
                advance.usage_locked(paid.license),
                returned=returned,
                uncharged=paid.dispute_advance_charged,
                source=dispute["id"],
                at=at,
            )
        paid.disputed -= back
        paid.dispute_advance_charged = 0
        if paid.license is not None:
            paid.status = FeePayment.Status.REFUNDED if paid.refunded else FeePayment.Status.PAID
        paid.save(update_fields=["status", "disputed", "dispute_advance_charged"])
    licensing.holds_release(reason=LicenseHold.Reason.DISPUTED, ref=dispute["id"])
