from __future__ import annotations

from django.urls import path

from royalties import api

urlpatterns = [
    path("licenses/<str:license_id>/works", api.LicenseWorks.as_view(), name="api-license-works"),
    path(
        "licenses/<str:license_id>/usage/<str:report>",
        api.LicenseUsageReport.as_view(),
        name="api-license-usage",
    ),
    path(
        "statements/<int:payee_id>/<str:month>/<str:currency>.jws",
        api.StatementJws.as_view(),
        name="api-statement-jws",
    ),
    path("works/bulk", api.BulkWorks.as_view(), name="api-works-bulk"),
    path("works", api.WorkList.as_view(), name="api-works"),
    path("works/by-hash/<str:sha256>", api.WorksByHash.as_view(), name="api-works-by-hash"),
    path("works/<str:work_id>/void", api.WorkVoid.as_view(), name="api-work-void"),
]
