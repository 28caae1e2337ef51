from __future__ import annotations

from django.urls import path

from licensing import api

urlpatterns = [
    path("offers", api.OfferList.as_view(), name="api-offers"),
    path("voices/<int:pk>/offers", api.VoiceOffers.as_view(), name="api-voice-offers"),
    path("offers/<int:pk>/versions", api.OfferRevise.as_view(), name="api-offer-revise"),
    path("offers/<int:pk>/requests", api.OfferRequests.as_view(), name="api-offer-requests"),
    path("license-requests", api.RequestList.as_view(), name="api-requests"),
    path(
        "license-requests/<int:pk>/approve",
        api.RequestDecide.as_view(approve=True),
        name="api-request-approve",
    ),
    path(
        "license-requests/<int:pk>/decline",
        api.RequestDecide.as_view(approve=False),
        name="api-request-decline",
    ),
    path(
        "license-requests/<int:pk>/withdraw",
        api.RequestWithdraw.as_view(),
        name="api-request-withdraw",
    ),
    path("licenses", api.LicenseList.as_view(), name="api-licenses"),
    path("licenses/<str:license_id>", api.LicenseDetail.as_view(), name="api-license"),
    path(
        "licenses/<str:license_id>/status", api.LicenseStatus.as_view(), name="api-license-status"
    ),
    path("licenses/<str:license_id>/jws", api.LicenseJws.as_view(), name="api-license-jws"),
    path(
        "licenses/<str:license_id>/revoke", api.LicenseRevoke.as_view(), name="api-license-revoke"
    ),
    path("verify", api.verify, name="api-verify"),
]
