"""Probes tell a booking's team once when a booked card turns unhealthy or its node stops
answering, once when it recovers, and again only for a new fault."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from fleet.booking import tasks as booking_tasks
from fleet.booking.choices import NotificationKind
from fleet.booking.models import Notification, Team
from fleet.booking.services.bookings import book_cards
from fleet.choices import NodeStatus
from fleet.remote import pool
from fleet.services import probing
from tests.helpers import onboard

pytestmark = [pytest.mark.devsim, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def posted(monkeypatch):
    """Notification ids handed to the webhook task (the sender itself is tested elsewhere)."""
    sent: list[int] = []
    monkeypatch.setattr(booking_tasks.post_team_webhook, "delay", sent.append)
    return sent


def probe(node):
    result = probing.probe_node(node.pk)
    assert result is not None
    return result


def kinds(team) -> list[str]:
    return list(
        Notification.objects.filter(team=team).order_by("pk").values_list("kind", flat=True)
    )


@pytest.fixture
def booked(devsim, admin_user, member_user, team, other_team):
    node = probe(onboard(admin_user, devsim.node("node-a")))
    Team.objects.filter(pk=team.pk).update(webhook_url="https://hooks.example.com/npu")
    start = timezone.now()
    booking = book_cards(
        member_user,
        team=team,
        node=node,
        start=start,
        end=start + timedelta(hours=2),
        purpose="health watch",
        devices=[0, 1],
    )
    return node, booking


def test_a_booked_card_turning_unhealthy_notifies_its_team_once_per_fault(
    devsim, booked, team, other_team, posted, member_api
):
    node, booking = booked
    probe(node)
    assert kinds(team) == []

    devsim.set_card_health("node-a", 1, "Alarm")
    probe(node)
    probe(node)  # the same fault again: no second message
    assert kinds(team) == [NotificationKind.CARD_FAULT]
    note = Notification.objects.get(team=team)
    assert note.booking_id == booking.pk
    assert "davinci1" in note.text and "Alarm" in note.text and "node-a" in note.text
    assert posted == [note.pk]  # and to the team's webhook

    devsim.set_card_health("node-a", 5, "Critical")  # not booked: nobody to tell
    devsim.set_card_health("node-a", 1, "OK")
    probe(node)
    assert kinds(team) == [NotificationKind.CARD_FAULT, NotificationKind.RECOVERED]

    devsim.set_card_health("node-a", 1, "Critical")
    probe(node)
    assert kinds(team) == [
        NotificationKind.CARD_FAULT,
        NotificationKind.RECOVERED,
        NotificationKind.CARD_FAULT,
    ]
    assert "Critical" in Notification.objects.filter(team=team).latest("pk").text
    assert kinds(other_team) == []
    listed = member_api.get("/api/v1/notifications/").json()["results"]
    assert listed[0]["kind"] == NotificationKind.CARD_FAULT


def test_a_node_of_an_active_booking_going_unreachable_notifies_once_then_on_return(
    devsim, booked, team, other_team, posted
):
    node, booking = booked
    devsim.fault_down("node-a")
    pool.close_all()
    try:
        with override_settings(FLEET_SSH_CONNECT_TIMEOUT=3, FLEET_UNREACHABLE_AFTER=2):
            assert probe(node).status != NodeStatus.UNREACHABLE
            assert kinds(team) == []  # one failed probe is not yet unreachable
            assert probe(node).status == NodeStatus.UNREACHABLE
            probe(node)  # still down: no second message
    finally:
        devsim.fault_up("node-a")
    assert kinds(team) == [NotificationKind.NODE_DOWN]
    note = Notification.objects.get(team=team)
    assert note.booking_id == booking.pk
    assert "node-a is unreachable" in note.text and "0, 1" in note.text
    assert posted == [note.pk]

    assert probe(node).status in (NodeStatus.ONLINE, NodeStatus.DEGRADED)
    probe(node)
    assert kinds(team) == [NotificationKind.NODE_DOWN, NotificationKind.RECOVERED]
    assert kinds(other_team) == []
