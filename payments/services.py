"""Money in (license fees, usage invoices) and out (payouts), by Stripe or by hand.

Two settlement backends behind one set of services: ``manual`` (the default with no
Stripe key: operators settle invoices and record payouts with a reference) and
``stripe`` (Checkout, Invoices, Connect transfers, webhooks). Either way, every movement
of money is a balanced ledger entry with an idempotency key made of our ids, and a
CashMovement row naming what moved it, for reconciliation.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

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
from royalties.statements import PAYOUT_PREFIX, bounds, month_start

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
            payment.status = FeePayment.Status.EXPIRED
            payment.save(update_fields=["status"])
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


@transaction.atomic
def fee_settle_manually(*, operator: User, request: LicenseRequest, reference: str) -> License:
    """An operator records the brand's bank payment of the fee invoice: issue and book."""
    if not operator.is_staff:
        raise PermissionDenied("Only an operator settles invoices.")
    reference = reference.strip()
    if not reference:
        raise ValidationError({"reference": ["Give the payment's reference."]})
    req = LicenseRequest.objects.select_for_update().get(pk=request.pk)
    paid = req.fee_payments.filter(status=FeePayment.Status.PAID).first()
    if paid is not None and paid.license is not None:
        return paid.license
    if req.status != LicenseRequest.Status.AWAITING_PAYMENT:
        raise ValidationError({"status": [f"This request is {req.status}, not awaiting payment."]})
    payment = _new_fee_payment(req, Backend.MANUAL)
    payment.reference = reference[:200]
    payment.save()
    now = timezone.now()
    return _fee_paid(payment, source=f"manual:{reference[:180]}", at=now, reference=reference)


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
    if session.get("payment_status") != "paid" or payment.status == FeePayment.Status.PAID:
        return  # not paid yet (a delayed method), or already issued from an earlier event
    if payment.license_id is not None:
        return
    charge = gateway.charge_of_payment_intent(session["payment_intent"])
    txn = charge.get("balance_transaction") or {}
    at = booking_time(charge.get("created") or event.get("created"))
    payment.checkout_session_id = session["id"]
    payment.payment_intent_id = session["payment_intent"]
    try:
        with transaction.atomic():
            _fee_paid(
                payment, source=charge["id"], at=at, receipt_url=charge.get("receipt_url") or ""
            )
    except ValidationError as exc:
        # Paid, but the license can no longer be issued (the voice was suspended, an
        # exclusive license was granted meanwhile): the money is the brand's credit until
        # an operator refunds it.
        _fee_unapplied(payment, charge=charge, at=at, why=" ".join(exc.messages))
    _processing_fee(
        source=charge["id"], currency=payment.currency, amount=int(txn.get("fee") or 0), at=at
    )


