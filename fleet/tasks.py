"""Celery tasks of the fleet app; each receives ids only and calls a service."""

from __future__ import annotations

import logging
import random
import time
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from fleet.models import Node
from fleet.services import probing, samples

log = logging.getLogger(__name__)


def _lock_key(node_id: int) -> str:
    return f"npufleet:probe-lock:{node_id}"


def _lock(node_id: int) -> bool:
    """Take the node's probe lock; it expires on its own if a worker dies holding it."""
    ttl = int(settings.FLEET_SSH_COMMAND_TIMEOUT * 2 + settings.FLEET_SSH_CONNECT_TIMEOUT + 30)
    return bool(cache.add(_lock_key(node_id), 1, timeout=ttl))


@shared_task(name="fleet.tasks.probe_node", ignore_result=True)
def probe_node(node_id: int, full: bool | None = None) -> None:
    """Probe one node, unless a probe of it is already running somewhere."""
    if not _lock(node_id):
        log.info("node %s: previous probe still running, skipped", node_id)
        return
    try:
        probing.probe_node(node_id, full=full)
    finally:
        cache.delete(_lock_key(node_id))


@shared_task(name="fleet.tasks.probe_fleet", ignore_result=True)
def probe_fleet() -> int:
    """Probe every node with an accepted key, on threads, over this worker's pooled connections.

    Nodes whose previous probe is still running (a hung node) are skipped for this round.
    """
    # Jitter: fleets of dashboards started together do not probe in lockstep.
    time.sleep(random.uniform(0, settings.FLEET_PROBE_JITTER))  # noqa: S311
    ids = list(Node.objects.exclude(host_key="").values_list("pk", flat=True))
    random.shuffle(ids)  # no node always waits at the back of the queue
    free = [node_id for node_id in ids if _lock(node_id)]
    try:
        probing.probe_many(free, workers=settings.FLEET_PROBE_THREADS)
    finally:
        for node_id in free:
            cache.delete(_lock_key(node_id))
    return len(free)


@shared_task(name="fleet.tasks.prune_samples", ignore_result=True)
def prune_samples() -> int:
    """Drop card samples past retention and thin out old ones."""
    cutoff = timezone.now() - timedelta(days=settings.FLEET_SAMPLE_RETENTION_DAYS)
    return samples.prune(cutoff)
