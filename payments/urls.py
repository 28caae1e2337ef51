from __future__ import annotations

from django.urls import path

from payments import views

urlpatterns = [
    path("payments/stripe/webhook", views.stripe_webhook, name="stripe-webhook"),
    path("brands/<slug:slug>/billing/", views.brand_billing, name="brand-billing"),
    path("brands/<slug:slug>/billing/pay/<int:pk>/", views.fee_pay, name="fee-pay"),
    path("studio/payouts/", views.payouts_page, name="payouts"),
    path("studio/payouts/connect/", views.connect_start, name="connect-start"),
    path(
        "studio/payouts/connect/<int:payee_id>/refresh/",
        views.connect_refresh,
        name="connect-refresh",
    ),
    path(
        "studio/payouts/connect/<int:payee_id>/return/", views.connect_return, name="connect-return"
    ),
    path("operations/payments/", views.operations, name="operations-payments"),
]
