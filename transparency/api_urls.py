from __future__ import annotations

from django.urls import path

from transparency import api

urlpatterns = [
    path("checkpoint", api.CheckpointView.as_view(), name="log-checkpoint"),
    path("verifier-key", api.VerifierKeyView.as_view(), name="log-verifier-key"),
    path("entries", api.EntriesView.as_view(), name="log-entries"),
    path("events", api.EventsView.as_view(), name="log-events"),
    path("proof/inclusion", api.InclusionView.as_view(), name="log-inclusion"),
    path("proof/consistency", api.ConsistencyView.as_view(), name="log-consistency"),
]
