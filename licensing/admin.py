from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from core.admin import ReadOnlyAdmin
from licensing.models import (
    License,
    LicenseRequest,
    Offer,
    OfferVersion,
    RequestTransition,
    SigningKey,
    UnionAgreement,
    UnionMinimum,
)


class UnionMinimumInline(admin.TabularInline):
    model = UnionMinimum
    extra = 1


@admin.register(UnionAgreement)
class UnionAgreementAdmin(admin.ModelAdmin):
    """Operators configure the union agreements offers may follow. A change applies to
    offers published after it: licenses state the rate they were signed with."""

    list_display = ["name", "code", "pension_health_bps", "fund_name", "active"]
    list_filter = ["active"]
    search_fields = ["name", "code"]
    inlines = [UnionMinimumInline]


class VersionInline(admin.TabularInline):
    model = OfferVersion
    extra = 0
    # One tuple serves as both: the stubs give the two lists different item types.
    readonly_fields = (
        "number",
        "uses",
        "territories",
        "currency",
        "upfront_fee",
        "exclusive",
        "created_at",
    )
    fields = readonly_fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Offer)
class OfferAdmin(ReadOnlyAdmin):
    list_display = ["title", "voice", "status", "created_at"]
    list_filter = ["status"]
    inlines = [VersionInline]


class TransitionInline(admin.TabularInline):
    model = RequestTransition
    extra = 0
    readonly_fields = ["from_status", "to_status", "actor", "note", "at"]
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(LicenseRequest)
class LicenseRequestAdmin(ReadOnlyAdmin):
    list_display = ["pk", "brand", "offer_version", "campaign", "status", "created_at"]
    list_filter = ["status"]
    search_fields = ["campaign", "brand__name"]
    inlines = [TransitionInline]


@admin.register(License)
class LicenseAdmin(ReadOnlyAdmin):
    list_display = [
        "license_id",
        "brand",
        "voice",
        "valid_from",
        "valid_until",
        "revoked",
        "on_hold",
        "log_index",
    ]
    list_filter = ["revoked", "on_hold"]
    search_fields = ["license_id", "brand__name"]
    exclude = ["jws"]


@admin.register(SigningKey)
class SigningKeyAdmin(ReadOnlyAdmin):
    list_display = [
        "kid",
        "status",
        "added_log_index",
        "status_log_index",
        "compromised_from_index",
    ]
