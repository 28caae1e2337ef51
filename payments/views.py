"""Payment pages for brands, payees and operators, and Stripe's webhook endpoint."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from core.parsing import parse_index, parse_month
from core.problems import problem_response
from licensing.models import LicenseRequest
from licensing.services import amount_due
from payments import (
    connect,
    events,
    fees,
    forms,
    gateway,
    invoices,
    monthly,
    payouts,
    tasks,
    trust,
)
from payments.books import backend
from payments.models import (
    ConnectedAccount,
    FeePayment,
    Invoice,
    Payout,
    PayoutRun,
    Reconciliation,
)
from payments.reconcile import reconcile
from registry.models import Brand
from registry.policies import signed_in_user
from royalties.models import Payee, TrustDeposit

logger = logging.getLogger(__name__)

MAX_WEBHOOK_BYTES = 512 * 1024


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    """Stripe's deliveries: verified, stored once, processed by a task after commit."""
    if backend() != "stripe" or not settings.STRIPE_WEBHOOK_SECRET:
        return problem_response("not-found", 404, "Stripe is not configured on this registry.")
    if int(request.META.get("CONTENT_LENGTH") or 0) > MAX_WEBHOOK_BYTES:
        return problem_response("payload-too-large", 413, "Webhook bodies are at most 512 KiB.")
    signature = request.headers.get("Stripe-Signature")
    if not signature:
        return problem_response("bad-signature", 400, "The Stripe-Signature header is missing.")
    try:
        stored, created = events.receive(request.body, signature)
    except gateway.SignatureError:
        return problem_response(
            "bad-signature", 400, "The signature does not match this body, or it is too old."
        )
    except events.BadEvent as exc:
        return problem_response("malformed-request", 400, str(exc))
    return JsonResponse({"received": stored.event_id, "duplicate": not created})


# --- brands -------------------------------------------------------------------------


def _brand(request: HttpRequest, slug: str) -> Brand:
    return get_object_or_404(Brand, slug=slug, memberships__user=request.user)


@login_required
def brand_billing(request: HttpRequest, slug: str) -> HttpResponse:
    brand = _brand(request, slug)
    awaiting = [
        {"request": r, "due": amount_due(r)}
        for r in brand.license_requests.filter(
            status=LicenseRequest.Status.AWAITING_PAYMENT
        ).select_related("offer_version__offer__voice")
    ]
    return render(
        request,
        "payments/brand_billing.html",
        {
            "brand": brand,
            "awaiting": awaiting,
            "stripe": backend() == "stripe",
            "payments": FeePayment.objects.filter(request__brand=brand)
            .exclude(status=FeePayment.Status.OPEN)
            .exclude(status=FeePayment.Status.EXPIRED)
            .select_related("license", "request"),
            "invoices": brand.invoices.prefetch_related("lines__license"),
        },
    )


