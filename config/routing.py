"""Websocket routes of every app."""

from django.urls import URLPattern, URLResolver, path

from fleet.consumers import FleetConsumer, FleetPageConsumer
from jobs.consumers import JobLogConsumer

websocket_urlpatterns: list[URLPattern | URLResolver] = [
    path("ws/fleet/", FleetConsumer.as_asgi()),
    path("ws/fleet/tiles/", FleetPageConsumer.as_asgi()),
    path("ws/fleet/nodes/<int:node_id>/", FleetPageConsumer.as_asgi()),
    path("ws/jobs/<int:job_id>/", JobLogConsumer.as_asgi()),
]
