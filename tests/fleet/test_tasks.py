"""The fleet's and booking's Celery tasks that need no simulated node, run through Celery."""

from __future__ import annotations

import ipaddress
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.utils import timezone

from fleet.booking.choices import NotificationKind
from fleet.booking.models import Notification
from fleet.booking.services.notify import notify_team
from fleet.booking.tasks import post_team_webhook
from fleet.models import Card, CardSample, Node
from fleet.tasks import prune_samples

pytestmark = pytest.mark.django_db


def test_prune_samples_drops_the_points_past_retention(settings):
    settings.FLEET_SAMPLE_RETENTION_DAYS = 7
    node = Node.objects.create(name="node-a", host="192.0.2.10")
    card = Card.objects.create(node=node, npu_id=0, device=0, chip_name="910B3", health="OK")
    now = timezone.now()
    old = CardSample.objects.create(card=card, at=now - timedelta(days=8), health="OK")
    kept = CardSample.objects.create(card=card, at=now - timedelta(days=6), health="OK")

    assert prune_samples.apply().get() == 1
    assert list(CardSample.objects.values_list("pk", flat=True)) == [kept.pk]
    assert not CardSample.objects.filter(pk=old.pk).exists()
    assert prune_samples.apply().get() == 0


class Receiver(BaseHTTPRequestHandler):
    bodies: list[dict] = []

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        Receiver.bodies.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver(settings):
    """A webhook endpoint on loopback, which the site allows on purpose for this test."""
    settings.FLEET_BOOKING_WEBHOOK_ALLOWED_NETWORKS = [ipaddress.ip_network("127.0.0.0/8")]
    Receiver.bodies = []
    server = HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", Receiver.bodies
    server.shutdown()
    server.server_close()


def test_post_team_webhook_posts_the_notification_once_and_stores_the_outcome(team, receiver):
    url, bodies = receiver
    team.webhook_url = url
    team.save()
    note = notify_team(team, NotificationKind.WARNING, "Booking #7 on node-a ends in 5 min")

    assert post_team_webhook.apply(args=(note.pk,)).get() == "HTTP 204"
    assert len(bodies) == 1
    assert bodies[0]["team"] == team.slug
    assert "ends in 5 min" in bodies[0]["text"]
    assert Notification.objects.get(pk=note.pk).webhook_status == "HTTP 204"


def test_post_team_webhook_stores_a_failure_instead_of_retrying_or_raising(team, settings):
    settings.FLEET_BOOKING_WEBHOOK_ALLOWED_NETWORKS = [ipaddress.ip_network("127.0.0.0/8")]
    team.webhook_url = "http://127.0.0.1:9/nothing-listens"
    team.save()
    note = notify_team(team, NotificationKind.ENDED, "Booking #7 ended")

    outcome = post_team_webhook.apply(args=(note.pk,)).get()
    assert outcome.startswith("failed:")
    assert Notification.objects.get(pk=note.pk).webhook_status == outcome[:200]
