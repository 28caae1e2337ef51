from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from credentials import api as credentials_api
from licensing import api as licensing_api
from timbre import views as site
from transparency import views as transparency_views

admin.site.site_header = "Timbre operations"
admin.site.site_title = "Timbre"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(urlconf="timbre.schema_urls"), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/v1/", include("registry.api_urls")),
    path("api/v1/log/", include("transparency.api_urls")),
    path("api/v1/", include("credentials.api_urls")),
    path("api/v1/", include("royalties.api_urls")),
    path("api/v1/", include("licensing.api_urls")),
    path(".well-known/jwks.json", licensing_api.JwksView.as_view(), name="jwks"),
    path(".well-known/c2pa-root.pem", credentials_api.c2pa_root, name="c2pa-root"),
    path("licenses/<str:license_id>.jws", licensing_api.license_download, name="license-download"),
    path("log/", transparency_views.log_page, name="log"),
    path("problems/", site.problem_types, name="problems"),
    path("problems/<slug:slug>", site.problem_types, name="problem"),
    path("", include("payments.urls")),
    path("", include("credentials.urls")),
    path("", include("royalties.urls")),
    path("", include("licensing.urls")),
    path("", include("registry.urls")),
]

handler404 = "timbre.views.not_found"
handler500 = "timbre.views.server_error"

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
