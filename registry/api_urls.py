from __future__ import annotations

from django.urls import path

from registry import api

urlpatterns = [
    path("me", api.Me.as_view(), name="api-me"),
    path("identity", api.Identity.as_view(), name="api-identity"),
    path("voices", api.VoiceListCreate.as_view(), name="api-voices"),
    path("voices/<int:pk>", api.VoiceDetail.as_view(), name="api-voice"),
    path("voices/<int:pk>/consent", api.VoiceConsent.as_view(), name="api-voice-consent"),
    path(
        "voices/<int:pk>/consent/withdraw",
        api.VoiceConsentWithdraw.as_view(),
        name="api-voice-consent-withdraw",
    ),
    path("voices/<int:pk>/status", api.VoiceStatus.as_view(), name="api-voice-status"),
]
