from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from core.admin import ReadOnlyAdmin
from royalties.models import (
    Account,
    CooganTrust,
    JournalEntry,
    LicenseUsage,
    Payee,
    Period,
    Posting,
    Statement,
    TrustDeposit,
    VoiceSplit,
    Work,
    WorkAttempt,
)


@admin.register(Payee)
class PayeeAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "performer", "user", "union_agreement"]
    list_filter = ["kind"]
    raw_id_fields = ["performer", "user"]


@admin.register(CooganTrust)
class CooganTrustAdmin(admin.ModelAdmin):
    list_display = ["payee", "institution", "named_at"]
    raw_id_fields = ["payee", "named_by"]


@admin.register(TrustDeposit)
class TrustDepositAdmin(ReadOnlyAdmin):
    """Made by payout runs, recorded on the operator's Payments page: never edited here,
    where a change would skip the ledger."""

    list_display = ["payee", "month", "currency", "amount", "status", "paid_at"]
    list_filter = ["status"]


@admin.register(VoiceSplit)
class VoiceSplitAdmin(ReadOnlyAdmin):
    list_display = ["voice", "payee", "bps"]


class PostingInline(admin.TabularInline):
    model = Posting
    extra = 0
    readonly_fields = ["account", "amount", "license", "works", "milliseconds"]
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(JournalEntry)
class JournalEntryAdmin(ReadOnlyAdmin):
    list_display = ["kind", "source", "currency", "memo", "created_at"]
    list_filter = ["kind", "currency"]
    search_fields = ["source", "idempotency_key", "memo"]
    inlines = [PostingInline]


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ["kind", "currency", "owner"]
    list_filter = ["kind", "currency"]


@admin.register(Work)
class WorkAdmin(ReadOnlyAdmin):
    list_display = ["work_id", "license", "brand", "price", "currency", "recorded_at", "voided_at"]
    search_fields = ["work_id", "content_sha256", "client_ref"]
    exclude = ["receipt"]


@admin.register(WorkAttempt)
class WorkAttemptAdmin(ReadOnlyAdmin):
    list_display = ["at", "brand", "license_ref", "reason"]
    list_filter = ["reason"]


@admin.register(LicenseUsage)
class LicenseUsageAdmin(ReadOnlyAdmin):
    list_display = ["license", "works", "milliseconds", "advance_left", "advance_released"]


@admin.register(Period)
class PeriodAdmin(ReadOnlyAdmin):
    list_display = ["month", "closed_at"]


@admin.register(Statement)
class StatementAdmin(ReadOnlyAdmin):
    list_display = ["payee", "period", "currency", "opening", "earnings", "payouts", "closing"]
