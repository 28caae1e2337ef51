from __future__ import annotations

from django.urls import path

from credentials import views

urlpatterns = [path("verify/", views.verify_page, name="verify")]
