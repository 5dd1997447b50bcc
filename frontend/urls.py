"""Page URLs."""

from django.contrib.auth import views as auth_views
from django.urls import include, path

from frontend import views_fleet, views_tokens

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/tokens/", views_tokens.token_list, name="api-tokens-page"),
    path(
        "account/tokens/<str:ident>/revoke/",
        views_tokens.token_revoke,
        name="api-token-revoke-page",
    ),
    path("", views_fleet.overview, name="home"),
    path("nodes/new/", views_fleet.node_create, name="node-create"),
    path("nodes/tiles/", views_fleet.node_tiles, name="node-tiles"),
    path("nodes/<int:pk>/", views_fleet.node_detail, name="node-detail"),
    path("nodes/<int:pk>/live/", views_fleet.node_live, name="node-live"),
    path("nodes/<int:pk>/edit/", views_fleet.node_edit, name="node-edit"),
    path("nodes/<int:pk>/delete/", views_fleet.node_delete, name="node-delete"),
    path("nodes/<int:pk>/host-key/", views_fleet.node_host_key, name="node-host-key"),
    path("nodes/<int:pk>/host-key/accept/", views_fleet.node_accept_key, name="node-accept-key"),
    path("nodes/<int:pk>/host-key/scan/", views_fleet.node_scan_key, name="node-scan-key"),
    path("nodes/<int:pk>/probe/", views_fleet.node_probe, name="node-probe"),
    path("bookings/", include("frontend.urls_booking")),
    path("", include("jobs.catalog.pages.urls")),
    path("", include("frontend.urls_jobs")),
    path("", include("frontend.urls_images")),
]
