from __future__ import annotations

from django.contrib import admin

from core.admin import ReadOnlyAdmin
from payments.models import (
    CashMovement,
    ConnectedAccount,
    FeePayment,
    Invoice,
    Payout,
    PayoutRun,
    Reconciliation,
    StripeEvent,
)


@admin.register(FeePayment)
class FeePaymentAdmin(ReadOnlyAdmin):
    list_display = ["pk", "request", "backend", "status", "amount", "currency", "paid_at"]
    list_filter = ["backend", "status"]
    search_fields = ["checkout_session_id", "charge_id", "reference"]


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    list_display = ["number", "brand", "month", "amount", "currency", "status", "due_at"]
    list_filter = ["status", "backend"]
    search_fields = ["number", "brand__name", "stripe_invoice_id"]


@admin.register(Payout)
class PayoutAdmin(ReadOnlyAdmin):
    list_display = ["pk", "payee", "month", "amount", "currency", "status", "transfer_id"]
    list_filter = ["status", "backend", "month"]
    search_fields = ["payee__name", "transfer_id", "reference"]


@admin.register(PayoutRun)
class PayoutRunAdmin(ReadOnlyAdmin):
    list_display = ["pk", "month", "backend", "started_at", "finished_at", "paid", "failed"]


@admin.register(ConnectedAccount)
class ConnectedAccountAdmin(ReadOnlyAdmin):
    list_display = ["payee", "stripe_account_id", "transfers_active", "details_submitted"]


@admin.register(CashMovement)
class CashMovementAdmin(ReadOnlyAdmin):
    list_display = ["entry", "backend", "source", "at"]
    list_filter = ["entry__kind", "backend"]
    search_fields = ["source"]


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdmin):
    list_display = ["event_id", "type", "received_at", "processed_at", "attempts", "error"]
    list_filter = ["type"]
    search_fields = ["event_id"]
    exclude = ["payload"]


@admin.register(Reconciliation)
class ReconciliationAdmin(ReadOnlyAdmin):
    list_display = ["month", "backend", "ran_at", "matched", "ok"]