@login_required
@require_POST
def fee_pay(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    brand = _brand(request, slug)
    req = get_object_or_404(LicenseRequest, pk=pk, brand=brand)
    back = request.build_absolute_uri(reverse("brand-billing", args=[brand.slug]))
    try:
        payment = fees.fee_checkout_start(
            actor=signed_in_user(request),
            request=req,
            success_url=back + f"?paid={req.pk}",
            cancel_url=back + f"?cancelled={req.pk}",
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("brand-billing", brand.slug)
    except gateway.StripeError:
        logger.exception("checkout for request %s failed", req.pk)
        messages.error(request, "The payment page could not be opened; try again in a minute.")
        return redirect("brand-billing", brand.slug)
    return redirect(payment.checkout_url)


# --- payees -------------------------------------------------------------------------


@login_required
def payouts_page(request: HttpRequest) -> HttpResponse:
    payees = Payee.objects.filter(user=signed_in_user(request)).order_by("pk")
    if not payees.exists():
        raise Http404("You are not paid royalties here.")
    connected = {c.payee_id: c for c in ConnectedAccount.objects.filter(payee__in=payees)}
    return render(
        request,
        "payments/payouts.html",
        {
            "payees": [(p, connected.get(p.pk)) for p in payees],
            "payouts": Payout.objects.filter(payee__in=payees).select_related("payee"),
            "stripe": backend() == "stripe",
            "threshold": settings.TIMBRE_PAYOUT_THRESHOLD,
        },
    )


def _own_payee(request: HttpRequest, raw: Any) -> Payee:
    return get_object_or_404(Payee, pk=parse_index(str(raw)) or 0, user=request.user)


@login_required
@require_POST
def connect_start(request: HttpRequest) -> HttpResponse:
    payee = _own_payee(request, request.POST.get("payee", ""))
    return _connect_redirect(request, payee)


def _connect_redirect(request: HttpRequest, payee: Payee) -> HttpResponse:
    here = request.build_absolute_uri(reverse("connect-refresh", args=[payee.pk]))
    back = request.build_absolute_uri(reverse("connect-return", args=[payee.pk]))
    try:
        url = connect.connect_start(
            actor=signed_in_user(request),
            payee=payee,
            refresh_url=here,
            return_url=back,
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("payouts")
    except gateway.StripeError:
        logger.exception("connect onboarding for payee %s failed", payee.pk)
        messages.error(request, "Stripe could not be reached; try again in a minute.")
        return redirect("payouts")
    return redirect(url)


@login_required
def connect_refresh(request: HttpRequest, payee_id: int) -> HttpResponse:
    """Stripe sends the payee here when the onboarding link expired: a fresh link."""
    return _connect_redirect(request, _own_payee(request, payee_id))


@login_required
def connect_return(request: HttpRequest, payee_id: int) -> HttpResponse:
    payee = _own_payee(request, payee_id)
    connected = ConnectedAccount.objects.filter(payee=payee).first()
    if connected is not None:
        try:
            connect.connect_refresh(connected)
        except gateway.StripeError:
            logger.warning("could not read account %s", connected.stripe_account_id)
        if connected.transfers_active:
            messages.success(request, "Your payout account is ready.")
        else:
            messages.info(request, "Stripe is still checking your details; we will pay once done.")
    return redirect("payouts")


# --- operators ----------------------------------------------------------------------


def _month_or_error(request: HttpRequest) -> Any:
    form = forms.MonthForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Write the month as YYYY-MM.")
        return None
    month = parse_month(form.cleaned_data["month"])
    if month is None:
        messages.error(request, "That is not a month.")
    return month


def _settle(request: HttpRequest, action: str) -> None:
    form = forms.ReferenceForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the payment's reference.")
        return
    reference = form.cleaned_data["reference"]
    pk = parse_index(str(request.POST.get("id", ""))) or 0
    operator = signed_in_user(request)
    if action == "settle-fee":
        req = get_object_or_404(
            LicenseRequest, pk=pk, status=LicenseRequest.Status.AWAITING_PAYMENT
        )
        lic = fees.fee_settle_manually(
            operator=operator,
            request=req,
            reference=reference,
        )
        messages.success(request, f"Settled: license {lic.license_id} issued.")
    elif action == "settle-invoice":
        invoice = get_object_or_404(Invoice, pk=pk)
        invoices.invoice_settle_manually(
            operator=operator,
            invoice=invoice,
            reference=reference,
        )
        messages.success(request, f"Invoice {invoice.number} settled.")
    else:
        payout = get_object_or_404(Payout, pk=pk)
        payouts.payout_record_manually(
            operator=operator,
            payout=payout,
            reference=reference,
        )
        messages.success(request, f"Payout to {payout.payee.name} recorded.")


def _month_end(request: HttpRequest, month: Any) -> None:
    done = monthly.month_end(
        month=month, pay_later=lambda month: tasks.payout_run.delay(month.isoformat())
    )
    if done.run is None:
        messages.success(
            request,
            f"{month:%Y-%m} closed: {len(done.invoices)} invoices; the payout run has started.",
        )
        return
    messages.success(
        request,
        f"{month:%Y-%m} closed: {len(done.invoices)} invoices, "
        f"{done.run.payouts.filter(status='pending').count()} payouts and "
        f"{TrustDeposit.objects.filter(month=month, status='pending').count()} "
        "trust deposits to record by hand.",
    )


def _trust_deposit(request: HttpRequest, action: str) -> HttpResponse:
    """Record (or mark failed) a trust deposit. Bad input is a 400 naming what is wrong,
    with the page as it was, not a redirect: the operator is holding a bank statement."""
    pk = parse_index(str(request.POST.get("id", ""))) or 0
    deposit = get_object_or_404(TrustDeposit, pk=pk)
    text = str(request.POST.get("reference", ""))
    try:
        if action == "record-trust-deposit":
            trust.trust_deposit_record(
                operator=signed_in_user(request), deposit=deposit, reference=text
            )
            messages.success(
                request, f"Trust deposit for {deposit.payee.name} recorded as paid into the trust."
            )
        else:
            trust.trust_deposit_fail(operator=signed_in_user(request), deposit=deposit, reason=text)
            messages.success(request, f"Trust deposit for {deposit.payee.name} marked failed.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return _operations_page(request, status=400)
    return redirect("operations-payments")


@staff_member_required
def operations(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        action = str(request.POST.get("action", ""))
        if action in {"record-trust-deposit", "fail-trust-deposit"}:
            return _trust_deposit(request, action)
        try:
            if action in {"settle-fee", "settle-invoice", "record-payout"}:
                _settle(request, action)
            elif action in {"month-end", "reconcile"}:
                month = _month_or_error(request)
                if month is not None and action == "month-end":
                    _month_end(request, month)
                elif month is not None:
                    result = reconcile(month=month)
                    level = messages.success if result.ok else messages.error
                    level(
                        request,
                        f"{month:%Y-%m}: {result.matched} matched, "
                        f"{len(result.mismatches)} mismatched.",
                    )
            else:
                messages.error(request, "Unknown action.")
        except (ValidationError, ValueError) as exc:
            words = exc.messages if isinstance(exc, ValidationError) else [str(exc)]
            messages.error(request, " ".join(words))
        except PermissionDenied as exc:
            messages.error(request, str(exc))
        except gateway.StripeError:
            logger.exception("operator action %s failed at Stripe", action)
            messages.error(request, "Stripe could not be reached; nothing was lost, try again.")
        return redirect("operations-payments")
    return _operations_page(request)


def _operations_page(request: HttpRequest, status: int = 200) -> HttpResponse:
    return render(
        request,
        "payments/operations.html",
        {
            "stripe": backend() == "stripe",
            "awaiting": [
                {"request": r, "due": amount_due(r)}
                for r in LicenseRequest.objects.filter(
                    status=LicenseRequest.Status.AWAITING_PAYMENT
                ).select_related("brand", "offer_version__offer__voice")
            ],
            "invoices": Invoice.objects.filter(status=Invoice.Status.OPEN).select_related("brand"),
            "pending": Payout.objects.filter(status=Payout.Status.PENDING).select_related("payee"),
            "failed": Payout.objects.filter(
                status__in=[Payout.Status.FAILED, Payout.Status.REVERSED]
            ).select_related("payee")[:50],
            "trust_deposits": TrustDeposit.objects.filter(
                status=TrustDeposit.Status.PENDING
            ).select_related("payee"),
            "runs": PayoutRun.objects.all()[:12],
            "reconciliations": Reconciliation.objects.all()[:6],
        },
        status=status,
    )
