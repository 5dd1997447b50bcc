"""URL wiring: pages, API, schema and health."""

from csp.constants import SELF, UNSAFE_INLINE
from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)

from config.health import healthz
from frontend.views_redoc import redoc_bundle

# Swagger UI runs under the site's CSP (its init script is a file, not inline). Redoc's bundle
# writes its styles into <style> elements and parses the schema in a blob: worker; it is served
# by the app with its logo taken from the site, so nothing comes from a CDN.
api_docs = SpectacularSwaggerSplitView.as_view(
    url_name="schema", template_name="frontend/swagger_ui.html"
)
api_redoc = csp_update({"style-src": [UNSAFE_INLINE], "worker-src": [SELF, "blob:"]})(
    SpectacularRedocView.as_view(url_name="schema", template_name="frontend/redoc.html")
)

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", api_docs, name="api-docs"),
    path("api/redoc/", api_redoc, name="api-redoc"),
    path("api/redoc/redoc.standalone.js", redoc_bundle, name="api-redoc-bundle"),
    path("api/v1/", include("config.api_urls")),
    path("", include("frontend.urls")),
    # Each app's pages.
    path("", include("fleet.pages.urls")),
    path("bookings/", include("fleet.booking.pages.urls")),
    path("", include("jobs.catalog.pages.urls")),
    path("", include("jobs.pages.urls")),
]

# Under /api/ these answer JSON; elsewhere Django's pages.
handler400 = "config.api_errors.bad_request"
handler403 = "config.api_errors.permission_denied"
handler404 = "config.api_errors.page_not_found"
handler500 = "config.api_errors.server_error"
