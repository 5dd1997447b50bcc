"""Fleet page URLs: the overview, node pages, onboarding with host-key review, edit, delete."""

from django.urls import path

from fleet.pages import views

urlpatterns = [
    path("", views.overview, name="home"),
    path("nodes/new/", views.node_create, name="node-create"),
    path("nodes/tiles/", views.node_tiles, name="node-tiles"),
    path("nodes/<int:pk>/", views.node_detail, name="node-detail"),
    path("nodes/<int:pk>/live/", views.node_live, name="node-live"),
    path("nodes/<int:pk>/edit/", views.node_edit, name="node-edit"),
    path("nodes/<int:pk>/delete/", views.node_delete, name="node-delete"),
    path("nodes/<int:pk>/host-key/", views.node_host_key, name="node-host-key"),
    path("nodes/<int:pk>/host-key/accept/", views.node_accept_key, name="node-accept-key"),
    path("nodes/<int:pk>/host-key/scan/", views.node_scan_key, name="node-scan-key"),
    path("nodes/<int:pk>/probe/", views.node_probe, name="node-probe"),
]
