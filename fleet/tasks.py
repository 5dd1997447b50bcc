"""Celery tasks of the fleet app; each receives ids only and calls a service."""

from __future__ import annotations

import logging
import random
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from fleet.booking.tasks import post_team_webhook, run_booking_lifecycle  # noqa: F401 (registers them)
from fleet.models import Node
from fleet.services import probing, samples

log = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def probe_node(node_id: int, full: bool | None = None) -> None:
    """Probe one node, unless a probe of it is already running somewhere."""
    lock = f"npufleet:probe-lock:{node_id}"
    if not cache.add(lock, 1, timeout=int(settings.FLEET_SSH_COMMAND_TIMEOUT * 2 + 30)):
        log.info("node %s: previous probe still running, skipped", node_id)
        return
    try:
        probing.probe_node(node_id, full=full)
    finally:
        cache.delete(lock)


@shared_task(ignore_result=True)
def probe_fleet() -> int:
    """Fan out one probe per node, spread with jitter so they don't all start at once."""
    interval = settings.FLEET_PROBE_INTERVAL
    ids = list(Node.objects.exclude(host_key="").values_list("pk", flat=True))
    for node_id in ids:
        probe_node.apply_async((node_id,), countdown=random.uniform(0, interval / 4))  # noqa: S311
    return len(ids)


@shared_task(ignore_result=True)
def prune_samples() -> int:
    """Drop card samples past retention and thin out old ones."""
    cutoff = timezone.now() - timedelta(days=settings.FLEET_SAMPLE_RETENTION_DAYS)
    return samples.prune(cutoff)
