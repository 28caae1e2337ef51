from __future__ import annotations

from django.urls import path

from royalties import views

urlpatterns = [
    path("studio/earnings/", views.earnings, name="earnings"),
    path("studio/works/", views.works, name="studio-works"),
    path("studio/earnings/trust/<int:payee_id>/", views.coogan_trust_set, name="coogan-trust-set"),
    path(
        "statements/<int:payee_id>/<str:month>/<str:currency>/",
        views.statement_page,
        name="statement",
    ),
    path(
        "statements/<int:payee_id>/<str:month>/<str:currency>.csv",
        views.statement_csv,
        name="statement-csv",
    ),
    path(
        "statements/<int:payee_id>/<str:month>/<str:currency>.pdf",
        views.statement_pdf,
        name="statement-pdf",
    ),
    path(
        "statements/<int:payee_id>/<str:month>/<str:currency>.jws",
        views.statement_jws,
        name="statement-jws",
    ),
    path("brands/<slug:slug>/usage/", views.brand_usage, name="brand-usage"),
    path("studio/voices/<slug:slug>/splits/", views.voice_splits, name="voice-splits"),
    path("operations/estates/", views.estates, name="operations-estates"),
]
