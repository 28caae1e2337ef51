from __future__ import annotations

from django.urls import path

from licensing import views

urlpatterns = [
    path("offers/", views.offers, name="offers"),
    path("offers/<int:pk>/", views.offer_page, name="offer"),
    path("brands/<slug:slug>/licensing/", views.brand_licensing, name="brand-licensing"),
    path("licenses/<str:license_id>/", views.license_page, name="license-page"),
    path("licenses/<str:license_id>/revoke/", views.license_revoke, name="license-revoke"),
    path("studio/requests/", views.studio_requests, name="studio-requests"),
    path("studio/requests/<int:pk>/<str:decision>/", views.request_decide, name="request-decide"),
    path("studio/voices/<slug:slug>/offers/new/", views.offer_new, name="offer-new"),
]
