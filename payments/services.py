"""Money in (license fees, usage invoices) and out (payouts), by Stripe or by hand.

Two settlement backends behind one set of services: ``manual`` (the default with no
Stripe key: operators settle invoices and record payouts with a reference) and
``stripe`` (Checkout, Invoices, Connect transfers, webhooks). Either way, every movement
of money is a balanced ledger entry with an idempotency key made of our ids, and a
CashMovement row naming what moved it, for reconciliation.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Sum
from django.utils import timezone

from core.months import bounds, month_start
from licensing import services as licensing
from licensing.models import License, LicenseHold, LicenseRequest
from payments import gateway
from payments.models import (
    Backend,
    CashMovement,
    ConnectedAccount,
    FeePayment,
    Invoice,
    InvoiceLine,
    Payout,
    PayoutRun,
)
from registry.models import Brand, User
from royalties import ledger, rules
from royalties.models import Account, JournalEntry, Payee, Period, Posting
from royalties.services import payee_splits, platform_fee_bps, usage_locked
from royalties.statements import PAYOUT_PREFIX

logger = logging.getLogger(__name__)


def backend() -> str:
    return str(settings.PAYMENTS_BACKEND)


def _member(actor: User, brand: Brand) -> bool:
    return brand.memberships.filter(user=actor).exists()


def booking_time(created: int | None) -> datetime:
    """When to date an entry for something Stripe did at `created`: then, unless that
    month is closed already (or the clock says the future), in which case now."""
    now = timezone.now()
    if not created:
        return now
    at = datetime.fromtimestamp(created, UTC)
    if at > now or at < now - timedelta(days=62):
        return now
    closed = Period.objects.filter(month=month_start(at.date()), closed_at__isnull=False)
    return now if closed.exists() else at


def _movement(entry: JournalEntry, kind: str, source: str, at: datetime, via: str) -> None:
    CashMovement.objects.get_or_create(
        entry=entry, defaults={"kind": kind, "source": source[:255], "at": at, "backend": via}
    )


def _processing_fee(*, source: str, currency: str, amount: int, at: datetime) -> None:
    """What Stripe kept of a charge or charged for a dispute: our expense, out of cash."""
    if not amount:
        return
    entry = ledger.post(
        key=f"processing:{source}",
        currency=currency,
        memo=f"Stripe fee on {source}",
        lines=[
            ledger.Line(ledger.account(Account.Kind.PROCESSING_FEES, currency), amount),
            ledger.Line(ledger.account(Account.Kind.CASH, currency), -amount),
        ],
        at=at,
    )
    _movement(entry, CashMovement.Kind.PROCESSING, source, at, Backend.STRIPE)


# --- license fees ----------------------------------------------------------------------


def _new_fee_payment(req: LicenseRequest, via: str) -> FeePayment:
    version = req.offer_version
    return FeePayment(
        request=req,
        backend=via,
        currency=version.currency,
        upfront_fee=version.upfront_fee,
        minimum_guarantee=version.minimum_guarantee,
        amount=licensing.amount_due(req),
    )


def fee_checkout_start(
    *, actor: User, request: LicenseRequest, success_url: str, cancel_url: str
) -> FeePayment:
    """Open (or reuse) a Stripe Checkout Session for what the request owes.

    The payment row is committed before Stripe is called, and the call's idempotency key
    is made of its id: a retry after a timeout gets the same session, never a second one.
    """
    if backend() != Backend.STRIPE:
        raise ValidationError(
            {"payment": ["Card payment is not set up here; pay the invoice by bank transfer."]}
        )
    with transaction.atomic():
        req = LicenseRequest.objects.select_for_update().select_related("brand").get(pk=request.pk)
        if not _member(actor, req.brand):
            raise PermissionDenied("Only the brand's members pay for its requests.")
        if req.status != LicenseRequest.Status.AWAITING_PAYMENT:
            raise ValidationError(
                {"status": [f"This request is {req.status}, not awaiting payment."]}
            )
        now = timezone.now()
        expiry = _checkout_expiry(req, now)
        payment = (
            req.fee_payments.filter(backend=Backend.STRIPE, status=FeePayment.Status.OPEN)
            .order_by("-pk")
            .first()
        )
        if payment is not None and payment.checkout_session_id:
            if payment.expires_at and payment.expires_at > now + timedelta(minutes=1):
                return payment
            _expire_session(payment)  # at Stripe too, so the old page cannot be paid
            payment = None
        if payment is None:
            payment = _new_fee_payment(req, Backend.STRIPE)
            payment.save()
    session = gateway.checkout_session_create(
        payment,
        title=f"{req.voice.display_name} for {req.campaign}",
        email=req.brand.billing_email,
        success_url=success_url,
        cancel_url=cancel_url,
        expires_at=expiry,
    )
    FeePayment.objects.filter(pk=payment.pk, checkout_session_id__isnull=True).update(
        checkout_session_id=session["id"],
        checkout_url=session.get("url") or "",
        expires_at=datetime.fromtimestamp(session["expires_at"], UTC),
    )
    payment.refresh_from_db()
    return payment


def _checkout_expiry(req: LicenseRequest, now: datetime) -> datetime | None:
    """A session should not outlive the request it pays for. Stripe allows 30 min to 24 h."""
    if req.expires_at >= now + timedelta(hours=24):
        return None
    if req.expires_at < now + timedelta(minutes=31):
        raise ValidationError(
            {"status": ["This request lapses within 30 minutes; ask for a new license."]}
        )
    return req.expires_at


def _book_fee(payment: FeePayment, lic: License, *, source: str, at: datetime) -> None:
    """The fee is earned by the payees (less the platform's share); the guarantee is held
    as the license's advance, drawn down by its works."""
    currency = payment.currency
    cash = ledger.account(Account.Kind.CASH, currency)
    payees, split = payee_splits(lic.voice)
    if payment.upfront_fee:
        shares = rules.distribute(payment.upfront_fee, fee_bps=platform_fee_bps(), split_bps=split)
        lines = [
            ledger.Line(cash, payment.upfront_fee, lic),
            ledger.Line(ledger.account(Account.Kind.PLATFORM_REVENUE, currency), -shares.fee, lic),
        ] + [
            ledger.Line(
                ledger.account(Account.Kind.PAYEE_PAYABLE, currency, payee=payee),
                -amount,
                lic,
                gross=payment.upfront_fee,
                fee=shares.fee,
            )
            for payee, amount in zip(payees, shares.payees, strict=True)
        ]
        entry = ledger.post(
            key=f"fee:{payment.pk}",
            currency=currency,
            memo=f"upfront fee for {lic.license_id}",
            lines=lines,
            at=at,
        )
        _movement(entry, CashMovement.Kind.FEE, source, at, payment.backend)
    if payment.minimum_guarantee:
        # The same key royalties uses when a license's first work books its advance.
        entry = ledger.post(
            key=f"advance:{lic.license_id}",
            currency=currency,
            memo=f"minimum guarantee prepaid for {lic.license_id}",
            lines=[
                ledger.Line(cash, payment.minimum_guarantee, lic),
                ledger.Line(
                    ledger.account(Account.Kind.ADVANCE, currency, license=lic),
                    -payment.minimum_guarantee,
                    lic,
                ),
            ],
            at=at,
        )
        _movement(entry, CashMovement.Kind.FEE, source, at, payment.backend)


def _fee_paid(
    payment: FeePayment, *, source: str, at: datetime, receipt_url: str = "", reference: str = ""
) -> License:
    lic = licensing.license_issue(request=payment.request, payment_ref=source)
    payment.status = FeePayment.Status.PAID
    payment.license = lic
    payment.paid_at = at
    payment.charge_id = source if source.startswith(("ch_", "py_")) else ""
    payment.receipt_url = receipt_url
    payment.reference = reference or payment.reference
    payment.save()
    _book_fee(payment, lic, source=source, at=at)
    return lic


def _operator_reference(operator: User, reference: str, does: str, whose: str) -> str:
    """What every manual settlement needs: an operator, and the money's reference."""
    if not operator.is_staff:
        raise PermissionDenied(f"Only an operator {does}.")
    reference = reference.strip()
    if not reference:
        raise ValidationError({"reference": [f"Give {whose} reference."]})
    return reference


@transaction.atomic
def fee_settle_manually(*, operator: User, request: LicenseRequest, reference: str) -> License:
    """An operator records the brand's bank payment of the fee invoice: issue and book."""
    reference = _operator_reference(operator, reference, "settles invoices", "the payment's")
    req = LicenseRequest.objects.select_for_update().get(pk=request.pk)
    existing = License.objects.filter(request=req).first()
    if existing is not None:
        return existing
    if req.status != LicenseRequest.Status.AWAITING_PAYMENT:
        raise ValidationError({"status": [f"This request is {req.status}, not awaiting payment."]})
    payment = _new_fee_payment(req, Backend.MANUAL)
    payment.reference = reference[:200]
    payment.save()
    now = timezone.now()
    lic = _fee_paid(payment, source=f"manual:{reference[:180]}", at=now, reference=reference)
    # The brand may still have a card payment page open: close it, so it cannot pay twice.
    for open_session in req.fee_payments.filter(
        backend=Backend.STRIPE, status=FeePayment.Status.OPEN
    ).exclude(checkout_session_id=None):
        _expire_session(open_session)
    return lic


def _expire_session(payment: FeePayment) -> None:
    """Expire a Checkout Session at Stripe (best effort: it may be paid or gone already)."""
    try:
        gateway.checkout_session_expire(str(payment.checkout_session_id))
    except gateway.StripeError as exc:
        logger.info("session %s not expired: %s", payment.checkout_session_id, exc)
    payment.status = FeePayment.Status.EXPIRED
    payment.save(update_fields=["status"])


class NotYet(Exception):
    """An event about something we have not heard of yet: it waits for the earlier event."""


def _payment_for_session(session: dict[str, Any]) -> FeePayment | None:
    found = FeePayment.objects.select_for_update().filter(checkout_session_id=session["id"]).first()
    if found is None:
        ours = (session.get("metadata") or {}).get("fee_payment_id", "")
        if str(ours).isdigit():
            found = FeePayment.objects.select_for_update().filter(pk=int(ours)).first()
    return found


def checkout_completed(session: dict[str, Any], event: dict[str, Any]) -> None:
    """checkout.session.completed (or async_payment_succeeded): issue once it is paid."""
    payment = _payment_for_session(session)
    if payment is None:
        logger.warning("checkout session %s is not one of ours", session.get("id"))
        return
    if session.get("payment_status") != "paid" or payment.charge_id:
        return  # not paid yet (a delayed method), or booked already from an earlier event
    charge = gateway.charge_of_payment_intent(session["payment_intent"])
    txn = charge.get("balance_transaction") or {}
    at = booking_time(charge.get("created") or event.get("created"))
    payment.checkout_session_id = session["id"]
    payment.payment_intent_id = session["payment_intent"]
    if License.objects.filter(request_id=payment.request_id).exists():
        # Paid twice (two sessions, or a card payment after a bank settlement).
        _fee_unapplied(payment, charge=charge, at=at, why="the license was already paid for")
    else:
        try:
            with transaction.atomic():
                _fee_paid(
                    payment, source=charge["id"], at=at, receipt_url=charge.get("receipt_url") or ""
                )
        except ValidationError as exc:
            # Paid, but the license can no longer be issued (the voice was suspended, an
            # exclusive license was granted meanwhile, the request lapsed).
            _fee_unapplied(payment, charge=charge, at=at, why=" ".join(exc.messages))
    if str(txn.get("currency", "")).upper() in ("", payment.currency):
        _processing_fee(
            source=charge["id"], currency=payment.currency, amount=int(txn.get("fee") or 0), at=at
        )
    else:
        logger.warning(
            "charge %s settled in %s: book its fee by hand", charge["id"], txn["currency"]
        )


def _fee_unapplied(payment: FeePayment, *, charge: dict[str, Any], at: datetime, why: str) -> None:
    """Money received that issues nothing: the brand's credit until an operator refunds it
    (the refund's webhook books it back out)."""
    logger.warning("fee payment %s paid but not applied: %s", payment.pk, why)
    payment.status = FeePayment.Status.UNAPPLIED
    payment.paid_at = at
    payment.charge_id = charge["id"]
    payment.receipt_url = charge.get("receipt_url") or ""
    payment.reference = f"not applied: {why}; refund it"[:200]
    payment.save()
    brand = payment.request.brand
    entry = ledger.post(
        key=f"unapplied:{payment.pk}",
        currency=payment.currency,
        memo=f"fee paid for request {payment.request_id}, not applied: refund it",
        lines=[
            ledger.Line(ledger.account(Account.Kind.CASH, payment.currency), payment.amount),
            ledger.Line(
                ledger.account(Account.Kind.BRAND_RECEIVABLE, payment.currency, brand=brand),
                -payment.amount,
            ),
        ],
        at=at,
    )
    _movement(entry, CashMovement.Kind.FEE, charge["id"], at, payment.backend)


def checkout_expired(session: dict[str, Any], event: dict[str, Any]) -> None:
    """The brand never paid: the request keeps awaiting payment; Pay opens a new session."""
    payment = _payment_for_session(session)
    if payment is not None and payment.status == FeePayment.Status.OPEN:
        payment.status = FeePayment.Status.EXPIRED
        payment.save(update_fields=["status"])


def _paid_by_charge(charge_id: str) -> FeePayment | Invoice:
    """The fee payment or usage invoice a charge paid (locked)."""
    payment = FeePayment.objects.select_for_update().filter(charge_id=charge_id).first()
    if payment is not None:
        return payment
    invoice = Invoice.objects.select_for_update().filter(charge_id=charge_id).first()
    if invoice is not None:
        return invoice
    raise NotYet(f"no paid license fee or invoice with charge {charge_id} yet")


def _fee_legs(payment: FeePayment) -> list[Posting]:
    """The payee and platform legs of the fee's entry, as it was booked."""
    return list(
        Posting.objects.filter(entry__idempotency_key=f"fee:{payment.pk}")
        .exclude(account__kind=Account.Kind.CASH)
        .select_related("account")
        .order_by("pk")
    )


def _reverse_fee(
    payment: FeePayment,
    amount: int,
    *,
    key: str,
    source: str,
    kind: str,
    at: datetime,
    counter: str,
) -> JournalEntry:
    """Take `amount` that left our cash (a refund, a chargeback) back out of the books.

    It comes out of the fee first, leg by leg in proportion to how the fee was booked
    (whoever was credited gives back; cumulative, so partial refunds never round a unit
    away), then out of the advance still unspent; advance the brand already used, and
    anything taken beyond what was paid, is owed by the brand like any usage. Money that
    issued nothing (unapplied) was the brand's credit, and goes back out of it.
    """
    found = JournalEntry.objects.filter(idempotency_key=key).first()
    if found is not None:
        return found  # booked already (this refund or dispute was seen before)
    currency = payment.currency
    brand = payment.request.brand
    receivable = ledger.account(Account.Kind.BRAND_RECEIVABLE, currency, brand=brand)
    cash = ledger.account(Account.Kind.CASH, currency)
    lic = payment.license
    if lic is None:
        lines = [ledger.Line(cash, -amount), ledger.Line(receivable, amount)]
    else:
        taken_before = payment.refunded + payment.disputed
        applied = min(amount, max(payment.amount - taken_before, 0))
        fee_before = min(taken_before, payment.upfront_fee)
        fee_after = min(taken_before + applied, payment.upfront_fee)
        from_fee = fee_after - fee_before
        from_advance = applied - from_fee
        lines = [ledger.Line(cash, -amount, lic)]
        if from_fee:
            legs = _fee_legs(payment)
            weights = [-leg.amount for leg in legs]
            before = rules.allocate(fee_before, weights) if fee_before else [0] * len(legs)
            after = rules.allocate(fee_after, weights)
            deltas = [a - b for a, b in zip(after, before, strict=True)]
            platform = sum(
                d
                for leg, d in zip(legs, deltas, strict=True)
                if leg.account.kind == Account.Kind.PLATFORM_REVENUE
            )
            for leg, delta in zip(legs, deltas, strict=True):
                if leg.account.kind == Account.Kind.PAYEE_PAYABLE:
                    lines.append(
                        ledger.Line(leg.account, delta, lic, gross=-from_fee, fee=-platform)
                    )
                else:
                    lines.append(ledger.Line(leg.account, delta, lic))
        if from_advance:
            usage = usage_locked(lic)
            unspent = max(min(from_advance, usage.advance_left), 0)
            advance = ledger.account(Account.Kind.ADVANCE, currency, license=lic)
            lines.append(ledger.Line(advance, unspent, lic))
            usage.advance_left -= unspent
            usage.save(update_fields=["advance_left"])
            if from_advance - unspent:
                lines.append(ledger.Line(receivable, from_advance - unspent, lic))
        if amount - applied:
            lines.append(ledger.Line(receivable, amount - applied, lic))
    entry = ledger.post(
        key=key,
        currency=currency,
        memo=f"{kind} for {lic.license_id if lic else f'request {payment.request_id}'}",
        lines=lines,
        at=at,
    )
    _movement(entry, kind, source, at, payment.backend)
    setattr(payment, counter, getattr(payment, counter) + amount)
    payment.save(update_fields=[counter])
    return entry


def _reverse_invoice(
    invoice: Invoice, amount: int, *, key: str, source: str, kind: str, at: datetime
) -> JournalEntry:
    """Money of a paid usage invoice that left our cash: the brand owes it again."""
    entry = ledger.post(
        key=key,
        currency=invoice.currency,
        memo=f"{kind} on {invoice.number}",
        lines=[
            ledger.Line(ledger.account(Account.Kind.CASH, invoice.currency), -amount),
            ledger.Line(
                ledger.account(
                    Account.Kind.BRAND_RECEIVABLE, invoice.currency, brand=invoice.brand
                ),
                amount,
            ),
        ],
        at=at,
    )
    _movement(entry, kind, source, at, invoice.backend)
    # The money is owed again: the invoice is open (and, past its due date, enforced).
    invoice.status = Invoice.Status.OPEN
    invoice.save(update_fields=["status"])
    return entry


def _hold(paid: FeePayment | Invoice, reason: str, ref: str) -> None:
    if isinstance(paid, FeePayment):
        licenses = [paid.license] if paid.license else []
    else:
        licenses = list(License.objects.filter(brand_id=paid.brand_id, revoked=False))
    for lic in licenses:
        licensing.license_hold(license=lic, reason=reason, ref=ref)


def _release(reason: str, ref: str) -> None:
    """Lift every open hold of this cause (one license, or all of a brand's)."""
    for hold in LicenseHold.objects.filter(
        reason=reason, ref=ref, released_at__isnull=True
    ).select_related("license"):
        licensing.license_release(license=hold.license, reason=reason, ref=ref)


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
                paid,
                int(refund["amount"]),
                key=f"refund:{refund['id']}",
                source=refund["id"],
                kind=CashMovement.Kind.INVOICE_REVERSED,
                at=at,
            )
            continue
        _reverse_fee(
            paid,
            int(refund["amount"]),
            key=f"refund:{refund['id']}",
            source=refund["id"],
            kind=CashMovement.Kind.FEE_REVERSED,
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
    _hold(paid, LicenseHold.Reason.DISPUTED, dispute["id"])
    amount = _withdrawn(dispute)
    if not amount:
        return
    at = booking_time(dispute.get("created") or event.get("created"))
    if isinstance(paid, Invoice):
        _reverse_invoice(
            paid,
            amount,
            key=f"dispute:{dispute['id']}",
            source=dispute["id"],
            kind=CashMovement.Kind.INVOICE_REVERSED,
            at=at,
        )
    else:
        _reverse_fee(
            paid,
            amount,
            key=f"dispute:{dispute['id']}",
            source=dispute["id"],
            kind=CashMovement.Kind.FEE_REVERSED,
            at=at,
            counter="disputed",
        )
        if paid.license is not None:
            paid.status = FeePayment.Status.DISPUTED
            paid.save(update_fields=["status"])
    for txn in dispute.get("balance_transactions") or []:
        if isinstance(txn, dict) and txn.get("fee") and int(txn.get("amount") or 0) < 0:
            _processing_fee(source=dispute["id"], currency=paid.currency, amount=txn["fee"], at=at)


def dispute_closed(dispute: dict[str, Any], event: dict[str, Any]) -> None:
    """Won: the money comes back, the reversal is itself reversed, the licenses are live.
    An inquiry closed (warning_closed) lifts its hold. Lost: all stays as it is."""
    paid = _paid_by_charge(dispute["charge"])
    status = dispute.get("status")
    if status == "warning_closed":
        _release(LicenseHold.Reason.DISPUTED, dispute["id"])
        return
    taken = JournalEntry.objects.filter(idempotency_key=f"dispute:{dispute['id']}").first()
    if taken is None:
        raise NotYet(f"dispute {dispute['id']} closed before we recorded it")
    if status != "won":
        return  # lost: the money stays reversed and the licenses suspended
    at = booking_time(event.get("created"))
    postings = list(taken.postings.select_related("account", "license"))
    restored = JournalEntry.objects.filter(idempotency_key=f"dispute-won:{dispute['id']}").exists()
    entry = ledger.post(
        key=f"dispute-won:{dispute['id']}",
        currency=paid.currency,
        memo=f"dispute {dispute['id']} won",
        lines=[
            ledger.Line(
                p.account,
                -p.amount,
                p.license,
                -p.works,
                -p.milliseconds,
                gross=-p.gross,
                recouped=-p.recouped,
                fee=-p.fee,
            )
            for p in postings
        ],
        reverses=taken,
        at=at,
    )
    restored_kind = (
        CashMovement.Kind.INVOICE_RESTORED
        if isinstance(paid, Invoice)
        else CashMovement.Kind.FEE_RESTORED
    )
    _movement(entry, restored_kind, dispute["id"], at, paid.backend)
    if isinstance(paid, Invoice) and not restored:
        paid.status = Invoice.Status.PAID
        paid.save(update_fields=["status"])
    if isinstance(paid, FeePayment) and not restored:
        back = sum(-p.amount for p in postings if p.account.kind == Account.Kind.CASH)
        advance = sum(p.amount for p in postings if p.account.kind == Account.Kind.ADVANCE)
        if advance and paid.license is not None:
            usage = usage_locked(paid.license)
            usage.advance_left += advance
            usage.save(update_fields=["advance_left"])
        paid.disputed -= back
        if paid.license is not None:
            paid.status = FeePayment.Status.REFUNDED if paid.refunded else FeePayment.Status.PAID
        paid.save(update_fields=["status", "disputed"])
    _release(LicenseHold.Reason.DISPUTED, dispute["id"])


# --- usage invoices -------------------------------------------------------------------

# What a brand owes, by license, from postings on its receivable account: usage (works,
# voids), and anything else booked to it (guarantee the brand used after a refund,
# credits), but not the payments of invoices (which settle invoices, not usage).
_OWES_SQL = """
SELECT a.brand_id, a.currency, p.license_id, SUM(p.amount),
       SUM(CASE WHEN e.created_at >= %(start)s THEN p.amount ELSE 0 END)
FROM royalties_posting p
JOIN royalties_account a ON a.id = p.account_id
JOIN royalties_journalentry e ON e.id = p.entry_id
LEFT JOIN payments_cashmovement m ON m.entry_id = e.id
WHERE a.kind = %(kind)s AND e.created_at < %(end)s
  AND (m.kind IS NULL OR m.kind NOT IN ('invoice', 'invoice_reversed', 'invoice_restored'))
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3
"""


@dataclass
class _Owed:
    total: int = 0  # everything owed up to the month's end
    lines: list[tuple[int, int]] = field(default_factory=list)  # (license, this month)


def _owed_by_brand(month: date) -> dict[tuple[int, str], _Owed]:
    start, end = bounds(month)
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(
            _OWES_SQL,
            {"kind": Account.Kind.BRAND_RECEIVABLE.value, "start": adapt(start), "end": adapt(end)},
        )
        rows = cursor.fetchall()
    owed: dict[tuple[int, str], _Owed] = {}
    for brand_id, currency, license_pk, amount, this_month in rows:
        found = owed.setdefault((brand_id, currency), _Owed())
        found.total += int(amount)
        if license_pk is not None and int(this_month):
            found.lines.append((license_pk, int(this_month)))
    return owed


def invoices_issue(*, month: date) -> list[Invoice]:
    """One invoice per brand and currency for a closed month: what the brand owes up to
    its end, less what earlier invoices already asked for. Lines are the month's usage per
    license, and what was carried forward (arrears, or a credit). Safe to run twice: an
    invoice exists once, and Stripe calls carry its id; a Stripe failure for one brand
    does not stop the others (it is retried on the next run)."""
    from royalties.models import Work

    month = month_start(month)
    if not Period.objects.filter(month=month, closed_at__isnull=False).exists():
        raise ValidationError({"month": [f"{month:%Y-%m} is not closed yet."]})
    start, end = bounds(month)
    via = backend()
    for (brand_id, currency), owes in _owed_by_brand(month).items():
        with transaction.atomic():
            brand = Brand.objects.select_for_update().get(pk=brand_id)
            if Invoice.objects.filter(brand=brand, month=month, currency=currency).exists():
                continue
            asked = (
                Invoice.objects.filter(brand=brand, currency=currency)
                .exclude(status=Invoice.Status.VOID)
                .aggregate(t=Sum("amount"))["t"]
                or 0
            )
            amount = owes.total - asked
            if amount <= 0:
                continue  # nothing new owed (or a credit, carried forward)
            now = timezone.now()
            invoice = Invoice.objects.create(
                brand=brand,
                month=month,
                currency=currency,
                amount=amount,
                backend=via,
                number=f"TMB-{month:%Y%m}-{brand_id:05d}-{currency}",
                issued_at=now,
                due_at=now + timedelta(days=settings.TIMBRE_INVOICE_DAYS_DUE),
            )
            for license_pk, line_amount in owes.lines:
                works = Work.objects.filter(
                    license_id=license_pk,
                    recorded_at__gte=start,
                    recorded_at__lt=end,
                    voided_at__isnull=True,
                )
                InvoiceLine.objects.create(
                    invoice=invoice, license_id=license_pk, works=works.count(), amount=line_amount
                )
            carried = amount - sum(line for _, line in owes.lines)
            if carried:
                InvoiceLine.objects.create(
                    invoice=invoice,
                    license=None,
                    works=0,
                    amount=carried,
                    description="Carried forward from earlier months"
                    if carried > 0
                    else "Credit from earlier months",
                )
    invoices = list(Invoice.objects.filter(month=month).select_related("brand"))
    for invoice in invoices:
        if invoice.backend == Backend.STRIPE and not invoice.stripe_invoice_id:
            try:
                _send_stripe_invoice(invoice)
            except gateway.StripeError:
                logger.exception("invoice %s could not be sent to Stripe", invoice.number)
    return invoices


def _send_stripe_invoice(invoice: Invoice) -> None:
    if not invoice.stripe_customer_id:
        known = (
            Invoice.objects.filter(brand=invoice.brand)
            .exclude(stripe_customer_id="")
            .values_list("stripe_customer_id", flat=True)
            .first()
        )
        invoice.stripe_customer_id = known or gateway.customer_create(
            brand_id=invoice.brand_id, name=invoice.brand.name, email=invoice.brand.billing_email
        )
        invoice.save(update_fields=["stripe_customer_id"])
    lines = list(invoice.lines.select_related("license"))
    sent = gateway.invoice_create(invoice, lines, days_until_due=settings.TIMBRE_INVOICE_DAYS_DUE)
    Invoice.objects.filter(pk=invoice.pk).update(
        stripe_invoice_id=sent["id"], hosted_url=sent.get("hosted_invoice_url") or ""
    )


def _invoice_settled(invoice: Invoice, *, source: str, at: datetime, reference: str) -> None:
    entry = ledger.post(
        key=f"invoice-paid:{invoice.pk}",
        currency=invoice.currency,
        memo=f"{invoice.number} paid by {invoice.brand.name}",
        lines=[
            ledger.Line(ledger.account(Account.Kind.CASH, invoice.currency), invoice.amount),
            ledger.Line(
                ledger.account(
                    Account.Kind.BRAND_RECEIVABLE, invoice.currency, brand=invoice.brand
                ),
                -invoice.amount,
            ),
        ],
        at=at,
    )
    _movement(entry, CashMovement.Kind.INVOICE, source, at, invoice.backend)
    invoice.status = Invoice.Status.PAID
    invoice.paid_at = at
    invoice.reference = reference[:200]
    invoice.charge_id = source if source.startswith(("ch_", "py_")) else ""
    invoice.save(update_fields=["status", "paid_at", "reference", "charge_id"])
    _release(LicenseHold.Reason.INVOICE_OVERDUE, invoice.number)


@transaction.atomic
def invoice_settle_manually(*, operator: User, invoice: Invoice, reference: str) -> Invoice:
    reference = _operator_reference(operator, reference, "settles invoices", "the payment's")
    invoice = Invoice.objects.select_for_update().select_related("brand").get(pk=invoice.pk)
    if invoice.status != Invoice.Status.OPEN:
        raise ValidationError({"status": [f"This invoice is {invoice.status}."]})
    _invoice_settled(
        invoice, source=f"manual:{reference[:180]}", at=timezone.now(), reference=reference
    )
    return invoice


def invoice_paid(obj: dict[str, Any], event: dict[str, Any]) -> None:
    invoice = Invoice.objects.select_for_update().filter(stripe_invoice_id=obj["id"]).first()
    if invoice is None:
        ours = str((obj.get("metadata") or {}).get("invoice_id", ""))
        invoice = (
            Invoice.objects.select_for_update().filter(pk=int(ours)).first()
            if ours.isdigit()
            else None
        )
        if invoice is None:
            logger.warning("invoice %s is not one of ours", obj.get("id"))
            return
    if invoice.status == Invoice.Status.PAID:
        return
    charge = gateway.charge_of_invoice(obj["id"])
    source = charge["id"] if charge else obj["id"]
    at = booking_time((charge or {}).get("created") or event.get("created"))
    _invoice_settled(invoice, source=source, at=at, reference=obj.get("number") or obj["id"])
    if charge:
        fee = int((charge.get("balance_transaction") or {}).get("fee") or 0)
        _processing_fee(source=charge["id"], currency=invoice.currency, amount=fee, at=at)


def invoices_enforce(*, now: datetime | None = None) -> int:
    """Suspend the licenses of brands with an invoice unpaid past its grace period."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.TIMBRE_INVOICE_GRACE_DAYS)
    held = 0
    for invoice in Invoice.objects.filter(status=Invoice.Status.OPEN, due_at__lt=cutoff):
        for lic in License.objects.filter(brand_id=invoice.brand_id, revoked=False):
            if not lic.holds.filter(
                reason=LicenseHold.Reason.INVOICE_OVERDUE, ref=invoice.number, released_at=None
            ).exists():
                licensing.license_hold(
                    license=lic, reason=LicenseHold.Reason.INVOICE_OVERDUE, ref=invoice.number
                )
                held += 1
    return held


# --- payouts --------------------------------------------------------------------------

_OWED_SQL = """
SELECT a.payee_id, a.currency, -SUM(p.amount)
FROM royalties_posting p
JOIN royalties_account a ON a.id = p.account_id
JOIN royalties_journalentry e ON e.id = p.entry_id
WHERE a.kind = %(kind)s
  AND (e.created_at < %(end)s OR e.idempotency_key LIKE %(payout)s)
GROUP BY 1, 2
"""


_BALANCE_SQL = """
SELECT a.payee_id, a.currency, -SUM(p.amount)
FROM royalties_posting p
JOIN royalties_account a ON a.id = p.account_id
WHERE a.kind = %(kind)s
GROUP BY 1, 2
"""


def owed(month: date) -> dict[tuple[int, str], int]:
    """Per payee and currency: earned up to the month's end, less every payout made or
    under way (whenever it was made). What a payout for that month should send."""
    _, end = bounds(month)
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(
            _OWED_SQL,
            {
                "kind": Account.Kind.PAYEE_PAYABLE.value,
                "end": adapt(end),
                "payout": PAYOUT_PREFIX + "%",
            },
        )
        balances = {(payee, currency): int(amount) for payee, currency, amount in cursor.fetchall()}
        # Never more than is owed now: money clawed back since (a refund, a chargeback)
        # is not paid out.
        cursor.execute(_BALANCE_SQL, {"kind": Account.Kind.PAYEE_PAYABLE.value})
        now_owed = {(payee, currency): int(amount) for payee, currency, amount in cursor.fetchall()}
    balances = {k: min(v, now_owed.get(k, v)) for k, v in balances.items()}
    under_way = Payout.objects.filter(status__in=[Payout.Status.PENDING, Payout.Status.SENDING])
    for payee_id, currency, amount in under_way.values_list("payee_id", "currency", "amount"):
        if (payee_id, currency) in balances:
            balances[(payee_id, currency)] -= amount
    return balances


def payout_run(*, month: date) -> PayoutRun:
    """Pay every payee whose balance for a closed month reaches the threshold: one payout
    per payee, month and currency. Run again after a crash, it finishes what is under way
    and pays nobody twice."""
    month = month_start(month)
    via = backend()
    with transaction.atomic():
        period = Period.objects.select_for_update().filter(month=month).first()
        if period is None or period.closed_at is None:
            raise ValidationError({"month": [f"{month:%Y-%m} is not closed yet."]})
        run = PayoutRun.objects.create(month=month, backend=via)
        accounts = {c.payee_id: c for c in ConnectedAccount.objects.filter(transfers_active=True)}
        for (payee_id, currency), amount in sorted(owed(month).items()):
            if amount < settings.TIMBRE_PAYOUT_THRESHOLD:
                continue
            destination = ""
            if via == Backend.STRIPE:
                if payee_id not in accounts:
                    run.waiting += 1
                    continue
                destination = accounts[payee_id].stripe_account_id
            try:
                with transaction.atomic():
                    Payout.objects.create(
                        run=run,
                        payee_id=payee_id,
                        month=month,
                        currency=currency,
                        amount=amount,
                        backend=via,
                        destination=destination,
                    )
            except IntegrityError:
                continue  # this month's payout exists already
        run.save(update_fields=["waiting"])
    if via == Backend.STRIPE:
        for pk in Payout.objects.filter(
            month=month,
            backend=Backend.STRIPE,
            status__in=[Payout.Status.PENDING, Payout.Status.SENDING],
        ).values_list("pk", flat=True):
            payout_send(payout_id=pk)
    counts = Payout.objects.filter(month=month)
    run.paid = counts.filter(status=Payout.Status.PAID).count()
    run.failed = counts.filter(status=Payout.Status.FAILED).count()
    run.finished_at = timezone.now()
    run.save(update_fields=["paid", "failed", "finished_at"])
    return run


def _book_payout(payout: Payout, *, source: str, at: datetime) -> None:
    entry = ledger.post(
        key=f"{PAYOUT_PREFIX}{payout.pk}",
        currency=payout.currency,
        memo=f"payout {payout.month:%Y-%m} to {payout.payee.name}",
        lines=[
            ledger.Line(
                ledger.account(Account.Kind.PAYEE_PAYABLE, payout.currency, payee=payout.payee),
                payout.amount,
            ),
            ledger.Line(ledger.account(Account.Kind.CASH, payout.currency), -payout.amount),
        ],
        at=at,
    )
    _movement(entry, CashMovement.Kind.PAYOUT, source, at, payout.backend)


def payout_send(*, payout_id: int) -> Payout | None:
    """Send one Stripe payout. 'sending' is committed before the call: if the worker dies
    mid-call, the next run first looks for the transfer it may have made."""
    with transaction.atomic():
        payout = (
            Payout.objects.select_for_update(skip_locked=True)
            .filter(pk=payout_id, status__in=[Payout.Status.PENDING, Payout.Status.SENDING])
            .first()
        )
        if payout is None:
            return None  # done already, or another worker is on it
        interrupted = payout.status == Payout.Status.SENDING
        payout.status = Payout.Status.SENDING
        payout.save(update_fields=["status"])
    with transaction.atomic():
        payout = (
            Payout.objects.select_for_update(skip_locked=True)
            .select_related("payee")
            .filter(pk=payout_id, status=Payout.Status.SENDING)
            .first()
        )
        if payout is None:
            return None
        try:
            transfer = gateway.transfer_find(payout) if interrupted else None
            if transfer is None:
                transfer = gateway.transfer_create(payout)
        except gateway.StripeError as exc:
            if gateway.outcome_unknown(exc):
                # Stripe may or may not have made it: stays 'sending', looked up next run.
                logger.warning("payout %s: outcome unknown (%s)", payout.pk, exc)
                return payout
            payout.status = Payout.Status.FAILED
            payout.error = (getattr(exc, "user_message", None) or str(exc))[:500]
            payout.save(update_fields=["status", "error"])
            logger.warning("payout %s failed: %s", payout.pk, payout.error)
            return payout
        now = timezone.now()
        payout.status = Payout.Status.PAID
        payout.transfer_id = transfer["id"]
        payout.paid_at = now
        payout.save(update_fields=["status", "transfer_id", "paid_at"])
        _book_payout(payout, source=transfer["id"], at=now)
    return payout


@transaction.atomic
def payout_record_manually(*, operator: User, payout: Payout, reference: str) -> Payout:
    """An operator paid a payee by bank transfer: record it with the bank's reference."""
    reference = _operator_reference(operator, reference, "records payouts", "the bank transfer's")
    payout = Payout.objects.select_for_update().select_related("payee").get(pk=payout.pk)
    if payout.status != Payout.Status.PENDING or payout.backend != Backend.MANUAL:
        raise ValidationError({"status": [f"This payout is {payout.status}."]})
    now = timezone.now()
    payout.status = Payout.Status.PAID
    payout.reference = reference[:200]
    payout.paid_at = now
    payout.save(update_fields=["status", "reference", "paid_at"])
    _book_payout(payout, source=f"manual:{reference[:180]}", at=now)
    return payout


def transfer_reversed(transfer: dict[str, Any], event: dict[str, Any]) -> None:
    """Money came back from a payee's account: each reversal is booked once, their balance
    owes it again, and the next run pays it."""
    payout = (
        Payout.objects.select_for_update()
        .select_related("payee")
        .filter(transfer_id=transfer["id"])
        .first()
    )
    if payout is None:
        raise NotYet(f"no payout with transfer {transfer['id']} yet")
    current = gateway.transfer_get(transfer["id"])
    for reversal in (current.get("reversals") or {}).get("data") or []:
        amount = int(reversal["amount"])
        at = booking_time(reversal.get("created") or event.get("created"))
        entry = ledger.post(
            key=f"{PAYOUT_PREFIX}{payout.pk}:reversal:{reversal['id']}",
            currency=payout.currency,
            memo=f"payout {payout.pk} reversed ({reversal['id']})",
            lines=[
                ledger.Line(ledger.account(Account.Kind.CASH, payout.currency), amount),
                ledger.Line(
                    ledger.account(Account.Kind.PAYEE_PAYABLE, payout.currency, payee=payout.payee),
                    -amount,
                ),
            ],
            at=at,
        )
        _movement(entry, CashMovement.Kind.PAYOUT_REVERSED, reversal["id"], at, payout.backend)
    if int(current.get("amount_reversed") or 0) >= payout.amount:
        payout.status = Payout.Status.REVERSED
        payout.save(update_fields=["status"])


# --- Connect onboarding -----------------------------------------------------------------


def payee_of(user: User) -> Payee | None:
    return Payee.objects.filter(user=user).order_by("pk").first()


def connect_start(*, actor: User, payee: Payee, refresh_url: str, return_url: str) -> str:
    """The URL of Stripe's hosted onboarding for the payee's connected account."""
    if payee.user_id != actor.pk:
        raise PermissionDenied("Only the payee connects their own payout account.")
    if backend() != Backend.STRIPE:
        raise ValidationError({"payouts": ["Payouts are made by bank transfer here."]})
    connected = ConnectedAccount.objects.filter(payee=payee).first()
    if connected is None:
        account = gateway.account_create(payee_id=payee.pk, email=actor.email)
        connected, _ = ConnectedAccount.objects.get_or_create(
            payee=payee, defaults={"stripe_account_id": account["id"]}
        )
    return gateway.account_link_create(
        connected.stripe_account_id, refresh_url=refresh_url, return_url=return_url
    )


def connect_refresh(connected: ConnectedAccount) -> ConnectedAccount:
    """Read the account's state from Stripe (on the return page, as the webhook may lag)."""
    account = gateway.account_get(connected.stripe_account_id)
    _apply_account(connected, account, at=timezone.now())
    return connected


def _apply_account(connected: ConnectedAccount, account: dict[str, Any], *, at: datetime) -> None:
    if connected.state_at is not None and at < connected.state_at:
        return  # an older snapshot than the one we have
    capabilities = account.get("capabilities") or {}
    connected.transfers_active = capabilities.get("transfers") == "active"
    connected.details_submitted = bool(account.get("details_submitted"))
    connected.state_at = at
    connected.save(update_fields=["transfers_active", "details_submitted", "state_at"])


def account_updated(account: dict[str, Any], event: dict[str, Any]) -> None:
    connected = (
        ConnectedAccount.objects.select_for_update().filter(stripe_account_id=account["id"]).first()
    )
    if connected is None:
        raise NotYet(f"account {account['id']} is not recorded yet")
    _apply_account(connected, account, at=datetime.fromtimestamp(event["created"], UTC))


HANDLERS: dict[str, Any] = {
    "checkout.session.completed": checkout_completed,
    "checkout.session.async_payment_succeeded": checkout_completed,
    "checkout.session.expired": checkout_expired,
    "checkout.session.async_payment_failed": checkout_expired,
    "charge.refunded": charge_refunded,
    "charge.dispute.created": dispute_created,
    "charge.dispute.closed": dispute_closed,
    "invoice.paid": invoice_paid,
    "transfer.reversed": transfer_reversed,
    "account.updated": account_updated,
}
