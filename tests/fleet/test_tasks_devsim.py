"""The fleet's Celery tasks run through Celery against the simulated fleet's real sshd."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from fleet.choices import NodeStatus
from fleet.models import CardSample, Node
from fleet.remote import pool
from fleet.services import nodes
from fleet.tasks import _lock, _lock_key, probe_fleet, probe_node
from tests.helpers import node_values, onboard

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.devsim]


@pytest.fixture
def node_a(devsim, admin_user) -> Node:
    node = onboard(admin_user, devsim.node("node-a"))
    assert node.last_probe_at is None and not node.cards.exists()
    return node


@pytest.fixture
def held():
    """Locks taken as another worker's running probe would hold them; released afterwards."""
    taken: list[int] = []

    def hold(node: Node) -> None:
        assert _lock(node.pk)
        taken.append(node.pk)

    yield hold
    for pk in taken:
        cache.delete(_lock_key(pk))


def test_probe_node_records_the_cards_and_releases_its_lock(node_a):
    probe_node.apply(args=(node_a.pk,)).get()
    node = Node.objects.get(pk=node_a.pk)
    assert node.last_probe_at is not None
    assert node.status == NodeStatus.ONLINE
    assert sorted(node.cards.values_list("device", flat=True)) == list(range(8))
    assert CardSample.objects.filter(card__node=node).count() == 8
    assert cache.get(_lock_key(node.pk)) is None


def test_probe_node_skips_a_node_whose_last_probe_still_runs_and_keeps_that_lock(node_a, held):
    held(node_a)
    probe_node.apply(args=(node_a.pk,)).get()
    assert Node.objects.get(pk=node_a.pk).last_probe_at is None
    assert cache.get(_lock_key(node_a.pk)), "the skipped call released another probe's lock"


def test_probe_node_marks_a_node_unreachable_after_the_configured_failures(
    node_a, devsim, settings
):
    settings.FLEET_UNREACHABLE_AFTER = 2
    probe_node.apply(args=(node_a.pk,)).get()
    assert Node.objects.get(pk=node_a.pk).status == NodeStatus.ONLINE
    devsim.fault_down("node-a")
    pool.close_all()

    probe_node.apply(args=(node_a.pk,)).get()
    node = Node.objects.get(pk=node_a.pk)
    assert node.status == NodeStatus.ONLINE  # one failure may be a blip
    assert node.consecutive_failures == 1
    assert node.last_error
    probe_node.apply(args=(node_a.pk,)).get()
    node = Node.objects.get(pk=node_a.pk)
    assert node.status == NodeStatus.UNREACHABLE
    assert cache.get(_lock_key(node.pk)) is None


def test_probe_fleet_probes_accepted_nodes_and_skips_busy_and_unaccepted_ones(
    settings, devsim, admin_user, node_a, held
):
    settings.FLEET_PROBE_JITTER = 0
    node_b = onboard(admin_user, devsim.node("node-b"))
    unaccepted = nodes.register_node(actor=admin_user, values=node_values(devsim.node("node-c")))
    assert unaccepted.host_key == ""
    held(node_b)

    assert probe_fleet.apply().get() == 1
    assert Node.objects.get(pk=node_a.pk).cards.count() == 8
    assert Node.objects.get(pk=node_b.pk).last_probe_at is None
    assert not Node.objects.get(pk=unaccepted.pk).cards.exists()
    assert cache.get(_lock_key(node_a.pk)) is None
    assert cache.get(_lock_key(node_b.pk)), "the round released a lock it did not take"

    cache.delete(_lock_key(node_b.pk))
    assert probe_fleet.apply().get() == 2
    assert Node.objects.get(pk=node_b.pk).cards.count() == 8
