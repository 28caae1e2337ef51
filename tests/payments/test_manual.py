"""The manual backend (no Stripe key): operators settle invoices and record payouts with
a bank reference, and every step is a balanced ledger entry."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.test import Client

from licensing.models import License, LicenseRequest
from licensing.verification import verify_licenses
from payments import fees, invoices, payouts
from payments.models import CashMovement, FeePayment, Invoice, Payout
from royalties import ledger
from royalties.models import Account, Payee, Statement
from royalties.statements import period_close, statement_for
from tests.payments.helpers import awaiting, balance, balances_are_sound, record, this_month

pytestmark = pytest.mark.django_db


def test_settling_the_fee_issues_the_license_and_books_fee_and_advance(
    request_due: LicenseRequest, operator: Any
) -> None:
    lic = fees.fee_settle_manually(operator=operator, request=request_due, reference="BANK-1")
    payee = Payee.objects.get()
    assert lic.payment_ref == "manual:BANK-1"
    payment = FeePayment.objects.get()
    assert (payment.status, payment.amount, payment.backend) == ("paid", 60_000, "manual")
    assert balance("cash") == 60_000
    # 10% platform fee on the 500.00 fee; the guarantee is held as the license's advance.
    assert balance("platform_revenue") == -5_000
    assert balance("payee_payable", payee=payee) == -45_000
    assert balance("advance", license=lic) == -10_000
    assert set(CashMovement.objects.values_list("entry__kind", "source")) == {
        ("fee", "manual:BANK-1"),
        ("advance", "manual:BANK-1"),
    }
    assert CashMovement.objects.count() == 2
    balances_are_sound()
    # Settling again changes nothing.
    again = fees.fee_settle_manually(operator=operator, request=request_due, reference="X")
    assert again == lic and balance("cash") == 60_000


def test_only_operators_settle_and_a_reference_is_required(
    request_due: LicenseRequest, operator: Any, brand_bob: Any
) -> None:
    with pytest.raises(PermissionDenied):
        fees.fee_settle_manually(operator=brand_bob, request=request_due, reference="mine")
    with pytest.raises(ValidationError):
        fees.fee_settle_manually(operator=operator, request=request_due, reference="  ")
    assert not License.objects.exists() and not FeePayment.objects.exists()


def test_card_payment_is_refused_without_stripe(
    request_due: LicenseRequest, brand_bob: Any
) -> None:
    with pytest.raises(ValidationError, match="bank transfer"):
        fees.fee_checkout_start(
            actor=brand_bob, request=request_due, success_url="http://x/", cancel_url="http://x/"
        )


def test_the_whole_money_loop_by_hand(
    request_due: LicenseRequest, operator: Any, next_month: Any
) -> None:
    lic = fees.fee_settle_manually(operator=operator, request=request_due, reference="FEE")
    record(lic, 80)  # 80 works at 2.00: 16000, of which the 10000 advance covers 50 works
    month = this_month()
    next_month()
    period_close(month=month)
    [invoice] = invoices.invoices_issue(month=month)
    assert (invoice.amount, invoice.currency, invoice.status) == (6_000, "USD", "open")
    assert [(line.works, line.amount) for line in invoice.lines.all()] == [(80, 6_000)]
    assert invoices.invoices_issue(month=month) == [invoice]  # twice: still one

    invoices.invoice_settle_manually(operator=operator, invoice=invoice, reference="INV-PAID")
    assert balance("brand_receivable", brand=lic.brand) == 0

    run = payouts.payout_run(month=month)
    [payout] = Payout.objects.all()
    payee = Payee.objects.get()
    # 45000 of the fee and 90% of 16000 in royalties.
    assert (payout.amount, payout.status, payout.backend) == (45_000 + 14_400, "pending", "manual")
    assert run.paid == 0
    payouts.payout_run(month=month)  # run again: still one payout
    assert Payout.objects.count() == 1

    payouts.payout_record_manually(operator=operator, payout=payout, reference="SEPA-77")
    assert balance("payee_payable", payee=payee) == 0
    stored = Statement.objects.get(payee=payee)
    assert stored.closing == payout.amount
    # Next month's live statement opens where this one closed, and shows the payout.
    later, frozen = statement_for(
        payee,
        month.replace(month=month.month % 12 + 1, year=month.year + (month.month == 12)),
        "USD",
    )
    assert not frozen and later.opening == stored.closing and later.payouts == payout.amount
    assert later.closing == 0
    # The cash account holds exactly what came in less what went out.
    assert balance("cash") == 60_000 + 6_000 - payout.amount
    balances_are_sound()


def test_a_payout_waits_for_the_threshold(
    request_due: LicenseRequest, operator: Any, next_month: Any, settings: Any
) -> None:
    fees.fee_settle_manually(operator=operator, request=request_due, reference="FEE")
    settings.TIMBRE_PAYOUT_THRESHOLD = 50_000
    month = this_month()
    next_month()
    period_close(month=month)
    run = payouts.payout_run(month=month)
    assert not Payout.objects.exists() and run.paid == 0


def test_a_payout_run_needs_a_closed_month(request_due: LicenseRequest, operator: Any) -> None:
    with pytest.raises(ValidationError, match="not closed"):
        payouts.payout_run(month=this_month())
    with pytest.raises(ValidationError, match="not closed"):
        invoices.invoices_issue(month=this_month())


def test_an_overdue_invoice_suspends_the_brands_licenses_until_paid(
    request_due: LicenseRequest, operator: Any, next_month: Any, settings: Any
) -> None:
    lic = fees.fee_settle_manually(operator=operator, request=request_due, reference="FEE")
    record(lic, 60)
    month = this_month()
    next_month()
    period_close(month=month)
    [invoice] = invoices.invoices_issue(month=month)
    assert invoices.invoices_enforce() == 0  # not due yet
    settings.TIMBRE_INVOICE_GRACE_DAYS = 3
    late = invoice.due_at + timedelta(days=4)
    assert invoices.invoices_enforce(now=late) == 1
    lic.refresh_from_db()
    assert lic.status_at() == "suspended"
    assert verify_licenses([lic.jws])[0].reason == "suspended"
    refused = record(lic, 1, start=100)[0]
    assert (refused.status, refused.reason) == ("rejected", "license_suspended")

    invoices.invoice_settle_manually(operator=operator, invoice=invoice, reference="LATE")
    lic.refresh_from_db()
    assert lic.status_at() == "active" and verify_licenses([lic.jws])[0].valid
    assert record(lic, 1, start=200)[0].status == "recorded"


def test_the_operator_page_is_for_operators_and_walks_the_loop(
    client: Client, request_due: LicenseRequest, operator: Any, brand_bob: Any, next_month: Any
) -> None:
    client.force_login(brand_bob)
    assert client.get("/operations/payments/").status_code == 302  # to the login
    client.post(
        "/operations/payments/", {"action": "settle-fee", "id": request_due.pk, "reference": "x"}
    )
    assert not License.objects.exists()

    client.force_login(operator)
    page = client.get("/operations/payments/").content.decode()
    assert "Bobcat Audio" in page and "60000 USD" in page
    response = client.post(
        "/operations/payments/", {"action": "settle-fee", "id": request_due.pk, "reference": ""}
    )
    assert response.status_code == 302 and not License.objects.exists()
    client.post(
        "/operations/payments/",
        {"action": "settle-fee", "id": request_due.pk, "reference": "BANK-9"},
    )
    lic = License.objects.get()
    assert lic.payment_ref == "manual:BANK-9"
    record(lic, 70)
    month = this_month()
    next_month()
    client.force_login(operator)  # the session would have expired a month later
    response = client.post(
        "/operations/payments/", {"action": "month-end", "month": f"{month:%Y-%m}"}, follow=True
    )
    assert f"{month:%Y-%m} closed: 1 invoices" in response.content.decode()
    invoice = Invoice.objects.get()
    payout = Payout.objects.get()
    client.post(
        "/operations/payments/",
        {"action": "settle-invoice", "id": invoice.pk, "reference": "INV-OK"},
    )
    client.post(
        "/operations/payments/",
        {"action": "record-payout", "id": payout.pk, "reference": "SEPA-1"},
    )
    invoice.refresh_from_db()
    payout.refresh_from_db()
    assert invoice.status == "paid" and payout.status == "paid"
    response = client.post("/operations/payments/", {"action": "month-end", "month": "2026-13"})
    assert response.status_code == 302
    balances_are_sound()


def test_brand_billing_shows_only_the_brands_own(
    client: Client, request_due: LicenseRequest, brand_bob: Any, brand_hank: Any, voice: Any
) -> None:
    hank_request = awaiting(voice, brand_hank, upfront_fee=123_456)
    client.force_login(brand_bob)
    bob_slug = request_due.brand.slug
    page = client.get(f"/brands/{bob_slug}/billing/").content.decode()
    assert f"FEE-{request_due.pk}" in page and f"FEE-{hank_request.pk}" not in page
    assert client.get(f"/brands/{hank_request.brand.slug}/billing/").status_code == 404
    response = client.post(f"/brands/{bob_slug}/billing/pay/{hank_request.pk}/")
    assert response.status_code == 404


def test_reconcile_on_manual_passes_clean_and_reports_unexplained_cash(
    request_due: LicenseRequest, operator: Any
) -> None:
    fees.fee_settle_manually(operator=operator, request=request_due, reference="FEE")
    month = this_month()
    out = io.StringIO()
    call_command("reconcile", "--period", f"{month:%Y-%m}", stdout=out)
    assert "0 mismatched" in out.getvalue()
    # Cash booked behind the payments' back: no payment names it.
    ledger.post(
        kind=ledger.Kind.PROCESSING_FEE,
        source="stray",
        currency="USD",
        memo="stray",
        lines=[
            ledger.Line(ledger.account(Account.Kind.CASH, "USD"), 999),
            ledger.Line(ledger.account(Account.Kind.PLATFORM_REVENUE, "USD"), -999),
        ],
    )
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("reconcile", "--period", f"{month:%Y-%m}", stdout=out)
    assert exit_.value.code == 1
    assert (
        "MISMATCH processing:stray: cash moved in the ledger with no payment behind it"
        in out.getvalue()
    )


def test_reconcile_refuses_a_bad_period() -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="not a month"):
        call_command("reconcile", "--period", "2026-13")
