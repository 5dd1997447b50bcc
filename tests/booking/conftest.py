"""Booking fixtures: nodes with cards made directly, and fixed moments to book around."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from fleet.models import Card, Node


def make_node(name: str = "node-a", cards: int = 8, **node_fields) -> Node:
    """A node with `cards` healthy cards, /dev/davinci0..N-1."""
    node = Node.objects.create(name=name, host="127.0.0.1", **node_fields)
    Card.objects.bulk_create(
        Card(node=node, npu_id=d, device=d, chip_name="910B3", health="OK") for d in range(cards)
    )
    return node


def set_card(node: Node, device: int, **fields) -> Card:
    """Change a card's probed state (health, processes, cordon...)."""
    Card.objects.filter(node=node, device=device).update(**fields)
    return Card.objects.get(node=node, device=device)


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    """Cheap password hashing: the personas are created for every test."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def node(db) -> Node:
    return make_node("node-a")


@pytest.fixture
def node_b(db) -> Node:
    return make_node("node-b")


@pytest.fixture
def now():
    """A moment on the hour, so windows read well in failures."""
    return timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)


def hours(n: float) -> timedelta:
    return timedelta(hours=n)
