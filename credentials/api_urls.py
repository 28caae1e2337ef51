from __future__ import annotations

from django.urls import path

from credentials import api

urlpatterns = [
    path("works/<str:work_id>/stamp", api.StampWork.as_view(), name="api-work-stamp"),
    path("verify/audio", api.VerifyAudio.as_view(), name="api-verify-audio"),
]
