"""The URL patterns the OpenAPI schema is generated from: the site's own, plus the DRF
description of endpoints served by plain Django views for speed (POST /api/v1/verify),
which the schema generator cannot see through."""

from __future__ import annotations

from django.urls import path

from licensing.api import Verify
from timbre.urls import urlpatterns as site_patterns

urlpatterns = [*site_patterns, path("api/v1/verify", Verify.as_view())]