def _fee_unapplied(payment: FeePayment, *, charge: dict[str, Any], at: datetime, why: str) -> None:
    logger.warning("fee payment %s paid but not issued: %s", payment.pk, why)
    payment.status = FeePayment.Status.PAID
    payment.paid_at = at
    payment.charge_id = charge["id"]
    payment.receipt_url = charge.get("receipt_url") or ""
    payment.reference = f"not issued: {why}"[:200]
    payment.save()
    brand = payment.request.brand
    entry = ledger.post(
        key=f"unapplied:{payment.pk}",
        currency=payment.currency,
        memo=f"fee paid for request {payment.request_id}, license not issued: refund it",
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


def _fee_payment_for_charge(charge_id: str) -> FeePayment:
    payment = FeePayment.objects.select_for_update().filter(charge_id=charge_id).first()
    if payment is None:
        raise NotYet(f"no paid license fee with charge {charge_id} yet")
    return payment


def _reverse_fee(
    payment: FeePayment,
    amount: int,
    *,
    key: str,
    source: str,
    kind: str,
    at: datetime,
    counter: str,
) -> JournalEntry | None:
    """Take `amount` of a fee payment back out of the books: from the fee first (payees and
    platform give back their shares), then from the advance still unspent; advance the
    brand already used becomes owed like any other usage."""
    lic = payment.license
    assert lic is not None
    if JournalEntry.objects.filter(idempotency_key=key).exists():
        return None  # booked already (this refund or dispute was seen before)
    taken = payment.refunded + payment.disputed
    amount = min(amount, payment.amount - taken)
    if amount <= 0:
        return None
    currency = payment.currency
    fee_left = max(payment.upfront_fee - taken, 0)
    from_fee = min(amount, fee_left)
    from_advance = amount - from_fee
    lines = [ledger.Line(ledger.account(Account.Kind.CASH, currency), -amount, lic)]
    if from_fee:
        payees, split = payee_splits(lic.voice)
        shares = rules.distribute(from_fee, fee_bps=platform_fee_bps(), split_bps=split)
        lines.append(
            ledger.Line(ledger.account(Account.Kind.PLATFORM_REVENUE, currency), shares.fee, lic)
        )
        lines += [
            ledger.Line(
                ledger.account(Account.Kind.PAYEE_PAYABLE, currency, payee=payee),
                share,
                lic,
                gross=-from_fee,
                fee=-shares.fee,
            )
            for payee, share in zip(payees, shares.payees, strict=True)
        ]
    if from_advance:
        usage = usage_locked(lic)
        unspent = min(from_advance, usage.advance_left)
        lines.append(
            ledger.Line(ledger.account(Account.Kind.ADVANCE, currency, license=lic), unspent, lic)
        )
        if from_advance - unspent:
            lines.append(
                ledger.Line(
                    ledger.account(Account.Kind.BRAND_RECEIVABLE, currency, brand=lic.brand),
                    from_advance - unspent,
                    lic,
                )
            )
        usage.advance_left -= unspent
        usage.save(update_fields=["advance_left"])
    entry = ledger.post(
        key=key, currency=currency, memo=f"{kind} for {lic.license_id}", lines=lines, at=at
    )
    _movement(entry, kind, source, at, payment.backend)
    setattr(payment, counter, getattr(payment, counter) + amount)
    payment.save(update_fields=[counter])
    return entry


def charge_refunded(charge: dict[str, Any], event: dict[str, Any]) -> None:
    """Refunds of a license fee: each goes back out of the books, and the license is
    suspended. Refunds of invoice payments are left to an operator."""
    payment = FeePayment.objects.select_for_update().filter(charge_id=charge["id"]).first()
    if payment is None:
        if Invoice.objects.filter(charge_id=charge["id"]).exists():
            logger.warning("refund of invoice charge %s: settle it by hand", charge["id"])
            return
        raise NotYet(f"no paid license fee with charge {charge['id']} yet")
    for refund in gateway.refunds_of_charge(charge["id"]):
        if refund.get("status") in ("failed", "canceled"):
            continue
        _reverse_fee(
            payment,
            int(refund["amount"]),
            key=f"refund:{refund['id']}",
            source=refund["id"],
            kind=CashMovement.Kind.FEE_REVERSED,
            at=booking_time(refund.get("created")),
            counter="refunded",
        )
    payment.status = FeePayment.Status.REFUNDED
    payment.save(update_fields=["status"])
    licensing.license_hold(
        license=payment.license, reason=LicenseHold.Reason.REFUNDED, ref=charge["id"]
    )


def dispute_created(dispute: dict[str, Any], event: dict[str, Any]) -> None:
    payment = _fee_payment_for_charge(dispute["charge"])
    at = booking_time(dispute.get("created") or event.get("created"))
    _reverse_fee(
        payment,
        int(dispute["amount"]),
        key=f"dispute:{dispute['id']}",
        source=dispute["id"],
        kind=CashMovement.Kind.FEE_REVERSED,
        at=at,
        counter="disputed",
    )
    for txn in dispute.get("balance_transactions") or []:
        if isinstance(txn, dict) and txn.get("fee"):
            _processing_fee(
                source=dispute["id"], currency=payment.currency, amount=txn["fee"], at=at
            )
    payment.status = FeePayment.Status.DISPUTED
    payment.save(update_fields=["status"])
    licensing.license_hold(
        license=payment.license, reason=LicenseHold.Reason.DISPUTED, ref=dispute["id"]
    )


def dispute_closed(dispute: dict[str, Any], event: dict[str, Any]) -> None:
    """Won: the money comes back, the reversal is itself reversed, the license is live."""
    payment = _fee_payment_for_charge(dispute["charge"])
    taken = JournalEntry.objects.filter(idempotency_key=f"dispute:{dispute['id']}").first()
    if taken is None:
        raise NotYet(f"dispute {dispute['id']} closed before we recorded it")
    if dispute.get("status") != "won":
        return  # lost: the money stays reversed and the license suspended
    at = booking_time(event.get("created"))
    lic = payment.license
    assert lic is not None
    postings = list(taken.postings.select_related("account", "license"))
    lines = [
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
    ]
    restored = JournalEntry.objects.filter(idempotency_key=f"dispute-won:{dispute['id']}").exists()
    entry = ledger.post(
        key=f"dispute-won:{dispute['id']}",
        currency=payment.currency,
        memo=f"dispute won for {lic.license_id}",
        lines=lines,
        reverses=taken,
        at=at,
    )
    _movement(entry, CashMovement.Kind.FEE_RESTORED, dispute["id"], at, payment.backend)
    if not restored:
        back = sum(-p.amount for p in postings if p.account.kind == Account.Kind.CASH)
        advance = sum(p.amount for p in postings if p.account.kind == Account.Kind.ADVANCE)
        if advance:
            usage = usage_locked(lic)
            usage.advance_left += advance
            usage.save(update_fields=["advance_left"])
        payment.disputed -= back
    payment.status = FeePayment.Status.REFUNDED if payment.refunded else FeePayment.Status.PAID
    payment.save(update_fields=["status", "disputed"])
    licensing.license_release(license=lic, reason=LicenseHold.Reason.DISPUTED, ref=dispute["id"])


# --- usage invoices -------------------------------------------------------------------

_USAGE_SQL = """
SELECT a.brand_id, a.currency, p.license_id, SUM(p.amount)
FROM royalties_posting p
JOIN royalties_account a ON a.id = p.account_id
JOIN royalties_journalentry e ON e.id = p.entry_id
WHERE a.kind = %(kind)s AND p.license_id IS NOT NULL
  AND e.created_at >= %(start)s AND e.created_at < %(end)s
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3
"""


def _usage_by_brand(month: date) -> dict[tuple[int, str], list[tuple[int, int]]]:
    start, end = bounds(month)
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(
            _USAGE_SQL,
            {"kind": Account.Kind.BRAND_RECEIVABLE.value, "start": adapt(start), "end": adapt(end)},
        )
        rows = cursor.fetchall()
    grouped: dict[tuple[int, str], list[tuple[int, int]]] = {}
    for brand_id, currency, license_pk, amount in rows:
        if int(amount):
            grouped.setdefault((brand_id, currency), []).append((license_pk, int(amount)))
    return grouped


def invoices_issue(*, month: date) -> list[Invoice]:
    """One invoice per brand and currency for the royalties its works accrued in a closed
    month. Safe to run twice: an invoice exists once, and Stripe calls carry its id."""
    from royalties.models import Work

    month = month_start(month)
    if not Period.objects.filter(month=month, closed_at__isnull=False).exists():
        raise ValidationError({"month": [f"{month:%Y-%m} is not closed yet."]})
    _, end = bounds(month)
    via = backend()
    for (brand_id, currency), per_license in _usage_by_brand(month).items():
        total = sum(amount for _, amount in per_license)
        if total <= 0:
            continue
        with transaction.atomic():
            brand = Brand.objects.get(pk=brand_id)
            invoice, created = Invoice.objects.get_or_create(
                brand=brand,
                month=month,
                currency=currency,
                defaults={
                    "amount": total,
                    "backend": via,
                    "number": f"TMB-{month:%Y%m}-{brand_id:05d}-{currency}",
                    "issued_at": timezone.now(),
                    "due_at": timezone.now() + timedelta(days=settings.TIMBRE_INVOICE_DAYS_DUE),
                },
            )
            if created:
                start = end - (end - datetime(month.year, month.month, 1, tzinfo=UTC))
                for license_pk, amount in per_license:
                    works = Work.objects.filter(
                        license_id=license_pk, recorded_at__gte=start, recorded_at__lt=end
                    )
                    InvoiceLine.objects.create(
                        invoice=invoice,
                        license_id=license_pk,
                        works=works.filter(voided_at__isnull=True).count(),
                        amount=amount,
                    )
    invoices = list(Invoice.objects.filter(month=month).select_related("brand"))
    for invoice in invoices:
        if invoice.backend == Backend.STRIPE and not invoice.stripe_invoice_id:
            _send_stripe_invoice(invoice)
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
    for hold in LicenseHold.objects.filter(
        reason=LicenseHold.Reason.INVOICE_OVERDUE, ref=invoice.number, released_at__isnull=True
    ).select_related("license"):
        licensing.license_release(
            license=hold.license, reason=LicenseHold.Reason.INVOICE_OVERDUE, ref=invoice.number
        )


@transaction.atomic
def invoice_settle_manually(*, operator: User, invoice: Invoice, reference: str) -> Invoice:
    if not operator.is_staff:
        raise PermissionDenied("Only an operator settles invoices.")
    reference = reference.strip()
    if not reference:
        raise ValidationError({"reference": ["Give the payment's reference."]})
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
            if isinstance(exc, gateway.stripe.APIConnectionError):
                raise  # unknown outcome: stays 'sending', looked up on the next run
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
    if not operator.is_staff:
        raise PermissionDenied("Only an operator records payouts.")
    reference = reference.strip()
    if not reference:
        raise ValidationError({"reference": ["Give the bank transfer's reference."]})
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
    """Money came back from a payee's account: their balance owes it again, and the next
    run pays it."""
    payout = (
        Payout.objects.select_for_update()
        .select_related("payee")
        .filter(transfer_id=transfer["id"])
        .first()
    )
    if payout is None:
        raise NotYet(f"no payout with transfer {transfer['id']} yet")
    total = int(transfer.get("amount_reversed") or 0)
    reversals = (transfer.get("reversals") or {}).get("data") or []
    source = reversals[0]["id"] if reversals else transfer["id"]
    booked = _reversed_so_far(payout)
    if total > booked:
        at = booking_time(event.get("created"))
        entry = ledger.post(
            key=f"{PAYOUT_PREFIX}{payout.pk}:reversed:{total}",
            currency=payout.currency,
            memo=f"payout {payout.pk} reversed",
            lines=[
                ledger.Line(ledger.account(Account.Kind.CASH, payout.currency), total - booked),
                ledger.Line(
                    ledger.account(Account.Kind.PAYEE_PAYABLE, payout.currency, payee=payout.payee),
                    -(total - booked),
                ),
            ],
            at=at,
        )
        _movement(entry, CashMovement.Kind.PAYOUT_REVERSED, source, at, payout.backend)
    payout.status = Payout.Status.REVERSED
    payout.save(update_fields=["status"])


def _reversed_so_far(payout: Payout) -> int:
    """Cash that came back for this payout, by the reversal entries already booked."""
    postings = Posting.objects.filter(
        entry__idempotency_key__startswith=f"{PAYOUT_PREFIX}{payout.pk}:reversed",
        account__kind=Account.Kind.CASH,
    )
    return sum(postings.values_list("amount", flat=True))


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
