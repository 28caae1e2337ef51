"""License fees: what a request owes before issue (the upfront fee and the prepaid
minimum guarantee), collected by Stripe Checkout or settled by hand, then booked."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from licensing import services as licensing
from licensing.models import License, LicenseRequest
from payments import gateway
from payments.books import (
    backend,
    booking_time,
    brand_paid,
    charge_of,
    manual_source,
    movement,
    operator_reference,
    processing_fee,
)
from payments.models import Backend, FeePayment
from registry.models import User
from registry.policies import is_brand_member
from royalties import advance, ledger
from royalties.ledger import Kind, Line
from royalties.models import Account
from royalties.splits import split_basis

logger = logging.getLogger(__name__)


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
        if not is_brand_member(actor, req.brand):
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
    if payment.upfront_fee:
        accounts = ledger.Accounts()
        basis = split_basis(lic.voice)
        entry = ledger.post(
            kind=Kind.FEE,
            source=str(payment.pk),
            currency=currency,
            memo=f"upfront fee for {lic.license_id}",
            lines=[
                Line(accounts.get(Account.Kind.CASH, currency), payment.upfront_fee, lic),
                *ledger.split_lines(
                    [payment.upfront_fee],
                    basis=basis,
                    currency=currency,
                    lic=lic,
                    accounts=accounts,
                ),
            ],
            at=at,
            split=basis,
        )
        movement(entry, source, at, payment.backend)
    guarantee = advance.prepaid(lic=lic, amount=payment.minimum_guarantee, at=at)
    if guarantee is not None:
        movement(guarantee, source, at, payment.backend)


def _fee_paid(
    payment: FeePayment, *, source: str, at: datetime, receipt_url: str = "", reference: str = ""
) -> License:
    lic = licensing.license_issue(request=payment.request, payment_ref=source)
    payment.status = FeePayment.Status.PAID
    payment.license = lic
    payment.paid_at = at
    payment.charge_id = charge_of(source)
    payment.receipt_url = receipt_url
    payment.reference = reference or payment.reference
    payment.save()
    _book_fee(payment, lic, source=source, at=at)
    return lic


@transaction.atomic
def fee_settle_manually(*, operator: User, request: LicenseRequest, reference: str) -> License:
    """An operator records the brand's bank payment of the fee invoice: issue and book."""
    reference = operator_reference(operator, reference, "settles invoices", "the payment's")
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
    lic = _fee_paid(payment, source=manual_source(reference), at=now, reference=reference)
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
        processing_fee(
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
    entry = brand_paid(
        kind=Kind.FEE_UNAPPLIED,
        source=str(payment.pk),
        brand=payment.request.brand,
        currency=payment.currency,
        amount=payment.amount,
        memo=f"fee paid for request {payment.request_id}, not applied: refund it",
        at=at,
    )
    movement(entry, charge["id"], at, payment.backend)


def checkout_expired(session: dict[str, Any], event: dict[str, Any]) -> None:
    """The brand never paid: the request keeps awaiting payment; Pay opens a new session."""
    payment = _payment_for_session(session)
    if payment is not None and payment.status == FeePayment.Status.OPEN:
        payment.status = FeePayment.Status.EXPIRED
        payment.save(update_fields=["status"])
