from __future__ import annotations

from django.urls import path

from registry import api

urlpatterns = [
    path("me", api.Me.as_view(), name="api-me"),
    path("delegations", api.DelegationList.as_view(), name="api-delegations"),
    path(
        "delegations/<int:pk>/revoke",
        api.DelegationRevoke.as_view(),
        name="api-delegation-revoke",
    ),
    path("identity", api.Identity.as_view(), name="api-identity"),
    path("voices", api.VoiceListCreate.as_view(), name="api-voices"),
    path("voices/<int:pk>", api.VoiceDetail.as_view(), name="api-voice"),
    path("voices/<int:pk>/consent", api.VoiceConsent.as_view(), name="api-voice-consent"),
    path(
        "voices/<int:pk>/consent/withdraw",
        api.VoiceConsentWithdraw.as_view(),
        name="api-voice-consent-withdraw",
    ),
    path(
        "brands/<int:pk>/verification",
        api.BrandVerificationView.as_view(),
        name="api-brand-verification",
    ),
    path(
        "brands/<int:pk>/verification/check",
        api.BrandVerificationCheck.as_view(),
        name="api-brand-verification-check",
    ),
    path(
        "brands/<int:pk>/verification/email",
        api.BrandVerificationEmail.as_view(),
        name="api-brand-verification-email",
    ),
    path("voices/<int:pk>/status", api.VoiceStatus.as_view(), name="api-voice-status"),
]
