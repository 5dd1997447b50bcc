"""Websocket routes of every app."""

from django.urls import URLPattern, URLResolver, path

from fleet.consumers import FleetConsumer
from jobs.consumers import JobLogConsumer

websocket_urlpatterns: list[URLPattern | URLResolver] = [
    path("ws/fleet/", FleetConsumer.as_asgi()),
    path("ws/jobs/<int:job_id>/", JobLogConsumer.as_asgi()),
]
