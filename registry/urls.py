from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path

from registry import identity_views, views

urlpatterns = [
    path("", views.catalog, name="catalog"),
    path("voices/<slug:slug>/", views.voice_page, name="voice"),
    path("voices/<slug:slug>/sample", views.voice_sample, name="voice-sample"),
    path("signup/", views.signup, name="signup"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("studio/", views.studio, name="studio"),
    path("studio/performers/new/", views.performer_new, name="performer-new"),
    path("studio/voices/new/", views.voice_new, name="voice-new"),
    path("studio/voices/<slug:slug>/", views.voice_manage, name="voice-manage"),
    path("studio/voices/<slug:slug>/edit/", views.voice_edit, name="voice-edit"),
    path("studio/voices/<slug:slug>/consent/", views.voice_consent, name="voice-consent"),
    path(
        "studio/voices/<slug:slug>/consent/withdraw/",
        views.voice_consent_withdraw,
        name="voice-consent-withdraw",
    ),
    path("studio/voices/<slug:slug>/status/", views.voice_status, name="voice-status"),
    path("brands/<slug:slug>/", views.brand_dashboard, name="brand-dashboard"),
    path("brands/<slug:slug>/verification/", views.brand_verification, name="brand-verification"),
    path(
        "brands/<slug:slug>/verification/check/",
        views.brand_verification_check,
        name="brand-verification-check",
    ),
    path(
        "brands/<slug:slug>/verification/email/",
        views.brand_verification_email,
        name="brand-verification-email",
    ),
    path(
        "brands/verify-email/<int:pk>/<str:secret>/",
        views.brand_verification_email_link,
        name="brand-verification-email-link",
    ),
    path("auditor/", views.auditor_dashboard, name="auditor-dashboard"),
    path("studio/auditors/", views.audit_grants, name="audit-grants"),
    path("studio/delegations/", views.delegations, name="delegations"),
    path("studio/delegations/<int:pk>/revoke/", views.delegation_revoke, name="delegation-revoke"),
    path("studio/auditors/<int:pk>/revoke/", views.audit_grant_revoke, name="audit-grant-revoke"),
    path("studio/identity/", identity_views.identity_page, name="identity"),
    path(
        "identity/<int:pk>/document",
        identity_views.identity_document,
        name="identity-document",
    ),
    path(
        "identity/<int:pk>/recording",
        identity_views.identity_recording,
        name="identity-recording",
    ),
    path("operations/identity/", identity_views.identity_queue, name="identity-queue"),
    path(
        "operations/identity/<int:pk>/decide",
        identity_views.identity_decide,
        name="identity-decide",
    ),
    path("keys/<int:pk>/revoke/", views.api_key_revoke, name="api-key-revoke"),
]
