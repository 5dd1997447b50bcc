"""Health notifications without a node: which probe outcomes notify, and that a broken
notification never fails the probe's record."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from fleet.booking.choices import NotificationKind
from fleet.booking.models import Notification
from fleet.booking.services import notify
from fleet.booking.services.bookings import book_cards
from fleet.choices import NodeStatus
from fleet.models import Node
from fleet.remote import ErrorKind, RemoteError
from fleet.services import probing
from tests.booking.conftest import make_node

pytestmark = pytest.mark.django_db


@pytest.fixture
def booked(member_user, team):
    node = make_node("node-a", status=NodeStatus.ONLINE)
    now = timezone.now()
    book_cards(
        member_user,
        team=team,
        node=node,
        start=now,
        end=now + timedelta(hours=1),
        purpose="watch",
        devices=[0],
    )
    return node


def fail(node, kind=ErrorKind.UNREACHABLE):
    return probing._record_failure(node.pk, RemoteError(kind, "no route to host"))


def test_a_failed_probe_after_unreachable_is_no_recovery(booked, team, settings):
    settings.FLEET_UNREACHABLE_AFTER = 1
    assert fail(booked).status == NodeStatus.UNREACHABLE
    # the key was reset meanwhile: the node is "new" again, but nothing has answered
    assert fail(booked, ErrorKind.HOST_KEY_UNKNOWN).status == NodeStatus.NEW
    kinds = list(Notification.objects.filter(team=team).values_list("kind", flat=True))
    assert kinds == [NotificationKind.NODE_DOWN]


def test_a_broken_notification_does_not_lose_the_probes_record(booked, team, settings, monkeypatch):
    settings.FLEET_UNREACHABLE_AFTER = 1

    def broken(*args, **kwargs):
        raise RuntimeError("notification store down")

    monkeypatch.setattr(notify, "health_transitions", broken)
    assert fail(booked).status == NodeStatus.UNREACHABLE
    assert Node.objects.get(pk=booked.pk).status == NodeStatus.UNREACHABLE
    assert not Notification.objects.exists()
