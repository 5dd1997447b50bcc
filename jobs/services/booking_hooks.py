"""The job engine's answers to the booking lifecycle (see fleet.booking.hooks)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.conf import settings
from django.utils import timezone

from fleet.booking.models import Booking
from fleet.models import Node
from fleet.remote import RemoteError
from jobs.choices import LIVE_DEPLOYMENT_STATUSES, DeploymentStatus
from jobs.models import Deployment

log = logging.getLogger(__name__)


def has_deployment(booking: Booking) -> bool:
    """A deployment of the dashboard is starting or running on the booking."""
    from fleet.booking.hooks import managed_containers

    if Deployment.objects.filter(booking=booking, status__in=LIVE_DEPLOYMENT_STATUSES).exists():
        return True
    return bool(managed_containers(booking))


def stop_containers(node: Node, names: Sequence[str]) -> list[str]:
    """`docker stop` through the node's Docker seam; the deployments are marked stopped."""
    from docker.errors import NotFound

    from jobs.docker_api import docker_on

    stopped: list[str] = []
    try:
        with docker_on(node) as client:
            for name in names:
                try:
                    client.containers.get(name).stop(timeout=settings.JOBS_STOP_TIMEOUT)
                except NotFound:
                    log.info("container %s on %s is already gone", name, node.name)
                    continue
                stopped.append(name)
    except RemoteError as exc:
        log.warning("could not stop containers on %s: %s", node.name, exc)
    Deployment.objects.filter(node=node, container_name__in=stopped).update(
        status=DeploymentStatus.STOPPED,
        error="stopped at the end of its booking",
        updated_at=timezone.now(),
    )
    return stopped
