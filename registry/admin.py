from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from registry import brand_domains, services
from registry.models import (
    ApiKey,
    Auditor,
    Authority,
    Brand,
    BrandMembership,
    BrandVerification,
    ConsentRecord,
    Performer,
    Representative,
    User,
    VoiceModel,
    VoiceStatusChange,
)
from registry.policies import signed_in_user


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "display_name", "is_staff", "date_joined"]
    search_fields = ["email", "display_name"]
    fieldsets = (
        (None, {"fields": ("email", "password", "display_name")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"fields": ("email", "password1", "password2")}),)


@admin.register(Performer)
class PerformerAdmin(admin.ModelAdmin):
    list_display = ["stage_name", "legal_name", "is_living", "is_minor", "user"]
    list_filter = ["is_living", "is_minor"]
    search_fields = ["stage_name", "legal_name"]
    prepopulated_fields = {"slug": ["stage_name"]}
    # A death is recorded with its evidence on /operations/estates/ (which pays the estate
    # and logs it), never by ticking a box here.
    # Verification is the identity queue's decision, logged; not a field to tick here.
    readonly_fields = ["is_living", "identity_verified_at", "namesake_of"]


@admin.register(Representative)
class RepresentativeAdmin(admin.ModelAdmin):
    list_display = ["user", "organisation", "created_at"]
    search_fields = ["user__email", "organisation"]


@admin.register(Authority)
class AuthorityAdmin(admin.ModelAdmin):
    list_display = ["representative", "performer", "kind", "status", "created_at", "verified_at"]
    list_filter = ["status", "kind"]
    readonly_fields = ["evidence_sha256", "verified_at", "verified_by", "revoked_at"]
    actions = ["verify", "revoke"]

    @admin.action(description="Verify the evidence: let the representative act")
    def verify(self, request: HttpRequest, queryset: QuerySet[Authority]) -> None:
        for authority in queryset:
            try:
                services.authority_verify(authority=authority, operator=signed_in_user(request))
            except ValidationError as exc:
                self.message_user(request, f"{authority}: {' '.join(exc.messages)}", messages.ERROR)

    @admin.action(description="Revoke the authority")
    def revoke(self, request: HttpRequest, queryset: QuerySet[Authority]) -> None:
        for authority in queryset:
            services.authority_revoke(authority=authority)


class MembershipInline(admin.TabularInline):
    model = BrandMembership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Brand)
class BrandAdmin(admin.ModelAdmin):
    list_display = ["name", "country", "billing_email", "created_at"]
    search_fields = ["name", "billing_email"]
    inlines = [MembershipInline]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(BrandVerification)
class BrandVerificationAdmin(admin.ModelAdmin):
    list_display = ["brand", "legal_name", "domain", "status", "method", "verified_at"]
    list_filter = ["status", "method"]
    search_fields = ["brand__name", "legal_name", "domain"]
    # Claims are made by brand owners and proved in DNS; an operator only confirms.
    readonly_fields = [f.name for f in BrandVerification._meta.fields]
    actions = ["confirm"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Confirm the claim by hand (checked some other way): verify it")
    def confirm(self, request: HttpRequest, queryset: QuerySet[BrandVerification]) -> None:
        for claim in queryset:
            try:
                brand_domains.brand_verification_confirm(
                    operator=signed_in_user(request), verification=claim
                )
            except ValidationError as exc:
                self.message_user(request, f"{claim}: {' '.join(exc.messages)}", messages.ERROR)


@admin.register(BrandMembership)
class BrandMembershipAdmin(admin.ModelAdmin):
    list_display = ["brand", "user", "role"]
    raw_id_fields = ["user"]


@admin.register(Auditor)
class AuditorAdmin(admin.ModelAdmin):
    list_display = ["user", "organisation", "created_at"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "prefix",
        "owner_kind",
        "brand",
        "auditor",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = ["owner_kind"]
    # Keys are made on the brand's or auditor's page, where the clear key is shown once.
    readonly_fields = [f.name for f in ApiKey._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


class StatusChangeInline(admin.TabularInline):
    model = VoiceStatusChange
    extra = 0
    can_delete = False
    readonly_fields = ["from_status", "to_status", "changed_by", "changed_at", "reason"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(VoiceModel)
class VoiceModelAdmin(admin.ModelAdmin):
    list_display = ["display_name", "performer", "status", "provider", "created_at"]
    list_filter = ["status", "provider"]
    search_fields = ["display_name", "performer__stage_name", "model_sha256"]
    readonly_fields = ["model_sha256", "sample_sha256", "status", "search_tokens", "created_by"]
    inlines = [StatusChangeInline]


@admin.register(ConsentRecord)
class ConsentRecordAdmin(admin.ModelAdmin):
    list_display = ["voice", "given_by", "given_as", "given_at", "withdrawn_at"]
    list_filter = ["given_as"]
    # Consent is evidence: nobody edits it after the fact.
    readonly_fields = [f.name for f in ConsentRecord._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
