"""Websocket routes of every app."""

from django.urls import URLPattern, URLResolver, path

from fleet.consumers import FleetConsumer

websocket_urlpatterns: list[URLPattern | URLResolver] = [
    path("ws/fleet/", FleetConsumer.as_asgi()),
]
